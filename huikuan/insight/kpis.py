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
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, from_minor
from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import Bucket, fetch, grouped_sql

from . import kpi_calc, kpi_store
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
               countback_months: int = COUNTBACK_MONTHS, cache: dict | None = None) -> KpiReport:
    """KPIs of ``period`` (its end is the as-of date) for what ``user`` may see, one row per group
    (largest ending AR first) and the total. ``customer_id`` limits it to one customer. Amounts exact;
    days and percentages rounded half-up to 0.01 (``kpi_calc``). ``cache`` (a dict the caller keeps for
    one request) shares the open AR of a date between reports of adjacent periods."""
    if group_by not in GROUPS:
        raise ValueError("unknown grouping")
    months = kpi_calc.months_back(period.end, countback_months)
    month_days = [(b - a).days + 1 for a, b in months]
    cache = {} if cache is None else cache

    def open_as_of(day):
        if (day, group_by, customer_id) not in cache:
            cache[day, group_by, customer_id] = _open_as_of(user=user, company=company, as_of=day, group_by=group_by,
                                                            customer_id=customer_id)
        return cache[day, group_by, customer_id]

    stored = None
    if customer_id is None:
        try:
            stored = kpi_store.read(user=user, company=company, period=period, group_by=group_by,
                                    countback_months=countback_months)
        except kpi_store.Unavailable:
            stored = None
    if stored is not None:
        figures, per_month = stored
        end = {k: (v[1], v[2]) for k, v in figures.items()}
        begin = {k: (v[0], 0) for k, v in figures.items()}
        billed = {k: v[3] for k, v in figures.items()}
        due = {k: v[4] for k, v in figures.items()}
        alloc = {k: tuple(v[5:10]) for k, v in figures.items()}
    else:
        end = open_as_of(period.end)
        begin = open_as_of(period.start - dt.timedelta(days=1))
        billed, per_month = _billed(user=user, company=company, period=period, group_by=group_by,
                                    customer_id=customer_id, months=months)
        due = _due(user=user, company=company, period=period, group_by=group_by, customer_id=customer_id)
        alloc = _allocations(user=user, company=company, period=period, group_by=group_by, customer_id=customer_id)

    keys = set(end) | set(begin) | set(billed) | set(due) | set(alloc)
    sums: dict = {}
    for k in keys:
        if stored is not None and not any(figures[k]) and not any(per_month.get(k, {}).values()):
            continue  # a group whose stored and live parts cancel out is no group
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


# ---------------------------------------------------------------- trend, comparisons, drill-down


@dataclass(frozen=True)
class TrendPoint:
    start: dt.date
    end: dt.date
    ar_end: Decimal
    current_end: Decimal
    billed: Decimal
    collected: Decimal
    dso: Decimal | None
    best_dso: Decimal | None
    collection_rate: Decimal | None  # collected ÷ (opening AR + billed)
    overdue_rate: Decimal | None


def _monthly(sql_from: str, date_col: str, amount: str, where: str, params: list, months) -> dict[int, int]:
    case = " ".join(f"WHEN {date_col} >= %s THEN {i}" for i in range(len(months)))
    sql = (f"SELECT CASE {case} ELSE -1 END AS mi, CAST(SUM({amount}) AS BIGINT) FROM {sql_from} "
           f"WHERE {where} GROUP BY CASE {case} ELSE -1 END")
    starts = [m[0] for m in months]
    return {mi: v or 0 for mi, v in fetch(sql, [*starts, *params, *starts]) if mi is not None and mi >= 0}


def kpi_trend(*, user, company, end: dt.date, months: int = 12, customer_id: int | None = None) -> list[TrendPoint]:
    """Month by month up to ``end`` (the last month cut there), oldest first: AR at each month's end, credit
    sales and collections per month, and DSO, best possible DSO, collection rate and overdue rate of each
    month. Read from the stored month ends (``kpi_store.trend``: one statement over their facts, the customers
    changed since read live) when they can serve it, else computed live (``_trend_live``); both equal."""
    spans = kpi_calc.months_back(end, months + 1)  # one more for the first month's opening AR
    figures = None
    if customer_id is None:
        try:
            figures = kpi_store.trend(user=user, company=company, spans=spans)
        except kpi_store.Unavailable:
            figures = None
    if figures is None:
        figures = _trend_live(user=user, company=company, spans=spans, customer_id=customer_id)
    out = []
    for i in range(months - 1, -1, -1):
        a, b = spans[i]
        days = (b - a).days + 1
        ar_end, current_end, billed, collected = figures[i]
        s = Sums(ar_begin=from_minor(figures[i + 1][0]), ar_end=from_minor(ar_end), current_end=from_minor(current_end),
                 billed=from_minor(billed), collected=from_minor(collected))
        out.append(TrendPoint(
            start=a, end=b, ar_end=s.ar_end, current_end=s.current_end, billed=s.billed, collected=s.collected,
            dso=kpi_calc.dso(s.ar_end, s.billed, days), best_dso=kpi_calc.best_possible_dso(s.current_end, s.billed, days),
            collection_rate=kpi_calc.percent(s.collected, s.ar_begin + s.billed),
            overdue_rate=kpi_calc.percent(s.ar_end - s.current_end, s.ar_end)))
    return out


