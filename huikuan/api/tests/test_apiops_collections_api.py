"""Issue 18 (apiops): payment plans, the contact log, tasks and escalation cases through the API — the same
services, permissions and scope as the collections screens, with sync and the refusals of the screens."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.collections import services as coll
from huikuan.collections.models import Activity, PaymentPlan, Promise, Task
from huikuan.common import clock
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_items(company, customer, finance):
    today = clock.today(company)
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=60),
                               total=D("900.00"), actor=finance)
    return today, list(Instalment.objects.filter(document=doc).order_by("pk"))


def test_plan_requested_by_one_decided_by_another(company, customer, users, open_items, api):
    today, items = open_items
    maker, checker = api("collector"), api("finance")
    body = {"customer": customer.pk, "instalments": [i.pk for i in items], "note": "客户资金紧张",
            "lines": [{"due_date": (today + dt.timedelta(days=30)).isoformat(), "amount": "450.00"},
                      {"due_date": (today + dt.timedelta(days=60)).isoformat(), "amount": "450.00"}]}
    r = maker.post("/api/v1/payment-plans/", body, format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    assert r.status_code == 201, r.content
    plan = r.json()
    assert plan["status"] == "pending" and plan["total_amount"] == "900.00" and plan["requested_by"] == "collector"
    assert [x["amount"] for x in plan["lines"]] == ["450.00", "450.00"] and plan["decided_by"] is None
    again = maker.post("/api/v1/payment-plans/", body, format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    assert again.json()["id"] == plan["id"] and PaymentPlan.objects.count() == 1
    # the requester cannot decide; a collector may not approve at all
    own = api("finance")
    assert maker.post(f"/api/v1/payment-plans/{plan['id']}/decision/", {"approve": True},
                      format="json").status_code == 403
    mark = timezone.now()
    r = checker.post(f"/api/v1/payment-plans/{plan['id']}/decision/", {"approve": True, "note": "同意"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["decided_by"] == "finance"
    assert Instalment.objects.filter(plan_id=plan["id"]).count() == 2
    again = own.post(f"/api/v1/payment-plans/{plan['id']}/decision/", {"approve": False}, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"]
    synced = checker.get("/api/v1/payment-plans/", {"updated_since": mark.isoformat()}).json()["results"]
    assert [p["id"] for p in synced] == [plan["id"]]
    assert checker.get(f"/api/v1/payment-plans/{plan['id']}/").json()["status"] == "active"
    assert api("sales_west").get(f"/api/v1/payment-plans/{plan['id']}/").status_code == 404
    assert api("sales_west").get("/api/v1/payment-plans/").json()["results"] == []


def test_plan_refusals_write_nothing(company, customer, other_customer, finance, open_items, api):
    today, items = open_items
    c = api("collector")
    line = {"due_date": (today + dt.timedelta(days=30)).isoformat(), "amount": "900.00"}
    short = c.post("/api/v1/payment-plans/", {"customer": customer.pk, "instalments": [items[0].pk],
                                              "lines": [{**line, "amount": "100.00"}]}, format="json")
    assert short.status_code == 422 and short.json()["error"]["code"] == "invalid_plan"
    past = c.post("/api/v1/payment-plans/", {"customer": customer.pk, "instalments": [items[0].pk],
                                             "lines": [{**line, "due_date": "2000-01-01"}]}, format="json")
    assert past.status_code == 422
    none = c.post("/api/v1/payment-plans/", {"customer": customer.pk, "instalments": [], "lines": [line]},
                  format="json")
    assert none.status_code == 422 and "instalments" in none.json()["error"]["fields"]
    foreign = c.post("/api/v1/payment-plans/", {"customer": other_customer.pk, "instalments": [items[0].pk],
                                                "lines": [line]}, format="json")
    assert foreign.status_code == 422
    west = api("sales_west").post("/api/v1/payment-plans/", {"customer": customer.pk, "instalments": [items[0].pk],
                                                             "lines": [line]}, format="json")
    assert west.status_code == 404
    assert api("auditor").post("/api/v1/payment-plans/", {"customer": customer.pk, "instalments": [items[0].pk],
                                                          "lines": [line]}, format="json").status_code == 403
    assert PaymentPlan.objects.count() == 0


def test_activity_with_a_promise_and_the_contact_log(company, customer, open_items, api):
    today, items = open_items
    c = api("collector")
    body = {"customer": customer.pk, "kind": "call", "outcome": "promised", "note": "答应月底付款",
            "contact_name": "王经理", "next_action_date": (today + dt.timedelta(days=3)).isoformat(),
            "promise_amount": "300.00", "promise_date": (today + dt.timedelta(days=10)).isoformat()}
    r = c.post("/api/v1/activities/", body, format="json")
    assert r.status_code == 201, r.content
    got = r.json()
    assert got["outcome"] == "promised" and got["actor"] == "collector" and got["promise"]["amount"] == "300.00"
    assert Promise.objects.filter(customer=customer, amount=D("300.00")).count() == 1
    rows = c.get("/api/v1/activities/", {"customer": customer.pk}).json()["results"]
    assert [a["id"] for a in rows] == [got["id"]]
    assert [a["id"] for a in c.get("/api/v1/activities/", {"updated_since": "2000-01-01"}).json()["results"]] \
        == [got["id"]]
    assert c.get("/api/v1/activities/", {"outcome": "nonsense"}).status_code == 422
    assert api("sales_west").get("/api/v1/activities/").json()["results"] == []
    # the screen's refusals: a past next action, a promise without its date, an unknown outcome
    for bad in ({"next_action_date": "2000-01-01"}, {"promise_date": None}, {"outcome": "maybe"}):
        r = c.post("/api/v1/activities/", {**body, **bad}, format="json")
        assert r.status_code == 422, bad
    assert Activity.objects.count() == 1 and Promise.objects.count() == 1
    assert api("sales_west").post("/api/v1/activities/", body, format="json").status_code == 404
    assert api("auditor").post("/api/v1/activities/", body, format="json").status_code == 403


def test_tasks_created_listed_and_closed(company, customer, users, open_items, api):
    today, _items = open_items
    c = api("collector")
    r = c.post("/api/v1/tasks/", {"customer": customer.pk, "kind": "visit", "due": today.isoformat(),
                                  "owner": "collector", "note": "上门对账"}, format="json")
    assert r.status_code == 201, r.content
    task = r.json()
    assert task["owner"] == "collector" and task["status"] == "open" and task["note"] == "上门对账"
    default = c.post("/api/v1/tasks/", {"customer": customer.pk, "due": today.isoformat()}, format="json").json()
    assert default["owner"] == "sales_east"
    assert [t["id"] for t in c.get("/api/v1/tasks/", {"owner": "me"}).json()["results"]] == [task["id"]]
    assert c.post("/api/v1/tasks/", {"customer": customer.pk, "due": today.isoformat(), "owner": "nobody"},
                  format="json").status_code == 422
    assert c.post("/api/v1/tasks/", {"customer": customer.pk, "kind": "dance", "due": today.isoformat()},
                  format="json").status_code == 422
    assert Task.objects.count() == 2
    mark = timezone.now()
    done = c.post(f"/api/v1/tasks/{task['id']}/complete/", {}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["done_at"]
    twice = c.post(f"/api/v1/tasks/{task['id']}/complete/", {"cancel": True}, format="json")
    assert twice.status_code == 422
    assert [t["id"] for t in c.get("/api/v1/tasks/", {"updated_since": mark.isoformat()}).json()["results"]] \
        == [task["id"]]
    west = api("sales_west")
    assert west.post(f"/api/v1/tasks/{default['id']}/complete/", {}, format="json").status_code == 404
    assert west.get("/api/v1/tasks/").json()["results"] == []
    assert c.get("/api/v1/tasks/", {"due_to": "soon"}).status_code == 422


def test_cases_read_only_and_scoped(company, customer, finance, open_items, api):
    _today, items = open_items
    case = coll.open_case(company=company, customer_id=customer.pk, instalment_ids=[i.pk for i in items],
                          actor=finance, note="移交律所")
    c = api("legal")
    rows = c.get("/api/v1/cases/", {"status": "open"}).json()["results"]
    assert [x["id"] for x in rows] == [case.pk] and rows[0]["claim_amount"] == "900.00"
    one = c.get(f"/api/v1/cases/{case.pk}/").json()
    assert one["number"] == case.number and sorted(one["instalments"]) == sorted(i.pk for i in items)
    assert c.get("/api/v1/cases/", {"status": "nonsense"}).status_code == 422
    assert [x["id"] for x in c.get("/api/v1/cases/", {"updated_since": "2000-01-01"}).json()["results"]] == [case.pk]
    assert api("sales_west").get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert api("finance", customer=customer).get(f"/api/v1/cases/{case.pk}/").status_code == 200
