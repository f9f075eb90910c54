"""Issue 18, sync: updated_at on every object, ``updated_since`` + keyset cursor on every list,
``external_key`` lookups and 409 with the existing id on a re-posted external key."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.customers import services as customer_services
from huikuan.customers.models import Customer
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, ReceivableDocument

pytestmark = pytest.mark.django_db


def _follow(c, url, **params):
    """Every row of a change-ordered list, following next_cursor; returns (ids, pages)."""
    ids, pages, cursor = [], 0, None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        body = c.get(url, q).json()
        pages += 1
        ids += [r["id"] for r in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["next"] is None
            return ids, pages
        assert "cursor=" in body["next"]


def test_updated_since_pages_in_change_order_and_stays_stable_under_writes(company, users, api):
    made = [customer_services.create_customer(company=company, actor=users["admin"], code=f"S{i:02d}", name=f"同步{i}")
            for i in range(7)]
    c = api()
    first = c.get("/api/v1/customers/", {"updated_since": "2000-01-01", "page_size": 3}).json()
    assert [r["id"] for r in first["results"]] == [m.pk for m in made[:3]]
    assert first["count"] == 7 and first["next_cursor"] and first["previous"] is None
    # while the client pages on, another client changes a customer it has already read and adds one
    customer_services.update_customer(customer_id=made[0].pk, actor=users["admin"], expected_version=made[0].version,
                                      name="同步0（改）")
    added = customer_services.create_customer(company=company, actor=users["admin"], code="S99", name="新增")
    rest, _pages = _follow(c, "/api/v1/customers/", page_size=3, cursor=first["next_cursor"])
    # nothing skipped, nothing repeated except the changed row, met again at the end (in change order)
    assert rest == [m.pk for m in made[3:]] + [made[0].pk, added.pk]
    changed = c.get("/api/v1/customers/", {"updated_since": first["results"][-1]["updated_at"]}).json()
    assert {made[0].pk, added.pk} <= {r["id"] for r in changed["results"]}


def test_updated_since_sees_balance_changes_of_documents_payments_and_customers(company, customer, finance, api):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=D("1000.00"), actor=finance)
    c = api()
    mark = timezone.now()
    assert c.get("/api/v1/documents/", {"updated_since": mark.isoformat()}).json()["results"] == []
    assert c.get("/api/v1/customers/", {"updated_since": mark.isoformat()}).json()["results"] == []
    pay = ledger.record_payment(company=company, customer_id=customer.pk, amount=D("400.00"),
                                date=dt.date(2026, 2, 1), actor=finance, today=dt.date(2026, 2, 1))
    docs = c.get("/api/v1/documents/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [d["id"] for d in docs] == [doc.pk] and docs[0]["instalments"][0]["open_amount"] == "600.00"
    assert dt.datetime.fromisoformat(docs[0]["updated_at"]) >= mark
    assert [r["id"] for r in c.get("/api/v1/customers/", {"updated_since": mark.isoformat()}).json()["results"]] \
        == [customer.pk]
    mark2 = timezone.now()
    ledger.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 2, 2), reason="错")
    pays = c.get("/api/v1/payments/", {"updated_since": mark2.isoformat()}).json()["results"]
    assert [(p["id"], p["status"]) for p in pays] == [(pay.pk, "reversed")]
    assert [d["id"] for d in c.get("/api/v1/documents/", {"updated_since": mark2.isoformat()}).json()["results"]] \
        == [doc.pk]


def test_sync_parameters_refuse_garbage(company, customer, api):
    c = api()
    r = c.get("/api/v1/customers/", {"updated_since": "yesterday"})
    assert r.status_code == 422 and "updated_since" in r.json()["error"]["fields"]
    r = c.get("/api/v1/documents/", {"cursor": "not-a-cursor"})
    assert r.status_code == 422 and "cursor" in r.json()["error"]["fields"]


def test_page_mode_still_answers_next_cursor_null(company, customer, api):
    body = api().get("/api/v1/customers/").json()
    assert body["next_cursor"] is None and body["count"] == 1


def test_external_key_lookup_and_409_with_the_existing_id(company, customer, api):
    c = api()
    r = c.post("/api/v1/customers/", {"code": "CRM-7", "name": "外部客户", "external_key": "crm:7"}, format="json")
    assert r.status_code == 201 and r.json()["external_key"] == "crm:7" and r.json()["external_source"] == "api"
    cid = r.json()["id"]
    found = c.get("/api/v1/customers/", {"external_key": "crm:7"}).json()["results"]
    assert [x["id"] for x in found] == [cid]
    assert c.get("/api/v1/customers/", {"external_key": "crm:8"}).json()["results"] == []
    again = c.post("/api/v1/customers/", {"code": "CRM-7B", "name": "外部客户", "external_key": "crm:7"}, format="json")
    assert again.status_code == 409
    err = again.json()["error"]
    assert err["code"] == "duplicate_external_key" and err["existing_id"] == cid
    assert Customer.objects.filter(company=company).count() == 2

    body = {"customer": cid, "document_date": "2026-01-05", "total": "500.00", "external_key": "erp-inv-1"}
    doc = c.post("/api/v1/documents/", body, format="json")
    assert doc.status_code == 201
    dup = c.post("/api/v1/documents/", body, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["existing_id"] == doc.json()["id"]
    assert dup.json()["error"]["code"] == "duplicate_external_key"
    assert ReceivableDocument.objects.count() == 1
    assert [d["id"] for d in c.get("/api/v1/documents/", {"external_key": "erp-inv-1"}).json()["results"]] \
        == [doc.json()["id"]]

    pay = {"customer": cid, "amount": "100.00", "date": "2026-01-06", "external_key": "erp-pay-1"}
    p1 = c.post("/api/v1/payments/", pay, format="json")
    p2 = c.post("/api/v1/payments/", pay, format="json")
    assert p1.status_code == 201 and p2.status_code == 409 and p2.json()["error"]["existing_id"] == p1.json()["id"]
    assert Credit.objects.filter(external_key="erp-pay-1").count() == 1


def test_existing_id_is_not_shown_outside_scope(company, customer, other_customer, finance, api):
    ledger.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 5),
                         total=D("10.00"), actor=finance, external_source="api", external_key="k-west")
    limited = api("finance", customer=customer)
    r = limited.post("/api/v1/documents/", {"customer": customer.pk, "document_date": "2026-01-05", "total": "5.00",
                                         "external_key": "k-west"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["existing_id"] is None
