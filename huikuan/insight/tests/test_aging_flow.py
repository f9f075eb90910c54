"""The aging's running sums by due date (``ledger_agingflow``, issue 19): the company's aging totals read from them
equal the row-wise aging to the fen on every day of a ledger's life — after back-dated payments, reversed
allocations and payments, write-offs, a reversed document, a payment plan, disputes and a due date moved — and the
table equals what ``check_ledger`` re-derives from the instalments and allocations. PostgreSQL only (triggers)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from huikuan.collections import services as cs
from huikuan.ledger import aging
from huikuan.ledger import services as s
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Allocation, Instalment

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="kept by PostgreSQL triggers")]

START = dt.date(2025, 12, 1)


def _doc(company, customer, finance, total, day, terms=(30,)):
    total = D(total)
    part = (total / len(terms)).quantize(D("0.01"))
    lines = [s.ScheduleInput(day + dt.timedelta(days=t), part) for t in terms[:-1]]
    lines.append(s.ScheduleInput(day + dt.timedelta(days=terms[-1]), total - part * (len(terms) - 1)))
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=total, actor=finance,
                           schedule=lines)


def _totals(company, as_of, *, flow, user=None):
    buckets, column, _basis = aging.buckets_for(as_of=as_of)
    sql, params = aging.totals_by_date_sql(user=user, company=company, as_of=as_of, buckets=buckets, column=column,
                                           flow=flow)
    return [tuple(int(v or 0) if i > 1 else v for i, v in enumerate(r)) for r in aging.fetch(sql, params)]


def _same_every_day(company, first=START - dt.timedelta(days=5), last=dt.date(2026, 6, 30)):
    day = first
    while day <= last:
        want = _totals(company, day, flow=False)
        assert _totals(company, day, flow=True) == want, day
        day += dt.timedelta(days=1)
    assert [p for p in check_ledger(company_id=company.pk) if p.kind.startswith("aging_flow")] == []


@pytest.fixture
def life(company, customer, other_customer, finance, users):
    """A ledger's life, written through the services in the order a company would, with dates out of order."""
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
    # back-dated: recorded after the payment of 25 January, dated before it
    s.record_payment(company=company, customer_id=customer.pk, amount=D("120.00"), date=dt.date(2026, 1, 12),
                     actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("500.00"), date=dt.date(2026, 3, 1),
                     actor=finance)
    s.reverse_credit(company=company, credit_id=bounced.pk, actor=finance, on=dt.date(2026, 2, 20), reason="bounced")
    s.reverse_document(company=company, document_id=wrong.pk, actor=finance, on=dt.date(2026, 3, 10), reason="wrong")
    # one allocation undone, later than it was made
    alloc = Allocation.objects.filter(customer=customer, amount__gt=0).order_by("pk").first()
    s.reverse_allocation(company=company, allocation_id=alloc.pk, actor=finance, on=dt.date(2026, 3, 3))
    # a write-off approved on a date
    target = Instalment.objects.filter(customer=other_customer, open_amount__gt=0).order_by("pk").first()
    req = s.request_write_off(company=company, instalment_id=target.pk, amount=D("25.00"), reason="small",
                              actor=users["collector"])
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=finance, on=dt.date(2026, 3, 15))
    # a dispute, and a due date moved (by any code path: the triggers see the row)
    inst = Instalment.objects.get(document=late)
    s.set_instalment_dispute(company=company, instalment_id=inst.pk, amount=D("30.00"), actor=finance)
    Instalment.objects.filter(pk=inst.pk).update(due_date=dt.date(2026, 3, 20))
    # a payment plan replacing an item
    today = dt.date(2026, 4, 1)
    replaced = Instalment.objects.get(document=planned)
    plan = cs.request_plan(company=company, customer_id=other_customer.pk, instalment_ids=[replaced.pk], today=today,
                           actor=users["collector"], lines=[("2026-04-20", "40.00"), ("2026-05-20", "40.00")])
    cs.decide_plan(company=company, plan_id=plan.pk, approve=True, actor=finance, today=today)
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("60.00"), date=dt.date(2026, 4, 25),
                     actor=finance)
    return {"customer": customer, "other": other_customer}


