"""Aging as of any date, computed in one SQL statement.

Only what was posted and allocated on or before ``as_of`` counts:

    open as of X = amount − Σ allocations dated ≤ X
                 = open_amount + Σ allocations dated > X        (documents not reversed)

and a document reversed on or before X is gone. Bucket edges are turned into date boundaries in
Python (``due_date`` between X−hi and X−lo), so the SQL is the same on SQLite and PostgreSQL and
the ``(company, due_date)`` indexes apply. Amounts are summed as integer minor units and returned
as Decimal, so bucket totals equal the open balance to the fen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO, from_minor
from huikuan.customers.models import Customer

COLLECTION_EDGES = (30, 60, 90, 120)
ACCOUNTING_YEARS = (1, 2, 3)
GROUPS = ("customer", "salesperson", "team", "region", "group", "owner", "none")


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    # inclusive date range on the basis column (None = open-ended)
    date_from: dt.date | None
    date_to: dt.date | None


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def collection_buckets(as_of: dt.date, edges: tuple[int, ...] = COLLECTION_EDGES) -> list[Bucket]:
    """current (not yet due), then 1–e1, e1+1–e2, …, >last. ``edges`` strictly increasing positive days."""
    edges = tuple(int(e) for e in edges)
    if not edges or any(e <= 0 for e in edges) or list(edges) != sorted(set(edges)):
        raise ValueError("edges must be strictly increasing positive day counts")
    out = [Bucket("current", str(_("Current")), as_of, None)]
    lo = 1
    for i, hi in enumerate(edges):
        out.append(Bucket(f"b{i + 1}", f"{lo}–{hi}", as_of - dt.timedelta(days=hi), as_of - dt.timedelta(days=lo)))
        lo = hi + 1
    out.append(Bucket(f"b{len(edges) + 1}", f"{edges[-1]}+", None, as_of - dt.timedelta(days=lo)))
    return out


def accounting_buckets(as_of: dt.date, years: tuple[int, ...] = ACCOUNTING_YEARS) -> list[Bucket]:
    """账龄 by time since the receivable arose: 1年以内, 1–2年, …, N年以上."""
    out = []
    prev_bound = None  # date after which the bucket starts
    prev_year = 0
    for y in years:
        bound = _years_back(as_of, y)
        label = str(_("Within 1 year")) if prev_year == 0 else str(_("%(a)s–%(b)s years") % {"a": prev_year, "b": y})
        out.append(Bucket(f"y{y}", label, bound + dt.timedelta(days=1), prev_bound))
        prev_bound = bound
        prev_year = y
    out.append(Bucket(f"y{prev_year}+", str(_("Over %(n)s years") % {"n": prev_year}), None, prev_bound))
    return out


def buckets_for(*, as_of: dt.date, scheme: str = "collections", basis: str = "due",
                edges: tuple[int, ...] = COLLECTION_EDGES, years: tuple[int, ...] = ACCOUNTING_YEARS):
    """(buckets, the date column they apply to, effective basis) for a report's options."""
    if scheme == "accounting":
        return accounting_buckets(as_of, years), "document_date", "document"
    buckets = collection_buckets(as_of, edges)
    if basis == "document":
        # days since the document date: the first bucket is "0 days" rather than "not yet due"
        return [Bucket("current", str(_("0 days")), as_of, None)] + buckets[1:], "document_date", "document"
    return buckets, "due_date", "due"


@dataclass(frozen=True)
class AgingRow:
    key: object
    label: str
    buckets: tuple[Decimal, ...]
    total: Decimal
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AgingReport:
    as_of: dt.date
    basis: str
    scheme: str
    group_by: str
    buckets: list[Bucket]
    rows: list[AgingRow]
    totals: tuple[Decimal, ...]
    total: Decimal
    row_count: int = 0


