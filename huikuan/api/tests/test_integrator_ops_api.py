"""Issue 18, missing operations: reversals, credit notes read, write-offs, contacts, payment terms, users —
the same services (and refusals) as the screens, and 404 outside the key's scope."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.customers.models import Contact
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, Instalment, ReceivableDocument, WriteOffRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(company, customer, finance):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=D("1000.00"), actor=finance)
    pay = ledger.record_payment(company=company, customer_id=customer.pk, amount=D("300.00"),
                                date=dt.date(2026, 1, 6), actor=finance, today=dt.date(2026, 1, 6))
    return doc, pay


def test_reverse_allocation_then_payment_then_document(api, booked):
    doc, pay = booked
    c = api()
    alloc = c.get(f"/api/v1/payments/{pay.pk}/allocations/").json()[0]
    assert c.post(f"/api/v1/payments/{pay.pk}/allocations/{alloc['id']}/reverse/", {}, format="json").status_code == 422
    r = c.post(f"/api/v1/payments/{pay.pk}/allocations/{alloc['id']}/reverse/", {"reason": "分错了"}, format="json")
    assert r.status_code == 200 and r.json()["amount"] == "-300.00" and r.json()["reverses"] == alloc["id"]
    again = c.post(f"/api/v1/payments/{pay.pk}/allocations/{alloc['id']}/reverse/", {"reason": "x"}, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "already_reversed"
    assert c.get(f"/api/v1/payments/{pay.pk}/").json()["unapplied_amount"] == "300.00"

    r = c.post(f"/api/v1/payments/{pay.pk}/reverse/", {"reason": "重复录入"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "reversed" and r.json()["unapplied_amount"] == "0.00"
    r = c.post(f"/api/v1/documents/{doc.pk}/reverse/", {"reason": "开错"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "reversed"
    assert [i["open_amount"] for i in r.json()["instalments"]] == ["0.00"]
    assert c.post(f"/api/v1/documents/{doc.pk}/reverse/", {"reason": "x"}, format="json").status_code == 422


def test_reversals_need_the_permission_and_the_scope(api, booked, other_customer, company, finance):
    doc, pay = booked
    assert api("collector").post(f"/api/v1/documents/{doc.pk}/reverse/", {"reason": "x"}, format="json").status_code == 403
    limited = api("finance", customer=other_customer)
    assert limited.post(f"/api/v1/documents/{doc.pk}/reverse/", {"reason": "x"}, format="json").status_code == 404
    assert limited.post(f"/api/v1/payments/{pay.pk}/reverse/", {"reason": "x"}, format="json").status_code == 404
    assert ReceivableDocument.objects.get(pk=doc.pk).status == "posted"
    assert Credit.objects.get(pk=pay.pk).status == "posted"


def test_credit_notes_list_and_retrieve(api, booked, company, customer, other_customer, finance):
    doc, _pay = booked
    c = api()
    made = c.post("/api/v1/credit-notes/", {"customer": customer.pk, "amount": "50.00", "date": "2026-01-07",
                                            "reason": "折让", "document": doc.pk, "external_key": "cn-1"}, format="json")
    assert made.status_code == 201
    listed = c.get("/api/v1/credit-notes/", {"customer": customer.pk}).json()
    assert [x["id"] for x in listed["results"]] == [made.json()["id"]] and listed["results"][0]["kind"] == "credit_note"
    assert [x["id"] for x in c.get("/api/v1/credit-notes/", {"external_key": "cn-1"}).json()["results"]] \
        == [made.json()["id"]]
    assert c.get(f"/api/v1/credit-notes/{made.json()['id']}/").json()["amount"] == "50.00"
    payment = Credit.objects.filter(kind="payment").first()
    assert c.get(f"/api/v1/credit-notes/{payment.pk}/").status_code == 404  # a payment is not a credit note
    west = api("sales_west")
    assert west.get(f"/api/v1/credit-notes/{made.json()['id']}/").status_code == 404
    assert west.get("/api/v1/credit-notes/").json()["results"] == []


def test_write_off_request_and_decision(api, booked, customer):
    doc, _pay = booked
    inst = Instalment.objects.get(document=doc)
    collector = api("collector")
    too_much = collector.post("/api/v1/write-offs/", {"instalment": inst.pk, "amount": "800.00", "reason": "x"},
                              format="json")
    assert too_much.status_code == 422 and not WriteOffRequest.objects.exists()
    r = collector.post("/api/v1/write-offs/", {"instalment": inst.pk, "amount": "20.00", "reason": "尾差"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["requested_by"] == "collector"
    wid = r.json()["id"]
    assert collector.post(f"/api/v1/write-offs/{wid}/decision/", {"decision": "approve"}, format="json").status_code == 403
    d = api("credit_manager").post(f"/api/v1/write-offs/{wid}/decision/", {"decision": "approve", "note": "同意"},
                                   format="json")
    assert d.status_code == 200 and d.json()["status"] == "approved" and d.json()["credit"]
    assert api().get(f"/api/v1/write-offs/{wid}/").json()["decided_by"] == "credit_manager"
    assert [w["id"] for w in api().get("/api/v1/write-offs/", {"status": "approved"}).json()["results"]] == [wid]
    assert api("sales_west").get(f"/api/v1/write-offs/{wid}/").status_code == 404
    redo = api("credit_manager").post(f"/api/v1/write-offs/{wid}/decision/", {"decision": "reject"}, format="json")
    assert redo.status_code in (409, 422)


def test_contact_update_and_deactivate(api, customer, other_customer):
    ct = Contact.objects.create(customer=customer, name="王经理", phone="+8613800000000", is_primary=True)
    c = api()
    r = c.patch(f"/api/v1/customers/{customer.pk}/contacts/{ct.pk}/", {"title": "财务经理"}, format="json")
    assert r.status_code == 200 and r.json()["title"] == "财务经理" and r.json()["name"] == "王经理"
    bad = c.patch(f"/api/v1/customers/{customer.pk}/contacts/{ct.pk}/", {"email": "nope"}, format="json")
    assert bad.status_code == 422
    assert c.get(f"/api/v1/customers/{other_customer.pk}/contacts/{ct.pk}/").status_code == 404
    assert api("sales_west").get(f"/api/v1/customers/{customer.pk}/contacts/{ct.pk}/").status_code == 404
    assert c.delete(f"/api/v1/customers/{customer.pk}/contacts/{ct.pk}/").status_code == 204
    ct.refresh_from_db()
    assert not ct.is_active and not ct.is_primary and ct.title == "财务经理"


def test_payment_terms_and_users(api, net30, users):
    c = api("sales_east")
    terms = c.get("/api/v1/payment-terms/").json()["results"]
    assert [t["code"] for t in terms] == [net30.code] and terms[0]["days"] == net30.days
    names = {u["username"] for u in c.get("/api/v1/users/", {"page_size": 100}).json()["results"]}
    assert {"finance", "sales_east"} <= names


def test_promises_and_disputes(api, booked, customer, other_customer):
    doc, _pay = booked
    c = api("collector")
    future = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    r = c.post("/api/v1/promises/", {"customer": customer.pk, "amount": "200.00", "promised_date": future},
               format="json", HTTP_IDEMPOTENCY_KEY="pr-1")
    assert r.status_code == 201 and r.json()["status"] == "open" and r.json()["amount"] == "200.00"
    again = c.post("/api/v1/promises/", {"customer": customer.pk, "amount": "200.00", "promised_date": future},
                   format="json", HTTP_IDEMPOTENCY_KEY="pr-1")
    assert again.json()["id"] == r.json()["id"] and again["Idempotent-Replayed"] == "true"
    too_much = c.post("/api/v1/promises/", {"customer": customer.pk, "amount": "5000.00", "promised_date": future},
                      format="json")
    assert too_much.status_code == 422
    assert [p["id"] for p in c.get("/api/v1/promises/", {"customer": customer.pk}).json()["results"]] == [r.json()["id"]]
    assert api("sales_west").get(f"/api/v1/promises/{r.json()['id']}/").status_code == 404

    d = c.post("/api/v1/disputes/", {"customer": customer.pk, "reason": "price", "amount": "100.00",
                                     "document": doc.pk}, format="json")
    assert d.status_code == 201 and d.json()["status"] == "open" and d.json()["document"] == doc.pk
    assert c.get(f"/api/v1/disputes/{d.json()['id']}/").json()["amount"] == "100.00"
    assert c.post("/api/v1/disputes/", {"customer": other_customer.pk, "reason": "price", "amount": "1.00",
                                        "document": doc.pk}, format="json").status_code in (404, 422)
    assert api("sales_west").get(f"/api/v1/disputes/{d.json()['id']}/").status_code == 404
    synced = c.get("/api/v1/disputes/", {"updated_since": "2026-01-01"})  # disputes carry updated_at (apiops)
    assert synced.status_code == 200 and [x["id"] for x in synced.json()["results"]] == [d.json()["id"]]