def test_totals_from_the_flow_equal_the_rowwise_aging_every_day(life, company):
    _same_every_day(company)


def test_a_reversed_allocation_then_a_back_dated_payment_gives_a_negative_open_amount_as_the_rows_do(
        company, customer, finance):
    """Paid in full on 1 February, that payment undone on 20 February, then a payment recorded dated 10 February:
    as of 10–19 February both count — the item is over-paid by 100 as of those dates, which the row-wise statement
    adds to the disputed part as it is (min(disputed, open))."""
    _doc(company, customer, finance, "100.00", dt.date(2026, 1, 5))
    first = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 2, 1),
                             actor=finance)
    alloc = Allocation.objects.get(credit=first)
    s.reverse_allocation(company=company, allocation_id=alloc.pk, actor=finance, on=dt.date(2026, 2, 20))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 2, 10),
                     actor=finance)
    got = _totals(company, dt.date(2026, 2, 15), flow=True)
    assert got == _totals(company, dt.date(2026, 2, 15), flow=False)
    assert got[0][-2] == -10000 and got[0][-1] == -10000  # the total and the disputed part
    _same_every_day(company, dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def test_scoped_or_narrowed_totals_do_not_read_the_flow(life, company, users):
    buckets, column, _basis = aging.buckets_for(as_of=dt.date(2026, 3, 31))
    kw = {"company": company, "as_of": dt.date(2026, 3, 31), "buckets": buckets, "column": column}
    assert "ledger_agingflow" in aging.totals_by_date_sql(user=users["finance"], **kw)[0]
    assert "ledger_agingflow" not in aging.totals_by_date_sql(user=users["sales_east"], **kw)[0]
    assert "ledger_agingflow" not in aging.totals_by_date_sql(user=None, customer_id=life["customer"].pk, **kw)[0]
    b2, c2, _ = aging.buckets_for(as_of=dt.date(2026, 3, 31), basis="document")
    assert "ledger_agingflow" not in aging.totals_by_date_sql(user=None, **{**kw, "buckets": b2, "column": c2})[0]
    # the report's totals for a salesperson: the per-date statement, equal to the sum of their customers' rows
    for user in (users["finance"], users["sales_east"]):
        tot = aging.aging_report(user=user, company=company, as_of=dt.date(2026, 3, 31), group_by="none")
        rows = aging.aging_report(user=user, company=company, as_of=dt.date(2026, 3, 31))
        assert (tot.totals, tot.disputed) == (rows.totals, rows.disputed)


def test_compacting_keeps_every_answer(life, company, other_customer, finance):
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM ledger_agingflow WHERE company_id = %s", [company.pk])
        (before,), = cur.fetchall()
    left = aging.compact_flow(company=company)
    assert 0 < left < before
    _same_every_day(company)
    # and writes after it keep adding to it
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("10.00"), date=dt.date(2026, 1, 2),
                     actor=finance)
    _same_every_day(company)


def test_check_ledger_reports_a_flow_that_drifted(life, company):
    assert check_ledger(company_id=company.pk) == []
    with connection.cursor() as cur:
        cur.execute("INSERT INTO ledger_agingflow (company_id, due_date, day, amount) VALUES (%s, %s, %s, 1)",
                    [company.pk, dt.date(2026, 2, 4), dt.date(2026, 2, 1)])
    problems = check_ledger(company_id=company.pk)
    assert [(p.kind, p.object_id, p.stored, p.expected) for p in problems] == [
        ("aging_flow due 2026-02-04 on 2026-02-01", company.pk, D("0.01"), D("0.00"))]
    with connection.cursor() as cur:  # the autouse ledger check after the test must pass again
        cur.execute("INSERT INTO ledger_agingflow (company_id, due_date, day, amount) VALUES (%s, %s, %s, -1)",
                    [company.pk, dt.date(2026, 2, 4), dt.date(2026, 2, 1)])
