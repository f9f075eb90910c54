import datetime as dt
from decimal import Decimal

import pytest

from huikuan.common.models import AuditEvent
from huikuan.ledger.bulk import DocumentInput, post_documents
from huikuan.ledger.errors import DuplicateNumber, InvalidSchedule
from huikuan.ledger.models import Instalment, LedgerEntry, ReceivableDocument
from huikuan.ledger.services import ScheduleInput

pytestmark = pytest.mark.django_db


def test_bulk_posting_matches_post_document(company, finance, customer, other_customer):
    day = dt.date(2026, 3, 2)
    docs = post_documents(company=company, actor=finance, documents=[
        DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("100.00"), number="B1"),
        DocumentInput(customer_id=other_customer.pk, document_date=day, total=Decimal("50.50"), number="",
                      schedule=[ScheduleInput(dt.date(2026, 4, 1), Decimal("20.50")),
                                ScheduleInput(dt.date(2026, 5, 1), Decimal("30.00"))]),
    ])
    assert [d.number for d in docs][0] == "B1" and docs[1].number  # numbered from the series
    assert Instalment.objects.get(document_id=docs[0].pk).due_date == dt.date(2026, 4, 1)  # net 30 from the customer
    assert [(i.seq, i.due_date, i.amount, i.open_amount, i.customer_id) for i in Instalment.objects.filter(
        document_id=docs[1].pk).order_by("seq")] == [
        (1, dt.date(2026, 4, 1), Decimal("20.50"), Decimal("20.50"), other_customer.pk),
        (2, dt.date(2026, 5, 1), Decimal("30.00"), Decimal("30.00"), other_customer.pk)]
    entry = LedgerEntry.objects.get(document_id=docs[1].pk)
    assert (entry.debit_amount, entry.credit_amount, entry.date, entry.kind) == (Decimal("50.50"), 0, day, "document")
    assert entry.created_at is not None
    event = AuditEvent.objects.get(target_id=docs[1].pk, verb="ledger.document.posted")
    assert event.actor_id == finance.pk and event.data["total"] == "50.50" and event.at is not None
    assert LedgerEntry.objects.filter(document_id__in=[d.pk for d in docs]).count() == 2
    assert AuditEvent.objects.filter(verb="ledger.document.posted", target_id__in=[d.pk for d in docs]).count() == 2
    doc = ReceivableDocument.objects.get(pk=docs[1].pk)
    assert (doc.total_amount, doc.status, doc.customer_id, doc.created_by_id) == (
        Decimal("50.50"), "posted", other_customer.pk, finance.pk)
    assert doc.created_at is not None and doc.request_key is None
    customer.refresh_from_db()
    other_customer.refresh_from_db()
    assert customer.open_amount == Decimal("100.00") and other_customer.open_amount == Decimal("50.50")


def test_bulk_refusal_names_the_input_and_writes_nothing(company, finance, customer):
    day = dt.date(2026, 3, 2)
    post_documents(company=company, actor=finance,
                   documents=[DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="X")])
    with pytest.raises(DuplicateNumber) as exc:
        post_documents(company=company, actor=finance, documents=[
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="Y"),
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="X"),
        ])
    assert exc.value.params["index"] == 1
    with pytest.raises(InvalidSchedule) as exc:
        post_documents(company=company, actor=finance, documents=[
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("10"), number="Z",
                          schedule=[ScheduleInput(day, Decimal("9"))]),
        ])
    assert exc.value.params["index"] == 0
    assert ReceivableDocument.objects.count() == 1
