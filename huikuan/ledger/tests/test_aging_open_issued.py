"""PostgreSQL: the aging as of a past date reads the open instalments issued by then from the index keyed by
document date (migration 0018), not every open instalment filtered one by one (issue 19)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report, buckets_for, grouped_sql, totals_by_date_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL schema objects"),
]


def _plan(sql: str, params: list, *, sort: bool = True) -> str:
    with connection.cursor() as cur:
        if not sort:  # at test scale a sort or hash of a few rows is cheaper than an ordered read; at 1 M rows not
            cur.execute("SET LOCAL enable_sort = off")
            cur.execute("SET LOCAL enable_hashagg = off")
        # a handful of test rows: without this the planner reads the small table whole
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        # statistics of the few rows (two indexes of open instalments compete: by document date and by customer)
        cur.execute("ANALYZE ledger_instalment")
        cur.execute(f"EXPLAIN {sql}", params)
        return "\n".join(r[0] for r in cur.fetchall())


def test_index_exists_partial_and_covering():
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'ledger_instalment' "
                    "AND indexname = 'instalment_open_issued'")
        (definition,), = cur.fetchall()
    assert "(company_id, document_date) INCLUDE (" in definition and "WHERE (open_amount > 0)" in definition
    for column in ("due_date", "amount", "open_amount", "disputed_amount", "first_allocated_on", "last_allocated_on",
                   "reversed_on", "plan_from", "customer_id"):
        assert column in definition


@pytest.mark.parametrize("group_by", ["none", "customer"])
def test_past_date_reads_open_items_by_document_date(company, customer, finance, group_by):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2025, 3, 1), total=D("100.00"),
                    actor=finance)
    # most open items issued after the date (as at scale a year back): the document-date range is the narrow read
    for k in range(120):
        s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1) + dt.timedelta(days=k),
                        total=D("100.00"), actor=finance)
    x = dt.date(2025, 11, 30)
    buckets, column, _basis = buckets_for(as_of=x)
    if group_by == "none":  # the per-date statement (the company's totals read the running sums: insight/tests/test_aging_flow.py)
        sql, params = totals_by_date_sql(user=None, company=company, as_of=x, buckets=buckets, column=column,
                                         flow=False)
    else:
        sql, params = grouped_sql(user=None, company=company, as_of=x, buckets=buckets, column=column,
                                  group_by=group_by)
    plan = _plan(sql, params)
    assert "Index Only Scan using instalment_open_issued" in plan, plan
    assert "document_date <= '2025-11-30'::date" in plan.split("instalment_open_issued", 1)[1].split("\n")[1], plan
    # and the answer is the item issued by then only
    assert aging_report(user=finance, company=company, as_of=x, group_by=group_by).total == D("100.00")


def test_by_customer_reads_open_items_in_customer_order_and_may_run_in_parallel(company, customer, finance):
    """Migration 0019: the open part of the aging by customer is grouped as it is read from the index keyed by
    customer (no sort), and the statement holds no correlated sub-plan (the allocation lookup is the PARALLEL SAFE
    function), so PostgreSQL may split it among parallel workers."""
    for k in range(30):
        s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1) + dt.timedelta(days=k),
                        total=D("100.00"), actor=finance)
    x = dt.date(2026, 6, 30)
    buckets, column, _basis = buckets_for(as_of=x)
    sql, params = grouped_sql(user=None, company=company, as_of=x, buckets=buckets, column=column, group_by="customer")
    plan = _plan(sql, params, sort=False)
    # the open part is grouped straight from a read in customer order (at test scale the planner takes the plain
    # customer index: the rows of an open transaction are not all-visible, so no index-only scan is cheaper)
    # (the open part's and the closed part's rows are then added by a full join on the customer, aging19)
    open_branch, = [part for part in plan.split("GroupAggregate")[1:] if "open_amount > 0" in part]
    assert "Sort" not in open_branch and "customer" in open_branch, plan
    assert "Full Join" in plan and plan.count("GroupAggregate") == 2, plan
    assert "SubPlan" not in plan and "ledger_allocated_upto" in plan, plan
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'instalment_open_customer'")
        (definition,), = cur.fetchall()
        assert "(company_id, customer_id) INCLUDE (" in definition and "WHERE (open_amount > 0)" in definition
        cur.execute("SELECT proparallel FROM pg_proc WHERE proname = 'ledger_allocated_upto'")
        assert cur.fetchone()[0] == "s"
    assert aging_report(user=finance, company=company, as_of=x).total == D("3000.00")
