"""Controls that must not be bypassed (issue 12, points 2, 3, 4, 7): credit notes limited to the document's
open amount, fapiao limited to the receivable (net of red reversals) with partial 红冲, acceptance bills
unique and honoured only from maturity, and no payment, credit note or fapiao dated after today (a payment
only when confirmed as post-dated). Every refusal leaves the ledger as it was (the autouse check_ledger)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.models import AuditEvent
from huikuan.ledger import bulk, instruments
from huikuan.ledger import fapiao as fp
from huikuan.ledger import services as s
from huikuan.ledger.errors import (
    AlreadyReversed,
    DuplicateNumber,
    FutureDate,
    LedgerError,
    OverAllocation,
    OverFapiao,
)
from huikuan.ledger.models import Credit, CreditKind, Fapiao, Instalment

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


def _inv(company, customer, actor, total="10000.00", date=dt.date(2026, 3, 1), **kw):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor, **kw)


def _open(doc):
    return sum(i.open_amount for i in Instalment.objects.filter(document=doc))


# ---------------------------------------------------------------- 2. credit notes against a document


def test_credit_note_above_the_documents_open_amount_is_refused(company, customer, finance):
    doc = _inv(company, customer, finance)
    other = _inv(company, customer, finance, total="500.00", date=dt.date(2026, 2, 1))
    with pytest.raises(OverAllocation) as info:
        s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("99999.00"), date=TODAY, reason="退货",
                            actor=finance, document_id=doc.pk, today=TODAY)
    assert info.value.field == "amount" and "10,000.00" not in str(info.value) and "10000.00" in str(info.value)
    assert not Credit.objects.filter(kind=CreditKind.CREDIT_NOTE).exists()
    assert _open(doc) == D("10000.00") and _open(other) == D("500.00")


def test_credit_note_limit_is_what_is_still_open(company, customer, finance):
    doc = _inv(company, customer, finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("8000.00"), date=TODAY, actor=finance,
                     today=TODAY)
    with pytest.raises(OverAllocation):
        s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("2000.01"), date=TODAY, reason="折让",
                            actor=finance, document_id=doc.pk, today=TODAY)
    cn = s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("2000.00"), date=TODAY, reason="折让",
                             actor=finance, document_id=doc.pk, today=TODAY)
    assert cn.unapplied_amount == 0 and _open(doc) == 0


def test_keeping_the_rest_as_credit_settles_the_document_only(company, customer, finance):
    doc = _inv(company, customer, finance)
    older = _inv(company, customer, finance, total="500.00", date=dt.date(2026, 2, 1))
    cn = s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("99999.00"), date=TODAY, reason="退货",
                             actor=finance, document_id=doc.pk, keep_rest_as_credit=True, today=TODAY)
    assert _open(doc) == 0 and _open(older) == D("500.00")  # the older invoice is not touched
    assert cn.unapplied_amount == D("89999.00")
    event = AuditEvent.objects.get(verb="ledger.credit_note.issued", target_id=cn.pk)
    assert event.data["keep_rest_as_credit"] is True


def test_credit_note_without_a_document_still_applies_oldest_first(company, customer, finance):
    a = _inv(company, customer, finance, total="300.00", date=dt.date(2026, 1, 1))
    b = _inv(company, customer, finance, total="300.00", date=dt.date(2026, 2, 1))
    cn = s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("400.00"), date=TODAY, reason="返利",
                             actor=finance, today=TODAY)
    assert (_open(a), _open(b), cn.unapplied_amount) == (0, D("200.00"), 0)


def test_credit_note_not_applied_is_still_limited(company, customer, finance):
    doc = _inv(company, customer, finance, total="100.00")
    with pytest.raises(OverAllocation):
        s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("100.01"), date=TODAY, reason="x",
                            actor=finance, document_id=doc.pk, apply=False, today=TODAY)


# ---------------------------------------------------------------- 3. fapiao


def _fapiao(company, customer, finance, number, amount, doc=None, issue_date=TODAY):
    return fp.record_fapiao(company=company, customer_id=customer.pk, number=number, fapiao_type="special",
                            issue_date=issue_date, amount=D(amount), actor=finance, document_id=doc.pk if doc else None,
                            today=TODAY)


def test_fapiao_above_the_document_amount_is_refused(company, customer, finance):
    doc = _inv(company, customer, finance)
    with pytest.raises(OverFapiao) as info:
        _fapiao(company, customer, finance, "F0", "15000.00", doc)
    assert info.value.field == "amount"
    _fapiao(company, customer, finance, "F1", "6000.00", doc)
    _fapiao(company, customer, finance, "F2", "4000.00", doc)
    with pytest.raises(OverFapiao):
        _fapiao(company, customer, finance, "F3", "0.01", doc)
    assert fp.net_fapiao_amount(doc.pk) == D("10000.00")
    _fapiao(company, customer, finance, "F4", "15000.00")  # not linked to a document: no document to exceed


def test_partial_red_reversal_makes_room_and_stops_at_zero(company, customer, finance):
    doc = _inv(company, customer, finance)
    f1 = _fapiao(company, customer, finance, "F1", "6000.00", doc)
    _fapiao(company, customer, finance, "F2", "4000.00", doc)
    red = fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R1", issue_date=TODAY, actor=finance,
                                amount=D("1000.00"), today=TODAY)
    f1.refresh_from_db()
    assert red.amount == D("-1000.00") and red.red_of_id == f1.pk and f1.status == "partly_red"
    assert fp.net_fapiao_amount(doc.pk) == D("9000.00")
    _fapiao(company, customer, finance, "F3", "1000.00", doc)  # the room the red fapiao made
    with pytest.raises(OverFapiao):
        fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R2", issue_date=TODAY, actor=finance,
                              amount=D("5000.01"), today=TODAY)
    fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R2", issue_date=TODAY, actor=finance, today=TODAY)
    f1.refresh_from_db()
    assert f1.status == "red_reversed" and fp.red_left(f1) == 0
    assert list(f1.red_reversals.order_by("pk").values_list("amount", flat=True)) == [D("-1000.00"), D("-5000.00")]
    with pytest.raises(AlreadyReversed):
        fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R3", issue_date=TODAY, actor=finance,
                              today=TODAY)


def test_fapiao_dates(company, customer, finance):
    doc = _inv(company, customer, finance)
    with pytest.raises(FutureDate) as info:
        _fapiao(company, customer, finance, "F1", "100.00", doc, issue_date=TODAY + dt.timedelta(days=1))
    assert info.value.field == "issue_date"
    f1 = _fapiao(company, customer, finance, "F1", "100.00", doc, issue_date=dt.date(2026, 3, 5))
    for day in (TODAY + dt.timedelta(days=1), dt.date(2026, 3, 4)):  # not ahead of today, not before the original
        with pytest.raises(LedgerError) as info:
            fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R1", issue_date=day, actor=finance,
                                  today=TODAY)
        assert info.value.field == "issue_date"
    assert not Fapiao.objects.filter(amount__lt=0).exists()


def test_no_fapiao_on_a_reversed_document(company, customer, finance):
    doc = _inv(company, customer, finance)
    s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=TODAY, reason="开错")
    with pytest.raises(OverFapiao):
        _fapiao(company, customer, finance, "F1", "1.00", doc)
    assert fp.fapiao_room([doc.pk])[doc.pk][1]


def test_fapiao_room_for_imports(company, customer, finance):
    doc = _inv(company, customer, finance)
    f1 = _fapiao(company, customer, finance, "F1", "6000.00", doc)
    fp.red_reverse_fapiao(company=company, fapiao_id=f1.pk, red_number="R1", issue_date=TODAY, actor=finance,
                          amount=D("500.00"), today=TODAY)
    assert fp.fapiao_room([doc.pk]) == {doc.pk: (D("4500.00"), "")}


# ---------------------------------------------------------------- 4. acceptance bills


def _bill(company, customer, finance, number="1304 0000 0001", method="bank_acceptance", date=TODAY, **kw):
    return s.record_payment(company=company, customer_id=customer.pk, amount=D("1000.00"), date=date, actor=finance,
                            method=method, bill_number=number, bill_acceptor="工商银行",
                            bill_maturity_date=kw.pop("maturity", dt.date(2026, 6, 10)), today=TODAY, **kw)


def test_a_bill_number_is_recorded_once(company, customer, other_customer, finance):
    first = _bill(company, customer, finance)
    assert first.bill_number == "130400000001"
    for who, number in ((customer, "130400000001"), (other_customer, "1304 0000 0001 ")):
        with pytest.raises(DuplicateNumber) as info:
            _bill(company, who, finance, number=number)
        assert info.value.field == "bill_number" and first.number in str(info.value)
    # a payment reversed as a mistake frees the number for the correct entry
    s.reverse_credit(company=company, credit_id=first.pk, actor=finance, on=TODAY, reason="录错客户")
    again = _bill(company, other_customer, finance)
    # a dishonoured bill keeps it: the same bill cannot come back as money
    instruments.set_instrument_status(company=company, credit_id=again.pk, status="dishonoured", actor=finance, on=TODAY)
    with pytest.raises(DuplicateNumber):
        _bill(company, customer, finance)


def test_the_database_backs_the_bill_number(company, customer, finance):
    from django.db import IntegrityError, transaction

    first = _bill(company, customer, finance)
    with pytest.raises(IntegrityError), transaction.atomic():
        Credit.objects.create(company=company, customer=customer, kind=CreditKind.PAYMENT, number="X-1", date=TODAY,
                              amount=D("1.00"), unapplied_amount=D("1.00"), method="bank_acceptance",
                              bill_number=first.bill_number, bill_status="received")


def test_a_bill_is_honoured_only_from_maturity(company, customer, finance):
    bill = _bill(company, customer, finance, method="commercial_acceptance", maturity=dt.date(2026, 6, 10))
    with pytest.raises(LedgerError) as info:
        instruments.set_instrument_status(company=company, credit_id=bill.pk, status="honoured", actor=finance,
                                          on=dt.date(2026, 6, 9))
    assert info.value.field == "status" and "2026-06-10" in str(info.value)
    assert Credit.objects.get(pk=bill.pk).bill_status == "received"
    instruments.set_instrument_status(company=company, credit_id=bill.pk, status="endorsed", actor=finance,
                                      on=dt.date(2026, 4, 1))  # passing it on before maturity is normal
    done = instruments.set_instrument_status(company=company, credit_id=bill.pk, status="honoured", actor=finance,
                                             on=dt.date(2026, 6, 10))
    assert done.bill_status == "honoured"


def test_bulk_payments_keep_bill_numbers_unique(company, customer, other_customer, finance):
    _bill(company, customer, finance, number="111")

    def p(number, who=customer):
        return bulk.PaymentInput(customer_id=who.pk, amount=D("10.00"), date=TODAY, method="bank_acceptance",
                                 bill_number=number, bill_maturity_date=dt.date(2026, 5, 1))

    with pytest.raises(DuplicateNumber) as info:
        bulk.record_payments(company=company, actor=finance, payments=[p("222"), p("1 11")], today=TODAY)
    assert info.value.params["index"] == 1 and info.value.field == "bill_number"
    with pytest.raises(DuplicateNumber) as info:
        bulk.record_payments(company=company, actor=finance, payments=[p("333"), p("33 3", other_customer)], today=TODAY)
    assert info.value.params["index"] == 1
    bulk.record_payments(company=company, actor=finance, payments=[p("44 4")], today=TODAY)
    assert Credit.objects.filter(bill_number="444").exists()


# ---------------------------------------------------------------- 7. dates in the future


def test_a_future_payment_needs_confirmation(company, customer, finance):
    _inv(company, customer, finance, total="100.00")
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(FutureDate) as info:
        s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=tomorrow, actor=finance,
                         today=TODAY)
    assert info.value.field == "date" and info.value.params["post_dated"] is True
    assert not Credit.objects.exists()
    with pytest.raises(FutureDate):
        s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), actor=finance, today=TODAY,
                         date=TODAY + dt.timedelta(days=367), post_dated=True)
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=tomorrow, actor=finance,
                           today=TODAY, post_dated=True)
    assert pay.date == tomorrow and pay.allocations.get().date == tomorrow


def test_no_future_credit_note(company, customer, finance):
    with pytest.raises(FutureDate):
        s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("1.00"), reason="x", actor=finance,
                            date=TODAY + dt.timedelta(days=1), today=TODAY)


def test_without_today_the_service_reads_the_companys_clock(company, customer, finance, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC))  # 01:00 on 11 March in Shanghai
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 3, 11), actor=finance)
    with pytest.raises(FutureDate):
        s.record_payment(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 3, 12),
                         actor=finance)


def test_bulk_payments_refuse_future_dates(company, customer, finance):
    rows = [bulk.PaymentInput(customer_id=customer.pk, amount=D("1.00"), date=d) for d in (TODAY, TODAY + dt.timedelta(1))]
    with pytest.raises(FutureDate) as info:
        bulk.record_payments(company=company, actor=finance, payments=rows, today=TODAY)
    assert info.value.params["index"] == 1 and not Credit.objects.exists()
