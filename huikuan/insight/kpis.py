"""Receivables KPIs for a period, for the company or grouped — summed in SQL, exact to the fen.

Four statements per report (five when grouped), each one pass over an index range, none looping
over ledger rows in Python:

1. open AR at the end of the period and its not-yet-due part, and 2. open AR at the end of the day
   before it — the aging's "open as of" SQL (``ledger.aging.grouped_sql``; for the company total the
   stored per-customer figures of ``insight.aging`` when they apply);
3. credit sales (invoices and charges, not opening balances) dated in the period and per calendar
   month back from its end (for the countback), from documents not reversed by the period's end;
4. instalments falling due in the period (not reversed by its end);
5. allocations dated in the period: payments (collected, on time, days to pay, days late) and
   write-offs. A reversal row counts in the period it is dated in, negative, with the lateness of
   the allocation it undoes.

Grouping: ``salesperson`` and ``team`` follow the salesperson recorded on the instalment or document
(谁销售谁收款: who sold it answers for it), ``region`` and ``group`` the customer's. Every statement is
limited to the customers the user may see (``accounts.scoping``). Arithmetic on the sums is in
``kpi_calc``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db import connection
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, from_minor
from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import Bucket, fetch, grouped_sql

from . import kpi_calc
from .kpi_calc import Kpis, Period, Sums

GROUPS = ("none", "salesperson", "team", "region", "group", "customer")
GROUP_LABELS = {
    "none": _("Total only"), "salesperson": _("Salesperson"), "team": _("Team"), "region": _("Region"),
    "group": _("Customer group"), "customer": _("Customer"),
}
COUNTBACK_MONTHS = 12


@dataclass(frozen=True)
class KpiRow:
    key: object
    label: str
    sums: Sums
    kpis: Kpis


@dataclass(frozen=True)
class KpiReport:
    period: Period
    group_by: str
    rows: list[KpiRow]
    total: KpiRow


def _key_join(group_by: str, sp_col: str, cust_col: str) -> tuple[str, str]:
    if group_by == "none":
        return "1", ""
    if group_by == "salesperson":
        return sp_col, ""
    if group_by == "team":
        return "u.team_id", f" LEFT JOIN accounts_user u ON u.id = {sp_col}"
    if group_by == "region":
        return "c.region", f" JOIN customers_customer c ON c.id = {cust_col}"
    if group_by == "group":
        return "c.group_id", f" JOIN customers_customer c ON c.id = {cust_col}"
    if group_by == "customer":
        return cust_col, ""
    raise ValueError("unknown grouping")


def _scope(user, company, cust_col: str, customer_id: int | None) -> tuple[str, list]:
    sql, params = "", []
    if not ledger_aging.sees_all(user):
        visible, scope_params = ledger_aging.scope_sql(user, company)
        sql += f" AND {cust_col} IN ({visible})"
        params += scope_params
    if customer_id is not None:
        sql += f" AND {cust_col} = %s"
        params.append(int(customer_id))
    return sql, params


def _days(later: str, earlier: str) -> str:
    """Whole days between two DATE expressions, in SQL."""
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _norm_key(group_by: str, key):
    return 1 if group_by == "none" else key


def _open_as_of(*, user, company, as_of: dt.date, group_by: str, customer_id) -> dict:
    """{key: (open AR, not-yet-due part)} in fen as of the end of ``as_of``."""
    if group_by == "none" and customer_id is None:
        from .aging import aging_report  # stored per-customer figures when they apply

        rep = aging_report(user=user, company=company, as_of=as_of, group_by="none")
        return {1: (int(rep.total * 100), int(rep.totals[0] * 100))}
    buckets = [Bucket("current", "", as_of, None), Bucket("overdue", "", None, as_of - dt.timedelta(days=1))]
    sql, params = grouped_sql(user=user, company=company, as_of=as_of, buckets=buckets, column="due_date",
                              group_by="none" if group_by == "none" else _aging_group(group_by),
                              customer_id=customer_id)
    return {_norm_key(group_by, r[0]): (r[4] or 0, r[2] or 0) for r in fetch(sql, params)}


def _aging_group(group_by: str) -> str:
    return group_by  # the aging groups share the names: customer, salesperson, team, region, group


def _billed(*, user, company, period: Period, group_by: str, customer_id, months: list[tuple[dt.date, dt.date]]):
    """({key: billed in period}, {key: {month index: billed}}) in fen."""
    key_sql, join = _key_join(group_by, "d.salesperson_id", "d.customer_id")
    scope, scope_params = _scope(user, company, "d.customer_id", customer_id)
    first = min(period.start, months[-1][0]) if months else period.start
    month_case = " ".join(f"WHEN d.document_date >= %s THEN {i}" for i in range(len(months)))
    month_sql = f"CASE {month_case} ELSE -1 END" if months else "-1"
    sql = (
        f"SELECT {key_sql} AS k, {month_sql} AS mi, "
        f"CAST(SUM(CASE WHEN d.document_date >= %s THEN d.total_amount ELSE 0 END) AS BIGINT), "
        f"CAST(SUM(d.total_amount) AS BIGINT) "
        f"FROM ledger_receivabledocument d{join} "
        f"WHERE d.company_id = %s AND d.document_date >= %s AND d.document_date <= %s "
        f"AND d.kind IN ('invoice', 'charge') "
        f"AND (d.status = 'posted' OR NOT EXISTS (SELECT 1 FROM ledger_instalment r WHERE r.document_id = d.id "
        f"AND r.reversed_on <= %s)){scope} GROUP BY {key_sql}, {month_sql}"
    )
    month_params = [m[0] for m in months]
    params = [*month_params, period.start, company.pk, first, period.end, period.end, *scope_params, *month_params]
    billed: dict = {}
    per_month: dict = {}
    for k, mi, in_period, total in fetch(sql, params):
        k = _norm_key(group_by, k)
        billed[k] = billed.get(k, 0) + (in_period or 0)
        if mi is not None and mi >= 0:
            per_month.setdefault(k, {})[mi] = per_month.get(k, {}).get(mi, 0) + (total or 0)
    return billed, per_month


def _due(*, user, company, period: Period, group_by: str, customer_id) -> dict:
    key_sql, join = _key_join(group_by, "i.salesperson_id", "i.customer_id")
    scope, scope_params = _scope(user, company, "i.customer_id", customer_id)
    sql = (
        f"SELECT {key_sql}, CAST(SUM(i.amount) AS BIGINT) FROM ledger_instalment i{join} "
        f"WHERE i.company_id = %s AND i.due_date >= %s AND i.due_date <= %s AND i.document_date <= %s "
        f"AND (i.reversed_on IS NULL OR i.reversed_on > %s){scope} GROUP BY {key_sql}"
    )
    params = [company.pk, period.start, period.end, period.end, period.end, *scope_params]
    return {_norm_key(group_by, k): v or 0 for k, v in fetch(sql, params)}


def _allocations(*, user, company, period: Period, group_by: str, customer_id) -> dict:
    """{key: (collected, written off, on time, Σ fen×days to pay, Σ fen×days late)} for the period."""
    key_sql, join = _key_join(group_by, "i.salesperson_id", "i.customer_id")
    scope, scope_params = _scope(user, company, "a.customer_id", customer_id)
    paid_on = "COALESCE(o.date, a.date)"  # a reversal row carries the lateness of what it undoes
    pay = "cr.kind = 'payment'"
    sql = (
        f"SELECT {key_sql}, "
        f"CAST(SUM(CASE WHEN {pay} THEN a.amount ELSE 0 END) AS BIGINT), "
        f"CAST(SUM(CASE WHEN cr.kind = 'write_off' THEN a.amount ELSE 0 END) AS BIGINT), "
        f"CAST(SUM(CASE WHEN {pay} AND {paid_on} <= i.due_date THEN a.amount ELSE 0 END) AS BIGINT), "
        f"CAST(SUM(CASE WHEN {pay} THEN a.amount * {_days(paid_on, 'i.document_date')} ELSE 0 END) AS BIGINT), "
        f"CAST(SUM(CASE WHEN {pay} AND {paid_on} > i.due_date THEN a.amount * {_days(paid_on, 'i.due_date')} "
        f"ELSE 0 END) AS BIGINT) "
        f"FROM ledger_allocation a JOIN ledger_credit cr ON cr.id = a.credit_id "
        f"JOIN ledger_instalment i ON i.id = a.instalment_id "
        f"LEFT JOIN ledger_allocation o ON o.id = a.reverses_id{join} "
        f"WHERE a.company_id = %s AND a.date >= %s AND a.date <= %s "
        f"AND cr.kind IN ('payment', 'write_off'){scope} GROUP BY {key_sql}"
    )
    params = [company.pk, period.start, period.end, *scope_params]
    return {_norm_key(group_by, r[0]): tuple(v or 0 for v in r[1:]) for r in fetch(sql, params)}


def kpi_report(*, user, company, period: Period, group_by: str = "none", customer_id: int | None = None,
               countback_months: int = COUNTBACK_MONTHS) -> KpiReport:
    """KPIs of ``period`` (its end is the as-of date) for what ``user`` may see, one row per group
    (largest ending AR first) and the total. ``customer_id`` limits it to one customer. Amounts exact;
    days and percentages rounded half-up to 0.01 (``kpi_calc``)."""
    if group_by not in GROUPS:
        raise ValueError("unknown grouping")
    months = kpi_calc.months_back(period.end, countback_months)
    month_days = [(b - a).days + 1 for a, b in months]
    end = _open_as_of(user=user, company=company, as_of=period.end, group_by=group_by, customer_id=customer_id)
    begin = _open_as_of(user=user, company=company, as_of=period.start - dt.timedelta(days=1), group_by=group_by,
                        customer_id=customer_id)
    billed, per_month = _billed(user=user, company=company, period=period, group_by=group_by,
                                customer_id=customer_id, months=months)
    due = _due(user=user, company=company, period=period, group_by=group_by, customer_id=customer_id)
    alloc = _allocations(user=user, company=company, period=period, group_by=group_by, customer_id=customer_id)

    keys = set(end) | set(begin) | set(billed) | set(due) | set(alloc)
    sums: dict = {}
    for k in keys:
        ar_end, current = end.get(k, (0, 0))
        a = alloc.get(k, (0, 0, 0, 0, 0))
        pm = per_month.get(k, {})
        sums[k] = Sums(
            ar_begin=from_minor(begin.get(k, (0, 0))[0]), ar_end=from_minor(ar_end), current_end=from_minor(current),
            billed=from_minor(billed.get(k, 0)), due=from_minor(due.get(k, 0)), collected=from_minor(a[0]),
            written_off=from_minor(a[1]), on_time=from_minor(a[2]), days_to_pay_weighted=int(a[3]),
            days_late_weighted=int(a[4]),
            months=tuple((from_minor(pm.get(i, 0)), month_days[i]) for i in range(len(months))),
        )
    total = add_sums(list(sums.values()), n_months=len(months)) if sums else Sums(
        months=tuple((ZERO, d) for d in month_days))
    labels = ledger_aging._labels(group_by if group_by != "none" else "none", [k for k in sums if k is not None])

    def row(k, s: Sums, label: str) -> KpiRow:
        return KpiRow(key=k, label=label, sums=s,
                      kpis=kpi_calc.compute(s, days=period.days, months=period.months, years=period.years))

    rows = [row(k, s, str(labels.get(k, k if k not in (None, "") else labels[None]))) for k, s in sums.items()]
    rows.sort(key=lambda r: (-r.sums.ar_end, -r.sums.billed, str(r.label)))
    return KpiReport(period=period, group_by=group_by, rows=rows, total=row(None, total, str(_("Total"))))


def add_sums(parts: list[Sums], *, n_months: int) -> Sums:
    """The sums of several groups (every field is additive)."""
    out = Sums(months=tuple((ZERO, 0) for _i in range(n_months)))
    for s in parts:
        out = replace(
            out, ar_begin=out.ar_begin + s.ar_begin, ar_end=out.ar_end + s.ar_end,
            current_end=out.current_end + s.current_end, billed=out.billed + s.billed, due=out.due + s.due,
            collected=out.collected + s.collected, written_off=out.written_off + s.written_off,
            on_time=out.on_time + s.on_time, days_to_pay_weighted=out.days_to_pay_weighted + s.days_to_pay_weighted,
            days_late_weighted=out.days_late_weighted + s.days_late_weighted,
            months=tuple((a[0] + b[0], b[1]) for a, b in zip(out.months, s.months, strict=True)),
        )
    return out



# ---------------------------------------------------------------- what is shown, with its definition


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    kind: str  # money | days | percent | number (export kinds: money for days and numbers, 2 decimals)
    definition: str
    source: str = ""  # the drill-down behind the figure (``kpi_items`` kind), "" when none


METRICS = [
    Metric("ar_begin", _("Opening AR"), "money", _("Open receivables at the end of the day before the period.")),
    Metric("billed", _("Billed (credit sales)"), "money",
           _("Invoices and charges dated in the period, not reversed by its end; opening balances are not sales."),
           "billed"),
    Metric("due", _("Due in period"), "money", _("Instalments falling due in the period."), "due"),
    Metric("collected", _("Collected"), "money",
           _("Payments applied to receivables in the period; a reversal counts negative in the period it is dated."),
           "collected"),
    Metric("written_off", _("Written off"), "money", _("Write-offs applied in the period."), "written_off"),
    Metric("ar_end", _("Closing AR"), "money", _("Open receivables at the end of the period."), "ar"),
    Metric("overdue", _("Overdue AR"), "money", _("Closing AR past its due date at the end of the period."), "overdue"),
    Metric("dso", _("DSO"), "days", _("Days sales outstanding = closing AR ÷ credit sales in the period × days in the period.")),
    Metric("best_dso", _("Best possible DSO"), "days",
           _("Best possible DSO = current (not yet due) AR ÷ credit sales × days in the period."), "current"),
    Metric("add", _("ADD"), "days", _("Average days delinquent = DSO − best possible DSO.")),
    Metric("dso_countback", _("DSO (countback)"), "days",
           _("Closing AR less the latest month's credit sales (counting its days), then the month before, …, "
             "the last month prorated. “≥” when 12 months of sales do not cover the AR.")),
    Metric("cei", _("CEI"), "percent",
           _("Collection effectiveness index = (opening AR + credit sales ÷ N − closing AR) ÷ (opening AR + credit "
             "sales ÷ N − closing current AR) × 100, N = months in the period.")),
    Metric("collection_rate_opening", _("Collection rate (of opening AR + billed)"), "percent",
           _("Collection rate = collected in the period ÷ (opening AR + billed in the period).")),
    Metric("collection_rate_due", _("Collection rate (of amount due)"), "percent",
           _("Collection rate = collected in the period ÷ instalments falling due in the period.")),
    Metric("overdue_rate", _("Overdue rate"), "percent", _("Overdue rate = overdue AR ÷ total AR at the end of the period."),
           "overdue"),
    Metric("bad_debt_rate", _("Bad-debt rate"), "percent", _("Bad-debt rate = written off in the period ÷ billed in the period."),
           "written_off"),
    Metric("turnover", _("AR turnover"), "number",
           _("Credit sales ÷ average AR ((opening + closing) ÷ 2), per year on a 360-day year.")),
    Metric("turnover_days", _("AR turnover days"), "days", _("360 ÷ AR turnover.")),
    Metric("days_to_pay", _("Average days to pay"), "days",
           _("Amount-weighted days from the document date to the payment, over payments applied in the period."),
           "collected"),
    Metric("days_late", _("Average days late"), "days",
           _("Amount-weighted days after the due date (0 when on time), over payments applied in the period."),
           "collected"),
    Metric("on_time_share", _("Paid on time"), "percent",
           _("Share of the amount collected in the period that was paid on or before its due date."), "collected"),
]
METRIC = {m.code: m for m in METRICS}


def metric_value(row: KpiRow, code: str):
    """The value of one metric for a row (Decimal or None)."""
    if hasattr(row.sums, code):
        return getattr(row.sums, code)
    if code == "overdue":
        return row.sums.ar_end - row.sums.current_end
    return getattr(row.kpis, code)


def export_kind(metric: Metric) -> str:
    return {"days": "money", "number": "money"}.get(metric.kind, metric.kind)
