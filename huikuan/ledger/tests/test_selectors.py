import datetime as dt
from decimal import Decimal as D

import pytest
from django.http import Http404

from huikuan.ledger import fapiao as fp
from huikuan.ledger import selectors as sel
from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)


def _inv(company, customer, actor, total, due, date=dt.date(2026, 1, 1), **kw):
    return s.post_document(
        company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor,
        schedule=[s.ScheduleInput(due, D(total))], **kw,
    )


def test_aging_strip_buckets_partition_the_open_amount(company, customer, finance):
    # days past due as of 2026-06-30: -1 (current), 0 (current), 1, 30, 31, 60, 61, 90, 91, 120, 121, 400
    days = {-1: "100.01", 0: "200.02", 1: "1.00", 30: "30.00", 31: "31.00", 60: "60.00", 61: "61.00",
            90: "90.00", 91: "91.00", 120: "120.00", 121: "121.00", 400: "400.00"}
    for n, amount in days.items():
        _inv(company, customer, finance, amount, AS_OF - dt.timedelta(days=n))
    # a partial payment reduces the oldest item (400 days) and must move the strip too
    s.record_payment(company=company, customer_id=customer.pk, amount=D("150.00"), date=AS_OF, actor=finance)
    summary = sel.customer_summary(customer=customer, as_of=AS_OF)
    buckets = {b.key: b.amount for b in summary.aging}
    assert buckets == {
        "current": D("300.03"), "d1_30": D("31.00"), "d31_60": D("91.00"), "d61_90": D("151.00"),
        "d91_120": D("211.00"), "d120_plus": D("371.00"),
    }
    assert sum(buckets.values()) == summary.open_amount == D("1155.03")
    assert summary.overdue_amount == summary.open_amount - D("300.03")
    assert summary.unapplied_amount == D("0.00") and summary.net_balance == summary.open_amount
    customer.refresh_from_db()
    assert summary.open_amount == customer.open_amount
    assert summary.open_instalment_count == 12
    first = summary.open_instalments[0]
    assert first.days_overdue == 400 and first.instalment.open_amount == D("250.00")
    assert [p.amount for p in summary.recent_payments] == [D("150.00")]


def test_aging_is_computed_as_of_the_given_date(company, customer, finance):
    _inv(company, customer, finance, "500.00", dt.date(2026, 6, 1))
    earlier = sel.customer_summary(customer=customer, as_of=dt.date(2026, 5, 31))
    later = sel.customer_summary(customer=customer, as_of=dt.date(2026, 8, 15))
    assert {b.key: b.amount for b in earlier.aging}["current"] == D("500.00")
    assert earlier.overdue_amount == 0
    assert {b.key: b.amount for b in later.aging}["d61_90"] == D("500.00")  # 75 days past due
    assert later.open_instalments[0].days_overdue == 75


def test_summary_counts_unapplied_cash_and_timeline_merges_events(company, customer, finance, users):
    doc = _inv(company, customer, finance, "300.00", dt.date(2026, 2, 1))
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("500.00"), date=dt.date(2026, 2, 3),
                           actor=finance)
    (inst,) = doc.instalments.all()
    summary = sel.customer_summary(customer=customer, as_of=AS_OF)
    assert summary.open_amount == 0 and summary.unapplied_amount == D("200.00")
    assert summary.net_balance == D("-200.00")
    titles = [t.kind for t in summary.timeline]
    assert "entry" in titles and "event" in titles  # the allocation is an audit event, not an entry
    ats = [t.at for t in summary.timeline]
    assert ats == sorted(ats, reverse=True)
    assert any(t.credit_id == pay.pk for t in summary.timeline)
    assert inst.pk  # sanity
    assert len(sel.customer_timeline(customer=customer, limit=2)) == 2


def test_summary_query_count_is_constant(company, customer, finance, django_assert_max_num_queries):
    for i in range(15):
        _inv(company, customer, finance, "10.00", dt.date(2026, 3, 1) + dt.timedelta(days=i))
        s.record_payment(company=company, customer_id=customer.pk, amount=D("3.00"), date=dt.date(2026, 4, 1),
                         actor=finance)
    with django_assert_max_num_queries(6):
        summary = sel.customer_summary(customer=customer, as_of=AS_OF)
        [r.instalment.document.number for r in summary.open_instalments]


def test_scoping_hides_other_owners_rows(company, customer, other_customer, finance, users):
    doc = _inv(company, other_customer, finance, "100.00", dt.date(2026, 2, 1))
    pay = s.record_payment(company=company, customer_id=other_customer.pk, amount=D("10.00"), date=AS_OF, actor=finance)
    _inv(company, customer, finance, "50.00", dt.date(2026, 2, 1))
    east = users["sales_east"]
    with pytest.raises(Http404):
        sel.get_customer(user=east, company=company, pk=other_customer.pk)
    with pytest.raises(Http404):
        sel.get_document(user=east, company=company, pk=doc.pk)
    with pytest.raises(Http404):
        sel.get_credit(user=east, company=company, pk=pay.pk)
    assert [d.customer_id for d in sel.document_list(user=east, company=company)] == [customer.pk]
    assert sel.credit_list(user=east, company=company).count() == 0
    assert sel.document_list(user=users["manager_east"], company=company).count() == 1
    assert sel.document_list(user=users["auditor"], company=company).count() == 2


