"""SQLite: the raw-SQL objects the aging relies on exist, and the planner uses them.

The triggers (migration 0002) and the covering index of open instalments (0003) are raw SQL, unknown to
Django's model state: a later migration that rebuilds ``ledger_instalment`` on SQLite would drop them
silently. These tests notice."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from huikuan.insight.services import refresh_customer_aging
from huikuan.ledger import services as s
from huikuan.ledger.aging import buckets_for, grouped_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite schema objects"),
]


def _master(kind: str) -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type = %s AND tbl_name = 'ledger_instalment'", [kind])
        return {r[0] for r in cur.fetchall()}


def test_triggers_and_covering_index_exist():
    assert {"insight_aging_changed_ins", "insight_aging_changed_upd",
            "insight_aging_marks_ins", "insight_aging_marks_upd"} <= _master("trigger")  # 0002, 0004
    assert "insight_open_cover" in _master("index")


def test_aging_reads_open_instalments_from_the_covering_index(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 5, 1), total=D("100.00"),
                    actor=finance)
    x = dt.date(2026, 6, 30)
    buckets, column, _basis = buckets_for(as_of=x)
    sql, params = grouped_sql(user=None, company=company, as_of=x, buckets=buckets, column=column, group_by="none")
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(r[-1] for r in cur.fetchall())
    assert "COVERING INDEX insight_open_cover" in plan, plan
    # the live recompute of changed customers seeks by customer in it
    sql, params = grouped_sql(user=None, company=company, as_of=x, buckets=buckets, column=column,
                              group_by="customer", customers=("SELECT %s", [customer.pk]))
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(r[-1] for r in cur.fetchall())
    assert "COVERING INDEX insight_open_cover (company_id=? AND customer_id=?)" in plan, plan


def test_rebuild_refreshes_the_planner_statistics_of_the_aggregate(company, customer, finance):
    for day in (dt.date(2026, 5, 1), dt.date(2026, 6, 1)):
        s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D("100.00"), actor=finance)
    assert refresh_customer_aging(company=company, as_of=dt.date(2026, 6, 30)) == 1
    with connection.cursor() as cur:
        cur.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'insight_customeraging'")
        stats = [r[0] for r in cur.fetchall()]
    assert stats and all(st.split()[0] == "1" for st in stats), stats
