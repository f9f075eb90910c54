"""Issue 18 (apiops): credit profiles and scores (read), the customer's credit hold and its release, decisions
on held orders, and credit requests with their maker-checker approval — same services, rules and scope as the
credit screens."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.credit import services
from huikuan.credit.models import CreditProfile, CreditRequest, OrderStatus, SalesOrder, ScoreSnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(company, customer):
    services.policy_of(company)
    return CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"), grade="A")


def test_profiles_and_scores_read_scoped(company, customer, other_customer, limited, api):
    CreditProfile.objects.create(company=company, customer=other_customer, limit_amount=D("5"), grade="C")
    version = services.active_scorecard(company)
    ScoreSnapshot.objects.create(company=company, customer=customer, as_of=dt.date(2026, 1, 31), version=version,
                                 score=71, grade="B", factors={"dso": 40}, points={"dso": 12})
    c = api("credit_manager")
    rows = c.get("/api/v1/credit-profiles/").json()["results"]
    assert [r["customer"] for r in rows] == [customer.pk, other_customer.pk]
    one = c.get(f"/api/v1/customers/{customer.pk}/credit-profile/").json()
    assert one["limit_amount"] == "1000.00" and one["grade"] == "A" and one["on_hold"] is False
    scores = c.get(f"/api/v1/customers/{customer.pk}/scores/").json()["results"]
    assert [(x["score"], x["grade"], x["factors"]) for x in scores] == [(71, "B", {"dso": 40})]
    assert c.get("/api/v1/credit-profiles/", {"on_hold": "perhaps"}).status_code == 422
    west = api("sales_west")
    assert [r["customer"] for r in west.get("/api/v1/credit-profiles/").json()["results"]] == [other_customer.pk]
    assert west.get(f"/api/v1/customers/{customer.pk}/credit-profile/").status_code == 404
    assert west.get(f"/api/v1/customers/{customer.pk}/scores/").status_code == 404


def test_hold_placed_and_released_with_reasons(company, customer, limited, api):
    c = api("credit_manager")
    mark = timezone.now()
    r = c.post(f"/api/v1/customers/{customer.pk}/credit-hold/", {"reason": "逾期超过90天"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["on_hold"] is True and r.json()["hold_reason"] == "逾期超过90天" and r.json()["hold_source"] == "manual"
    held = c.get("/api/v1/credit-profiles/", {"on_hold": "true"}).json()["results"]
    assert [x["customer"] for x in held] == [customer.pk]
    assert [x["customer"] for x in c.get("/api/v1/credit-profiles/", {"updated_since": mark.isoformat()})
            .json()["results"]] == [customer.pk]
    # new orders are held while it lasts
    order = c.post("/api/v1/orders/", {"customer": customer.pk, "reference": "SO-H1", "amount": "10.00"},
                   format="json").json()
    assert order["status"] == OrderStatus.HELD
    # refusals: no reason; a role without credit.hold; out of scope
    assert c.post(f"/api/v1/customers/{customer.pk}/credit-hold/release/", {"reason": ""},
                  format="json").status_code == 422
    assert api("finance").post(f"/api/v1/customers/{customer.pk}/credit-hold/release/", {"reason": "付清"},
                               format="json").status_code == 403
    assert api("sales_west").post(f"/api/v1/customers/{customer.pk}/credit-hold/", {"reason": "x"},
                                  format="json").status_code == 404
    assert CreditProfile.objects.get(pk=limited.pk).on_hold
    done = c.post(f"/api/v1/customers/{customer.pk}/credit-hold/release/", {"reason": "已付清"}, format="json")
    assert done.status_code == 200 and done.json()["on_hold"] is False and done.json()["hold_reason"] is None
    again = c.post(f"/api/v1/customers/{customer.pk}/credit-hold/release/", {"reason": "已付清"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_on_hold"


def test_held_order_decisions(company, customer, limited, api):
    sales = api("sales_east")
    held = sales.post("/api/v1/orders/", {"customer": customer.pk, "reference": "SO-9", "amount": "1500.00"},
                      format="json").json()
    assert held["status"] == OrderStatus.HELD
    cm = api("credit_manager")
    url = f"/api/v1/orders/{held['id']}/decision/"
    assert sales.post(url, {"action": "release", "reason": "老客户"}, format="json").status_code == 403
    assert cm.post(url, {"action": "release", "reason": ""}, format="json").status_code == 422
    assert cm.post(url, {"action": "partial", "reason": "先放一部分", "amount": "1500.00"},
                   format="json").status_code == 422
    assert cm.post(url, {"action": "explode", "reason": "x"}, format="json").status_code == 422
    r = cm.post(url, {"action": "partial", "reason": "先放一部分", "amount": "600.00"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == OrderStatus.OPEN and r.json()["amount"] == "600.00"
    rest = SalesOrder.objects.exclude(pk=held["id"]).get()
    assert rest.status == OrderStatus.HELD and rest.amount == D("900.00")
    assert cm.post(url, {"action": "reject", "reason": "x"}, format="json").status_code == 409
    assert api("sales_west").post(f"/api/v1/orders/{rest.pk}/decision/", {"action": "reject", "reason": "x"},
                                  format="json").status_code == 404


def test_credit_request_maker_checker(company, customer, limited, api):
    sales = api("sales_east")
    body = {"customer": customer.pk, "kind": "limit", "limit_amount": "3000.00", "reason": "年底备货"}
    r = sales.post("/api/v1/credit-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="cr-1")
    assert r.status_code == 201, r.content
    req = r.json()
    assert req["status"] == "pending" and req["channel"] == "api" and req["requested_by"] == "sales_east"
    again = sales.post("/api/v1/credit-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="cr-1")
    assert again.json()["id"] == req["id"] and CreditRequest.objects.count() == 1
    # the screen's refusals, nothing recorded
    assert sales.post("/api/v1/credit-requests/", {**body, "reason": ""}, format="json").status_code == 422
    assert sales.post("/api/v1/credit-requests/", {**body, "kind": "hold_release"},
                      format="json").status_code == 422  # not on hold
    assert sales.post("/api/v1/credit-requests/", {**body, "kind": "terms", "payment_terms": "NOPE"},
                      format="json").status_code == 422
    assert api("auditor").post("/api/v1/credit-requests/", body, format="json").status_code == 403
    assert api("sales_west").post("/api/v1/credit-requests/", body, format="json").status_code == 404
    assert CreditRequest.objects.count() == 1
    url = f"/api/v1/credit-requests/{req['id']}/decision/"
    assert sales.post(url, {"approve": True}, format="json").status_code == 403  # no credit.approve
    mark = timezone.now()
    decided = api("credit_manager").post(url, {"approve": True, "note": "同意"}, format="json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] in ("approved", "partly")
    listed = api("credit_manager").get("/api/v1/credit-requests/", {"updated_since": mark.isoformat()})
    assert [x["id"] for x in listed.json()["results"]] == [req["id"]]
    assert api("sales_west").get(f"/api/v1/credit-requests/{req['id']}/").status_code == 404
    assert api("credit_manager").get("/api/v1/credit-requests/", {"status": "nope"}).status_code == 422
