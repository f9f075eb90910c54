"""KPIs summed in SQL from a real ledger: the DOMAIN.md vectors, grouping, scope, and a property test
against a Python recomputation on random ledgers."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huikuan.customers.models import Customer, CustomerGroup
from huikuan.insight.kpi_calc import Period, parse_period
from huikuan.insight.kpis import kpi_report
from huikuan.ledger import services as s
from huikuan.ledger.models import Allocation, CreditKind, Instalment, ReceivableDocument

pytestmark = pytest.mark.django_db


def _doc(company, customer, day, total, actor, days=30, kind="invoice"):
    return s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=actor,
                           kind=kind, schedule=[s.ScheduleInput(due_date=day + dt.timedelta(days=days), amount=D(total))])


def test_dso_vector_from_the_ledger(company, customer, finance):
    # AR 15,000 at the end of June, 4,000 of it not yet due, credit sales in June (30 days) 10,000
    _doc(company, customer, dt.date(2026, 4, 1), "5000", finance)
    _doc(company, customer, dt.date(2026, 6, 1), "6000", finance, days=10)
    _doc(company, customer, dt.date(2026, 6, 20), "4000", finance)
    _doc(company, customer, dt.date(2026, 7, 1), "999", finance)  # after the period: ignored
    rep = kpi_report(user=finance, company=company, period=parse_period("2026-06"))
    t = rep.total
    assert (t.sums.ar_end, t.sums.current_end, t.sums.billed) == (D("15000.00"), D("4000.00"), D("10000.00"))
    assert (t.kpis.dso, t.kpis.best_dso, t.kpis.add) == (D("45.00"), D("12.00"), D("33.00"))
    assert t.kpis.overdue_rate == D("73.33")


def test_cei_vector_from_the_ledger(company, customer, finance):
    # beginning AR 6,200; Q3 sales 10,890; ending total 6,340 of which 3,590 not yet due → CEI 55.9 %
    _doc(company, customer, dt.date(2026, 6, 1), "6200", finance)
    _doc(company, customer, dt.date(2026, 7, 1), "3000", finance)
    _doc(company, customer, dt.date(2026, 8, 1), "4300", finance)
    _doc(company, customer, dt.date(2026, 9, 15), "3590", finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("10750"), date=dt.date(2026, 9, 20), actor=finance)
    rep = kpi_report(user=finance, company=company, period=parse_period("2026-Q3"))
    t = rep.total
    assert (t.sums.ar_begin, t.sums.billed, t.sums.ar_end, t.sums.current_end) == (
        D("6200.00"), D("10890.00"), D("6340.00"), D("3590.00"))
    assert t.kpis.cei == D("55.93")
    assert t.sums.collected == D("10750.00") and t.kpis.collection_rate_opening == D("62.90")
    # due in Q3: July 1 (June's), July 31, August 31 → 6,200 + 3,000 + 4,300
    assert t.sums.due == D("13500.00") and t.kpis.collection_rate_due == D("79.63")
    # paid on 20 September: June's 6,200 was due 1 July (81 days late), July's 3,000 due 31 July (51), 1,550 of
    # August's due 31 August (20): nothing on time
    assert t.sums.on_time == D("0.00") and t.kpis.on_time_share == D("0.00")
    assert t.kpis.days_late == ((D(6200) * 81 + D(3000) * 51 + D(1550) * 20) / D(10750)).quantize(D("0.01"))
    assert t.kpis.days_to_pay == ((D(6200) * 111 + D(3000) * 81 + D(1550) * 50) / D(10750)).quantize(D("0.01"))


def test_countback_from_monthly_sales(company, customer, finance):
    # Nov 2026 (30 days) 100,000, Oct (31) 80,000, Sep (30) 70,000; AR 212,000 at the end of November
    _doc(company, customer, dt.date(2026, 9, 10), "70000", finance, days=200)
    _doc(company, customer, dt.date(2026, 10, 10), "80000", finance, days=200)
    _doc(company, customer, dt.date(2026, 11, 10), "100000", finance, days=200)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("38000"), date=dt.date(2026, 11, 20), actor=finance)
    t = kpi_report(user=finance, company=company, period=parse_period("2026-11")).total
    assert t.sums.ar_end == D("212000.00")
    # 30 + 31 + 32,000 ÷ 70,000 × 30 = 74.71
    assert t.kpis.dso_countback == D("74.71") and t.kpis.countback_complete


def test_opening_balances_reversals_and_write_offs(company, customer, finance, users):
    _doc(company, customer, dt.date(2026, 5, 1), "1000", finance, kind="opening")
    bad = _doc(company, customer, dt.date(2026, 5, 3), "500", finance)
    wrong = _doc(company, customer, dt.date(2026, 5, 4), "700", finance)
    s.reverse_document(company=company, document_id=wrong.pk, actor=finance, on=dt.date(2026, 5, 20), reason="typo")
    inst = bad.instalments.get()
    req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("200"), reason="破产", actor=finance)
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"],
                       on=dt.date(2026, 5, 25))
    t = kpi_report(user=finance, company=company, period=parse_period("2026-05")).total
    # the opening balance is AR but not a sale; the reversed invoice is neither
    assert t.sums.billed == D("500.00") and t.sums.ar_end == D("1300.00")
    assert t.sums.written_off == D("200.00") and t.kpis.bad_debt_rate == D("40.00")
    # as of a day before the reversal, the reversed invoice was still a sale
    early = kpi_report(user=finance, company=company, period=Period(dt.date(2026, 5, 1), dt.date(2026, 5, 10))).total
    assert early.sums.billed == D("1200.00") and early.sums.ar_end == D("2200.00")


def test_payment_reversal_nets_in_its_own_period(company, customer, finance):
    _doc(company, customer, dt.date(2026, 4, 1), "1000", finance)
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("1000"), date=dt.date(2026, 4, 10),
                           actor=finance)
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 5, 5), reason="退票")
    april = kpi_report(user=finance, company=company, period=parse_period("2026-04")).total
    may = kpi_report(user=finance, company=company, period=parse_period("2026-05")).total
    assert april.sums.collected == D("1000.00") and april.sums.on_time == D("1000.00")
    assert april.kpis.on_time_share == D("100.00")
    assert may.sums.collected == D("-1000.00") and may.sums.on_time == D("-1000.00")
    assert may.sums.ar_end == D("1000.00") and may.sums.ar_begin == D("0.00")


def test_grouped_and_scoped(company, customer, other_customer, finance, users):
    grp = CustomerGroup.objects.create(company=company, name="华东集团")
    Customer.objects.filter(pk=customer.pk).update(region="华东", group=grp)
    Customer.objects.filter(pk=other_customer.pk).update(region="华南")
    _doc(company, customer, dt.date(2026, 6, 1), "600", finance)
    _doc(company, other_customer, dt.date(2026, 6, 2), "400", finance)
    period = parse_period("2026-06")
    by_sp = kpi_report(user=finance, company=company, period=period, group_by="salesperson")
    assert [(r.label, r.sums.ar_end) for r in by_sp.rows] == [("sales_east", D("600.00")), ("sales_west", D("400.00"))]
    assert by_sp.total.sums.ar_end == D("1000.00") and by_sp.total.kpis.dso == D("30.00")
    by_team = kpi_report(user=finance, company=company, period=period, group_by="team")
    assert [(r.label, r.sums.billed) for r in by_team.rows] == [("East", D("600.00")), ("West", D("400.00"))]
    by_region = kpi_report(user=finance, company=company, period=period, group_by="region")
    assert [(r.key, r.sums.billed) for r in by_region.rows] == [("华东", D("600.00")), ("华南", D("400.00"))]
    by_group = kpi_report(user=finance, company=company, period=period, group_by="group")
    assert [(r.key, r.label, r.sums.billed) for r in by_group.rows] == [
        (grp.pk, "华东集团", D("600.00")), (None, "（无）", D("400.00"))]
    by_customer = kpi_report(user=finance, company=company, period=period, group_by="customer")
    assert [r.key for r in by_customer.rows] == [customer.pk, other_customer.pk]
    # a salesperson sees only their customers, grouped or not
    east = kpi_report(user=users["sales_east"], company=company, period=period, group_by="customer")
    assert [r.key for r in east.rows] == [customer.pk] and east.total.sums.billed == D("600.00")
    east_total = kpi_report(user=users["sales_east"], company=company, period=period)
    assert east_total.total.sums.ar_end == D("600.00") and east_total.total.sums.billed == D("600.00")
    one = kpi_report(user=finance, company=company, period=period, customer_id=other_customer.pk)
    assert one.total.sums.billed == D("400.00") and one.total.sums.ar_end == D("400.00")


# ---------------------------------------------------------------- property: SQL equals a recomputation


def _python_sums(company, start, end):
    """Recompute the period's sums per salesperson by walking the ORM rows in Python."""
    out = {}

    def acc(key, field, value):
        out.setdefault(key, {}).setdefault(field, D(0))
        out[key][field] += value

    for i in Instalment.objects.filter(company=company).select_related("document"):
        reversed_by_end = i.reversed_on is not None and i.reversed_on <= end
        for as_of, name in ((end, "ar_end"), (start - dt.timedelta(days=1), "ar_begin")):
            if i.document_date > as_of or (i.reversed_on is not None and i.reversed_on <= as_of):
                continue
            paid = sum((a.amount for a in Allocation.objects.filter(instalment=i, date__lte=as_of)), D(0))
            acc(i.salesperson_id, name, i.amount - paid)
            if name == "ar_end" and i.due_date >= end:
                acc(i.salesperson_id, "current_end", i.amount - paid)
        if start <= i.due_date <= end and i.document_date <= end and not reversed_by_end:
            acc(i.salesperson_id, "due", i.amount)
    for d in ReceivableDocument.objects.filter(company=company, kind__in=["invoice", "charge"],
                                               document_date__gte=start, document_date__lte=end):
        rev = d.instalments.filter(reversed_on__lte=end).exists()
        if not rev:
            acc(d.salesperson_id, "billed", d.total_amount)
    for a in Allocation.objects.filter(company=company, date__gte=start, date__lte=end).select_related(
            "credit", "instalment", "reverses"):
        if a.credit.kind == CreditKind.PAYMENT:
            acc(a.instalment.salesperson_id, "collected", a.amount)
            paid_on = a.reverses.date if a.reverses else a.date
            if paid_on <= a.instalment.due_date:
                acc(a.instalment.salesperson_id, "on_time", a.amount)
        elif a.credit.kind == CreditKind.WRITE_OFF:
            acc(a.instalment.salesperson_id, "written_off", a.amount)
    return out


