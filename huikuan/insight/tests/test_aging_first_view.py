"""The first view of a past date answers from one live statement (only the page reaches Python), stores nothing
and queues the date's build; it equals the full computation for every page, scope and floor."""

import datetime as dt
import random
from decimal import Decimal as D

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from huikuan.insight import aging as fast
from huikuan.insight import past
from huikuan.insight.models import AgingBuild
from huikuan.insight.tasks import build_aging_date
from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report

# PostgreSQL: a build needs a transaction of its own (its snapshot), so these tests commit
pytestmark = pytest.mark.django_db(transaction=True)

Y = dt.date(2026, 6, 17)


def _rows(rep):
    return [(r.key, r.label, r.buckets, r.total, r.disputed) for r in rep.rows]


@pytest.fixture
def book(company, customer, other_customer, finance):
    from huikuan.customers.models import Customer

    rnd = random.Random(7)
    custs = [customer, other_customer] + [
        Customer.objects.create(
            company=company,
            code=f"F{i:02d}",
            name=f"首看客户{i}",
            owner=customer.owner,
            payment_term=customer.payment_term,
        )
        for i in range(5)
    ]
    for c in custs:
        for _ in range(rnd.randrange(1, 4)):
            s.post_document(
                company=company,
                customer_id=c.pk,
                total=D(rnd.randrange(100, 500000)) / 100,
                document_date=dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(200)),
                actor=finance,
            )
    s.record_payment(
        company=company, customer_id=customer.pk, amount=D("50.00"), date=dt.date(2026, 6, 1), actor=finance
    )
    s.record_payment(
        company=company,
        customer_id=other_customer.pk,
        amount=D("20.00"),
        date=dt.date(2026, 6, 30),
        actor=finance,
    )  # after Y: adds back as of Y
    return custs


def test_first_view_is_computed_live_equal_to_the_full_computation(
    book, company, customer, finance, django_assert_max_num_queries
):
    # today's aggregate?, stored date?, the customers' totals with the page's customers, their labels, their buckets,
    # the column totals, the build queued (a task row), and the read transaction (its isolation on PostgreSQL)
    with django_assert_max_num_queries(10) as ctx:
        first = fast.aging_report(user=finance, company=company, as_of=Y, offset=0, limit=3)
    assert not AgingBuild.objects.exists()
    grouped = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"] and "ledger_instalment" in q["sql"]]
    if connection.vendor == "postgresql":
        # every customer's total is grouped once; the page's buckets are read for its three customers only
        assert len(grouped) >= 2 and "customers_customer WHERE id IN" in grouped[1]
    else:  # one statement (no running sums for the column totals on SQLite)
        assert len(grouped) == 1
    live = aging_report(user=finance, company=company, as_of=Y, offset=0, limit=3)
    assert (first.totals, first.total, first.disputed, first.row_count, _rows(first)) == (
        live.totals,
        live.total,
        live.disputed,
        live.row_count,
        _rows(live),
    )
    assert len(first.rows) == 3 and first.row_count == len(book)
    for kw in (
        {"offset": 3, "limit": 3},
        {"offset": 6, "limit": 3},
        {},
        {"offset": 2},
        {"min_total": D("1000")},
        {"user": customer.owner},
        {"user": customer.owner, "offset": 1, "limit": 1},
    ):
        kw = {"user": finance, **kw}
        a = fast.aging_report(company=company, as_of=Y, **kw)
        b = aging_report(company=company, as_of=Y, **kw)
        assert (a.totals, a.total, a.disputed, a.row_count, _rows(a)) == (
            b.totals,
            b.total,
            b.disputed,
            b.row_count,
            _rows(b),
        ), kw
    assert not AgingBuild.objects.exists()
    # one build queued for the date however many views; the worker stores it, later views read it
    assert DBTaskResult.objects.count() == 1
    build_aging_date.call(company.pk, Y.isoformat())
    assert AgingBuild.objects.get(as_of=Y).rows == len(book)
    stored = fast.aging_report(user=finance, company=company, as_of=Y, offset=0, limit=3)
    assert _rows(stored) == _rows(first) and stored.totals == first.totals
    assert (
        past.current_build(company=company, as_of=Y, missing="none").pk == AgingBuild.objects.get(as_of=Y).pk
    )


def test_first_view_of_an_empty_date(company, customer, finance):
    rep = fast.aging_report(user=finance, company=company, as_of=Y, offset=0, limit=100)
    assert rep.row_count == 0 and rep.rows == [] and rep.total == D("0.00") and len(rep.totals) == 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plan")
def test_first_view_looks_up_labels_for_the_shown_rows_only(book, company, finance, monkeypatch):
    """The page is cut before the customers' labels are joined: one lookup per shown row, not one per customer
    (at 100,000 customers the join before the cut cost ~100,000 index probes per first view)."""
    from huikuan.insight import report

    seen = {}
    real = report.fetch

    def spy(sql, params):
        seen["sql"], seen["params"] = sql, params
        return real(sql, params)

    monkeypatch.setattr(report, "fetch", spy)
    report.live_page(user=finance, company=company, as_of=Y, min_total=None, offset=0, limit=2)
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {seen['sql']}", seen["params"])
        plan = cur.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan

    def nodes(n):
        yield n
        for child in n.get("Plans", []):
            yield from nodes(child)

    def has_customers(n):
        return any(m.get("Relation Name") == "customers_customer" for m in nodes(n))

    joins = [n for n in nodes(plan["Plan"]) if "Join" in n["Node Type"] or n["Node Type"] == "Nested Loop"]
    joins = [n for n in joins if has_customers(n)]
    assert joins, plan
    for j in joins:  # the side the labels are joined to holds the page's rows only
        other = [c for c in j["Plans"] if not has_customers(c)]
        assert other and all(c["Actual Rows"] <= 2 for c in other), j


@pytest.mark.parametrize("kw", [{"offset": 0, "limit": 3}, {"offset": 3, "limit": 3}, {"offset": 6, "limit": 3},
                                {"offset": 0, "limit": 100}, {"offset": 2, "limit": None}])
def test_first_view_by_totals_first_equals_the_one_statement(book, company, customer, finance, kw):
    from huikuan.insight import report

    for user in (finance, customer.owner, None):
        for as_of in (Y, dt.date(2026, 1, 20), dt.date(2026, 7, 31)):
            a = report.live_page_by_total(user=user, company=company, as_of=as_of, **kw)
            b = report.live_page(user=user, company=company, as_of=as_of, min_total=None, **kw)
            assert (a.totals, a.total, a.disputed, a.row_count, _rows(a)) == (
                b.totals, b.total, b.disputed, b.row_count, _rows(b)), (user, as_of, kw)
