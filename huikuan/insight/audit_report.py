"""The internal audit report (内部审计) and the audit-log search: reads over ``common.AuditEvent``.

Nothing here writes. The report lists the events an auditor looks at first, by *category* — limit and terms
changes, over-limit releases, manual allocations, write-offs, reversals, payment plans, back-dated entries,
overrides of system suggestions, approvals, failed permission attempts, period close — each a set of verbs
(plus a condition on the event's data for two of them); the search is the same query without a category and
with verb, object, user and text filters. Both read through ``events`` (filters) and ``page_after`` (keyset
paging on ``(at, id)``, newest first): no OFFSET, no COUNT over millions of rows; the per-category counts are
one aggregate grouped by verb (``category_counts``); "back-dated" compares the business date each posting's
event stored when it was written (``AuditEvent.business_date``) with the month it was recorded in.

Segregation of duties (``sod_findings``) is two joins in SQL:

- *request and approval by one person*: the request event (credit request, write-off, payment plan, individual
  provision assessment) and the approval of the same object by the same account, or by two accounts whose
  employee numbers (工号) are the same once case, spaces, hyphens, dots, slashes and underscores are ignored
  (the database refuses exact duplicates, so a second account of one person differs in spelling only);
- *created the customer and approved its limit*: ``customers.customer.created`` and ``credit.limit.changed``
  (recorded by the approver) of one customer, by the same person in that sense.

Scope: the company's events and the install-wide ones (``company_id`` empty: users, sign-ins, API keys).
Who may read: ``audit.report`` (administrator, auditor); everyone else is refused (403).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, DateField, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, TruncMonth
from django.utils.translation import gettext_lazy as _

from huikuan.common.errors import DomainError
from huikuan.common.models import AuditEvent

MAX_RANGE_DAYS = 3660  # ten years: a longer period is a typo, not an audit


class AuditFilterError(DomainError):
    """A filter of the audit report or search that cannot be applied (dates, an unknown category)."""


@dataclass(frozen=True)
class Category:
    code: str
    label: object
    verbs: tuple[str, ...]
    extra: Q | None = None  # a further condition on the events of these verbs


POSTING_VERBS = ("ledger.document.posted", "ledger.payment.recorded", "ledger.credit_note.issued")

CATEGORIES: tuple[Category, ...] = (
    Category("limits", _("Limit and terms changes"),
             ("credit.limit.changed", "credit.terms.changed", "customers.terms.updated", "credit.policy.updated")),
    Category("releases", _("Over-limit releases"),
             ("credit.order.released", "credit.order.partly_released", "credit.hold.released")),
    Category("allocations", _("Manual allocations"), ("ledger.credit.allocated",), Q(data__auto=False)),
    Category("writeoffs", _("Write-offs"),
             ("ledger.write_off.requested", "ledger.write_off.approved", "ledger.write_off.rejected")),
    Category("reversals", _("Reversals"),
             ("ledger.document.reversed", "ledger.credit.reversed", "ledger.allocation.reversed",
              "ledger.fapiao.red_reversed", "banking.line.undone")),
    Category("plans", _("Payment plans"),
             ("collections.plan.requested", "collections.plan.approved", "collections.plan.rejected",
              "collections.plan.broken", "collections.plan.completed")),
    # extra: the business date is in a month before the month the entry was recorded in (``_backdated_q``)
    Category("backdated", _("Back-dated entries"), POSTING_VERBS),
    Category("overrides", _("Overrides of system suggestions"),
             ("credit.grade.overridden", "insight.provision.assessment_approved", "banking.line.applied",
              "credit.order.released", "credit.order.partly_released"),
             # a bank line applied by a person (not the matcher's automatic application)
             ~Q(verb="banking.line.applied") | Q(data__automatic=False)),
    Category("approvals", _("Approvals"),
             ("credit.request.approved", "credit.request.first_approved", "credit.request.rejected",
              "credit.order.approved", "ledger.write_off.approved", "ledger.write_off.rejected",
              "collections.plan.approved", "collections.plan.rejected", "insight.commission.approved",
              "insight.provision.assessment_approved", "insight.provision.assessment_rejected",
              "dunning.action.approved", "dunning.action.rejected", "collections.dispute.resolved")),
    Category("denied", _("Failed permission attempts"), ("accounts.permission.denied",)),
    Category("periods", _("Period close and reopen"), ("ledger.period.closed", "ledger.period.reopened")),
    Category("access", _("Users and roles"),
             ("accounts.user.created", "accounts.user.role_changed", "accounts.user.deactivated",
              "accounts.user.reactivated", "accounts.user.company_granted", "accounts.user.password_reset",
              "api.key.issued", "api.key.revoked")),
)
BY_CODE = {c.code: c for c in CATEGORIES}


@dataclass(frozen=True)
class Filters:
    since: dt.date | None = None
    until: dt.date | None = None
    category: str = ""
    actor_id: int | None = None
    customer_id: int | None = None
    verb: str = ""
    target_type: str = ""
    target_id: int | None = None
    text: str = ""


def check_filters(f: Filters) -> None:
    """Refuse filters that cannot mean anything (AuditFilterError naming the field)."""
    if f.since and f.until and f.until < f.since:
        raise AuditFilterError(_("The period ends (%(to)s) before it starts (%(from)s).")
                               % {"to": f.until.isoformat(), "from": f.since.isoformat()}, field="to")
    if f.since and f.until and (f.until - f.since).days > MAX_RANGE_DAYS:
        raise AuditFilterError(_("The period is longer than ten years; choose a shorter one."), field="from")
    if f.category and f.category not in BY_CODE:
        raise AuditFilterError(_("Unknown category: %(value)s.") % {"value": f.category}, field="category")


def _instants(company, f: Filters) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The period as aware datetimes: from the start of ``since`` to the end of ``until`` in the company's zone."""
    tz = zoneinfo.ZoneInfo(company.timezone)
    start = dt.datetime.combine(f.since, dt.time.min, tzinfo=tz) if f.since else None
    end = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if f.until else None
    return start, end


