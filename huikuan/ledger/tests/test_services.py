import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.models import AuditEvent
from huikuan.customers.models import PaymentTerm
from huikuan.ledger import instruments
from huikuan.ledger import services as s
from huikuan.ledger.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    DuplicateNumber,
    DuplicateSubmission,
    InvalidAmount,
    InvalidSchedule,
    OverAllocation,
    SelfApproval,
    WrongCustomer,
)
from huikuan.ledger.models import Allocation, Credit, CreditKind, Instalment, LedgerEntry

pytestmark = pytest.mark.django_db


def _inv(company, customer, actor, total="1000.00", date=dt.date(2026, 1, 5), **kw):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor, **kw)


def test_post_document_derives_schedule_and_balances(company, customer, finance):
    doc = _inv(company, customer, finance)
    (inst,) = doc.instalments.all()
    assert inst.due_date == dt.date(2026, 2, 4) and inst.open_amount == D("1000.00")
    customer.refresh_from_db()
    assert customer.open_amount == D("1000.00")
    assert LedgerEntry.objects.get(document=doc).debit_amount == D("1000.00")
    assert AuditEvent.objects.filter(verb="ledger.document.posted", target_id=doc.pk).exists()
    assert doc.number.startswith("INV-2026-")


def test_split_terms_and_manual_schedule(company, customer, finance):
    split = PaymentTerm.objects.create(company=company, code="S", name="split", kind="split",
                                       split_lines=[{"percent": "30", "days": 0}, {"percent": "70", "days": 60}])
    doc = _inv(company, customer, finance, total="100.01", payment_term_id=split.pk)
    assert [i.amount for i in doc.instalments.order_by("seq")] == [D("30.00"), D("70.01")]
    with pytest.raises(InvalidSchedule):
        _inv(company, customer, finance, total="100.00",
             schedule=[s.ScheduleInput(dt.date(2026, 2, 1), D("50")), s.ScheduleInput(dt.date(2026, 3, 1), D("49.99"))])


@pytest.mark.parametrize("total", ["0", "-5", "1.005", "abc"])
def test_bad_amounts_refused(company, customer, finance, total):
    with pytest.raises(InvalidAmount):
        _inv(company, customer, finance, total=total) if total != "abc" else s.post_document(
            company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1), total="abc", actor=finance)
    assert not Instalment.objects.exists()


def test_duplicate_number_and_double_submit(company, customer, finance):
    _inv(company, customer, finance, number="A-1", request_key="k1")
    with pytest.raises(DuplicateNumber):
        _inv(company, customer, finance, number="A-1")
    with pytest.raises(DuplicateSubmission):
        _inv(company, customer, finance, number="A-2", request_key="k1")
    assert customer.documents.count() == 1


def test_payment_oldest_first_with_overpayment_kept(company, customer, finance):
    d1 = _inv(company, customer, finance, total="300.00", date=dt.date(2026, 1, 1))
    d2 = _inv(company, customer, finance, total="200.00", date=dt.date(2026, 1, 10))
    p = s.record_payment(company=company, customer_id=customer.pk, amount=D("600.00"), date=dt.date(2026, 2, 1), actor=finance)
    assert p.unapplied_amount == D("100.00")
    assert d1.instalments.get().open_amount == 0 and d2.instalments.get().open_amount == 0
    d3 = _inv(company, customer, finance, total="150.00", date=dt.date(2026, 2, 5))
    s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 2, 6))
    assert d3.instalments.get().open_amount == D("50.00")
    customer.refresh_from_db()
    assert customer.open_amount == D("50.00") and customer.unapplied_amount == 0


