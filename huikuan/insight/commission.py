"""Collection commission (回款提成): rules, the monthly computation in SQL, approval.

Commission is earned on cash applied to a salesperson's instalments in the month (payment allocations;
the salesperson recorded on the instalment — 谁销售谁收款), at the rate of the band of days paid after
the instalment's due date (0 when on time or early), acceptance bills like cash, at a share of the rate
or not at all. Per line: commission = amount × rate, rounded half away from zero to the fen (integer SQL:
``(fen × rate·10⁶ ± 5·10⁷) / 10⁸``, exact; a single allocation above ~920 million yuan at a 100 % rate
would overflow BIGINT — far beyond any real payment).

A reversed payment claws back in the month of the reversal exactly what its allocation earned (the
negative of that allocation's line; when it had none, the rate of its original date). A statement once
approved is never rewritten: an allocation dated in an approved month but entered afterwards (a
back-dated reversal or payment) is taken by the next month computed, as an adjustment line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.common import audit
from huikuan.common.errors import DomainError

from . import kpi_calc
from .models import (
    BillMode,
    CommissionBand,
    CommissionRule,
    CommissionStatement,
    StatementStatus,
)

BILL_METHODS = ("bank_acceptance", "commercial_acceptance")
RATE_UNIT = Decimal(10) ** 6  # rate percent × 10⁶ as an integer in SQL


class CommissionError(DomainError):
    code = "commission_invalid"


@dataclass(frozen=True)
class BandInput:
    days_from: int
    days_to: int | None
    rate: Decimal


def check_bands(bands: list[BandInput]) -> list[BandInput]:
    """Sorted bands, or CommissionError: a rate outside 0–100 %, a band ending before it starts, negative
    days, or two bands that overlap. Days not covered by any band earn nothing."""
    if not bands:
        raise CommissionError(_("Enter at least one band."), field="bands")
    out = sorted(bands, key=lambda b: b.days_from)
    for b in out:
        if not (Decimal(0) <= b.rate <= Decimal(100)):
            raise CommissionError(_("A rate must be between 0 and 100 %."), field="bands")
        if b.days_from < 0:
            raise CommissionError(_("Days late start at 0 (payments on time or early count as 0)."), field="bands")
        if b.days_to is not None and b.days_to < b.days_from:
            raise CommissionError(_("A band ends before it starts (%(a)s–%(b)s days).") % {"a": b.days_from, "b": b.days_to},
                                  field="bands")
    for prev, nxt in zip(out, out[1:], strict=False):
        if prev.days_to is None or nxt.days_from <= prev.days_to:
            raise CommissionError(_("Bands overlap at %(d)s days late.") % {"d": nxt.days_from}, field="bands")
    return out


def parse_bands(text: str) -> list[BandInput]:
    """``0-30:1, 31-90:0.5, 91-:0`` (days from–to : rate %), one band per comma, semicolon or line."""
    import re

    bands = []
    for part in re.split(r"[,;，；\n]+", (text or "").strip()):
        part = part.strip().replace("％", "").replace("%", "").replace("：", ":")
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*[-–~]\s*(\d*)\s*:\s*(\d+(?:\.\d+)?)", part)
        if not m:
            raise CommissionError(_("Write each band as from-to:rate, e.g. 0-30:1, 31-90:0.5, 91-:0."), field="bands")
        bands.append(BandInput(int(m[1]), int(m[2]) if m[2] else None, Decimal(m[3])))
    return check_bands(bands)


@transaction.atomic(durable=True)
def save_rule(*, company, valid_from: dt.date, bands: list[BandInput], actor, bill_mode: str = BillMode.SAME,
              bill_share: Decimal = Decimal(100), note: str = "") -> CommissionRule:
    """Create (or replace, while no approved month uses it) the rule valid from ``valid_from``."""
    bands = check_bands(list(bands))
    if bill_mode not in BillMode.values:
        raise CommissionError(_("Unknown option."), field="bill_mode")
    if not (Decimal(0) <= Decimal(bill_share) <= Decimal(100)):
        raise CommissionError(_("A rate must be between 0 and 100 %."), field="bill_share")
    old = CommissionRule.objects.select_for_update().filter(company=company, valid_from=valid_from).first()
    if old is not None:
        if CommissionStatement.objects.filter(company=company, status=StatementStatus.APPROVED,
                                              month_end__gte=valid_from).exists():
            raise CommissionError(_("An approved month already uses this rule; add a rule valid from a later date."),
                                  field="valid_from")
        old.delete()
    rule = CommissionRule.objects.create(company=company, valid_from=valid_from, bill_mode=bill_mode,
                                         bill_share=bill_share, note=note, created_by=actor)
    CommissionBand.objects.bulk_create([CommissionBand(rule=rule, days_from=b.days_from, days_to=b.days_to, rate=b.rate)
                                        for b in bands])
    audit.record(actor=actor, verb="insight.commission.rule_saved", target=rule, company_id=company.pk,
                 data={"valid_from": valid_from, "bill_mode": bill_mode, "bill_share": bill_share,
                       "bands": [[b.days_from, b.days_to, b.rate] for b in bands]})
    return rule


def rule_for(company, month_end: dt.date) -> CommissionRule | None:
    return (CommissionRule.objects.filter(company=company, valid_from__lte=month_end)
            .prefetch_related("bands").order_by("-valid_from").first())


def _band_rows(rule: CommissionRule) -> tuple[str, list]:
    """The rule's bands as a small SQL table ``bands(lo, hi, cash, bill)``: days late from ``lo`` to ``hi``
    (NULL: no end), the rate (percent × 10⁶, integer) for cash and for acceptance bills — computed here once,
    exactly, so the statement only joins on it."""
    share = Decimal(100) if rule.bill_mode == BillMode.SAME else (
        Decimal(0) if rule.bill_mode == BillMode.NONE else Decimal(rule.bill_share))
    rows, params = [], []
    for b in rule.bands.all():
        cash = int((Decimal(b.rate) * RATE_UNIT).to_integral_value())
        bill = int((Decimal(b.rate) * share / 100 * RATE_UNIT).quantize(Decimal(1)))
        rows.append("(CAST(%s AS INTEGER), CAST(%s AS INTEGER), CAST(%s AS BIGINT), CAST(%s AS BIGINT))")
        params += [b.days_from, b.days_to, cash, bill]
    return f"bands(lo, hi, cash, bill) AS (VALUES {', '.join(rows)})", params


def _days(later: str, earlier: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _candidates(*, company, start: dt.date, end: dt.date, approved_from: dt.date | None) -> tuple[str, list]:
    """Sub-SELECT of the allocations a month's statements take (any credit kind; the caller keeps payments):
    those dated in the month, and — when an earlier month has an approved statement — those dated in a month
    whose statement of their salesperson is approved that no statement took (a back-dated entry or a reversal
    after approval: an adjustment). Each part is one range of the (company, date) index with an anti-join on
    the lines' unique allocation index; the second part touches the instalment and statements only for the
    few allocations no line has."""
    cols = "a.id, a.date, a.customer_id, a.credit_id, a.instalment_id, a.amount, a.reverses_id"
    untaken = "NOT EXISTS (SELECT 1 FROM insight_commissionline x WHERE x.allocation_id = a.id)"
    sql = (f"SELECT {cols} FROM ledger_allocation a WHERE a.company_id = %s AND a.date >= %s AND a.date <= %s "
           f"AND {untaken}")
    params: list = [company.pk, start, end]
    if approved_from is not None:
        sql += (f" UNION ALL SELECT {cols} FROM ledger_allocation a WHERE a.company_id = %s AND a.date >= %s "
                f"AND a.date < %s AND {untaken} AND EXISTS (SELECT 1 FROM ledger_instalment i1 "
                f"JOIN insight_commissionstatement p ON p.salesperson_id = i1.salesperson_id "
                f"WHERE i1.id = a.instalment_id AND p.company_id = %s AND p.status = 'approved' "
                f"AND p.month <= a.date AND p.month_end >= a.date)")
        params += [company.pk, approved_from, start, company.pk]
    return sql, params


ROWS = "insight_commission_rows"  # a temporary table: the month's computed lines before their statements exist


def _rows_sql(*, rule: CommissionRule, company, start: dt.date, end: dt.date,
              approved_from: dt.date | None) -> tuple[str, list]:
    """SELECT of the month's commission lines, without their statement: one row per candidate payment
    (``_candidates``) on an instalment with a salesperson — its days late (a reversal: those of the allocation
    it undoes, 0 when early), the rate of the band it falls in (joined on ``_band_rows``; none: 0) for cash or
    bills, the commission rounded half away from zero to the fen in integers; a reversal claws back exactly
    what the allocation it undoes earned (its line's rate and commission, negated), else at the current band.
    The allocation undone and its line are looked up for reversals only (a CASE guards the sub-SELECTs)."""
    cand_sql, cand_params = _candidates(company=company, start=start, end=end, approved_from=approved_from)
    bands_sql, bands_params = _band_rows(rule)
    paid_on = "CASE WHEN c.reverses_id IS NULL THEN c.date ELSE (SELECT o.date FROM ledger_allocation o WHERE o.id = c.reverses_id) END"
    late = _days(paid_on, "i.due_date")
    is_bill = f"cr.method IN ({', '.join(repr(m) for m in BILL_METHODS)})"
    undone = "CASE WHEN c.reverses_id IS NULL THEN NULL ELSE (SELECT l.{col} FROM insight_commissionline l WHERE l.allocation_id = c.reverses_id) END"
    inner = (f"SELECT c.id, c.date, c.customer_id, c.credit_id, c.instalment_id, c.amount, i.due_date, "
             f"i.salesperson_id AS sp, CASE WHEN {late} < 0 THEN 0 ELSE {late} END AS days, "
             f"CASE WHEN {is_bill} THEN 1 ELSE 0 END AS bill, {undone.format(col='rate')} AS undone_rate, "
             f"{undone.format(col='commission')} AS undone FROM ({cand_sql}) c "
             f"JOIN ledger_credit cr ON cr.id = c.credit_id JOIN ledger_instalment i ON i.id = c.instalment_id "
             f"WHERE cr.kind = 'payment' AND i.salesperson_id IS NOT NULL")
    rate = "COALESCE(CASE WHEN r.bill = 1 THEN b.bill ELSE b.cash END, 0)"
    earned = f"(r.amount * {rate} + CASE WHEN r.amount >= 0 THEN 50000000 ELSE -50000000 END) / 100000000"
    sql = (f"WITH {bands_sql} SELECT r.sp AS sp, r.id AS allocation_id, r.date AS date, r.customer_id AS customer_id, "
           f"r.credit_id AS credit_id, r.instalment_id AS instalment_id, r.due_date AS due_date, r.amount AS amount, "
           f"r.days AS days_late, COALESCE(r.undone_rate * {int(RATE_UNIT)}, {rate}) AS rate_unit, "
           f"r.bill AS bill, COALESCE(-r.undone, {earned}) AS commission, "
           f"CASE WHEN r.date < %s THEN 1 ELSE 0 END AS adjustment "
           f"FROM ({inner}) r LEFT JOIN bands b ON r.days >= b.lo AND (b.hi IS NULL OR r.days <= b.hi)")
    return sql, [*bands_params, start, *cand_params]


@transaction.atomic(durable=True)
def compute_month(*, company, month: dt.date, actor) -> int:
    """(Re)compute the draft statements of ``month`` (any day in it) for every salesperson; approved
    statements stay as they are. Returns the number of lines written. Raises CommissionError without a rule.

    Set-wise and in one pass over the ledger: the month's lines are computed into a temporary table
    (``_rows_sql``), the statements of the salespeople found there are created, the lines inserted with
    their draft statement (a VALUES table of salesperson → statement), and the statements' sums taken in one
    grouped UPDATE."""
    start = month.replace(day=1)
    end = kpi_calc.month_end(start)
    rule = rule_for(company, end)
    if rule is None:
        raise CommissionError(_("Set up a commission rule first."), field="rule")
    # the month's statements are locked while they are rebuilt (concurrent runs wait, then redo)
    list(CommissionStatement.objects.select_for_update().filter(company=company, month=start))
    with connection.cursor() as cur:  # through the (statement, date) index, not a join over every month's lines
        cur.execute("DELETE FROM insight_commissionline WHERE statement_id IN (SELECT d.id FROM "
                    "insight_commissionstatement d WHERE d.company_id = %s AND d.month = %s AND d.status = 'draft')",
                    [company.pk, start])
    approved_from = (CommissionStatement.objects.filter(company=company, status=StatementStatus.APPROVED,
                                                        month__lt=start)
                     .order_by("month").values_list("month", flat=True).first())
    rows_sql, rows_params = _rows_sql(rule=rule, company=company, start=start, end=end, approved_from=approved_from)
    written = 0
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {ROWS}")
        cur.execute(f"CREATE TEMPORARY TABLE {ROWS} AS {rows_sql}", rows_params)
        cur.execute(f"SELECT DISTINCT sp FROM {ROWS}")
        people = [r[0] for r in cur.fetchall()]
        approved = set(CommissionStatement.objects.filter(company=company, month=start,
                                                          status=StatementStatus.APPROVED)
                       .values_list("salesperson_id", flat=True))
        CommissionStatement.objects.bulk_create(
            [CommissionStatement(company=company, salesperson_id=p, month=start, month_end=end) for p in people
             if p not in approved], ignore_conflicts=True)
        drafts = list(CommissionStatement.objects.filter(company=company, month=start, status=StatementStatus.DRAFT)
                      .values_list("salesperson_id", "pk"))
        # the month's drafts: zero, then the sums of their lines
        cur.execute("UPDATE insight_commissionstatement SET collected_amount = 0, commission_amount = 0, "
                    "adjustment_amount = 0, computed_at = %s WHERE company_id = %s AND month = %s AND status = 'draft'",
                    [timezone.now(), company.pk, start])
        if drafts:  # a salesperson whose statement of the month is approved gets no line here (next month's)
            statements = ("st(sp, id) AS (VALUES "
                          + ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS BIGINT))"] * len(drafts)) + ")")
            st_params = [v for pair in drafts for v in pair]
            cur.execute(
                f"INSERT INTO insight_commissionline (statement_id, allocation_id, date, customer_id, credit_id, "
                f"instalment_id, due_date, amount, days_late, rate, is_bill, commission, adjustment) "
                f"WITH {statements} SELECT st.id, r.allocation_id, r.date, r.customer_id, r.credit_id, "
                f"r.instalment_id, r.due_date, r.amount, r.days_late, "
                f"CAST(r.rate_unit AS NUMERIC) / {int(RATE_UNIT)}.0, r.bill = 1, r.commission, r.adjustment = 1 "
                f"FROM {ROWS} r JOIN st ON st.sp = r.sp", st_params)
            written = cur.rowcount
            # the sums of the lines just written, from the temporary table (not read back from the lines)
            cur.execute(
                f"UPDATE insight_commissionstatement SET collected_amount = s.collected, "
                f"commission_amount = s.commission, adjustment_amount = s.adjustment "
                f"FROM (WITH {statements} SELECT st.id AS sid, SUM(r.amount) AS collected, "
                f"SUM(r.commission) AS commission, SUM(CASE WHEN r.adjustment = 1 THEN r.commission ELSE 0 END) "
                f"AS adjustment FROM {ROWS} r JOIN st ON st.sp = r.sp GROUP BY st.id) s "
                f"WHERE insight_commissionstatement.id = s.sid", st_params)
        cur.execute(f"DROP TABLE {ROWS}")
    audit.record(actor=actor, verb="insight.commission.computed", company_id=company.pk,
                 summary=f"{start:%Y-%m} {written}", data={"month": start, "lines": written, "rule": rule.pk})
    return written


@transaction.atomic(durable=True)
def approve(*, company, statement_ids: list[int], actor) -> int:
    """Approve draft statements (they are never rewritten afterwards). Returns how many were approved."""
    rows = list(CommissionStatement.objects.select_for_update().filter(company=company, pk__in=statement_ids,
                                                                        status=StatementStatus.DRAFT))
    now = timezone.now()
    for st in rows:
        if st.salesperson_id == getattr(actor, "pk", None):
            raise CommissionError(_("You cannot approve your own commission."), field="statement")
    CommissionStatement.objects.filter(pk__in=[st.pk for st in rows]).update(
        status=StatementStatus.APPROVED, approved_by=actor, approved_at=now)
    for st in rows:
        audit.record(actor=actor, verb="insight.commission.approved", target=st, company_id=company.pk,
                     summary=f"{st.month:%Y-%m} {st.commission_amount}",
                     data={"month": st.month, "salesperson": st.salesperson_id, "commission": st.commission_amount})
    return len(rows)
