import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from huikuan.api.models import ApiKey
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, ReceivableDocument

pytestmark = pytest.mark.django_db


def _doc(company, customer, finance, total="1000.00"):
    return ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                                total=D(total), actor=finance)


def test_keys_are_stored_hashed_and_bad_keys_get_401(company, customer, make_key):
    key, raw = make_key()
    assert raw not in (key.hashed_key, key.prefix) and len(key.hashed_key) == 64
    for header in ["Bearer nope", f"Bearer {raw}x", "Bearer hk_deadbeef_xyz"]:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=header)
        r = c.get("/api/v1/customers/")
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] in ("authentication_failed", "not_authenticated")
    assert APIClient().get("/api/v1/customers/").status_code == 401


def test_expired_and_revoked_keys_get_401(company, customer, api):
    c = api()
    assert c.get("/api/v1/customers/").status_code == 200
    ApiKey.objects.filter(pk=c.key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    cache.clear()  # the key was remembered for a few seconds (test_request_cost: changes made elsewhere)
    assert c.get("/api/v1/customers/").status_code == 401
    ApiKey.objects.filter(pk=c.key.pk).update(expires_at=None, revoked_at=timezone.now())
    cache.clear()
    r = c.get("/api/v1/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_scoping_salesperson_and_customer_limited_keys(company, customer, other_customer, finance, api):
    _doc(company, customer, finance)
    east = api("sales_east")
    ids = [c["id"] for c in east.get("/api/v1/customers/").json()["results"]]
    assert ids == [customer.pk]
    assert east.get(f"/api/v1/customers/{other_customer.pk}/").status_code == 404
    limited = api("finance", customer=other_customer)
    assert [c["id"] for c in limited.get("/api/v1/customers/").json()["results"]] == [other_customer.pk]
    assert limited.get(f"/api/v1/customers/{customer.pk}/").status_code == 404
    assert limited.get("/api/v1/documents/").json()["count"] == 0


def test_role_limited_key_cannot_post(company, customer, api):
    c = api("finance", role="auditor")
    r = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": "10.00", "date": "2026-01-05"}, format="json")
    assert r.status_code == 403
    assert not Credit.objects.exists()


def test_post_document_with_instalments_and_pay_it(company, customer, api):
    c = api()
    r = c.post("/api/v1/documents/", {
        "customer": customer.pk, "document_date": "2026-01-05", "total": "1000.00", "number": "SO-1",
        "instalments": [{"due_date": "2026-02-04", "amount": "300.00"}, {"due_date": "2026-03-06", "amount": "700.00"}],
    }, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert [i["amount"] for i in body["instalments"]] == ["300.00", "700.00"]
    r = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": "500.00", "date": "2026-02-01",
                                      "method": "transfer"}, format="json")
    assert r.status_code == 201 and r.json()["unapplied_amount"] == "0.00"
    doc = c.get(f"/api/v1/documents/{body['id']}/").json()
    assert [i["open_amount"] for i in doc["instalments"]] == ["0.00", "500.00"]


def test_errors_use_one_envelope_and_change_nothing(company, customer, other_customer, finance, api):
    doc = _doc(company, customer, finance, "100.00")
    c = api()
    pay = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": "80.00", "date": "2026-02-01",
                                        "auto_allocate": False}, format="json").json()
    inst = doc.instalments.get()
    r = c.post(f"/api/v1/payments/{pay['id']}/allocations/", {"allocations": [{"instalment": inst.pk, "amount": "90.00"}]},
               format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "over_allocation"
    r = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": 10.5, "date": "2026-02-01"}, format="json")
    assert r.status_code == 422 and "amount" in r.json()["error"]["fields"]
    r = c.post("/api/v1/payments/", {"customer": customer.pk, "amount": "1.005", "date": "2026-02-01"}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_amount"
    r = c.post("/api/v1/documents/", {"customer": customer.pk, "document_date": "2026-13-01", "total": "1"}, format="json")
    assert r.status_code == 422 and "document_date" in r.json()["error"]["fields"]
    assert Credit.objects.count() == 1 and ReceivableDocument.objects.count() == 1


def test_idempotency_replays_and_refuses_a_different_body(company, customer, api):
    c = api()
    body = {"customer": customer.pk, "amount": "50.00", "date": "2026-02-01"}
    r1 = c.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    r2 = c.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json() and r2["Idempotent-Replayed"] == "true"
    assert Credit.objects.count() == 1
    r3 = c.post("/api/v1/payments/", {**body, "amount": "60.00"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert r3.status_code == 422 and r3.json()["error"]["code"] == "idempotency_key_reused"
    assert Credit.objects.count() == 1


def test_failed_request_releases_its_idempotency_key(company, customer, api):
    c = api()
    bad = {"customer": customer.pk, "amount": "50.00", "date": "2026-02-01", "currency": "USD"}
    assert c.post("/api/v1/payments/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 422
    good = {**bad, "currency": "CNY"}
    assert c.post("/api/v1/payments/", good, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_customer_create_patch_with_version(company, users, api, net30):
    c = api("finance")
    r = c.post("/api/v1/customers/", {"code": "API1", "name": "北京接口科技有限公司", "payment_terms": "N30",
                                       "owner": "sales_east"}, format="json")
    assert r.status_code == 201, r.json()
    cid, version = r.json()["id"], r.json()["version"]
    r = c.patch(f"/api/v1/customers/{cid}/", {"region": "华北", "version": version}, format="json")
    assert r.status_code == 200 and r.json()["region"] == "华北"
    stale = c.patch(f"/api/v1/customers/{cid}/", {"region": "华东", "version": version}, format="json")
    assert stale.status_code == 409
    bad = c.post("/api/v1/customers/", {"code": "API2", "name": "x", "credit_code": "91350100M000100Y44"}, format="json")
    assert bad.status_code == 422 and "credit_code" in bad.json()["error"]["fields"]
    r = c.post(f"/api/v1/customers/{cid}/contacts/", {"name": "王经理", "phone": "13800138000"}, format="json")
    assert r.status_code == 201 and r.json()["phone"] == "+8613800138000"


def test_schema_and_docs_are_served_locally(client, users):
    client.force_login(users["finance"])
    r = client.get("/api/v1/schema/")
    assert r.status_code == 200 and b"/api/v1/payments/" in r.content
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


def test_apikey_command(company, users, capsys, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("apikey", "create", "--user", "finance", "--name", "erp")
    raw = capsys.readouterr().out.strip()
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get("/api/v1/payments/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the revocation forgets the remembered key on commit
        call_command("apikey", "revoke", raw.split("_")[1])
    assert c.get("/api/v1/payments/").status_code == 401


def test_aging_and_statement_endpoints(company, customer, other_customer, finance, api):
    _doc(company, customer, finance, "1000.00")
    _doc(company, other_customer, finance, "5.00")
    c = api()
    r = c.get("/api/v1/aging/?as_of=2026-04-30&group_by=customer")
    assert r.status_code == 200 and r.json()["total"] == "1005.00"
    assert c.get("/api/v1/aging/?as_of=2026-99-01").status_code == 422
    assert c.get("/api/v1/aging/?edges=9,3").status_code == 422
    limited = api("finance", customer=other_customer)
    assert limited.get("/api/v1/aging/?as_of=2026-04-30").json()["total"] == "5.00"
    st = c.get(f"/api/v1/customers/{customer.pk}/statement/?from=2026-01-01&to=2026-03-31").json()
    assert st["closing"] == "1000.00" and st["closing_words"] == "人民币壹仟元整"
    pdf = c.get(f"/api/v1/customers/{customer.pk}/statement/?format=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert limited.get(f"/api/v1/customers/{customer.pk}/statement/").status_code == 404


def test_out_of_range_ids_and_nul_characters_are_client_errors(company, customer, api, client, users):
    c = api()
    assert c.get(f"/api/v1/payments/?customer={2**70}").status_code == 200
    assert c.get(f"/api/v1/customers/{2**70}/").status_code == 404
    r = c.post("/api/v1/payments/", {"customer": 2**70, "amount": "1.00", "date": "2026-01-01"}, format="json")
    assert r.status_code == 422
    assert c.get("/api/v1/customers/?q=a%00b").status_code == 422
    client.force_login(users["finance"])
    assert client.get("/customers/?q=a%00b").status_code == 400


def test_aging_pages_and_open_documents_filter(api, company, finance):
    """Aging by customer in pages (row_count covers all groups); ?open=true lists documents with an open instalment."""
    import datetime as dt
    from decimal import Decimal as D

    from huikuan.customers.models import Customer
    from huikuan.ledger import services as ls

    custs = [Customer.objects.create(company=company, code=f"AGP{i}", name=f"分页客户{i}") for i in range(3)]
    docs = [ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5), total=D(100 * (i + 1)),
                             actor=finance) for i, c in enumerate(custs)]
    ls.record_payment(company=company, customer_id=custs[0].pk, amount=D(100), date=dt.date(2026, 1, 6), actor=finance)
    c = api()
    full = c.get("/api/v1/aging/?as_of=2026-02-01&group_by=customer").json()
    page2 = c.get("/api/v1/aging/?as_of=2026-02-01&group_by=customer&page_size=1&page=2").json()
    assert full["row_count"] == page2["row_count"] == len(full["rows"])
    assert page2["rows"] == full["rows"][1:2] and page2["totals"] == full["totals"]
    numbers = {d["number"] for d in c.get("/api/v1/documents/?open=true&page_size=500").json()["results"]}
    assert docs[1].number in numbers and docs[2].number in numbers and docs[0].number not in numbers