def test_manual_allocation_refusals(company, customer, other_customer, finance):
    d1 = _inv(company, customer, finance, total="100.00")
    other = _inv(company, other_customer, finance, total="100.00")
    p = s.record_payment(company=company, customer_id=customer.pk, amount=D("80.00"), date=dt.date(2026, 2, 1),
                         actor=finance, auto_allocate=False)
    i1 = d1.instalments.get()
    with pytest.raises(OverAllocation):
        s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 2, 1),
                   plan=[s.AllocationInput(i1.pk, D("90.00"))])
    with pytest.raises(WrongCustomer):
        s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 2, 1),
                   plan=[s.AllocationInput(other.instalments.get().pk, D("10.00"))])
    assert not Allocation.objects.exists()
    s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 2, 1), plan=[s.AllocationInput(i1.pk, D("80.00"))])
    with pytest.raises(OverAllocation):
        s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 2, 1), plan=[s.AllocationInput(i1.pk, D("0.01"))])


def test_currency_mismatch(company, customer, finance):
    with pytest.raises(CurrencyMismatch):
        s.record_payment(company=company, customer_id=customer.pk, amount=D("1"), date=dt.date(2026, 1, 1), actor=finance, currency="USD")


def test_acceptance_bill_requires_details(company, customer, finance):
    from huikuan.ledger.errors import LedgerError

    with pytest.raises(LedgerError):
        s.record_payment(company=company, customer_id=customer.pk, amount=D("100"), date=dt.date(2026, 1, 1),
                         actor=finance, method="bank_acceptance")
    p = s.record_payment(company=company, customer_id=customer.pk, amount=D("100"), date=dt.date(2026, 1, 1),
                         actor=finance, method="bank_acceptance", bill_number="130058100001", bill_acceptor="工商银行",
                         bill_maturity_date=dt.date(2026, 6, 30))
    assert p.bill_status == "received"


def test_early_payment_discount_and_reversal(company, customer, finance):
    t = PaymentTerm.objects.create(company=company, code="D", name="2/10 net 30", kind="net", days=30,
                                   discount_percent=D("2"), discount_days=10)
    doc = _inv(company, customer, finance, payment_term_id=t.pk, date=dt.date(2026, 1, 1))
    p = s.record_payment(company=company, customer_id=customer.pk, amount=D("980.00"), date=dt.date(2026, 1, 9), actor=finance)
    assert doc.instalments.get().open_amount == 0
    disc = Credit.objects.get(kind=CreditKind.DISCOUNT)
    assert disc.amount == D("20.00") and disc.parent_id == p.pk
    s.reverse_credit(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 1, 20), reason="bounced")
    assert doc.instalments.get().open_amount == D("1000.00")
    disc.refresh_from_db()
    assert disc.status == "reversed"
    with pytest.raises(AlreadyReversed):
        s.reverse_credit(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 1, 20), reason="again")


def test_allocate_to_one_document_grants_its_discount(company, customer, finance):
    from huikuan.ledger.errors import LedgerError

    t = PaymentTerm.objects.create(company=company, code="D", name="2/10 net 30", kind="net", days=30,
                                   discount_percent=D("2"), discount_days=10)
    older = _inv(company, customer, finance, date=dt.date(2025, 12, 1))
    doc = _inv(company, customer, finance, payment_term_id=t.pk, date=dt.date(2026, 1, 1))
    p = s.record_payment(company=company, customer_id=customer.pk, amount=D("980.00"), date=dt.date(2026, 1, 9),
                         actor=finance, auto_allocate=False)
    with pytest.raises(LedgerError):  # a document restriction only applies to the automatic plan
        s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 1, 9), document_id=doc.pk,
                   plan=[s.AllocationInput(doc.instalments.get().pk, D("980.00"))])
    s.allocate(company=company, credit_id=p.pk, actor=finance, on=dt.date(2026, 1, 9), document_id=doc.pk)
    assert doc.instalments.get().open_amount == 0  # 980 paid + 20 discount, the older invoice untouched
    assert older.instalments.get().open_amount == older.total_amount
    assert Credit.objects.get(kind=CreditKind.DISCOUNT).amount == D("20.00")