def _scope_sql(user, company):
    """Visible customers as a sub-SELECT. ``user=None`` is unscoped and only for internal jobs (snapshots)."""
    qs = Customer.objects.filter(company=company)
    if user is not None:
        qs = qs.filter(owner_q(user, "owner"))
    qs = qs.values("id")
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _base_sql(*, user, company, as_of: dt.date, customer_id: int | None = None):
    """Inner SELECT of (instalment fields, x = open amount as of) for instalments open on ``as_of``.

    Three disjoint parts, each driven by an index, so the common case (as of today: nothing was
    allocated later) is a scan of the currently open instalments only:
      A. open now: x = open_amount + Σ allocations dated after X;
      B. settled now, document not reversed, allocated after X: x = Σ allocations dated after X;
      C. documents reversed after X: x = amount − Σ allocations dated on or before X.
    Documents reversed on or before X appear in none of them (their instalments are closed without
    later allocations, and C only takes reversals dated after X).
    """
    scope_sql, scope_params = _scope_sql(user, company)
    only = ""
    if customer_id is not None:
        only = " AND i.customer_id = %s"
        scope_params = [*scope_params, int(customer_id)]
    cols = ("i.id AS id, i.customer_id AS customer_id, i.document_id AS document_id, "
            "i.salesperson_id AS salesperson_id, i.due_date AS due_date, i.document_date AS document_date, "
            "i.amount AS amount")
    scope = f"i.customer_id IN ({scope_sql}){only}"
    later = ("SELECT a.instalment_id AS instalment_id, SUM(a.amount) AS s FROM ledger_allocation a "
             "WHERE a.company_id = %s AND a.date > %s GROUP BY a.instalment_id")
    sql = f"""
        SELECT {cols}, i.open_amount + COALESCE(l.s, 0) AS x
        FROM ledger_instalment i LEFT JOIN ({later}) l ON l.instalment_id = i.id
        WHERE i.company_id = %s AND i.open_amount > 0 AND i.document_date <= %s AND {scope}
        UNION ALL
        SELECT {cols}, l.s AS x
        FROM ({later}) l JOIN ledger_instalment i ON i.id = l.instalment_id
        JOIN ledger_receivabledocument d ON d.id = i.document_id
        WHERE i.open_amount = 0 AND d.status = 'posted' AND i.document_date <= %s AND {scope}
        UNION ALL
        SELECT {cols}, i.amount - COALESCE((SELECT SUM(a2.amount) FROM ledger_allocation a2
                                            WHERE a2.instalment_id = i.id AND a2.date <= %s), 0) AS x
        FROM ledger_ledgerentry e JOIN ledger_instalment i ON i.document_id = e.document_id
        WHERE e.company_id = %s AND e.kind = 'reversal' AND e.document_id IS NOT NULL AND e.date > %s
          AND i.document_date <= %s AND {scope}
    """
    params = [
        company.pk, as_of, company.pk, as_of, *scope_params,
        company.pk, as_of, as_of, *scope_params,
        as_of, company.pk, as_of, as_of, *scope_params,
    ]
    return sql, params


_GROUP_SQL = {
    "customer": ("c.id", "c.code || ' ' || c.name", "JOIN customers_customer c ON c.id = t.customer_id"),
    "salesperson": ("t.salesperson_id", None, ""),
    "team": ("u.team_id", None, "LEFT JOIN accounts_user u ON u.id = t.salesperson_id"),
    "region": ("c.region", "c.region", "JOIN customers_customer c ON c.id = t.customer_id"),
    "group": ("c.group_id", None, "JOIN customers_customer c ON c.id = t.customer_id"),
    "owner": ("c.owner_id", None, "JOIN customers_customer c ON c.id = t.customer_id"),
    "none": ("1", None, ""),
}


