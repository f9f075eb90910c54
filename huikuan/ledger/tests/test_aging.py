import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.ledger import services as s
from huikuan.ledger.aging import (
    accounting_buckets,
    aging_items,
    aging_report,
    collection_buckets,
    count_aging_items,
)
from huikuan.ledger.models import Instalment, LedgerEntry

pytestmark = pytest.mark.django_db


def _inv(company, customer, finance, total, date, days=30):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=finance,
                           schedule=[s.ScheduleInput(date + dt.timedelta(days=days), D(total))])


def test_buckets_by_days_past_due(company, customer, finance):
    x = dt.date(2026, 6, 30)
    _inv(company, customer, finance, "100.00", dt.date(2026, 6, 20))  # due 07-20: current
    _inv(company, customer, finance, "200.00", dt.date(2026, 5, 31))  # due 06-30: 0 days → current
    _inv(company, customer, finance, "300.00", dt.date(2026, 5, 30))  # due 06-29: 1 day
    _inv(company, customer, finance, "400.00", dt.date(2026, 4, 1))  # due 05-01: 60 days
    _inv(company, customer, finance, "500.00", dt.date(2026, 1, 1))  # due 01-31: 150 days
    rep = aging_report(user=finance, company=company, as_of=x)
    assert [b.key for b in rep.buckets] == ["current", "b1", "b2", "b3", "b4", "b5"]
    (row,) = rep.rows
    assert row.buckets == (D("300.00"), D("300.00"), D("400.00"), D("0.00"), D("0.00"), D("500.00"))
    assert row.total == D("1500.00") == sum(row.buckets)


def test_as_of_ignores_later_postings_and_allocations(company, customer, finance):
    _inv(company, customer, finance, "1000.00", dt.date(2026, 1, 5))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("400.00"), date=dt.date(2026, 3, 1), actor=finance)
    _inv(company, customer, finance, "50.00", dt.date(2026, 4, 1))
    before = aging_report(user=finance, company=company, as_of=dt.date(2026, 2, 28))
    assert before.total == D("1000.00")
    after = aging_report(user=finance, company=company, as_of=dt.date(2026, 3, 1))
    assert after.total == D("600.00")
    now = aging_report(user=finance, company=company, as_of=dt.date(2026, 4, 1))
    assert now.total == D("650.00")
    assert aging_report(user=finance, company=company, as_of=dt.date(2025, 12, 31)).rows == []


def test_reversals_count_from_their_date(company, customer, finance):
    doc = _inv(company, customer, finance, "300.00", dt.date(2026, 1, 5))
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 1, 10), actor=finance)
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 2, 1), reason="bounced")
    s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=dt.date(2026, 3, 1), reason="wrong")
    assert aging_report(user=finance, company=company, as_of=dt.date(2026, 1, 20)).total == D("200.00")
    assert aging_report(user=finance, company=company, as_of=dt.date(2026, 2, 15)).total == D("300.00")
    assert aging_report(user=finance, company=company, as_of=dt.date(2026, 3, 1)).total == D("0.00")


def test_scope_and_grouping(company, customer, other_customer, users, finance):
    _inv(company, customer, finance, "100.00", dt.date(2026, 1, 5))
    _inv(company, other_customer, finance, "70.00", dt.date(2026, 1, 5))
    x = dt.date(2026, 3, 1)
    assert aging_report(user=users["sales_east"], company=company, as_of=x).total == D("100.00")
    assert aging_report(user=users["manager_east"], company=company, as_of=x).total == D("100.00")
    by_sp = aging_report(user=finance, company=company, as_of=x, group_by="salesperson")
    assert {r.label: r.total for r in by_sp.rows} == {"sales_east": D("100.00"), "sales_west": D("70.00")}
    by_team = aging_report(user=finance, company=company, as_of=x, group_by="team")
    assert {r.label for r in by_team.rows} == {"East", "West"}
    items = aging_items(user=finance, company=company, as_of=x, group_by="customer", key=customer.pk)
    assert [i.open_amount for i in items] == [D("100.00")]