def _trend_live(*, user, company, spans, customer_id) -> dict[int, tuple[int, int, int, int]]:
    """{span index: (AR at its end, not-yet-due part, credit sales, payments applied)} in fen, live: AR at
    each end (``_open_as_of``), credit sales and collections per month in two statements."""
    end, first = spans[0][1], spans[-1][0]
    scope, scope_params = _scope(user, company, "d.customer_id", customer_id)
    billed = _monthly(
        "ledger_receivabledocument d", "d.document_date", "d.total_amount",
        f"d.company_id = %s AND d.document_date >= %s AND d.document_date <= %s AND d.kind IN ('invoice', 'charge') "
        f"AND (d.status = 'posted' OR NOT EXISTS (SELECT 1 FROM ledger_instalment r WHERE r.document_id = d.id "
        f"AND r.reversed_on <= %s)){scope}", [company.pk, first, end, end, *scope_params], spans)
    scope, scope_params = _scope(user, company, "a.customer_id", customer_id)
    collected = _monthly(
        "ledger_allocation a JOIN ledger_credit cr ON cr.id = a.credit_id", "a.date", "a.amount",
        f"a.company_id = %s AND a.date >= %s AND a.date <= %s AND cr.kind = 'payment'{scope}",
        [company.pk, first, end, *scope_params], spans)
    out = {}
    for i, (_a, b) in enumerate(spans):
        ar, current = _open_as_of(user=user, company=company, as_of=b, group_by="none",
                                  customer_id=customer_id).get(1, (0, 0))
        out[i] = (ar, current, billed.get(i, 0), collected.get(i, 0))
    return out


SOURCES = ("billed", "due", "collected", "written_off", "ar", "overdue", "current")


@dataclass(frozen=True)
class KpiItem:
    date: dt.date
    document_id: int
    document_number: str
    customer_id: int
    customer_label: str
    due_date: dt.date | None
    amount: Decimal
    reference: str = ""  # the payment or write-off number for collections


# the drill-down's sortable columns (issue 13) → each source's field; the aging sources sort in the aging SQL
ITEM_ORDER = ("date", "document", "customer", "due", "amount", "receipt")
_ITEM_FIELDS = {
    "aging": {"date": "document_date", "document": "document", "customer": "customer", "due": "due", "amount": "open",
              "receipt": "due"},
    "billed": {"date": "document_date", "document": "number", "customer": "customer__code", "due": "document_date",
               "amount": "total_amount", "receipt": "document_date"},
    "due": {"date": "document_date", "document": "document__number", "customer": "customer__code", "due": "due_date",
            "amount": "amount", "receipt": "due_date"},
    "allocations": {"date": "date", "document": "instalment__document__number", "customer": "customer__code",
                    "due": "instalment__due_date", "amount": "amount", "receipt": "credit__number"},
}


def _item_order(kind: str, order: str, descending: bool) -> list:
    from django.db.models import F

    field = F(_ITEM_FIELDS[kind][order])
    return [field.desc() if descending else field.asc(), F("pk").desc() if descending else F("pk").asc()]