def _bounds(company, f: Filters) -> Q:
    start, end = _instants(company, f)
    q = Q()
    if start is not None:
        q &= Q(at__gte=start)
    if end is not None:
        q &= Q(at__lt=end)
    return q


def _month_starts(since: dt.date, until: dt.date) -> list[dt.date]:
    first, out = since.replace(day=1), []
    while first <= until:
        out.append(first)
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return out


def _backdated_q(company, f: Filters | None = None) -> Q:
    """Postings whose business date (stored in the event when it was written: the document's or credit's date) is
    in an earlier month than the day they were recorded (company zone) — a comparison within the event.

    Within a bounded period the month an event was recorded in is read off constants (``CASE WHEN at < <start of
    the next month> THEN <this month's first day> …``: one comparison of instants per month of the period) rather
    than by converting each event's instant to the company's zone (``TruncMonth(at, tz)``), which cost more than
    the rest of the report's aggregate together; the same months either way."""
    tz = zoneinfo.ZoneInfo(company.timezone)
    month: object = TruncMonth("at", tzinfo=tz, output_field=DateField())
    if f is not None and f.since and f.until:
        starts = _month_starts(f.since, f.until)
        month = Case(*[When(at__lt=dt.datetime.combine(nxt, dt.time.min, tzinfo=tz), then=Value(this))
                       for this, nxt in zip(starts, starts[1:], strict=False)],
                     default=Value(starts[-1]), output_field=DateField())
    return Q(verb__in=POSTING_VERBS, business_date__lt=month)


def _extra(cat: Category, company, f: Filters | None = None) -> Q | None:
    """The category's condition beyond its verbs (the back-dated one depends on the company's zone)."""
    return _backdated_q(company, f) if cat.code == "backdated" else cat.extra


def events(*, company, f: Filters) -> QuerySet:
    """The audit events of ``company`` (and the install-wide ones) matching ``f``, newest first.
    Raises AuditFilterError for filters that cannot be applied."""
    check_filters(f)
    qs = AuditEvent.objects.filter(Q(company_id=company.pk) | Q(company_id__isnull=True)).filter(_bounds(company, f))
    if f.category:
        cat = BY_CODE[f.category]
        qs = qs.filter(verb__in=cat.verbs)
        if (extra := _extra(cat, company, f)) is not None:
            qs = qs.filter(extra)
    if f.verb:
        qs = qs.filter(verb=f.verb) if "*" not in f.verb else qs.filter(verb__startswith=f.verb.rstrip("*"))
    if f.actor_id is not None:
        qs = qs.filter(actor_id=f.actor_id)
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.target_type:
        qs = qs.filter(target_type=f.target_type)
    if f.target_id is not None:
        qs = qs.filter(target_id=f.target_id)
    if f.text:
        qs = qs.annotate(data_text=Cast("data", TextField())).filter(_text_q(f.text))
    return qs.order_by("-at", "-id")


def _text_q(text: str) -> Q:
    """Text in the summary or anywhere in the data (before/after values, notes, reasons): a substring match on
    the JSON as stored (PostgreSQL: ``data::text``, read through trigram indexes on both upper-cased columns —
    common migration 0007; SQLite keeps JSON as text). Non-ASCII text is stored escaped in the JSON on SQLite,
    so there the needle is searched in both spellings (``jsonb`` prints it as it is)."""
    escaped = json.dumps(text)[1:-1]
    q = Q(summary__icontains=text) | Q(data_text__icontains=text)
    if escaped != text and connection.vendor != "postgresql":
        q |= Q(data_text__icontains=escaped)
    return q