def test_document_list_filters_and_open_sum(company, customer, finance):
    a = _inv(company, customer, finance, "100.00", dt.date(2026, 2, 1), reference="PO-7")
    b = _inv(company, customer, finance, "40.00", dt.date(2026, 2, 2), date=dt.date(2026, 1, 10))
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=AS_OF, actor=finance)
    rows = {d.pk: d.open_sum for d in sel.document_list(user=finance, company=company)}
    assert rows == {a.pk: D("0.00"), b.pk: D("40.00")}
    assert [d.pk for d in sel.document_list(user=finance, company=company, open_only=True)] == [b.pk]
    assert [d.pk for d in sel.document_list(user=finance, company=company, q="po-7")] == [a.pk]
    assert [d.pk for d in sel.document_list(user=finance, company=company, date_from=dt.date(2026, 1, 5))] == [b.pk]
    totals = sel.list_totals(sel.document_list(user=finance, company=company), total="total_amount")
    assert totals == {"total": D("140.00")}


def test_fapiao_views(company, customer, finance):
    # A: fapiao 100 issued, nothing paid → invoiced but unpaid
    a = _inv(company, customer, finance, "100.00", dt.date(2026, 2, 1))
    fp.record_fapiao(company=company, customer_id=customer.pk, number="F-A", fapiao_type="special",
                    issue_date=dt.date(2026, 1, 2), amount=D("100.00"), actor=finance, document_id=a.pk)
    # B: paid 80, fapiao 100 red-reversed (net 0) → paid but not invoiced by 80
    b = _inv(company, customer, finance, "80.00", dt.date(2026, 2, 1), date=dt.date(2026, 1, 2))
    fb = fp.record_fapiao(company=company, customer_id=customer.pk, number="F-B", fapiao_type="special",
                         issue_date=dt.date(2026, 1, 3), amount=D("80.00"), actor=finance, document_id=b.pk)
    fp.red_reverse_fapiao(company=company, fapiao_id=fb.pk, red_number="F-B-R", issue_date=dt.date(2026, 1, 4),
                         actor=finance)
    # C: paid 50 of 50 with a fapiao of 50 → in neither view
    c = _inv(company, customer, finance, "50.00", dt.date(2026, 2, 1), date=dt.date(2026, 1, 3))
    fp.record_fapiao(company=company, customer_id=customer.pk, number="F-C", fapiao_type="ordinary",
                    issue_date=dt.date(2026, 1, 3), amount=D("50.00"), actor=finance, document_id=c.pk)
    for doc, amount in ((b, "80.00"), (c, "50.00")):
        (inst,) = doc.instalments.all()
        pay = s.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=AS_OF, actor=finance,
                               auto_allocate=False)
        s.allocate(company=company, credit_id=pay.pk, actor=finance, on=AS_OF,
                   plan=[s.AllocationInput(inst.pk, D(amount))])
    unpaid = list(sel.invoiced_unpaid(user=finance, company=company))
    assert [(d.pk, d.fapiao_net, d.open_sum) for d in unpaid] == [(a.pk, D("100.00"), D("100.00"))]
    not_invoiced = list(sel.paid_not_invoiced(user=finance, company=company))
    assert [(d.pk, d.paid_sum, d.fapiao_net, d.uninvoiced) for d in not_invoiced] == [
        (b.pk, D("80.00"), D("0.00"), D("80.00"))
    ]


def test_summary_as_of_a_past_date_ignores_later_postings(company, customer, finance):
    d = dt.date
    a = _inv(company, customer, finance, "1000.00", d(2026, 2, 4), date=d(2026, 1, 5))
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("1200.00"), date=d(2026, 3, 1),
                           actor=finance)  # settles A, 200 unapplied
    _inv(company, customer, finance, "300.00", d(2026, 5, 1), date=d(2026, 4, 1))  # posted after March
    b = _inv(company, customer, finance, "50.00", d(2026, 2, 1), date=d(2026, 1, 10))
    s.reverse_document(company=company, document_id=b.pk, actor=finance, on=d(2026, 3, 20), reason="wrong")
    alloc = pay.allocations.get()
    s.reverse_allocation(company=company, allocation_id=alloc.pk, actor=finance, on=d(2026, 3, 10), reason="wrong")

    def summary(day):
        return sel.customer_summary(customer=customer, as_of=day)

    feb = summary(d(2026, 2, 15))  # before the payment: A and B open, A 11 days overdue, B 14
    assert (feb.open_amount, feb.unapplied_amount, feb.overdue_amount) == (D("1050.00"), D("0.00"), D("1050.00"))
    assert [(r.instalment.document_id, r.open_amount, r.days_overdue) for r in feb.open_instalments] == [
        (b.pk, D("50.00"), 14), (a.pk, D("1000.00"), 11)
    ]
    mar5 = summary(d(2026, 3, 5))  # payment applied to A; B not yet reversed
    assert (mar5.open_amount, mar5.unapplied_amount) == (D("50.00"), D("200.00"))
    mar15 = summary(d(2026, 3, 15))  # allocation undone on 10 March
    assert (mar15.open_amount, mar15.unapplied_amount) == (D("1050.00"), D("1200.00"))
    mar25 = summary(d(2026, 3, 25))  # B reversed on 20 March; April's invoice not yet posted
    assert (mar25.open_amount, mar25.net_balance) == (D("1000.00"), D("-200.00"))
    today = summary(d(2026, 12, 1))
    customer.refresh_from_db()
    assert (today.open_amount, today.unapplied_amount) == (customer.open_amount, customer.unapplied_amount)
    assert sum(b.amount for b in today.aging) == today.open_amount == D("1300.00")
