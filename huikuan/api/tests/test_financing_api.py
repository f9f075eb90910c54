"""Receivables financing over the API: eligible list, mark (amounts, all or nothing), read, release; scope."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common import clock
from huikuan.integrations.models import FinancedItem
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(company, customer, other_customer, finance):
    today = clock.today(company)
    a = ledger.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=5),
                             total=D("1000.00"), actor=finance)  # due in 25 days
    b = ledger.post_document(company=company, customer_id=other_customer.pk, document_date=today,
                             total=D("2000.00"), actor=finance)  # due in 30 days
    return a.instalments.get(), b.instalments.get()


def test_financing_api(api, company, items):
    a, b = items
    c = api("finance")
    r = c.get("/api/v1/financing/eligible/")
    assert r.status_code == 200 and [x["instalment_id"] for x in r.json()["results"]] == [a.pk, b.pk]
    assert [x["instalment_id"] for x in c.get("/api/v1/financing/eligible/?max_days=27").json()["results"]] == [a.pk]
    assert c.get("/api/v1/financing/eligible/?confirmed=true").json()["results"] == []
    assert c.get("/api/v1/financing/eligible/?max_days=x").status_code == 200  # a bad number takes the default

    body = {"bank": "中国银行", "reference": "BL-1", "financed_on": str(clock.today(company)),
            "items": [{"instalment_id": a.pk, "amount": "600.00"}, {"instalment_id": b.pk, "amount": "2000.01"}]}
    r = c.post("/api/v1/financing/items/", body, format="json")
    assert r.status_code == 422 and not FinancedItem.objects.exists()  # all or nothing
    body["items"][1] = {"instalment_id": b.pk}
    r = c.post("/api/v1/financing/items/", body, format="json")
    assert r.status_code == 201
    got = {x["instalment_id"]: x for x in r.json()["items"]}
    assert got[a.pk]["amount"] == "600.00" and got[b.pk]["amount"] == "2000.00" and got[a.pk]["reference"] == "BL-1"
    assert c.post("/api/v1/financing/items/", body, format="json").status_code == 422  # financed already
    body["financed_on"] = str(clock.today(company) + dt.timedelta(days=1))
    body["items"] = [{"instalment_id": 10**8}]
    assert c.post("/api/v1/financing/items/", body, format="json").status_code == 404
    assert c.get("/api/v1/financing/eligible/").json()["results"] == []

    pk = got[a.pk]["id"]
    assert c.get(f"/api/v1/financing/items/{pk}/").json()["bank"] == "中国银行"
    assert c.post(f"/api/v1/financing/items/{pk}/release/", {}, format="json").status_code == 422
    r = c.post(f"/api/v1/financing/items/{pk}/release/", {"reason": "银行退回"}, format="json")
    assert r.status_code == 200 and r.json()["released_on"] == str(clock.today(company))
    assert c.post(f"/api/v1/financing/items/{pk}/release/", {"reason": "again"}, format="json").status_code == 422
    assert [x["id"] for x in c.get("/api/v1/financing/items/").json()["results"]] == [got[b.pk]["id"]]
    assert len(c.get("/api/v1/financing/items/?released=true").json()["results"]) == 2
    assert [x["instalment_id"] for x in c.get("/api/v1/financing/eligible/").json()["results"]] == [a.pk]


def test_financing_api_permissions_and_scope(api, company, customer, items):
    a, b = items
    assert api("collector").get("/api/v1/financing/eligible/").status_code == 403
    assert api("collector").get("/api/v1/financing/items/").status_code == 403
    scoped = api("finance", customer=customer)  # a key limited to one customer sees only its items
    assert [x["instalment_id"] for x in scoped.get("/api/v1/financing/eligible/").json()["results"]] == [a.pk]
    body = {"bank": "x", "financed_on": str(clock.today(company)), "items": [{"instalment_id": b.pk}]}
    assert scoped.post("/api/v1/financing/items/", body, format="json").status_code == 404
    r = api("finance").post("/api/v1/financing/items/", body, format="json")
    assert scoped.get(f"/api/v1/financing/items/{r.json()['items'][0]['id']}/").status_code == 404