# ---------------------------------------------------------------- rows as people read them


def who(user) -> str:
    if user is None:
        return ""
    return f"{user.display_name or user.get_full_name() or user.username} ({user.username})"


def _plain(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if k not in ("version", "updated_at"))
    return str(value)


def event_rows(company, events: list) -> list[dict]:
    """Each event as the page, the XLSX and the command show it: when (company zone), who, what (the verb's label
    in the active language), object, customer code, detail, before and after. Two queries per call (related
    names, customer codes), whatever the number of events."""
    from huikuan.common.audit import describe
    from huikuan.customers.models import Customer

    tz = zoneinfo.ZoneInfo(company.timezone)
    described = describe(events)
    customers = dict(Customer.objects.filter(pk__in={e.customer_id for e in events if e.customer_id})
                     .values_list("pk", "code"))
    out = []
    for ev, d in zip(events, described, strict=True):
        data = ev.data or {}
        before, after = data.get("before"), data.get("after")
        out.append({
            "ev": ev, "at": ev.at.astimezone(tz), "who": who(ev.actor), "what": d.title, "verb": ev.verb,
            "object": f"{ev.target_type} #{ev.target_id}" if ev.target_type else "",
            "customer": customers.get(ev.customer_id, ""), "detail": d.detail,
            "before": _plain(before) if before not in (None, "") else "",
            "after": _plain(after) if after not in (None, "") else "",
        })
    return out


def columns():
    from django.utils.translation import gettext

    return [(gettext("When"), "text"), (gettext("Who"), "text"), (gettext("Action"), "text"), (gettext("Code"), "text"),
            (gettext("Object"), "text"), (gettext("Customer"), "text"), (gettext("Detail"), "text"),
            (gettext("Before"), "text"), (gettext("After"), "text")]


def cells(r: dict) -> list:
    return [f"{r['at']:%Y-%m-%d %H:%M:%S}", r["who"], r["what"], r["verb"], r["object"], r["customer"], r["detail"],
            r["before"], r["after"]]


def xlsx_rows(company, qs: QuerySet, limit: int = 100_000):
    """Cells of up to ``limit`` events of ``qs``, read in chunks of 2,000 (constant memory)."""
    chunk = []
    for ev in qs.select_related("actor")[:limit].iterator(chunk_size=2000):
        chunk.append(ev)
        if len(chunk) == 2000:
            yield from (cells(r) for r in event_rows(company, chunk))
            chunk = []
    yield from (cells(r) for r in event_rows(company, chunk))


# ---------------------------------------------------------------- keyset paging


def encode_cursor(event) -> str:
    raw = f"{event.at.isoformat()}|{event.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, int] | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, pk = raw.split("|")
        return dt.datetime.fromisoformat(at), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise AuditFilterError(_("The page link is not valid; start from the first page."), field="after") from None


