"""Bad-debt provision (坏账准备): the 账龄 matrix (versioned), individual assessments (four eyes), the
provision as of any date computed in SQL from the as-of aging, the monthly movement report, and the
figures stored when a month is closed.

* Reads: ``provision_report`` (as of a date) and ``movement_report`` (by month). Both are company-wide
  (the permission ``insight.provision.view`` is held by roles that see every customer). The report
  suggests a provision; nothing here posts a journal.
* Balance per line = Σ open amounts as of the date (``ledger.aging._base_sql``: only documents and
  allocations dated on or before it), summed in SQL as integer fen per (age band, assessment); the
  provision of a line is its balance × rate, rounded once, half up, to the fen (``round_money``).
  An instalment of a document with an approved individual assessment in force on the date takes that
  assessment's rate; else one of its customer's; else the band's rate of the current matrix.
* A closed month is stable: ``ledger.periods`` calls ``store_closed_months`` inside the close, which
  stores each newly closed month end's report (``ProvisionSnapshot``); reports and movements of those
  month ends read the stored figures, so a later matrix version or assessment does not change them.
  Reopening a month drops the stored figures from that month on (``drop_reopened_months``).
* Writes: ``save_matrix`` (a new version each time; MatrixError → ProvisionError, nothing saved),
  ``request_assessment`` / ``decide_assessment`` (requester ≠ approver, SelfApproval) /
  ``end_assessment``. Each is one durable transaction with an audit event.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.money import ZERO, from_minor, round_money
from huikuan.customers.models import Customer
from huikuan.ledger.aging import _base_sql, fetch
from huikuan.ledger.errors import SelfApproval
from huikuan.ledger.models import CreditKind, EntryKind, LedgerEntry, ReceivableDocument
from huikuan.ledger.periods import month_end as end_of_month

from . import provision_calc as pc
from .models import AssessmentStatus, ProvisionAssessment, ProvisionBand, ProvisionMatrix, ProvisionSnapshot

# a close stores at most this many month ends at once (closing the first time stores only the month named)
MAX_STORED_AT_CLOSE = 24


class ProvisionError(DomainError):
    code = "provision_error"


# ---------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Matrix:
    version: int | None  # None: the preset, never saved
    bands: tuple[pc.Band, ...]
    pk: int | None = None


def band_label(band: pc.Band) -> str:
    """账龄 label: whole years read as years (1年以内, 1–2年, 5年以上), other edges as months."""
    f, t = band.from_months, band.to_months
    if f % 12 == 0 and (t is None or t % 12 == 0):
        if t is None:
            return str(_("Over %(n)s years") % {"n": f // 12}) if f else str(_("All ages"))
        if f == 0:
            return str(_("Within %(n)s years") % {"n": t // 12}) if t > 12 else str(_("Within 1 year"))
        return str(_("%(a)s–%(b)s years") % {"a": f // 12, "b": t // 12})
    if t is None:
        return str(_("Over %(n)s months") % {"n": f})
    if f == 0:
        return str(_("Within %(n)s months") % {"n": t})
    return str(_("%(a)s–%(b)s months") % {"a": f, "b": t})


def current_matrix(*, company) -> Matrix:
    """The latest saved version of the company's matrix, else the preset of shared/DOMAIN.md."""
    m = ProvisionMatrix.objects.filter(company=company).order_by("-version").first()
    if m is None:
        return Matrix(version=None, bands=pc.PRESET)
    return _matrix(m)


def _matrix(m: ProvisionMatrix) -> Matrix:
    bands = tuple(pc.Band(b.from_months, b.to_months, b.rate) for b in m.bands.order_by("from_months"))
    return Matrix(version=m.version, bands=bands, pk=m.pk)


def matrix_versions(*, company):
    return ProvisionMatrix.objects.filter(company=company).select_related("created_by").prefetch_related("bands")


def matrix_error_message(exc: pc.MatrixError) -> str:
    n = (exc.index or 0) + 1
    messages = {
        "empty": _("Enter at least one band."),
        "start": _("The first band must start at 0 months."),
        "gap": _("Band %(n)s starts at %(start)s months but the band before it ends at %(after)s months: the "
                 "receivables in between would have no rate."),
        "overlap": _("Band %(n)s starts at %(start)s months, before the band before it ends (%(after)s months): "
                     "bands may not overlap."),
        "order": _("Band %(n)s must end after it starts."),
        "open_end": _("Only the last band has no upper end: it covers everything older (band %(n)s)."),
        "rate": _("Band %(n)s: the rate must be a percentage between 0 and 100 with at most two decimals."),
    }
    return str(messages.get(exc.code, _("The matrix is not valid.")) % {"n": n, **exc.params})


