"""The full aging report by customer (every row: XLSX, API without a page size) in one statement, the same as
the live computation; ``from_minor`` by exponent equals the former division."""

import datetime as dt
import random
from decimal import Decimal as D

import pytest

from huikuan.common.money import QUANT, ZERO, from_minor, from_minor_each
from huikuan.insight import aging as fast
from huikuan.insight.services import refresh_customer_aging
from huikuan.ledger import services as s
from huikuan.ledger.aging import aging_report

pytestmark = pytest.mark.django_db

X = dt.date(2026, 6, 30)


def _rows(rep):
    return [(r.key, r.label, r.buckets, r.total, r.disputed) for r in rep.rows]


@pytest.fixture
def many(company, customer, other_customer, finance):
    from huikuan.customers.models import Customer

    rnd = random.Random(19)
    custs = [customer, other_customer] + [
        Customer.objects.create(
            company=company,
            code=f"W{i:03d}",
            name=f"整单客户{i}",
            owner=customer.owner,
            payment_term=customer.payment_term,
        )
        for i in range(8)
    ]
    for c in custs:
        for _ in range(rnd.randrange(1, 4)):
            s.post_document(
                company=company,
                customer_id=c.pk,
                document_date=dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(180)),
                total=D(rnd.randrange(100, 900000)) / 100,
                actor=finance,
            )
    s.record_payment(
        company=company, customer_id=customer.pk, amount=D("123.45"), date=dt.date(2026, 6, 1), actor=finance
    )
    return custs


def test_whole_report_is_one_statement_and_equals_the_live_one(
    many, company, customer, finance, django_assert_max_num_queries
):
    refresh_customer_aging(company=company, as_of=X)
    # a change after the aggregate: that customer is recomputed live inside the same statement
    s.post_document(
        company=company,
        customer_id=many[3].pk,
        document_date=dt.date(2026, 6, 2),
        total=D("77.70"),
        actor=finance,
    )
    with django_assert_max_num_queries(2) as ctx:  # aggregate present and marks counted; rows with labels
        a = fast.aging_report(user=finance, company=company, as_of=X)
    assert all(len(q["sql"]) < 20_000 for q in ctx.captured_queries)  # no IN list of every customer's id
    b = aging_report(user=finance, company=company, as_of=X)
    assert a.row_count == b.row_count == len(many)
    assert (a.totals, a.total, a.disputed) == (b.totals, b.total, b.disputed)
    assert _rows(a) == _rows(b)
    assert {r.key: r.label for r in a.rows} == {c.pk: f"{c.code} {c.name}" for c in many}
    assert sum((r.total for r in a.rows), ZERO) == a.total
    # scoped to the owner's customers and with a floor: still the same as the live report
    for kw in ({"user": customer.owner}, {"user": finance, "min_total": D("2000")}):
        a, b = fast.aging_report(company=company, as_of=X, **kw), aging_report(company=company, as_of=X, **kw)
        assert (a.totals, a.row_count, _rows(a)) == (b.totals, b.row_count, _rows(b))


def test_live_whole_report_reads_labels_in_the_same_statement(
    many, company, finance, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rep = aging_report(user=finance, company=company, as_of=X - dt.timedelta(days=3))
    page = aging_report(user=finance, company=company, as_of=X - dt.timedelta(days=3), limit=len(many))
    assert _rows(rep) == _rows(page) and rep.totals == page.totals and rep.row_count == len(many)


def test_from_minor_by_exponent_equals_the_division():
    rnd = random.Random(5)
    values = [0, 1, -1, 99, 100, -100, 10**18 - 1, -(10**18)] + [
        rnd.randrange(-(10**15), 10**15) for _ in range(2000)
    ]
    for v in values:
        got = from_minor(v)
        want = (D(v) / 100).quantize(QUANT)
        assert got == want and str(got) == str(want) and got.as_tuple().exponent == -2, v
    assert from_minor(None) is None and str(from_minor("1234")) == "12.34"
    # the row-wise constructor the full report uses: the same values, scale and text, None and 0 as 0.00
    each = from_minor_each([*values, None, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808])
    for v, got in zip([*values, 0, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808], each, strict=True):
        want = from_minor(v)
        assert got == want and str(got) == str(want) and got.as_tuple().exponent == -2, v
    assert from_minor_each([]) == ()


def test_rows_made_at_once_equal_the_dataclass_rows():
    from dataclasses import FrozenInstanceError, replace

    from huikuan.ledger.aging import AgingRow, row_objects

    raw = [(7, "C7 甲", 0, 12345, None, -5, 0, 1, 12341, 3), (None, None, 1, 0, 0, 0, 0, 0, 1, 0)]
    made = row_objects(raw, 6)
    want = [AgingRow(key=7, label="C7 甲", buckets=tuple(from_minor(v or 0) for v in raw[0][2:8]),
                     total=D("123.41"), disputed=D("0.03")),
            AgingRow(key=None, label="", buckets=(D("0.01"), *[ZERO] * 5), total=D("0.01"), disputed=ZERO)]
    assert made == want and [vars(r) for r in made] == [vars(r) for r in want]
    assert made[0].extra == {} and made[0].extra is not made[1].extra
    with pytest.raises(FrozenInstanceError):
        made[0].total = ZERO
    assert replace(made[0], extra={"financed": ZERO}).extra == {"financed": ZERO}



def test_bulk_objects_leaves_its_objects_to_the_oldest_generation():
    """The rows made while the collector is paused are not left in the youngest generation, where the first
    allocation after it resumes would start a collection traversing every one of them; objects frozen by someone
    else stay frozen."""
    import gc

    from huikuan.ledger.aging import bulk_objects

    started = []
    def seen(phase, info):
        started.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(seen)
    try:
        with bulk_objects():
            made = [[i] for i in range(20_000)]  # tracked containers, as the report's rows are
            assert not gc.isenabled() and gc.get_count()[0] >= 20_000
        after = [[i] for i in range(100)]  # a few allocations once it has resumed
    finally:
        gc.callbacks.remove(seen)
    assert gc.isenabled() and started == []  # no collection traversed what was made meanwhile
    assert all(gc.is_tracked(m) for m in made[:10])  # still tracked: a full collection finds any cycle
    kept = [[i] for i in range(10)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with bulk_objects():
            more = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() == frozen and gc.isenabled()  # another's frozen heap is left frozen
    finally:
        gc.unfreeze()
    del made, after, more, kept