def test_credit_note_write_off_maker_checker(company, customer, users, finance):
    doc = _inv(company, customer, finance, total="500.00")
    inst = doc.instalments.get()
    s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 1, 20),
                        reason="退货", actor=finance, document_id=doc.pk)
    inst.refresh_from_db()
    assert inst.open_amount == D("400.00")
    with pytest.raises(OverAllocation):
        s.request_write_off(company=company, instalment_id=inst.pk, amount=D("400.01"), reason="x", actor=finance)
    req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("400.00"), reason="无法收回", actor=finance)
    with pytest.raises(SelfApproval):
        s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=finance, on=dt.date(2026, 3, 1))
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["finance2"], on=dt.date(2026, 3, 1))
    inst.refresh_from_db()
    assert inst.open_amount == 0


def test_reverse_document_returns_cash_to_unapplied(company, customer, finance):
    doc = _inv(company, customer, finance, total="300.00")
    s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 1, 9), actor=finance)
    s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=dt.date(2026, 1, 10), reason="wrong customer")
    customer.refresh_from_db()
    assert customer.open_amount == 0 and customer.unapplied_amount == D("100.00")
    with pytest.raises(AlreadyReversed):
        s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=dt.date(2026, 1, 10), reason="x")


def test_postings_do_not_conflict_with_a_customer_edit_in_progress(company, customer, finance):
    """The customer form's optimistic version check guards master data only, not balances."""
    from huikuan.customers.services import update_customer

    version = customer.version
    _inv(company, customer, finance, total="10.00")
    s.record_payment(company=company, customer_id=customer.pk, amount=D("5.00"), date=dt.date(2026, 1, 9), actor=finance)
    updated = update_customer(customer_id=customer.pk, actor=finance, expected_version=version, region="华东")
    assert updated.region == "华东" and updated.open_amount == D("5.00")


def test_bill_life_and_dishonour_reverses_the_payment(company, customer, finance):
    from huikuan.ledger.errors import LedgerError

    doc = _inv(company, customer, finance, total="500.00")
    bill = s.record_payment(company=company, customer_id=customer.pk, amount=D("500.00"), date=dt.date(2026, 1, 10),
                            actor=finance, method="bank_acceptance", bill_number="130058100002", bill_acceptor="工商银行",
                            bill_maturity_date=dt.date(2026, 6, 10))
    assert doc.instalments.get().open_amount == 0
    with pytest.raises(LedgerError):
        instruments.set_instrument_status(company=company, credit_id=bill.pk, status="pending", actor=finance, on=dt.date(2026, 2, 1))
    instruments.set_instrument_status(company=company, credit_id=bill.pk, status="endorsed", actor=finance, on=dt.date(2026, 2, 1))
    bill = instruments.set_instrument_status(company=company, credit_id=bill.pk, status="dishonoured", actor=finance,
                                   on=dt.date(2026, 6, 11))
    assert bill.bill_status == "dishonoured" and bill.status == "reversed"
    assert doc.instalments.get().open_amount == D("500.00")
    customer.refresh_from_db()
    assert customer.open_amount == D("500.00") and customer.unapplied_amount == 0


def test_cheque_clears_or_bounces(company, customer, finance):
    from huikuan.ledger.errors import LedgerError

    chq = s.record_payment(company=company, customer_id=customer.pk, amount=D("80.00"), date=dt.date(2026, 1, 10),
                           actor=finance, method="cheque", reference="CHQ 0001")
    assert chq.cheque_status == "pending"
    chq = instruments.set_instrument_status(company=company, credit_id=chq.pk, status="cleared", actor=finance, on=dt.date(2026, 1, 12))
    assert chq.cheque_status == "cleared" and chq.status == "posted"
    with pytest.raises(LedgerError):
        instruments.set_instrument_status(company=company, credit_id=chq.pk, status="bounced", actor=finance, on=dt.date(2026, 1, 13))
    transfer = s.record_payment(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 1, 10), actor=finance)
    with pytest.raises(LedgerError):
        instruments.set_instrument_status(company=company, credit_id=transfer.pk, status="cleared", actor=finance, on=dt.date(2026, 1, 12))