@transaction.atomic(durable=True)
def save_matrix(*, company, bands: Sequence[pc.Band], actor, note: str = "") -> ProvisionMatrix:
    """Save ``bands`` as the next version of the company's matrix (earlier versions are kept).

    Refuses (ProvisionError on ``bands``, nothing saved) gaps, overlaps, a first band not from 0, an upper
    end on the last band or a missing one before it, and rates outside 0–100 %. ``insight.provision.edit``.
    """
    if not actor.can("insight.provision.edit"):
        raise NotAllowed(_("You may not change the provision matrix."))
    try:
        clean = pc.check_bands(bands)
    except pc.MatrixError as exc:
        raise ProvisionError(matrix_error_message(exc), field="bands", band=exc.index) from exc
    # the company's versions in order: the row lock of the latest serialises two editors (the unique index backs it)
    latest = (ProvisionMatrix.objects.select_for_update().filter(company=company).order_by("-version")
              .values_list("version", flat=True).first())
    version = (latest or 0) + 1
    m = ProvisionMatrix.objects.create(company=company, version=version, note=(note or "").strip()[:300],
                                       created_by=actor)
    ProvisionBand.objects.bulk_create(
        [ProvisionBand(matrix=m, from_months=b.from_months, to_months=b.to_months, rate=b.rate) for b in clean])
    audit.record(actor=actor, verb="insight.provision.matrix_saved", target=m, company_id=company.pk,
                 summary=f"v{version}",
                 data={"version": version, "note": m.note,
                       "bands": [[b.from_months, b.to_months, b.rate] for b in clean]})
    return m


# ---------------------------------------------------------------- individual assessments


@transaction.atomic(durable=True)
def request_assessment(*, company, customer_id: int, rate, reason: str, valid_from: dt.date, actor,
                       document_id: int | None = None) -> ProvisionAssessment:
    """Ask for a customer's (or one document's) receivables to carry ``rate`` % from ``valid_from``.
    Takes effect once another person approves it (``decide_assessment``). ``insight.provision.edit``."""
    if not actor.can("insight.provision.edit"):
        raise NotAllowed(_("You may not request individual assessments."))
    customer = Customer.objects.filter(company=company, pk=customer_id).first()
    if customer is None:
        raise ProvisionError(_("Unknown customer."), field="customer")
    if document_id is not None and not ReceivableDocument.objects.filter(
            company=company, customer=customer, pk=document_id).exists():
        raise ProvisionError(_("Unknown document of this customer."), field="document")
    try:
        clean_rate = pc.parse_rate(rate)
    except (pc.MatrixError, TypeError) as exc:
        raise ProvisionError(_("The rate must be a percentage between 0 and 100 with at most two decimals."),
                             field="rate") from exc
    reason = " ".join((reason or "").split())
    if not reason:
        raise ProvisionError(_("An individual assessment needs a reason."), field="reason")
    if valid_from is None:
        raise ProvisionError(_("Enter the date the assessment applies from."), field="valid_from")
    a = ProvisionAssessment.objects.create(company=company, customer=customer, document_id=document_id, rate=clean_rate,
                                           reason=reason[:300], valid_from=valid_from, requested_by=actor)
    audit.record(actor=actor, verb="insight.provision.assessment_requested", target=a, customer_id=customer.pk,
                 summary=f"{clean_rate}%",
                 data={"rate": clean_rate, "reason": a.reason, "document_id": document_id, "valid_from": valid_from})
    return a


def _assessment_locked(company, assessment_id: int) -> ProvisionAssessment:
    a = ProvisionAssessment.objects.select_for_update().filter(company=company, pk=assessment_id).first()
    if a is None:
        raise ProvisionError(_("Unknown individual assessment."))
    return a


