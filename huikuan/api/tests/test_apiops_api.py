"""Issue 18 (apiops): sync on disputes, warnings and contacts; the customer upsert by external key."""

import datetime as dt
import time
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.collections import services as coll
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, Customer
from huikuan.insight import early_warnings as ew
from huikuan.insight.models import EarlyWarning
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db


def _tick():
    """A new instant: updated_at of what follows is strictly later than a mark taken before."""
    time.sleep(0.002)
    return timezone.now()


def _ids(c, url, **params):
    body = c.get(url, params)
    assert body.status_code == 200, body.content
    return [r["id"] for r in body.json()["results"]]


def test_disputes_sync_meets_a_resolution(company, customer, finance, api):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=D("1000.00"), actor=finance)
    d1 = coll.open_dispute(company=company, customer_id=customer.pk, reason="price", amount=D("10.00"), actor=finance,
                           today=dt.date(2026, 1, 6), document_id=doc.pk)
    d2 = coll.open_dispute(company=company, customer_id=customer.pk, reason="price", amount=D("20.00"), actor=finance,
                           today=dt.date(2026, 1, 6), document_id=doc.pk)
    c = api()
    assert _ids(c, "/api/v1/disputes/", updated_since="2000-01-01", page_size=1) == [d1.pk]
    mark = _tick()
    assert _ids(c, "/api/v1/disputes/", updated_since=mark.isoformat()) == []
    coll.resolve_dispute(company=company, dispute_id=d1.pk, resolution="rejected", actor=finance,
                         today=dt.date(2026, 1, 7), note="价格无误")
    rows = c.get("/api/v1/disputes/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [r["id"] for r in rows] == [d1.pk] and rows[0]["status"] == "resolved"
    assert rows[0]["updated_at"] >= mark.isoformat()[:19]
    assert d2.pk not in [r["id"] for r in rows]
    assert c.get("/api/v1/disputes/", {"updated_since": "yesterday"}).status_code == 422


def test_sync_times_with_any_iso_offset(company, customer, finance, api):
    """ISO 8601 offsets reach ±23:59 but PostgreSQL refuses beyond ±15:59 (a 500 found by schemathesis):
    the time is compared in UTC; one that leaves the calendar is a 422, as is a forged cursor."""
    import base64

    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=D("1000.00"), actor=finance)
    d1 = coll.open_dispute(company=company, customer_id=customer.pk, reason="price", amount=D("10.00"), actor=finance,
                           today=dt.date(2026, 1, 6), document_id=doc.pk)
    c = api()
    assert _ids(c, "/api/v1/disputes/", updated_since="2000-01-01T00:00:00-23:27") == [d1.pk]
    assert _ids(c, "/api/v1/disputes/", updated_since="2999-01-01T00:00:00+23:59") == []
    assert c.get("/api/v1/disputes/", {"updated_since": "0001-01-01T00:00:00+23:00"}).status_code == 422
    for forged in ("2000-01-01T00:00:00-23:27|1", f"2000-01-01T00:00:00+00:00|{2**70}", "0001-01-01T00:00:00+23:00|1"):
        cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
        r = c.get("/api/v1/disputes/", {"cursor": cursor})
        assert r.status_code in (200, 422), (forged, r.status_code)
    ok = base64.urlsafe_b64encode(b"2000-01-01T00:00:00-23:27|0").decode().rstrip("=")
    assert [r["id"] for r in c.get("/api/v1/disputes/", {"cursor": ok}).json()["results"]] == [d1.pk]


def _warning(company, customer, key="x"):
    return EarlyWarning.objects.create(company=company, kind="overdue_days", severity="medium",
                                       key=f"c{customer.pk}:{key}", customer=customer, owner=customer.owner,
                                       raised_on=dt.date(2026, 3, 1), created_at=timezone.now())