def test_the_drill_down_counted_up_to_a_cap_equals_its_items(company, customer, other_customer, users, finance):
    """``count_aging_items`` (the export's choice between the file now and the worker) counts exactly what
    ``aging_items`` lists for the same cell — every grouping, a bucket, marked items kept or left out, a
    salesperson's scope, a past date — and stops at its cap."""
    for n in range(4):
        _inv(company, customer, finance, f"{100 + n}.00", dt.date(2026, 1, 5 + n))
    _inv(company, other_customer, finance, "70.00", dt.date(2026, 2, 1))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("101.00"), date=dt.date(2026, 3, 2), actor=finance)
    first = Instalment.objects.filter(document__customer=customer).order_by("pk").first()
    marked = ("SELECT %s", [first.pk])
    x = dt.date(2026, 3, 5)
    buckets = collection_buckets(x)
    cells = [{}, {"group_by": "customer", "key": customer.pk}, {"group_by": "customer", "key": other_customer.pk},
             {"group_by": "salesperson", "key": users["sales_east"].pk}, {"group_by": "team", "key": None},
             {"group_by": "region", "key": None}, {"group_by": "owner", "key": users["sales_west"].pk},
             {"bucket": buckets[2]}, {"bucket": buckets[0]}, {"marked": marked, "marked_mode": "only"},
             {"marked": marked, "marked_mode": "exclude"}]
    for who in (finance, users["sales_east"]):
        for as_of in (x, dt.date(2026, 1, 31), dt.date(2026, 3, 1)):
            for cell in cells:
                listed = aging_items(user=who, company=company, as_of=as_of, limit=1000, **cell)
                assert count_aging_items(user=who, company=company, as_of=as_of, cap=1000, **cell) == len(listed), cell
    assert len(aging_items(user=finance, company=company, as_of=x)) == 4  # one instalment fully paid on 03-02
    assert count_aging_items(user=finance, company=company, as_of=x, cap=2) == 2
    assert count_aging_items(user=users["sales_west"], company=company, as_of=x, cap=10) == 1


def test_accounting_aging_by_years(company, customer, finance):
    x = dt.date(2026, 6, 30)
    _inv(company, customer, finance, "10.00", dt.date(2026, 1, 1))
    _inv(company, customer, finance, "20.00", dt.date(2025, 6, 30))  # exactly one year → 1–2 years
    _inv(company, customer, finance, "30.00", dt.date(2023, 6, 1))
    rep = aging_report(user=finance, company=company, as_of=x, scheme="accounting")
    assert [b.key for b in rep.buckets] == ["y1", "y2", "y3", "y3+"]
    assert rep.rows[0].buckets == (D("10.00"), D("20.00"), D("0.00"), D("30.00"))
    five = aging_report(user=finance, company=company, as_of=x, scheme="accounting", years=(1, 2, 3, 4, 5))
    assert len(five.buckets) == 6


def test_bucket_edges_validation():
    with pytest.raises(ValueError):
        collection_buckets(dt.date(2026, 1, 1), (30, 20))
    b = accounting_buckets(dt.date(2024, 2, 29))
    assert b[0].date_from == dt.date(2023, 2, 28) + dt.timedelta(days=1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    docs=st.lists(st.tuples(st.integers(1, 500_000), st.integers(0, 400), st.integers(-30, 200)), min_size=1, max_size=8),
    pay=st.integers(0, 900_000),
    as_of_offset=st.integers(0, 450),
    edges=st.sampled_from([(30, 60, 90, 120), (15, 45), (7,), (30, 60, 90, 180, 365)]),
    pay2=st.integers(0, 400_000),
    undo=st.sampled_from(["none", "payment", "document", "both"]),
    disputed=st.integers(0, 100),
)
def test_buckets_partition_the_open_balance(company, customer, finance, docs, pay, as_of_offset, edges, pay2, undo,
                                             disputed):
    """SQL aging equals a Python recomputation from the raw rows, bucket by bucket, for any as-of date."""
    from huikuan.customers.models import Customer
    from huikuan.ledger.models import Allocation

    base = dt.date(2025, 1, 1)
    cust = Customer.objects.create(company=company, code=f"P{Customer.objects.count()}", name="prop", owner=customer.owner)
    for cents, doc_off, term in docs:
        d = base + dt.timedelta(days=doc_off)
        s.post_document(company=company, customer_id=cust.pk, document_date=d, total=D(cents) / 100, actor=finance,
                        schedule=[s.ScheduleInput(d + dt.timedelta(days=term), D(cents) / 100)])
    first_payment = None
    if pay:
        first_payment = s.record_payment(company=company, customer_id=cust.pk, amount=D(pay) / 100,
                                         date=base + dt.timedelta(days=200), actor=finance)
    if pay2:  # a second payment later: instalments allocated both before and after some as-of dates
        s.record_payment(company=company, customer_id=cust.pk, amount=D(pay2) / 100, date=base + dt.timedelta(days=320),
                         actor=finance)
    if first_payment is not None and undo in ("payment", "both"):
        s.reverse_credit(company=company, credit_id=first_payment.pk, actor=finance, on=base + dt.timedelta(days=260),
                         reason="bounced")
    if undo in ("document", "both"):
        first_doc = Instalment.objects.filter(customer=cust).order_by("pk").first().document_id
        s.reverse_document(company=company, document_id=first_doc, actor=finance, on=base + dt.timedelta(days=280),
                           reason="wrong customer")
    if disputed:
        inst = Instalment.objects.filter(customer=cust).order_by("pk").first()
        Instalment.objects.filter(pk=inst.pk).update(disputed_amount=(inst.amount * disputed / 100).quantize(D("0.01"), rounding="ROUND_DOWN"))
    x = base + dt.timedelta(days=as_of_offset)
    rep = aging_report(user=finance, company=company, as_of=x, edges=edges, group_by="customer")
    row = next((r for r in rep.rows if r.key == cust.pk), None)
    got = row.buckets if row else tuple(D("0.00") for _ in rep.buckets)

    expected = [D("0.00")] * (len(edges) + 2)
    expected_disputed = D("0.00")
    for inst in Instalment.objects.filter(customer=cust).select_related("document"):
        if inst.document_date > x:
            continue
        reversal = LedgerEntry.objects.filter(document=inst.document, kind="reversal").first()
        if reversal is not None and reversal.date <= x:
            continue
        paid = sum((a.amount for a in Allocation.objects.filter(instalment=inst, date__lte=x)), D("0"))
        open_x = inst.amount - paid
        days = (x - inst.due_date).days
        idx = 0 if days <= 0 else 1 + next((i for i, e in enumerate(edges) if days <= e), len(edges))
        expected[idx] += open_x
        expected_disputed += min(inst.disputed_amount, open_x)
    assert got == tuple(expected)
    if row:
        assert sum(row.buckets) == row.total
        assert row.disputed == expected_disputed
    # the totals alone (on PostgreSQL their own statement, summed per due date first): the same, or no row
    tot = aging_report(user=finance, company=company, as_of=x, edges=edges, group_by="none", customer_id=cust.pk)
    assert (tot.totals, tot.disputed, tot.row_count) == ((tuple(expected), expected_disputed, 1) if row else
                                                         (tuple(D("0.00") for _ in rep.buckets), D("0.00"), 0))
    # the company's totals (on PostgreSQL read from the running sums by due date, ledger_agingflow) = its rows' sums
    whole = aging_report(user=finance, company=company, as_of=x, edges=edges, group_by="none")
    assert (whole.totals, whole.disputed, whole.row_count) == (rep.totals, rep.disputed, 1 if rep.row_count else 0)
    # the same through the unscoped path (snapshots) and a salesperson's scoped path
    for who in (None, customer.owner):
        again = aging_report(user=who, company=company, as_of=x, edges=edges, group_by="customer", customer_id=cust.pk)
        assert (again.rows[0].buckets if again.rows else tuple(D("0.00") for _ in rep.buckets)) == tuple(expected)