@transaction.atomic(durable=True)
def decide_assessment(*, company, assessment_id: int, approve: bool, actor, note: str = "") -> ProvisionAssessment:
    """Approve or reject a pending assessment. The requester cannot decide it (SelfApproval).
    Approving ends the target's earlier approved assessment still in force from the new one's date."""
    if not actor.can("insight.provision.approve"):
        raise NotAllowed(_("You may not approve individual assessments."))
    a = _assessment_locked(company, assessment_id)
    if a.status != AssessmentStatus.PENDING:
        raise ProvisionError(_("This assessment has already been decided."))
    if a.requested_by_id == actor.pk:
        raise SelfApproval(_("You cannot approve or reject your own request; another person must decide it."))
    a.status = AssessmentStatus.APPROVED if approve else AssessmentStatus.REJECTED
    a.decided_by = actor
    a.decided_at = timezone.now()
    a.decision_note = (note or "").strip()[:300]
    a.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    if approve:
        # the one before on the same target ends where this one starts (or is replaced if it started later)
        earlier = (ProvisionAssessment.objects.select_for_update()
                   .filter(company=company, customer_id=a.customer_id, document_id=a.document_id,
                           status=AssessmentStatus.APPROVED)
                   .exclude(pk=a.pk).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=a.valid_from)))
        for old in earlier:
            ProvisionAssessment.objects.filter(pk=old.pk).update(ended_on=max(a.valid_from, old.valid_from + dt.timedelta(days=1)))
    audit.record(actor=actor, verb="insight.provision.assessment_approved" if approve
                 else "insight.provision.assessment_rejected", target=a, customer_id=a.customer_id,
                 summary=f"{a.rate}%", data={"rate": a.rate, "note": a.decision_note, "requested_by": a.requested_by_id})
    return a


@transaction.atomic(durable=True)
def end_assessment(*, company, assessment_id: int, ended_on: dt.date, actor) -> ProvisionAssessment:
    """Stop an approved assessment from ``ended_on`` (the matrix applies again from that day)."""
    if not actor.can("insight.provision.approve"):
        raise NotAllowed(_("You may not end individual assessments."))
    a = _assessment_locked(company, assessment_id)
    if a.status != AssessmentStatus.APPROVED or a.ended_on is not None:
        raise ProvisionError(_("Only an approved assessment in force can be ended."))
    if ended_on is None or ended_on <= a.valid_from:
        raise ProvisionError(_("The end must be after the date the assessment applies from (%(date)s).")
                             % {"date": a.valid_from.isoformat()}, field="ended_on")
    a.ended_on = ended_on
    a.save(update_fields=["ended_on"])
    audit.record(actor=actor, verb="insight.provision.assessment_ended", target=a, customer_id=a.customer_id,
                 summary=f"{ended_on}", data={"ended_on": ended_on})
    return a


def assessments(*, company):
    return (ProvisionAssessment.objects.filter(company=company)
            .select_related("customer", "document", "requested_by", "decided_by"))


def _in_force(company, as_of: dt.date) -> dict[int, ProvisionAssessment]:
    """The approved assessments in force on ``as_of``: the latest-starting one per customer / document."""
    rows = (ProvisionAssessment.objects.filter(company=company, status=AssessmentStatus.APPROVED, valid_from__lte=as_of)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
            .select_related("customer", "document").order_by("valid_from", "pk"))
    chosen: dict[tuple, ProvisionAssessment] = {}
    for a in rows:  # assessments, not ledger rows: a handful per company
        chosen[(a.customer_id, a.document_id)] = a
    return {a.pk: a for a in chosen.values()}


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Line:
    kind: str  # "band" | "individual"
    label: str
    balance: Decimal
    rate: Decimal
    provision: Decimal
    customer_id: int | None = None
    customer: str = ""
    document_id: int | None = None
    document: str = ""
    reason: str = ""
    from_months: int | None = None
    to_months: int | None = None


