"""Credit endpoints: credit checks (with and without reserving an order), orders, third-party reports."""

from decimal import Decimal as D

import pytest

from huikuan.credit import services
from huikuan.credit.models import CreditProfile, OrderStatus, SalesOrder, ThirdPartyReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(company, customer):
    services.policy_of(company)
    return CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"), grade="A")


def test_credit_check_without_reservation(api, customer, limited):
    c = api("sales_east")
    r = c.post("/api/v1/credit-checks", {"customer": customer.pk, "amount": "1200.00"}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["outcome"] == "hold" and body["available"] == "1000.00" and body["order"] is None
    assert body["reasons"][0]["code"] == "over_limit" and "200.00" in body["reasons"][0]["message"]
    assert not SalesOrder.objects.exists()


def test_credit_check_reserves_an_order_idempotently(api, customer, limited):
    c = api("sales_east")
    body = {"customer": customer.pk, "amount": "800.00", "order_reference": "ERP-1"}
    r1 = c.post("/api/v1/credit-checks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    r2 = c.post("/api/v1/credit-checks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert r1.status_code == r2.status_code == 201
    assert r2["Idempotent-Replayed"] == "true" and r1.json() == r2.json()
    assert r1.json()["order_status"] == "open" and SalesOrder.objects.count() == 1
    r3 = c.post("/api/v1/credit-checks/", {**body, "amount": "900.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert r3.status_code == 422
    r4 = c.post("/api/v1/credit-checks/", {**body, "order_reference": "ERP-2", "amount": "300"}, format="json")
    assert r4.json()["outcome"] == "hold" and r4.json()["order_status"] == OrderStatus.HELD


def test_credit_check_errors(api, customer, other_customer, limited):
    c = api("sales_east")
    assert c.post("/api/v1/credit-checks", {"customer": other_customer.pk, "amount": "1"}, format="json").status_code == 404
    r = c.post("/api/v1/credit-checks", {"customer": customer.pk, "amount": 1.5}, format="json")
    assert r.status_code == 422 and "amount" in r.json()["error"]["fields"]
    r = api("auditor").post("/api/v1/credit-checks", {"customer": customer.pk, "amount": "1", "order_reference": "X"},
                            format="json")
    assert r.status_code == 403 and not SalesOrder.objects.exists()


def test_orders_list_create_and_close(api, customer, limited):
    c = api("sales_east")
    r = c.post("/api/v1/orders/", {"customer": customer.pk, "reference": "SO-1", "amount": "500"}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "open"
    pk = r.json()["id"]
    assert c.get("/api/v1/orders/").json()["count"] == 1
    r = c.patch(f"/api/v1/orders/{pk}/", {"status": "invoiced"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "invoiced"
    assert api("sales_west").get(f"/api/v1/orders/{pk}/").status_code == 404


def test_reports_by_api_unknown_customer_refused(api, customer):
    c = api("credit_manager")
    r = c.post("/api/v1/credit-reports/", {"customer_code": "NOPE", "provider": "企查查", "report_date": "2026-03-01",
                                           "score": 70}, format="json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_customer"
    r = c.post("/api/v1/credit-reports/", {"customer_code": customer.code, "provider": "企查查",
                                           "report_date": "2026-03-01", "score": 70, "rating": "A"}, format="json")
    assert r.status_code == 201 and ThirdPartyReport.objects.get().source == "api"
    assert c.get("/api/v1/credit-reports/").json()["count"] == 1
    assert api("sales_east").post("/api/v1/credit-reports/", {"customer": customer.pk, "provider": "x",
                                                              "report_date": "2026-03-01"}, format="json").status_code == 403


def test_held_order_cannot_be_patched_to_invoiced(api, customer, limited):
    c = api("sales_east")
    held = c.post("/api/v1/orders/", {"customer": customer.pk, "reference": "ERP-H", "amount": "5000.00"}, format="json")
    assert held.status_code == 201 and held.json()["status"] == OrderStatus.HELD
    r = c.patch(f"/api/v1/orders/{held.json()['id']}/", {"status": "invoiced"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "order_on_hold"
    assert SalesOrder.objects.get(pk=held.json()["id"]).status == OrderStatus.HELD
    r = c.patch(f"/api/v1/orders/{held.json()['id']}/", {"status": "cancelled"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == OrderStatus.CANCELLED