ACTIONS = st.lists(st.tuples(st.sampled_from(["doc", "pay", "reverse_pay", "reverse_doc", "writeoff"]),
                             st.integers(0, 1), st.integers(0, 120), st.integers(1, 5000)), min_size=3, max_size=14)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, start_offset=st.integers(0, 60), length=st.integers(1, 60))
def test_sql_equals_python_recomputation(company, customer, other_customer, finance, users, actions, start_offset, length):
    base = dt.date(2026, 1, 1)
    customers = [customer, other_customer]
    for kind, who, offset, amount in actions:
        c = customers[who]
        day = base + dt.timedelta(days=offset)
        if kind == "doc":
            _doc(company, c, day, str(amount), finance, days=offset % 45)
        elif kind == "pay":
            s.record_payment(company=company, customer_id=c.pk, amount=D(amount), date=day, actor=finance)
        elif kind == "reverse_pay":
            pay = c.credits.filter(kind="payment", status="posted", date__lte=day).first()
            if pay:
                s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=day, reason="r")
        elif kind == "reverse_doc":
            doc = c.documents.filter(status="posted", document_date__lte=day).first()
            if doc:
                s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=day, reason="r")
        else:
            inst = Instalment.objects.filter(customer=c, open_amount__gt=0, document_date__lte=day).first()
            if inst:
                req = s.request_write_off(company=company, instalment_id=inst.pk, amount=inst.open_amount, reason="w",
                                          actor=finance)
                s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"], on=day)
    start = base + dt.timedelta(days=start_offset)
    end = start + dt.timedelta(days=length)
    rep = kpi_report(user=finance, company=company, period=Period(start, end), group_by="salesperson")
    want = _python_sums(company, start, end)
    fields = ["ar_begin", "ar_end", "current_end", "billed", "due", "collected", "on_time", "written_off"]
    got = {r.key: {f: getattr(r.sums, f) for f in fields} for r in rep.rows}
    norm = {k: {f: v.get(f, D(0)) for f in fields} for k, v in want.items()}
    got = {k: v for k, v in got.items() if any(v.values())}
    norm = {k: v for k, v in norm.items() if any(v.values())}
    assert got == norm