@dataclass(frozen=True)
class ProvisionReport:
    as_of: dt.date
    matrix_version: int | None
    lines: list[Line]
    balance: Decimal
    provision: Decimal
    stored: bool = False  # read from the figures stored when the month was closed
    bands: list[Line] = field(default_factory=list)
    individual: list[Line] = field(default_factory=list)


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (clamped to the month's last day)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def _compute(*, company, as_of: dt.date) -> ProvisionReport:
    matrix = current_matrix(company=company)
    bands = matrix.bands
    chosen = _in_force(company, as_of)
    inner, params = _base_sql(user=None, company=company, as_of=as_of)
    # age band by document date: later than as_of − to_months of band i (bands in order, the last open-ended)
    whens, band_params = [], []
    for i, b in enumerate(bands[:-1]):
        whens.append(f"WHEN t.document_date > %s THEN {i}")
        band_params.append(months_back(as_of, b.to_months))
    band_sql = f"CASE {' '.join(whens)} ELSE {len(bands) - 1} END" if whens else "0"
    # the assessment in force per row, by one join on the chosen assessments (a few hundred (target, id) pairs,
    # passed as two small VALUES tables: hashed once by PostgreSQL, indexed automatically by SQLite); a
    # document's own assessment wins over its customer's. Correlated look-ups per row took 43 s with 500 at
    # 1 M open rows on PostgreSQL (an IN list scanned per row); a LEFT JOIN on the assessments' UNION ALL let
    # SQLite rescan it per row (24 s at 20,000 customers).
    docs = sorted((a.document_id, a.pk) for a in chosen.values() if a.document_id is not None)
    custs = sorted((a.customer_id, a.pk) for a in chosen.values() if a.document_id is None)
    ctes, joins, picks, ov_params = [], [], [], []
    for name, key, pairs in (("dv", "t.document_id", docs), ("cv", "t.customer_id", custs)):
        if pairs:
            ctes.append(f"{name}(k, ov) AS (VALUES "
                        + ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT))"] * len(pairs)) + ")")
            ov_params += [v for pair in pairs for v in pair]
            joins.append(f" LEFT JOIN {name} ON {name}.k = {key}")
            picks.append(f"{name}.ov")
    ov = "NULL" if not picks else picks[0] if len(picks) == 1 else f"COALESCE({', '.join(picks)})"
    with_sql = f"WITH {', '.join(ctes)} " if ctes else ""
    sql = (f"{with_sql}SELECT s.band, s.ov, CAST(SUM(s.x) AS BIGINT) FROM (SELECT {band_sql} AS band, {ov} AS ov, "
           f"t.x AS x FROM ({inner}) t{''.join(joins)} WHERE t.x <> 0) s GROUP BY s.band, s.ov")
    raw = fetch(sql, [*ov_params, *band_params, *params])
    per_band = [0] * len(bands)
    per_ov: dict[int, int] = {}
    for band, ov_id, x in raw:  # one row per (band, assessment): a few dozen
        if ov_id is None:
            per_band[band] += x or 0
        else:
            per_ov[ov_id] = per_ov.get(ov_id, 0) + (x or 0)
    band_lines = []
    for b, x in zip(bands, per_band, strict=True):
        balance = from_minor(x)
        band_lines.append(Line(kind="band", label=band_label(b), balance=balance, rate=b.rate,
                               provision=round_money(pc.provision_of(balance, b.rate)),
                               from_months=b.from_months, to_months=b.to_months))
    individual = []
    for ov_id, x in sorted(per_ov.items(), key=lambda kv: (-kv[1], kv[0])):
        a = chosen[ov_id]
        balance = from_minor(x)
        individual.append(Line(kind="individual", label=a.customer.name, balance=balance, rate=a.rate,
                               provision=round_money(pc.provision_of(balance, a.rate)),
                               customer_id=a.customer_id, customer=a.customer.name, document_id=a.document_id,
                               document=a.document.number if a.document_id else "", reason=a.reason))
    lines = [*band_lines, *individual]
    return ProvisionReport(as_of=as_of, matrix_version=matrix.version, lines=lines,
                           balance=sum((ln.balance for ln in lines), ZERO),
                           provision=sum((ln.provision for ln in lines), ZERO), bands=band_lines, individual=individual)


def _line_data(ln: Line) -> dict:
    return {"kind": ln.kind, "label": ln.label, "balance": str(ln.balance), "rate": str(ln.rate),
            "provision": str(ln.provision), "customer_id": ln.customer_id, "customer": ln.customer,
            "document_id": ln.document_id, "document": ln.document, "reason": ln.reason,
            "from_months": ln.from_months, "to_months": ln.to_months}


def _from_snapshot(s: ProvisionSnapshot) -> ProvisionReport:
    lines = []
    for d in s.lines:
        ln = Line(kind=d["kind"], label=d["label"], balance=Decimal(d["balance"]), rate=Decimal(d["rate"]),
                  provision=Decimal(d["provision"]), customer_id=d.get("customer_id"), customer=d.get("customer", ""),
                  document_id=d.get("document_id"), document=d.get("document", ""), reason=d.get("reason", ""),
                  from_months=d.get("from_months"), to_months=d.get("to_months"))
        if ln.kind == "band" and ln.from_months is not None:  # labels in the reader's language
            ln = Line(**{**ln.__dict__, "label": band_label(pc.Band(ln.from_months, ln.to_months, ln.rate))})
        lines.append(ln)
    return ProvisionReport(as_of=s.month_end, matrix_version=s.matrix.version if s.matrix_id else None, lines=lines,
                           balance=s.balance, provision=s.provision, stored=True,
                           bands=[ln for ln in lines if ln.kind == "band"],
                           individual=[ln for ln in lines if ln.kind == "individual"])


