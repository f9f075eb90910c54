import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, customer, other_customer, finance):
    for c, day, total in ((customer, dt.date(2026, 4, 1), "5000"), (customer, dt.date(2026, 6, 1), "6000"),
                          (customer, dt.date(2026, 6, 20), "4000"), (other_customer, dt.date(2026, 6, 5), "1000")):
        s.post_document(company=company, customer_id=c.pk, document_date=day, total=D(total), actor=finance,
                        schedule=[s.ScheduleInput(due_date=day + dt.timedelta(days=10 if total == "6000" else 30),
                                                  amount=D(total))])


def test_kpis_total_grouped_and_scoped(api, book, customer):
    r = api("finance").get("/api/v1/kpis/", {"period": "2026-06"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == {"start": "2026-06-01", "end": "2026-06-30", "days": 30, "label": "2026-06"}
    assert body["total"]["billed"] == "11000.00" and body["total"]["ar_end"] == "16000.00" and body["rows"] == []
    grouped = api("finance").get("/api/v1/kpis/", {"period": "2026-06", "group_by": "customer"}).json()
    assert [row["label"] for row in grouped["rows"]] == ["C001 上海华东机械有限公司", "C002 广州南方贸易有限公司"]
    first = grouped["rows"][0]["figures"]
    # the DOMAIN.md vector: AR 15,000, current 4,000, sales 10,000 in 30 days
    assert (first["dso"], first["best_dso"], first["add"]) == ("45.00", "12.00", "33.00")
    assert first["collection_rate_due"] is None or first["collection_rate_due"] == "0.00"
    # a salesperson's key sees their own customers only
    east = api("sales_east").get("/api/v1/kpis/", {"period": "2026-06", "group_by": "customer"}).json()
    assert [row["key"] for row in east["rows"]] == [str(customer.pk)] and east["total"]["billed"] == "10000.00"
    west = api("sales_west").get("/api/v1/kpis/", {"period": "2026-06"}).json()
    assert west["total"]["billed"] == "1000.00"
    # a key limited to one customer sees that customer only
    limited = api("finance", customer=customer).get("/api/v1/kpis/", {"period": "2026-06"}).json()
    assert limited["total"]["billed"] == "10000.00"


def test_kpis_period_and_as_of(api, book):
    r = api("finance").get("/api/v1/kpis/", {"period": "2026-06", "as_of": "2026-06-10"}).json()
    assert r["period"]["end"] == "2026-06-10" and r["total"]["billed"] == "7000.00"
    q = api("finance").get("/api/v1/kpis/", {"period": "2026-Q2"}).json()
    assert q["period"]["days"] == 91 and q["total"]["billed"] == "16000.00"


@pytest.mark.parametrize("params", [{"period": "2026-13"}, {"period": "2026-06-30..2026-06-01"},
                                    {"period": "2026-06", "as_of": "2026-05-01"}, {"group_by": "planet"},
                                    {"as_of": "yesterday"}])
def test_kpis_bad_input(api, params):
    r = api("finance").get("/api/v1/kpis/", params)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"


def test_kpis_need_a_key(client):
    assert client.get("/api/v1/kpis/").status_code in (401, 403)
