"""The aging report, read from the per-customer aggregate when it applies — exact to the fen.

Freshness rule: ``CustomerAging`` holds every customer's default aging (collections buckets
30/60/90/120 by due date) as of one business date, rebuilt by the daily job. Any insert or update
of an instalment — posting, allocation, reversal, write-off, dispute, payment plan, import, by any
code path — marks its customer in ``AgingChange`` (database triggers). A read as of the
aggregate's date takes the stored rows of unmarked customers and recomputes the marked ones live
(``ledger.aging.grouped_sql`` limited to them), so the result equals ``ledger.aging.aging_report``
at all times. Once ``services.FOLD_AT`` customers are marked, a read first folds them into the
aggregate (``services.fold_changed_customers``: marks cleared first, then recomputed, like the rebuild),
so the live part stays small during a busy day. Any other date, bucket scheme, grouping or a single customer goes to
``ledger.aging.aging_report`` directly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import COLLECTION_EDGES, AgingReport, fetch

from . import past, report, services


def _applies(*, company, as_of, scheme, basis, group_by, edges, customer_id) -> bool:
    if not (scheme == "collections" and basis == "due" and tuple(edges) == COLLECTION_EDGES
            and group_by in ("customer", "none") and customer_id is None):
        return False
    # one query: is there an aggregate for this date, and how many customers are marked as changed
    (present, marked), = fetch(
        "SELECT EXISTS (SELECT 1 FROM insight_customeraging WHERE company_id = %s AND as_of = %s), "
        "(SELECT COUNT(*) FROM insight_agingchange WHERE company_id = %s)", [company.pk, as_of, company.pk])
    if present and marked >= services.FOLD_AT and not _in_callers_transaction():
        # every read would recompute them all live: fold them into the aggregate once instead
        services.fold_changed_customers(company=company)
    return bool(present)


def _rows_sql(*, user, company, as_of: dt.date, min_total: Decimal | None) -> tuple[str, list]:
    """All customers' rows as (k, label, b0…b5, total, disputed): stored or, when changed, live."""
    return report.rows_sql(
        user=user, company=company, as_of=as_of, min_total=min_total,
        stored=("FROM insight_customeraging a WHERE a.company_id = %s AND a.as_of = %s", [company.pk, as_of]),
        changed=("SELECT customer_id FROM insight_agingchange WHERE company_id = %s", [company.pk]),
    )


def aging_report(*, user, company, as_of: dt.date, basis: str = "due", scheme: str = "collections",
                 group_by: str = "customer", edges: tuple[int, ...] = COLLECTION_EDGES,
                 years: tuple[int, ...] = ledger_aging.ACCOUNTING_YEARS, min_total: Decimal | None = None,
                 customer_id: int | None = None, offset: int = 0, limit: int | None = None) -> AgingReport:
    """Same arguments and result as ``ledger.aging.aging_report``; served from the aggregate when it applies."""
    if not _applies(company=company, as_of=as_of, scheme=scheme, basis=basis, group_by=group_by, edges=edges,
                    customer_id=customer_id):
        if past.applies(company=company, as_of=as_of, scheme=scheme, basis=basis, group_by=group_by, edges=edges,
                        customer_id=customer_id):
            # a past date: stored per-customer figures of that date, built on its first view (insight.past)
            rep = past.aging_report(user=user, company=company, as_of=as_of, group_by=group_by, min_total=min_total,
                                    offset=offset, limit=limit)
            if rep is not None:
                return rep
        return ledger_aging.aging_report(user=user, company=company, as_of=as_of, basis=basis, scheme=scheme,
                                         group_by=group_by, edges=edges, years=years, min_total=min_total,
                                         customer_id=customer_id, offset=offset, limit=limit)
    # ``min_total`` applies to the groups: customers here, the one grand total for "none"
    rows_sql, params = _rows_sql(user=user, company=company, as_of=as_of,
                                 min_total=min_total if group_by == "customer" else None)
    return report.assemble(rows_sql, params, as_of=as_of, group_by=group_by, min_total=min_total, offset=offset,
                           limit=limit)


def _in_callers_transaction() -> bool:
    """True inside an ``atomic`` block of the caller (where the fold's durable transaction is refused); the
    test runner's own wrapping block does not count, as for Django's ``durable`` check."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


