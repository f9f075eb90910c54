"""Issue 12 point 1 (per-document terms): a document whose own terms or hand-made schedule give longer credit
than the customer's grade allows is refused with a clear message — through the service and the bulk import path.
The customer's own (approved) terms are not re-checked."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.credit.models import CreditProfile
from huikuan.customers.models import PaymentTerm, TermKind
from huikuan.ledger import bulk
from huikuan.ledger import services as ledger
from huikuan.ledger.errors import TermsBeyondGrade
from huikuan.ledger.models import ReceivableDocument

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def net90(company):
    return PaymentTerm.objects.create(company=company, code="N90", name="Net 90", kind=TermKind.NET, days=90)


@pytest.fixture
def grade_c(company, customer):
    """Grade C allows at most 15 days; the customer's own terms are net 30 (approved earlier)."""
    return CreditProfile.objects.create(company=company, customer=customer, grade="C")


def test_other_terms_beyond_the_grade_are_refused(company, customer, finance, net90, grade_c):
    with pytest.raises(TermsBeyondGrade) as e:
        ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"),
                             actor=finance, payment_term_id=net90.pk)
    assert e.value.field == "payment_term"
    assert "90" in str(e.value) and "C" in str(e.value) and "30" in str(e.value)
    assert not ReceivableDocument.objects.exists()


def test_a_hand_schedule_beyond_the_grade_is_refused(company, customer, finance, grade_c):
    with pytest.raises(TermsBeyondGrade) as e:
        ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"), actor=finance,
                             schedule=[ledger.ScheduleInput(DAY + dt.timedelta(days=31), D("1000.00"))])
    assert e.value.field == "schedule"
    ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"), actor=finance,
                         schedule=[ledger.ScheduleInput(DAY + dt.timedelta(days=30), D("1000.00"))])


def test_own_terms_and_approved_terms_pass(company, customer, finance, net90, grade_c):
    ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"), actor=finance)
    grade_c.terms_days = 90  # longer terms approved for this customer through a terms request
    grade_c.save()
    ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"), actor=finance,
                         payment_term_id=net90.pk)
    assert ReceivableDocument.objects.count() == 2


def test_ungraded_customer_is_not_checked(company, customer, finance, net90):
    ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000.00"), actor=finance,
                         payment_term_id=net90.pk)


def test_bulk_post_refuses_the_row(company, customer, finance, net90, grade_c):
    rows = [bulk.DocumentInput(customer_id=customer.pk, document_date=DAY, total=D("10.00")),
            bulk.DocumentInput(customer_id=customer.pk, document_date=DAY, total=D("20.00"), payment_term_id=net90.pk)]
    with pytest.raises(TermsBeyondGrade) as e:
        bulk.post_documents(company=company, actor=finance, documents=rows)
    assert e.value.params.get("index") == 1 and e.value.field == "payment_term"
    assert not ReceivableDocument.objects.exists()
