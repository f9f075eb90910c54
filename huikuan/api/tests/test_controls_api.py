"""The ledger controls through the API (issue 12, points 2 and 7): the same refusals as the web forms, in the
error envelope and the caller's language, and the explicit choices (post_dated, keep_rest_as_credit)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, CreditKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)


def test_future_payment_needs_post_dated(company, customer, api):
    c = api()
    body = {"customer": customer.pk, "amount": "10.00", "date": "2026-03-11"}
    r = c.post("/api/v1/payments/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and "after today" in r.json()["error"]["fields"]["date"][0]
    r = c.post("/api/v1/payments/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "晚于今天" in r.json()["error"]["message"]
    assert not Credit.objects.exists()
    r = c.post("/api/v1/payments/", {**body, "post_dated": True}, format="json")
    assert r.status_code == 201 and r.json()["date"] == "2026-03-11"


def test_credit_note_over_the_document(company, customer, finance, api):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 3, 1),
                               total=D("10000.00"), actor=finance)
    c = api()
    body = {"customer": customer.pk, "document": doc.pk, "amount": "99999.00", "date": "2026-03-10", "reason": "退货"}
    r = c.post("/api/v1/credit-notes/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and "still open" in r.json()["error"]["fields"]["amount"][0]
    assert not Credit.objects.exists()
    r = c.post("/api/v1/credit-notes/", {**body, "keep_rest_as_credit": True}, format="json")
    assert r.status_code == 201 and r.json()["unapplied_amount"] == "89999.00"
    assert Credit.objects.get(kind=CreditKind.CREDIT_NOTE).unapplied_amount == D("89999.00")
    r = c.post("/api/v1/credit-notes/", {**body, "document": None, "date": "2026-03-11"}, format="json")
    assert r.status_code == 422 and "date" in r.json()["error"]["fields"]