def kpi_items(*, user, company, period: Period, source: str, group_by: str = "none", key=None,
              customer_id: int | None = None, limit: int = 500, order: str = "", descending: bool = False,
              ) -> list[KpiItem]:
    """The rows behind one figure of ``kpi_report`` (drill-down), for one group (``key``) or all, oldest due
    first for AR, by date otherwise (or by ``order``, one of ``ITEM_ORDER``, in SQL); at most ``limit`` rows."""
    from django.db.models import Q

    from huikuan.accounts.scoping import owner_q
    from huikuan.ledger.models import Allocation, Instalment, ReceivableDocument

    if source not in SOURCES or group_by not in GROUPS or order not in ("", *ITEM_ORDER):
        raise ValueError("unknown drill-down")
    if source in ("ar", "overdue", "current"):
        bucket = {"ar": None, "current": Bucket("current", "", period.end, None),
                  "overdue": Bucket("overdue", "", None, period.end - dt.timedelta(days=1))}[source]
        rows = ledger_aging.aging_items(user=user, company=company, as_of=period.end, bucket=bucket,
                                        group_by=group_by, key=key if group_by != "none" else None, limit=limit,
                                        order=_ITEM_FIELDS["aging"][order] if order else "due", descending=descending)
        if customer_id is not None:
            rows = [r for r in rows if r.customer_id == customer_id]
        return [KpiItem(r.document_date, r.document_id, r.document_number, r.customer_id, r.customer_label, r.due_date,
                        r.open_amount) for r in rows]

    def group_q(sp: str, cust: str) -> Q:
        if group_by == "none":
            return Q()
        field = {"salesperson": sp, "team": f"{sp}__team_id", "region": f"{cust}__region",
                 "group": f"{cust}__group_id", "customer": f"{cust}_id"}[group_by]
        return Q(**{f"{field}__isnull": True}) if key is None else Q(**{field: key})

    def one_customer(cust: str) -> Q:
        return Q() if customer_id is None else Q(**{f"{cust}_id": customer_id})

    if source == "billed":
        qs = (ReceivableDocument.objects.filter(company=company, kind__in=["invoice", "charge"],
                                                document_date__gte=period.start, document_date__lte=period.end)
              .filter(owner_q(user, "customer__owner"), group_q("salesperson_id", "customer"), one_customer("customer"))
              .filter(Q(status="posted") | ~Q(instalments__reversed_on__lte=period.end))
              .select_related("customer")
              .order_by(*(_item_order("billed", order, descending) if order else ("document_date", "pk")))
              .distinct()[:limit])
        return [KpiItem(d.document_date, d.pk, d.number, d.customer_id, f"{d.customer.code} {d.customer.name}", None,
                        d.total_amount) for d in qs]
    if source == "due":
        qs = (Instalment.objects.filter(company=company, due_date__gte=period.start, due_date__lte=period.end,
                                        document_date__lte=period.end)
              .filter(Q(reversed_on__isnull=True) | Q(reversed_on__gt=period.end))
              .filter(owner_q(user, "customer__owner"), group_q("salesperson_id", "customer"), one_customer("customer"))
              .select_related("customer", "document")
              .order_by(*(_item_order("due", order, descending) if order else ("due_date", "pk")))[:limit])
        return [KpiItem(i.document_date, i.document_id, i.document.number, i.customer_id,
                        f"{i.customer.code} {i.customer.name}", i.due_date, i.amount) for i in qs]
    kind = "payment" if source == "collected" else "write_off"
    qs = (Allocation.objects.filter(company=company, date__gte=period.start, date__lte=period.end, credit__kind=kind)
          .filter(owner_q(user, "customer__owner"), group_q("instalment__salesperson_id", "instalment__customer"),
                  one_customer("customer"))
          .select_related("credit", "instalment__document", "customer")
          .order_by(*(_item_order("allocations", order, descending) if order else ("date", "pk")))[:limit])
    return [KpiItem(a.date, a.instalment.document_id, a.instalment.document.number, a.customer_id,
                    f"{a.customer.code} {a.customer.name}", a.instalment.due_date, a.amount, a.credit.number) for a in qs]


@dataclass(frozen=True)
class CashOutlook:
    overdue: Decimal
    this_week: Decimal
    this_month: Decimal
    next_month: Decimal
    collected_month: Decimal          # this month to date
    collected_last_month: Decimal     # the whole of last month
    collected_last_month_to_date: Decimal  # last month up to the same day