def page_after(qs: QuerySet, *, after: str = "", size: int = 50, oldest_first: bool = False) -> tuple[list, str]:
    """One page of ``qs`` (ordered newest first, or oldest first with ``oldest_first``) after the ``after``
    cursor, and the next page's cursor ('' at the end). Keyset on ``(at, id)``: each page costs the same
    however deep it is."""
    cursor = decode_cursor(after)
    if cursor is not None:
        at, pk = cursor
        if oldest_first:
            qs = qs.filter(Q(at__gt=at) | Q(at=at, pk__gt=pk))
        else:
            qs = qs.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    rows = list(qs.select_related("actor")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (encode_cursor(rows[-1]) if more and rows else "")


# ---------------------------------------------------------------- report figures


def category_counts(*, company, f: Filters) -> list[tuple[Category, int]]:
    """Events per category in the period and filters: one aggregate grouped by verb over the categories' verbs
    (a few dozen rows back), with a filtered count for each category that also looks at the event itself (manual
    allocations, people's bank applications, back-dated postings by their stored business date)."""
    check_filters(f)
    base = events(company=company, f=Filters(**{**f.__dict__, "category": ""}))
    verbs = sorted({v for cat in CATEGORIES for v in cat.verbs})
    extras = {cat.code: Count("pk", filter=Q(verb__in=cat.verbs) & extra) for cat in CATEGORIES
              if (extra := _extra(cat, company, f)) is not None}
    rows = base.filter(verb__in=verbs).order_by().values("verb").annotate(n=Count("pk"), **extras)
    got = dict.fromkeys(BY_CODE, 0)
    for row in rows:
        for cat in CATEGORIES:
            if row["verb"] in cat.verbs:
                got[cat.code] += row[cat.code] if cat.code in extras else row["n"]
    return [(cat, got[cat.code]) for cat in CATEGORIES]


@dataclass(frozen=True)
class Finding:
    rule: str
    label: str
    object_label: str
    customer_id: int | None
    first_actor: str
    first_at: dt.datetime
    first_verb: str
    second_actor: str
    second_at: dt.datetime
    second_verb: str
    same_account: bool


# request verb → the approvals of the same object that must come from someone else
REQUEST_PAIRS = {
    "credit.request.created": ("credit.request.approved", "credit.request.first_approved"),
    "ledger.write_off.requested": ("ledger.write_off.approved",),
    "collections.plan.requested": ("collections.plan.approved",),
    "insight.provision.assessment_requested": ("insight.provision.assessment_approved",),
}


def _person_sql(alias: str) -> str:
    """SQL of the employee number of user ``alias`` with case and separators removed ('' when it has none)."""
    expr = f"UPPER({alias}.employee_number)"
    for sep in (" ", "-", "_", ".", "/"):
        expr = f"REPLACE({expr}, '{sep}', '')"
    return expr


def sod_findings(*, company, f: Filters, limit: int = 500) -> list[Finding]:
    """Segregation-of-duties findings whose second step falls in the period: one person requested and approved
    (through one account or two accounts of one employee number), or created a customer and approved its limit.
    Two SQL statements; newest first; at most ``limit`` of each rule."""
    check_filters(f)
    users = connection.ops.quote_name("accounts_user")
    events_t = connection.ops.quote_name(AuditEvent._meta.db_table)
    where, params = ["(b.company_id = %s OR b.company_id IS NULL)"], [company.pk]
    start, end = _instants(company, f)
    if start is not None:
        where.append("b.at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        where.append("b.at < %s")
        params.append(connection.ops.adapt_datetimefield_value(end))
    if f.customer_id is not None:
        where.append("b.customer_id = %s")
        params.append(f.customer_id)
    if f.actor_id is not None:
        where.append("(a.actor_id = %s OR b.actor_id = %s)")
        params += [f.actor_id, f.actor_id]
    same = (f"(a.actor_id = b.actor_id OR ({_person_sql('ua')} <> '' AND "
            f"{_person_sql('ua')} = {_person_sql('ub')}))")
    pairs = " OR ".join(
        f"(a.verb = %s AND b.verb IN ({', '.join(['%s'] * len(approvals))}))" for approvals in REQUEST_PAIRS.values())
    pair_params = [v for req, approvals in REQUEST_PAIRS.items() for v in (req, *approvals)]
    select = "SELECT a.verb, a.at, a.actor_id, b.verb, b.at, b.actor_id, b.customer_id, b.target_type, b.target_id "
    joins = (f"JOIN {users} ua ON ua.id = a.actor_id JOIN {users} ub ON ub.id = b.actor_id ")
    request_sql = (
        f"{select}FROM {events_t} b JOIN {events_t} a ON a.target_type = b.target_type AND a.target_id = b.target_id "
        f"{joins}WHERE ({pairs}) AND {same} AND {' AND '.join(where)} ORDER BY b.at DESC, b.id DESC LIMIT %s")
    customer_sql = (
        f"{select}FROM {events_t} b JOIN {events_t} a ON a.customer_id = b.customer_id AND a.verb = %s "
        f"{joins}WHERE b.verb = %s AND {same} AND {' AND '.join(where)} ORDER BY b.at DESC, b.id DESC LIMIT %s")
    out: list[Finding] = []
    from django.contrib.auth import get_user_model

    names = {}
    with connection.cursor() as cur:
        cur.execute(request_sql, [*pair_params, *params, limit])
        request_rows = cur.fetchall()
        cur.execute(customer_sql, ["customers.customer.created", "credit.limit.changed", *params, limit])
        customer_rows = cur.fetchall()
    ids = {r[2] for r in request_rows + customer_rows} | {r[5] for r in request_rows + customer_rows}
    for u in get_user_model().objects.filter(pk__in=ids):
        names[u.pk] = f"{u} ({u.username}{', ' + u.employee_number if u.employee_number else ''})"
    from huikuan.common.audit import verb_label

    for rule, label, rows in (
        ("request_approval", _("Requested and approved by the same person"), request_rows),
        ("customer_limit", _("Created the customer and approved its limit"), customer_rows),
    ):
        for av, aat, aactor, bv, bat, bactor, customer_id, ttype, tid in rows:
            out.append(Finding(
                rule=rule, label=str(label), object_label=f"{ttype} #{tid}" if rule == "request_approval" else "",
                customer_id=customer_id, first_actor=names.get(aactor, ""), first_at=_aware(aat),
                first_verb=verb_label(av), second_actor=names.get(bactor, ""), second_at=_aware(bat),
                second_verb=verb_label(bv), same_account=aactor == bactor))
    return out


def _aware(value):
    if isinstance(value, str):  # SQLite returns text from a raw query
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
