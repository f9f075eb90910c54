"""The aging totals summed per date first (``totals_by_date_sql``, PostgreSQL's statement for ``group_by="none"``,
issue 19) equal the row-wise aging to the fen: the column totals, the total, the disputed part and "no row when
nothing is open", for every part (open now, settled / reversed / replaced after the date), scope, customer,
marked items and bucket scheme. Run on SQLite and PostgreSQL (the statement is valid on both)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from huikuan.collections import services as cs
from huikuan.ledger import aging
from huikuan.ledger import services as s
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db

DATES = [dt.date(2025, 12, 31), dt.date(2026, 1, 20), dt.date(2026, 2, 10), dt.date(2026, 3, 5),
         dt.date(2026, 3, 31), dt.date(2026, 5, 15)]


def _doc(company, customer, finance, total, day, terms=(30,)):
    total = D(total)
    part = (total / len(terms)).quantize(D("0.01"))
    lines = [s.ScheduleInput(day + dt.timedelta(days=t), part) for t in terms[:-1]]
    lines.append(s.ScheduleInput(day + dt.timedelta(days=terms[-1]), total - part * (len(terms) - 1)))
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=total, actor=finance,
                           schedule=lines)


@pytest.fixture
def book(company, customer, other_customer, finance, users):
    """Every part of the as-of aging: open items, items paid partly before and partly after a date, a payment and a
    document reversed later, a payment plan replacing an item later, a dispute, two customers, two salespeople."""
    _doc(company, customer, finance, "1000.00", dt.date(2026, 1, 5), terms=(10, 40, 70))
    _doc(company, customer, finance, "250.00", dt.date(2026, 2, 1))
    late = _doc(company, customer, finance, "80.00", dt.date(2026, 1, 15))
    _doc(company, other_customer, finance, "600.00", dt.date(2025, 12, 20), terms=(15, 45))
    wrong = _doc(company, other_customer, finance, "45.50", dt.date(2026, 1, 25))
    planned = _doc(company, other_customer, finance, "80.00", dt.date(2026, 2, 5))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("300.00"), date=dt.date(2026, 1, 25),
                     actor=finance)
    bounced = s.record_payment(company=company, customer_id=other_customer.pk, amount=D("200.00"),
                               date=dt.date(2026, 1, 28), actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("500.00"), date=dt.date(2026, 3, 1),
                     actor=finance)
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("120.00"), date=dt.date(2026, 3, 20),
                     actor=finance)
    s.reverse_credit(company=company, credit_id=bounced.pk, actor=finance, on=dt.date(2026, 2, 20), reason="bounced")
    s.reverse_document(company=company, document_id=wrong.pk, actor=finance, on=dt.date(2026, 3, 10), reason="wrong")
    inst = Instalment.objects.get(document=late)
    Instalment.objects.filter(pk=inst.pk).update(disputed_amount=D("30.00"))
    Instalment.objects.filter(customer=other_customer).exclude(document=wrong).order_by("pk").filter(
        pk=Instalment.objects.filter(customer=other_customer).order_by("pk").values("pk")[:1]
    ).update(disputed_amount=D("10.00"))
    today = dt.date(2026, 4, 1)
    replaced = Instalment.objects.get(document=planned)
    plan = cs.request_plan(company=company, customer_id=other_customer.pk, instalment_ids=[replaced.pk], today=today,
                           actor=users["collector"], lines=[("2026-04-20", "40.00"), ("2026-05-20", "40.00")])
    cs.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=today)
    assert Instalment.objects.filter(replaced_on__isnull=False).exists()
    return {"customer": customer, "other": other_customer}


def _rowwise_totals(**kw):
    """The totals as the sum of the row-wise aging by customer (the statement every other grouping uses)."""
    buckets, column, _basis = aging.buckets_for(as_of=kw["as_of"], scheme=kw.pop("scheme", "collections"),
                                                basis=kw.pop("basis", "due"))
    sql, params = aging.grouped_sql(buckets=buckets, column=column, group_by="customer", **kw)
    rows = aging.fetch(sql, params)
    if not rows:
        return []
    n = len(buckets)
    return [(1, None, *(sum(int(r[2 + i] or 0) for r in rows) for i in range(n + 2)))]


def _by_date_totals(**kw):
    buckets, column, _basis = aging.buckets_for(as_of=kw["as_of"], scheme=kw.pop("scheme", "collections"),
                                                basis=kw.pop("basis", "due"))
    sql, params = aging.totals_by_date_sql(buckets=buckets, column=column, **kw)
    return [(r[0], r[1], *(int(v or 0) for v in r[2:])) for r in aging.fetch(sql, params)]


@pytest.mark.parametrize("as_of", DATES)
def test_totals_by_date_equal_the_rowwise_aging(book, company, finance, users, as_of):
    customer = book["customer"]
    cases = [
        {"user": None},
        {"user": finance},
        {"user": users["sales_east"]},
        {"user": finance, "customer_id": customer.pk},
        {"user": None, "customers": ("SELECT id FROM customers_customer WHERE code = %s", ["C002"])},
        {"user": finance, "scheme": "accounting"},
        {"user": finance, "basis": "document"},
    ]
    marked = ("SELECT id FROM ledger_instalment WHERE document_id IN "
              "(SELECT id FROM ledger_receivabledocument WHERE document_date <= %s)", [dt.date(2026, 1, 10)])
    for mode in ("only", "exclude"):
        cases.append({"user": finance, "marked": marked, "marked_mode": mode})
    for kw in cases:
        want = _rowwise_totals(company=company, as_of=as_of, **kw)
        assert _by_date_totals(company=company, as_of=as_of, **kw) == want, kw
    # and through the report (on PostgreSQL the totals' statement is this one)
    rep = aging.aging_report(user=finance, company=company, as_of=as_of, group_by="none")
    by_customer = aging.aging_report(user=finance, company=company, as_of=as_of)
    assert rep.totals == by_customer.totals and rep.total == by_customer.total
    assert rep.disputed == by_customer.disputed and rep.row_count == (1 if by_customer.row_count else 0)


def test_nothing_open_gives_no_row(book, company, finance):
    assert _by_date_totals(company=company, as_of=dt.date(2025, 1, 1), user=finance) == []
    assert aging.aging_report(user=finance, company=company, as_of=dt.date(2025, 1, 1), group_by="none").rows == []


def test_items_open_as_of_a_date_but_summing_to_zero_still_give_a_row(company, customer, finance):
    """An instalment paid on or before the date counts 0; a row exists as long as one instalment's open amount as of
    the date is not zero, even when the buckets add up to zero (the row-wise rule the count keeps)."""
    _doc(company, customer, finance, "100.00", dt.date(2026, 1, 5))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 1, 10),
                     actor=finance)
    x = dt.date(2026, 2, 1)
    assert _by_date_totals(company=company, as_of=x, user=finance) == _rowwise_totals(company=company, as_of=x,
                                                                                     user=finance) == []
    y = dt.date(2026, 1, 7)
    got = _by_date_totals(company=company, as_of=y, user=finance)
    assert got == _rowwise_totals(company=company, as_of=y, user=finance) and got[0][-2] == 10000


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement for the totals")
def test_postgresql_totals_use_the_by_date_statement(book, company):
    buckets, column, _basis = aging.buckets_for(as_of=DATES[2])
    sql, _params = aging.grouped_sql(user=None, company=company, as_of=DATES[2], buckets=buckets, column=column,
                                     group_by="none")
    assert sql == aging.totals_by_date_sql(user=None, company=company, as_of=DATES[2], buckets=buckets,
                                           column=column)[0]
