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
    CommissionLine,
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


def _rate_case(rule: CommissionRule, days: str, is_bill: str) -> tuple[str, list]:
    """SQL CASE giving the rate (percent × 10⁶, integer) of a row from its days late and bill flag."""
    share = Decimal(100) if rule.bill_mode == BillMode.SAME else (
        Decimal(0) if rule.bill_mode == BillMode.NONE else Decimal(rule.bill_share))
    whens, params = [], []
    for b in rule.bands.all():
        cond = f"{days} >= %s" + ("" if b.days_to is None else f" AND {days} <= %s")
        cash = int((Decimal(b.rate) * RATE_UNIT).to_integral_value())
        bill = int((Decimal(b.rate) * share / 100 * RATE_UNIT).quantize(Decimal(1)))
        whens.append(f"WHEN {cond} THEN CASE WHEN {is_bill} THEN {bill} ELSE {cash} END")
        params += [b.days_from] + ([] if b.days_to is None else [b.days_to])
    return f"CASE {' '.join(whens)} ELSE 0 END", params


def _days(later: str, earlier: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


@transaction.atomic(durable=True)
def compute_month(*, company, month: dt.date, actor) -> int:
    """(Re)compute the draft statements of ``month`` (any day in it) for every salesperson; approved
    statements stay as they are. Returns the number of lines written. Raises CommissionError without a rule."""
    start = month.replace(day=1)
    end = kpi_calc.month_end(start)
    rule = rule_for(company, end)
    if rule is None:
        raise CommissionError(_("Set up a commission rule first."), field="rule")
    # the month's statements are locked while they are rebuilt (concurrent runs wait, then redo)
    list(CommissionStatement.objects.select_for_update().filter(company=company, month=start))
    CommissionLine.objects.filter(statement__company=company, statement__month=start,
                                  statement__status=StatementStatus.DRAFT).delete()
    late = f"({_days('COALESCE(o.date, a.date)', 'i.due_date')})"
    days = f"CASE WHEN {late} < 0 THEN 0 ELSE {late} END"
    is_bill = f"cr.method IN ({', '.join(repr(m) for m in BILL_METHODS)})"
    rate_sql, rate_params = _rate_case(rule, days, is_bill)
    # candidates: payment allocations of the month, and earlier ones no statement took whose month is approved
    # candidates, as two index-driven parts (an OR of both made PostgreSQL read every allocation up to the end):
    # the month's own allocations, and allocations dated in an approved month that no statement took
    candidates = """
        FROM (SELECT a0.id FROM ledger_allocation a0 WHERE a0.company_id = %s AND a0.date >= %s AND a0.date <= %s
              UNION ALL
              SELECT a1.id FROM insight_commissionstatement p
              JOIN ledger_allocation a1 ON a1.company_id = p.company_id AND a1.date >= p.month AND a1.date <= p.month_end
              JOIN ledger_instalment i1 ON i1.id = a1.instalment_id AND i1.salesperson_id = p.salesperson_id
              WHERE p.company_id = %s AND p.status = 'approved' AND p.month < %s) c
        JOIN ledger_allocation a ON a.id = c.id
        JOIN ledger_credit cr ON cr.id = a.credit_id AND cr.kind = 'payment'
        JOIN ledger_instalment i ON i.id = a.instalment_id
        LEFT JOIN ledger_allocation o ON o.id = a.reverses_id
        WHERE i.salesperson_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM insight_commissionline x WHERE x.allocation_id = a.id)"""
    cand_params = [company.pk, start, end, company.pk, start]
    with connection.cursor() as cur:
        cur.execute(f"SELECT DISTINCT i.salesperson_id {candidates}", cand_params)
        people = [r[0] for r in cur.fetchall()]
    approved = set(CommissionStatement.objects.filter(company=company, month=start, status=StatementStatus.APPROVED)
                   .values_list("salesperson_id", flat=True))
    CommissionStatement.objects.bulk_create(
        [CommissionStatement(company=company, salesperson_id=p, month=start, month_end=end) for p in people
         if p not in approved], ignore_conflicts=True)
    rate = f"COALESCE((SELECT l.rate * {int(RATE_UNIT)} FROM insight_commissionline l WHERE l.allocation_id = a.reverses_id), {rate_sql})"
    earned = f"(a.amount * ({rate_sql}) + CASE WHEN a.amount >= 0 THEN 50000000 ELSE -50000000 END) / 100000000"
    commission = f"COALESCE((SELECT -l.commission FROM insight_commissionline l WHERE l.allocation_id = a.reverses_id), {earned})"
    sql = f"""
        INSERT INTO insight_commissionline (statement_id, allocation_id, date, customer_id, credit_id, instalment_id,
            due_date, amount, days_late, rate, is_bill, commission, adjustment)
        SELECT st.id, a.id, a.date, a.customer_id, a.credit_id, a.instalment_id, i.due_date, a.amount, {days},
               CAST({rate} AS NUMERIC) / {int(RATE_UNIT)}.0, {is_bill}, {commission}, a.date < %s
        {candidates.replace("WHERE i.salesperson_id IS NOT NULL", "JOIN insight_commissionstatement st "
                            "ON st.company_id = a.company_id AND st.salesperson_id = i.salesperson_id AND st.month = %s "
                            "AND st.status = 'draft' WHERE i.salesperson_id IS NOT NULL")}"""
    params = [*rate_params, *rate_params, start, *cand_params, start]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        written = cur.rowcount
        cur.execute(
            "UPDATE insight_commissionstatement SET "
            "collected_amount = COALESCE((SELECT SUM(l.amount) FROM insight_commissionline l "
            "WHERE l.statement_id = insight_commissionstatement.id), 0), "
            "commission_amount = COALESCE((SELECT SUM(l.commission) FROM insight_commissionline l "
            "WHERE l.statement_id = insight_commissionstatement.id), 0), "
            "adjustment_amount = COALESCE((SELECT SUM(l.commission) FROM insight_commissionline l "
            "WHERE l.statement_id = insight_commissionstatement.id AND l.adjustment), 0), computed_at = %s "
            "WHERE company_id = %s AND month = %s AND status = 'draft'", [timezone.now(), company.pk, start])
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
