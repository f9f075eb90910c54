"""``GET /api/v1/provisions/``: the suggested bad-debt provision and its movement, for finance-wide roles."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db


def test_provision_api(api, company, customer, finance):
    for day in (dt.date(2026, 6, 1), dt.date(2020, 6, 1)):
        s.post_document(company=company, customer_id=customer.pk, document_date=day, total=D("10000.00"),
                        actor=finance)
    r = api("finance").get("/api/v1/provisions/", {"as_of": "2026-11-30", "months": "2"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["provision"] == "10500.00" and body["balance"] == "20000.00" and len(body["lines"]) == 6
    assert [m["month"] for m in body["movement"]] == ["2026-10", "2026-11"] and body["stored"] is False
    assert api("auditor").get("/api/v1/provisions/", {"as_of": "2026-11-30"}).json()["provision"] == "10500.00"
    assert api("sales_east").get("/api/v1/provisions/").status_code == 403
    assert api("finance").get("/api/v1/provisions/", {"as_of": "2026-13-01"}).status_code == 422
    assert api("finance").get("/api/v1/provisions/", {"months": "99"}).status_code == 422
