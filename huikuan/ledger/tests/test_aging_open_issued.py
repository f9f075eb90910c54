"""PostgreSQL: the aging as of a past date reads the open instalments issued by then from the index keyed by
document date (migration 0018), not every open instalment filtered one by one (issue 19)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report, buckets_for, grouped_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL schema objects"),
]


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cur:
        # a handful of test rows: without this the planner reads the small table whole
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
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
    for day in (dt.date(2025, 3, 1), dt.date(2026, 5, 1)):
        s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D("100.00"), actor=finance)
    x = dt.date(2025, 11, 30)
    buckets, column, _basis = buckets_for(as_of=x)
    sql, params = grouped_sql(user=None, company=company, as_of=x, buckets=buckets, column=column, group_by=group_by)
    plan = _plan(sql, params)
    assert "Index Only Scan using instalment_open_issued" in plan, plan
    assert "document_date <= '2025-11-30'::date" in plan.split("instalment_open_issued", 1)[1].split("\n")[1], plan
    # and the answer is the item issued by then only
    assert aging_report(user=finance, company=company, as_of=x, group_by=group_by).total == D("100.00")