def test_warnings_sync_defaults_to_every_status_and_sees_a_resolution(company, customer, other_customer, finance,
                                                                     api):
    w1, w2 = _warning(company, customer, "a"), _warning(company, customer, "b")
    _warning(company, other_customer, "c")
    c = api()
    mark = _tick()
    ew.act(company=company, warning_id=w1.pk, action="resolve", note="已电话确认付款", actor=finance)
    # the page-number list shows active warnings only; the sync shows the one resolved since the mark
    assert w1.pk not in _ids(c, "/api/v1/warnings/")
    rows = c.get("/api/v1/warnings/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [(r["id"], r["status"]) for r in rows] == [(w1.pk, "resolved")] and rows[0]["updated_at"]
    assert _ids(c, "/api/v1/warnings/", updated_since=mark.isoformat(), status="active") == []
    # scope: sales_west sees none of sales_east's customer's warnings, in sync mode too
    west = api("sales_west")
    assert not {w1.pk, w2.pk} & set(_ids(west, "/api/v1/warnings/", updated_since="2000-01-01", status="all"))


def test_contacts_sync_list_scoped_with_changes_and_deactivations(company, customer, other_customer, users, api):
    admin = users["admin"]
    a = customer_services.add_contact(customer_id=customer.pk, actor=admin, name="王经理", phone="13800138000",
                                      is_primary=True)
    b = customer_services.add_contact(customer_id=customer.pk, actor=admin, name="李会计")
    far = customer_services.add_contact(customer_id=other_customer.pk, actor=admin, name="赵总")
    c = api()
    assert set(_ids(c, "/api/v1/contacts/")) == {a.pk, b.pk, far.pk}
    assert _ids(c, "/api/v1/contacts/", customer=customer.pk) == [a.pk, b.pk]
    mark = _tick()
    # b becomes primary through the API: a loses the flag — both count as changed
    r = c.patch(f"/api/v1/customers/{customer.pk}/contacts/{b.pk}/", {"is_primary": True}, format="json")
    assert r.status_code == 200 and r.json()["updated_at"] and r.json()["customer"] == customer.pk
    assert set(_ids(c, "/api/v1/contacts/", updated_since=mark.isoformat())) == {a.pk, b.pk}
    mark = _tick()
    assert c.delete(f"/api/v1/customers/{customer.pk}/contacts/{a.pk}/").status_code == 204
    rows = c.get("/api/v1/contacts/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [(x["id"], x["is_active"]) for x in rows] == [(a.pk, False)]
    assert _ids(c, "/api/v1/contacts/", active="false") == [a.pk]
    assert c.get("/api/v1/contacts/", {"active": "maybe"}).json()["error"]["fields"]["active"]
    assert c.get("/api/v1/contacts/", {"cursor": "nonsense"}).status_code == 422
    # out of scope: sales_west sees only its own customer's contacts; a limited key only its customer's
    assert _ids(api("sales_west"), "/api/v1/contacts/", updated_since="2000-01-01") == [far.pk]
    assert set(_ids(api("finance", customer=customer), "/api/v1/contacts/")) == {a.pk, b.pk}
    assert Contact.objects.get(pk=a.pk).updated_at > mark


def test_upsert_creates_then_changes_only_what_is_sent(company, customer, users, net30, api):
    c = api()
    url = "/api/v1/customers/by-external-key/crm:acct-42/"
    assert c.get(url).status_code == 404
    made = c.put(url, {"code": "CRM-42", "name": "杭州集成客户有限公司", "region": "华东", "payment_terms": "N30"},
                 format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["external_key"] == "crm:acct-42" and body["external_source"] == "api" and body["region"] == "华东"
    cid, version = body["id"], body["version"]
    assert c.get(url).json()["id"] == cid
    again = c.put(url, {"name": "杭州集成客户有限公司（更名）"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == cid
    got = Customer.objects.get(pk=cid)
    assert got.name.endswith("（更名）") and got.region == "华东" and got.payment_term_id == net30.pk
    assert got.version > version
    same = c.put(url, {"name": "杭州集成客户有限公司（更名）"}, format="json")  # repeating is harmless
    assert same.status_code == 200 and Customer.objects.get(pk=cid).version == got.version
    stale = c.put(url, {"name": "又改", "version": version}, format="json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert Customer.objects.get(pk=cid).name == got.name
    assert Customer.objects.filter(company=company, external_key="crm:acct-42").count() == 1
    found = c.get("/api/v1/customers/", {"external_key": "crm:acct-42"}).json()["results"]
    assert [x["id"] for x in found] == [cid]


def test_upsert_refuses_bad_input_and_writes_nothing(company, customer, other_customer, users, api):
    c = api()
    before = Customer.objects.count()
    url = "/api/v1/customers/by-external-key/crm:9/"
    r = c.put(url, {"name": "没有编码"}, format="json")
    assert r.status_code == 422 and "code" in r.json()["error"]["fields"]
    r = c.put(url, {"code": customer.code, "name": "重号"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "duplicate_code"
    r = c.put(url, {"code": "X-1", "name": "坏统一社会信用代码", "credit_code": "123"}, format="json")
    assert r.status_code == 422
    r = c.put(url, {"code": "X-1", "name": "未知条款", "payment_terms": "NOPE"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["fields"]["payment_terms"]
    r = c.put(url, {"code": "X-1", "name": "表单"}, format="multipart")
    assert r.status_code == 415
    assert Customer.objects.count() == before
    assert api("auditor").put(url, {"code": "X-2", "name": "无权"}, format="json").status_code == 403
    assert Customer.objects.count() == before
    # a key held by a customer outside the caller's scope: 409 without the id, and GET is 404
    Customer.objects.filter(pk=customer.pk).update(external_source="api", external_key="crm:east")
    west = api("sales_west")
    r = west.put("/api/v1/customers/by-external-key/crm:east/", {"code": "W-1", "name": "西区"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_external_key"
    assert r.json()["error"]["existing_id"] is None
    assert west.get("/api/v1/customers/by-external-key/crm:east/").status_code == 404
    assert api().get("/api/v1/customers/by-external-key/crm:east/").json()["id"] == customer.pk
    assert Customer.objects.get(pk=customer.pk).name == "上海华东机械有限公司"
    assert c.get("/api/v1/customers/by-external-key/" + "k" * 101 + "/").status_code == 404
    # a control character in the key: 422 in the envelope, as the schema declares (the contract check runs on it)
    r = c.get("/api/v1/customers/by-external-key/\x1f/")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