def cash_outlook(*, user, company, today: dt.date, now=None, last=None) -> CashOutlook:
    """Cash expected from the due dates of what is open today (this week = today to Sunday, this month
    = today to its end, next month whole) and cash collected this month against last month.

    ``now`` and ``last`` (the sums of this month to date and of the whole of last month, from
    ``kpi_report``, which reads stored figures) give the overdue amount and both months' collections,
    so what is left is a range of the open-items index (today to the end of next month) and the
    allocations of last month up to the same day. Without them, two statements over all open items
    and both months' allocations give the same figures."""
    week_end = today + dt.timedelta(days=6 - today.weekday())
    month_end = kpi_calc.month_end(today)
    next_start = month_end + dt.timedelta(days=1)
    next_end = kpi_calc.month_end(next_start)
    this_start = today.replace(day=1)
    last_start = kpi_calc.add_months(this_start, -1)
    last_same = kpi_calc.add_months(today, -1)
    windows = ("CAST(SUM(CASE WHEN i.due_date >= %s AND i.due_date <= %s THEN i.open_amount ELSE 0 END) AS BIGINT), "
               "CAST(SUM(CASE WHEN i.due_date >= %s AND i.due_date <= %s THEN i.open_amount ELSE 0 END) AS BIGINT), "
               "CAST(SUM(CASE WHEN i.due_date >= %s AND i.due_date <= %s THEN i.open_amount ELSE 0 END) AS BIGINT)")
    window_params = [today, week_end, today, month_end, next_start, next_end]
    scope, scope_params = _scope(user, company, "i.customer_id", None)
    a_scope, a_scope_params = _scope(user, company, "a.customer_id", None)
    paid = "FROM ledger_allocation a JOIN ledger_credit cr ON cr.id = a.credit_id WHERE a.company_id = %s "
    if now is not None and last is not None:
        (week, month, nxt), = fetch(
            f"SELECT {windows} FROM ledger_instalment i WHERE i.company_id = %s AND i.open_amount > 0 "
            f"AND i.due_date >= %s AND i.due_date <= %s{scope}",
            [*window_params, company.pk, today, next_end, *scope_params])
        (last_td,), = fetch(
            f"SELECT CAST(SUM(a.amount) AS BIGINT) {paid}AND a.date >= %s AND a.date <= %s "
            f"AND cr.kind = 'payment'{a_scope}", [company.pk, last_start, last_same, *a_scope_params])
        return CashOutlook(now.ar_end - now.current_end, *(from_minor(v or 0) for v in (week, month, nxt)),
                           now.collected, last.collected, from_minor(last_td or 0))
    (overdue, week, month, nxt), = fetch(
        f"SELECT CAST(SUM(CASE WHEN i.due_date < %s THEN i.open_amount ELSE 0 END) AS BIGINT), {windows} "
        f"FROM ledger_instalment i WHERE i.company_id = %s AND i.open_amount > 0{scope}",
        [today, *window_params, company.pk, *scope_params])
    (this_m, last_m, last_td), = fetch(
        "SELECT CAST(SUM(CASE WHEN a.date >= %s THEN a.amount ELSE 0 END) AS BIGINT), "
        "CAST(SUM(CASE WHEN a.date < %s THEN a.amount ELSE 0 END) AS BIGINT), "
        "CAST(SUM(CASE WHEN a.date <= %s THEN a.amount ELSE 0 END) AS BIGINT) "
        f"{paid}AND a.date >= %s AND a.date <= %s AND cr.kind = 'payment'{a_scope}",
        [this_start, this_start, last_same, company.pk, last_start, today, *a_scope_params])
    return CashOutlook(*(from_minor(v or 0) for v in (overdue, week, month, nxt, this_m, last_m, last_td)))


DASHBOARD = ("dso", "add", "cei", "collection_rate_opening", "overdue_rate", "on_time_share")


def dashboard_kpis(*, user, company, today: dt.date) -> dict:
    """The dashboard's KPI strip: this month to date against the whole of last month (every end of both
    periods is a month end or today, which the stored aging figures serve), and the cash outlook."""
    period = kpi_calc.parse_period(f"{today:%Y-%m}").until(today)
    last = kpi_calc.parse_period(f"{kpi_calc.add_months(period.start, -1):%Y-%m}")
    cache: dict = {}
    now = kpi_report(user=user, company=company, period=period, countback_months=1, cache=cache).total
    before = kpi_report(user=user, company=company, period=last, countback_months=1, cache=cache).total
    return {
        "period": period, "last": last,
        "figures": [{"m": METRIC[c], "now": metric_value(now, c), "prev": metric_value(before, c)} for c in DASHBOARD],
        "cash": cash_outlook(user=user, company=company, today=today, now=now.sums, last=before.sums),
    }


def promises_by_salesperson(*, user, company, period: Period) -> dict:
    """{customer owner id: (promises kept, promises broken)} whose promised date falls in the period."""
    from django.db.models import Count, Q

    from huikuan.accounts.scoping import owner_q
    from huikuan.collections.models import Promise

    rows = (Promise.objects.filter(company=company, promised_date__gte=period.start, promised_date__lte=period.end)
            .filter(owner_q(user, "customer__owner")).values("customer__owner_id")
            .annotate(kept=Count("pk", filter=Q(status="kept")), broken=Count("pk", filter=Q(status="broken"))))
    return {r["customer__owner_id"]: (r["kept"], r["broken"]) for r in rows}


def commission_statements(*, user, company, month: dt.date | None = None):
    """Commission statements the user may see: their own (a salesperson), their team's (a sales manager),
    all (finance and the other company-wide roles)."""
    from huikuan.accounts.scoping import owner_q

    from .models import CommissionStatement

    qs = CommissionStatement.objects.filter(company=company).filter(owner_q(user, "salesperson")).select_related(
        "salesperson", "approved_by")
    return qs if month is None else qs.filter(month=month)