def test_paging_keeps_totals_over_all_groups(company, finance, users):
    from huikuan.customers.models import Customer

    for i in range(5):
        c = Customer.objects.create(company=company, code=f"PG{i}", name=f"客户{i}", owner=users["sales_east"])
        _inv(company, c, finance, f"{(i + 1) * 100}.00", dt.date(2026, 1, 5))
    x = dt.date(2026, 6, 30)
    full = aging_report(user=finance, company=company, as_of=x)
    page = aging_report(user=finance, company=company, as_of=x, offset=1, limit=2)
    assert [r.total for r in full.rows] == [D("500.00"), D("400.00"), D("300.00"), D("200.00"), D("100.00")]
    assert [r.total for r in page.rows] == [D("400.00"), D("300.00")]
    assert page.row_count == 5 and page.totals == full.totals and page.total == D("1500.00")
    assert aging_report(user=finance, company=company, as_of=x, min_total=D("300.00")).row_count == 3


def test_sum_bigint_equals_the_cast_sum():
    """``sum_bigint`` (PostgreSQL: the BIGINT-state aggregate of migration 0021) gives what ``CAST(SUM(…) AS BIGINT)``
    gives: per group, with a filter, NULL over no row, negative and near-limit values, an error beyond the range."""
    from django.db import DatabaseError, connection, transaction

    from huikuan.ledger.aging import sum_bigint

    big = 2**62
    values = [(1, 5), (1, -7), (1, 123456789012), (2, big), (2, big - 1), (2, -big), (3, 0), (4, 9)]
    rows = " UNION ALL ".join(f"SELECT {g} AS g, CAST({v} AS BIGINT) AS v" for g, v in values)
    cols = [("t.v", ""), ("t.v", "t.v > 0"), ("t.v", "t.g = 4"), ("t.v", "t.v < 0")]
    ours = ", ".join(sum_bigint(a, w) for a, w in cols)
    cast = ", ".join(f"CAST(SUM({a})" + (f" FILTER (WHERE {w})" if w else "") + " AS BIGINT)" for a, w in cols)
    with connection.cursor() as cur:
        cur.execute(f"SELECT t.g, {ours} FROM ({rows}) t GROUP BY t.g ORDER BY t.g")
        got = cur.fetchall()
        cur.execute(f"SELECT t.g, {cast} FROM ({rows}) t GROUP BY t.g ORDER BY t.g")
        assert got == cur.fetchall()
    assert got[0] == (1, 123456789010, 123456789017, None, -7)
    assert got[2] == (3, 0, None, None, None) and got[1][1:] == (big - 1, 2 * big - 1, None, -big)
    if connection.vendor == "postgresql":
        assert sum_bigint("t.v").startswith("ledger_sum_bigint(")
        with pytest.raises(DatabaseError, match="out of range"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SELECT {sum_bigint('t.v')} FROM (SELECT {big} AS v UNION ALL SELECT {big}) t")
