"""The aging report assembled from per-customer rows of the stored figures (today's aggregate or a
stored past date): one statement for the count and totals, one for the shown page, labels for it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils.translation import gettext as _

from huikuan.common.money import ZERO, from_minor
from huikuan.customers.models import Customer
from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import (
    COLLECTION_EDGES,
    AgingReport,
    AgingRow,
    buckets_for,
    bulk_objects,
    fetch,
    grouped_sql,
    whole_report,
)

N = len(COLLECTION_EDGES) + 2  # stored bucket columns: current, b1…b5
STORED = ["current", *[f"b{i}" for i in range(1, N)]]


def rows_sql(*, user, company, as_of: dt.date, stored: tuple[str, list], changed: tuple[str, list],
             min_total: Decimal | None) -> tuple[str, list]:
    """All customers' rows as (k, label, b0…b5, total, disputed) for ``assemble``: the stored rows of
    ``stored`` (``FROM <table> a WHERE …``, with its params) except the customers of ``changed`` (a
    sub-SELECT of customer ids), which are computed live; limited to what ``user`` may see and to
    ``min_total``."""
    buckets, column, _basis = buckets_for(as_of=as_of)
    live, live_params = grouped_sql(user=None, company=company, as_of=as_of, buckets=buckets, column=column,
                                    group_by="customer", customers=changed)
    kept = (f"SELECT a.customer_id AS k, NULL AS label, "
            f"{', '.join(f'a.{c} AS b{i}' for i, c in enumerate(STORED))}, a.total AS total, a.disputed AS disputed "
            f"{stored[0]} AND a.customer_id NOT IN ({changed[0]})")
    where, params = [], []
    if not ledger_aging.sees_all(user):
        scope_sql, scope_params = ledger_aging.scope_sql(user, company)
        where.append(f"r.k IN ({scope_sql})")
        params += scope_params
    if min_total is not None:
        where.append("r.total >= %s")
        params.append(int(min_total * 100))
    sql = f"SELECT * FROM ({kept} UNION ALL {live}) r" + (f" WHERE {' AND '.join(where)}" if where else "")
    return sql, [*stored[1], *changed[1], *live_params, *params]


def assemble(rows_sql: str, params: list, *, as_of: dt.date, group_by: str, min_total: Decimal | None,
             offset: int, limit: int | None) -> AgingReport:
    """``rows_sql`` selects (k, label, b0…b5, total, disputed) per customer as ``r`` (already limited to
    the user's scope and, for "customer", to ``min_total``); ``group_by`` is "customer" or "none"."""
    buckets, _column, basis = buckets_for(as_of=as_of)
    if group_by == "customer" and limit is None and not offset:
        return _whole(rows_sql, params, as_of=as_of, basis=basis, buckets=buckets)
    sums = ", ".join(f"CAST(SUM(b{i}) AS BIGINT)" for i in range(N))
    (count, *agg), = fetch(f"SELECT COUNT(*), {sums}, CAST(SUM(total) AS BIGINT), CAST(SUM(disputed) AS BIGINT) "
                           f"FROM ({rows_sql}) g", params)
    totals = tuple(from_minor(v or 0) for v in agg[:N])
    total, disputed = from_minor(agg[N] or 0), from_minor(agg[N + 1] or 0)
    if group_by == "none":
        if min_total is not None and total < min_total:
            count, totals, total, disputed = 0, tuple(ZERO for _b in buckets), ZERO, ZERO
        rows = [AgingRow(key=1, label=_("All customers"), buckets=totals, total=total, disputed=disputed)] if count else []
        rows = rows[offset: None if limit is None else offset + limit]
        return AgingReport(as_of=as_of, basis=basis, scheme="collections", group_by=group_by, buckets=buckets,
                           rows=rows, totals=totals, total=total, row_count=1 if count else 0, disputed=disputed)
    page_sql = f"{rows_sql} ORDER BY r.total DESC, r.k"
    page_params = list(params)
    if limit is not None:
        page_sql += " LIMIT %s OFFSET %s"
        page_params += [limit, offset]
    elif offset:
        page_sql += " LIMIT -1 OFFSET %s" if connection.vendor == "sqlite" else " OFFSET %s"
        page_params.append(offset)
    raw = fetch(page_sql, page_params)
    labels = {pk: f"{code} {name}" for pk, code, name in
              Customer.objects.filter(pk__in=[r[0] for r in raw]).values_list("pk", "code", "name")}
    rows = [AgingRow(key=r[0], label=labels.get(r[0], ""), buckets=tuple(from_minor(v or 0) for v in r[2:2 + N]),
                     total=from_minor(r[2 + N] or 0), disputed=from_minor(r[3 + N] or 0)) for r in raw]
    return AgingReport(as_of=as_of, basis=basis, scheme="collections", group_by=group_by, buckets=buckets, rows=rows,
                       totals=totals, total=sum(totals, ZERO), row_count=count, disputed=disputed)


def _whole(rows_sql: str, params: list, *, as_of: dt.date, basis: str, buckets) -> AgingReport:
    """Every customer's row (the full report: XLSX, API without a page size) in one statement with its label:
    the count and totals are added up here from the integers already fetched instead of a second pass, and
    the labels come joined rather than as a 100,000-id ``IN`` list."""
    with bulk_objects():
        raw = fetch(f"SELECT r.k, c.code || ' ' || c.name, {', '.join(f'r.b{i}' for i in range(N))}, r.total, "
                    f"r.disputed FROM ({rows_sql}) r LEFT JOIN {Customer._meta.db_table} c ON c.id = r.k "
                    f"ORDER BY r.total DESC, r.k", params)
        return whole_report(raw, as_of=as_of, basis=basis, scheme="collections", group_by="customer", buckets=buckets)


def live_page(*, user, company, as_of: dt.date, min_total: Decimal | None, offset: int,
              limit: int | None) -> AgingReport:
    """The aging by customer of a date not stored yet, for one page, in ONE statement over the instalments: the
    per-customer rows are grouped once (a materialized CTE) and give both the count and column totals and the
    page in the report's order with its labels — nothing is stored and only the page's rows reach Python. Same
    result as ``ledger.aging.aging_report`` (test); the stored date is built in the background meanwhile."""
    buckets, column, basis = buckets_for(as_of=as_of)
    n = len(buckets)
    sql, params = grouped_sql(user=user, company=company, as_of=as_of, buckets=buckets, column=column,
                              group_by="customer")
    if min_total is not None:
        sql = f"SELECT * FROM ({sql}) f WHERE f.total >= %s"
        params = [*params, int(min_total * 100)]
    cols = [f"b{i}" for i in range(n)] + ["total", "disputed"]
    # the page is cut before its labels are joined: one customer lookup per shown row, not per customer
    cut, page_params = _page_clause(offset=offset, limit=limit)
    shown = f"SELECT * FROM g ORDER BY g.total DESC, g.k{cut}"
    page = (f"SELECT 1 AS part, g.k, c.code || ' ' || c.name AS label, {', '.join(f'g.{c}' for c in cols)}, 0 AS n "
            f"FROM ({shown}) g LEFT JOIN {Customer._meta.db_table} c ON c.id = g.k")
    sums = ", ".join(f"CAST(SUM(g.{c}) AS BIGINT)" for c in cols)
    with bulk_objects():
        raw = fetch(f"WITH g AS MATERIALIZED ({sql}) SELECT 0, NULL, NULL, {sums}, COUNT(*) FROM g "
                    f"UNION ALL SELECT * FROM ({page}) p", [*params, *page_params])
        head = next(r for r in raw if r[0] == 0)
        rows = sorted((r[1:-1] for r in raw if r[0] == 1), key=lambda r: (-(r[2 + n] or 0), r[0]))  # the page's order
        rep = whole_report(rows, as_of=as_of, basis=basis, scheme="collections", group_by="customer", buckets=buckets)
    totals = tuple(from_minor(v or 0) for v in head[3:3 + n])
    return AgingReport(as_of=as_of, basis=basis, scheme="collections", group_by="customer", buckets=buckets,
                       rows=rep.rows, totals=totals, total=sum(totals, ZERO), row_count=head[-1],
                       disputed=from_minor(head[4 + n] or 0))


def _page_clause(*, offset: int, limit: int | None) -> tuple[str, list]:
    """`` LIMIT … OFFSET …`` of a page and its parameters (SQLite needs a LIMIT before an OFFSET: -1 is none)."""
    if limit is not None:
        return " LIMIT %s OFFSET %s", [limit, offset]
    if offset:
        return (" LIMIT -1 OFFSET %s" if connection.vendor == "sqlite" else " OFFSET %s"), [offset]
    return "", []


def live_page_by_total(*, user, company, as_of: dt.date, offset: int, limit: int | None) -> AgingReport:
    """``live_page`` without a floor (the first view of a past date), in three cheaper statements (issue 19): each
    customer's total alone (one sum and the disputed part per row instead of eight sums) gives the count and the
    page's customers in the report's order; the page's buckets are then grouped for those customers only (~100); the
    column totals come from the totals' statement (for the whole company on PostgreSQL the running sums by due date,
    ``ledger.aging.flow_arms``: a few ms). At 100,000 customers, one thread: 490 → 300 ms of backend CPU at the data's
    end, 460 → 320 ms a year back (docs/PERFORMANCE.md). Same result as ``live_page`` (test). The statements read
    one snapshot: a REPEATABLE READ transaction of their own on PostgreSQL (a transaction on SQLite) unless the caller
    already holds one."""
    if connection.in_atomic_block:
        return _live_page_by_total(user=user, company=company, as_of=as_of, offset=offset, limit=limit)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _live_page_by_total(user=user, company=company, as_of=as_of, offset=offset, limit=limit)


def _live_page_by_total(*, user, company, as_of: dt.date, offset: int, limit: int | None) -> AgingReport:
    buckets, column, basis = buckets_for(as_of=as_of)
    n = len(buckets)
    sql, params = grouped_sql(user=user, company=company, as_of=as_of, buckets=[], column=column, group_by="customer")
    cut, page_params = _page_clause(offset=offset, limit=limit)
    shown = f"SELECT g.k, g.total FROM g ORDER BY g.total DESC, g.k{cut}"
    with bulk_objects():
        raw = fetch(f"WITH g AS MATERIALIZED ({sql}) SELECT 0, COUNT(*), NULL FROM g "
                    f"UNION ALL SELECT 1, p.k, p.total FROM ({shown}) p", [*params, *page_params])
        count = next(r[1] for r in raw if r[0] == 0)
        ids = [r[1] for r in raw if r[0] == 1]
        rows: list = []
        if ids:
            rows_sql, rows_params = grouped_sql(user=None, company=company, as_of=as_of, buckets=buckets,
                                                column=column, group_by="customer",
                                                customers=(f"SELECT id FROM {Customer._meta.db_table} WHERE id IN "
                                                           f"({', '.join(['%s'] * len(ids))})", ids))
            labels = {pk: f"{code} {name}" for pk, code, name in
                      Customer.objects.filter(pk__in=ids).values_list("pk", "code", "name")}
            got = fetch(rows_sql, rows_params)
            rows = sorted(((r[0], labels.get(r[0], ""), *r[2:]) for r in got), key=lambda r: (-(r[2 + n] or 0), r[0]))
        rep = whole_report(rows, as_of=as_of, basis=basis, scheme="collections", group_by="customer", buckets=buckets)
    tot_sql, tot_params = ledger_aging.totals_by_date_sql(user=user, company=company, as_of=as_of, buckets=buckets,
                                                          column=column)
    head = fetch(tot_sql, tot_params)
    agg = head[0][2:] if head else [0] * (n + 2)
    totals = tuple(from_minor(v or 0) for v in agg[:n])
    return AgingReport(as_of=as_of, basis=basis, scheme="collections", group_by="customer", buckets=buckets,
                       rows=rep.rows, totals=totals, total=sum(totals, ZERO), row_count=count,
                       disputed=from_minor(agg[n + 1] or 0))
