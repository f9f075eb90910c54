"""The aging report assembled from per-customer rows of the stored figures (today's aggregate or a
stored past date): one statement for the count and totals, one for the shown page, labels for it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from huikuan.common.money import ZERO, from_minor
from huikuan.customers.models import Customer
from huikuan.ledger.aging import COLLECTION_EDGES, AgingReport, AgingRow, buckets_for, fetch

N = len(COLLECTION_EDGES) + 2  # stored bucket columns: current, b1…b5


def assemble(rows_sql: str, params: list, *, as_of: dt.date, group_by: str, min_total: Decimal | None,
             offset: int, limit: int | None) -> AgingReport:
    """``rows_sql`` selects (k, label, b0…b5, total, disputed) per customer as ``r`` (already limited to
    the user's scope and, for "customer", to ``min_total``); ``group_by`` is "customer" or "none"."""
    buckets, _column, basis = buckets_for(as_of=as_of)
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