def aging_report(
    *,
    user,
    company,
    as_of: dt.date,
    basis: str = "due",
    scheme: str = "collections",
    group_by: str = "customer",
    edges: tuple[int, ...] = COLLECTION_EDGES,
    years: tuple[int, ...] = ACCOUNTING_YEARS,
    min_total: Decimal | None = None,
    customer_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> AgingReport:
    """Aging of open instalments as of ``as_of`` (a business date), grouped and bucketed in SQL.

    ``scheme`` "collections" buckets days past due (``basis`` "due") or days since the document date
    (``basis`` "document"); "accounting" buckets 账龄 by years since the document date.
    Rows come largest total first; ``offset``/``limit`` return one page of them (``row_count`` is the
    number of groups, ``totals`` always cover all of them).
    """
    if group_by not in GROUPS:
        raise ValueError("unknown grouping")
    buckets, column, basis = buckets_for(as_of=as_of, scheme=scheme, basis=basis, edges=edges, years=years)
    column = f"t.{column}"
    inner, params = _base_sql(user=user, company=company, as_of=as_of, customer_id=customer_id)
    key_sql, label_sql, join = _GROUP_SQL[group_by]
    sums = []
    bucket_params: list = []
    for b in buckets:
        cond = []
        if b.date_from is not None:
            cond.append(f"{column} >= %s")
            bucket_params.append(b.date_from)
        if b.date_to is not None:
            cond.append(f"{column} <= %s")
            bucket_params.append(b.date_to)
        sums.append(f"CAST(SUM(CASE WHEN {' AND '.join(cond) or '1=1'} THEN t.x ELSE 0 END) AS BIGINT)")
    label_col = f", MIN({label_sql})" if label_sql else ", NULL"
    total_pos = 3 + len(buckets)
    sql = (
        f"SELECT {key_sql} AS k{label_col}, {', '.join(sums)}, CAST(SUM(t.x) AS BIGINT) FROM ({inner}) t {join} "
        f"WHERE t.x <> 0 GROUP BY {key_sql} ORDER BY {total_pos} DESC, 1"
    )
    with connection.cursor() as cur:
        cur.execute(sql, bucket_params + params)
        raw = cur.fetchall()  # integers (minor units): cheap to filter and total before any Decimal
    if min_total is not None:
        floor = int(min_total * 100)
        raw = [r for r in raw if (r[-1] or 0) >= floor]
    n = len(buckets)
    totals = tuple(from_minor(sum((r[2 + i] or 0) for r in raw)) for i in range(n))
    page = raw[offset: None if limit is None else offset + limit]
    labels = _labels(group_by, [r[0] for r in page])
    rows = [
        AgingRow(key=r[0], label=str(r[1] if r[1] is not None else labels.get(r[0], "")),
                 buckets=tuple(from_minor(v or 0) for v in r[2:-1]), total=from_minor(r[-1] or 0))
        for r in page
    ]
    return AgingReport(as_of=as_of, basis=basis, scheme=scheme, group_by=group_by, buckets=buckets, rows=rows,
                       totals=totals, total=sum(totals, ZERO), row_count=len(raw))


def _labels(group_by: str, keys: list) -> dict:
    from huikuan.accounts.models import Team, User
    from huikuan.customers.models import CustomerGroup

    ids = [k for k in keys if k is not None]
    if group_by in ("salesperson", "owner"):
        out = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    elif group_by == "team":
        out = {t.pk: t.name for t in Team.objects.filter(pk__in=ids)}
    elif group_by == "group":
        out = {g.pk: g.name for g in CustomerGroup.objects.filter(pk__in=ids)}
    elif group_by == "none":
        out = {1: str(_("All customers"))}
    else:
        out = {}
    out.setdefault(None, str(_("(none)")))
    return out


@dataclass(frozen=True)
class AgingItem:
    instalment_id: int
    document_id: int
    document_number: str
    customer_id: int
    customer_label: str
    document_date: dt.date
    due_date: dt.date
    amount: Decimal
    open_amount: Decimal
    days_past_due: int


def aging_items(
    *,
    user,
    company,
    as_of: dt.date,
    bucket: Bucket | None = None,
    column: str = "due_date",
    group_by: str = "none",
    key=None,
    limit: int = 500,
) -> list[AgingItem]:
    """The instalments behind one cell of the aging report (drill-down), open amounts as of ``as_of``."""
    inner, params = _base_sql(user=user, company=company, as_of=as_of)
    where = ["t.x <> 0"]
    extra: list = []
    if column not in ("due_date", "document_date"):
        raise ValueError("bad column")
    if bucket is not None:
        if bucket.date_from is not None:
            where.append(f"t.{column} >= %s")
            extra.append(bucket.date_from)
        if bucket.date_to is not None:
            where.append(f"t.{column} <= %s")
            extra.append(bucket.date_to)
    if group_by != "none":
        key_sql = _GROUP_SQL[group_by][0]
        if key is None:
            where.append(f"{key_sql} IS NULL")
        else:
            where.append(f"{key_sql} = %s")
            extra.append(key)
    sql = (
        f"SELECT t.id, t.document_id, d.number, c.id, c.code || ' ' || c.name, t.document_date, t.due_date, t.amount, t.x "
        f"FROM ({inner}) t JOIN ledger_receivabledocument d ON d.id = t.document_id "
        f"JOIN customers_customer c ON c.id = t.customer_id LEFT JOIN accounts_user u ON u.id = t.salesperson_id "
        f"WHERE {' AND '.join(where)} ORDER BY t.due_date, t.id LIMIT %s"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params + extra + [limit])
        rows = cur.fetchall()
    out = []
    for r in rows:
        due = r[6] if isinstance(r[6], dt.date) else dt.date.fromisoformat(r[6])
        doc_date = r[5] if isinstance(r[5], dt.date) else dt.date.fromisoformat(r[5])
        out.append(AgingItem(r[0], r[1], r[2], r[3], r[4], doc_date, due, from_minor(r[7]), from_minor(r[8]),
                             max(0, (as_of - due).days)))
    return out