def provision_report(*, company, as_of: dt.date) -> ProvisionReport:
    """The suggested provision as of ``as_of`` (a business date). A closed month end reads the figures
    stored at its close; any other date is computed (one aggregate statement over the as-of aging)."""
    stored = ProvisionSnapshot.objects.filter(company=company, month_end=as_of).select_related("matrix").first()
    if stored is not None:
        return _from_snapshot(stored)
    return _compute(company=company, as_of=as_of)


def write_off_use(*, company, start: dt.date, end: dt.date) -> Decimal:
    """Write-offs dated in [start, end] less write-offs reversed (recovered) in it — what the month charges
    against the provision. One aggregate query over the ledger entries."""
    agg = LedgerEntry.objects.filter(company=company, date__gte=start, date__lte=end).aggregate(
        wo=Sum("credit_amount", filter=Q(kind=EntryKind.WRITE_OFF)),
        back=Sum("debit_amount", filter=Q(kind=EntryKind.REVERSAL, credit__kind=CreditKind.WRITE_OFF)),
    )
    return (agg["wo"] or ZERO) - (agg["back"] or ZERO)


@dataclass(frozen=True)
class MovementRow:
    month: dt.date  # the month's first day
    opening: Decimal
    charge: Decimal
    release: Decimal
    write_off_use: Decimal
    closing: Decimal
    stored: bool


def movement_report(*, company, until: dt.date, months: int = 12) -> list[MovementRow]:
    """Movement per month for the ``months`` months ending with ``until``'s month (oldest first):
    opening (the previous month end's provision), write-off use, charge, release, closing;
    ``opening − write-off use + charge − release = closing`` in every row."""
    ends = []
    first = until.replace(day=1)
    for k in range(months, -1, -1):  # the month before the first (its closing is the first opening) … until's month
        m = months_back(first, k)
        ends.append(end_of_month(m))
    stored = {s.month_end: s for s in ProvisionSnapshot.objects.filter(company=company, month_end__in=ends)
              .select_related("matrix")}
    totals = {}
    for e in ends:  # a dozen reports, each one aggregate statement (or a stored row)
        totals[e] = stored[e].provision if e in stored else _compute(company=company, as_of=e).provision
    rows = []
    for prev, end in zip(ends, ends[1:], strict=False):
        start = end.replace(day=1)
        use = stored[end].write_off_use if end in stored else write_off_use(company=company, start=start, end=end)
        mv = pc.movement(opening=totals[prev], closing=totals[end], write_off_use=use)
        rows.append(MovementRow(month=start, opening=mv.opening, charge=mv.charge, release=mv.release,
                                write_off_use=mv.write_off_use, closing=mv.closing, stored=end in stored))
    return rows


# ---------------------------------------------------------------- period close hooks (registered in apps.py)


def store_closed_months(*, company, month_end: dt.date, actor, previous_lock: dt.date | None = None) -> int:
    """Store the provision of every month end newly closed (inside the close's transaction); returns how many.

    From the month after ``previous_lock`` to ``month_end`` (at most MAX_STORED_AT_CLOSE); a first close
    stores only ``month_end``. A month end already stored is kept as it is."""
    ends = [month_end]
    if previous_lock is not None:
        m = months_back(month_end.replace(day=1), 1)
        while len(ends) < MAX_STORED_AT_CLOSE and end_of_month(m) > previous_lock:
            ends.append(end_of_month(m))
            m = months_back(m, 1)
    have = set(ProvisionSnapshot.objects.filter(company=company, month_end__in=ends).values_list("month_end", flat=True))
    matrix = current_matrix(company=company)
    made = 0
    for end in sorted(set(ends) - have):
        rep = _compute(company=company, as_of=end)
        ProvisionSnapshot.objects.create(
            company=company, month_end=end, matrix_id=matrix.pk, balance=rep.balance, provision=rep.provision,
            write_off_use=write_off_use(company=company, start=end.replace(day=1), end=end),
            lines=[_line_data(ln) for ln in rep.lines])
        made += 1
    return made


def drop_reopened_months(*, company, first_reopened: dt.date, **_kw) -> int:
    """Drop the stored figures of the reopened months (from ``first_reopened``'s month end on)."""
    deleted, _detail = ProvisionSnapshot.objects.filter(company=company, month_end__gte=first_reopened).delete()
    return deleted


def stored_month_ends(*, company) -> list[dt.date]:
    return list(ProvisionSnapshot.objects.filter(company=company).order_by("-month_end")
                .values_list("month_end", flat=True)[:60])
