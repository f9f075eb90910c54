import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.ledger import services as s
from huikuan.prediction import forecast as fc

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def run(company, customer, other_customer, finance):
    for c, day, due_in, total in ((customer, dt.date(2026, 4, 1), 30, "5000.10"),  # overdue on the as-of date
                                  (customer, dt.date(2026, 6, 20), 30, "4000.00"),  # due 07-20: week 3
                                  (other_customer, dt.date(2026, 6, 5), 200, "1000.01")):  # beyond 13 weeks
        s.post_document(company=company, customer_id=c.pk, document_date=day, total=D(total), actor=finance,
                        schedule=[s.ScheduleInput(due_date=day + dt.timedelta(days=due_in), amount=D(total))])
    return fc.build_forecast(company=company, as_of=AS_OF, actor=finance)


def test_forecast_weeks_scoped_grouped(api, run, customer):
    r = api("finance").get("/api/v1/forecast/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["as_of"] == "2026-06-30" and body["source"] == "due_date" and body["open_amount"] == "10000.11"
    assert body["overdue_amount"] == "5000.10" and len(body["weeks"]) == 14
    assert body["weeks"][0]["start"] == "2026-07-01" and body["weeks"][13]["start"] is None
    naive = [w["naive"] for w in body["weeks"]]
    assert naive[0] == "5000.10" and naive[2] == "4000.00" and naive[13] == "1000.01"
    for key in ("p10", "p50", "p90", "naive"):
        assert sum(D(w[key]) for w in body["weeks"]) == D("10000.11")
    grouped = api("finance").get("/api/v1/forecast/", {"group_by": "salesperson", "as_of": "2026-06-30"}).json()
    assert {ln["label"]: ln["total"] for ln in grouped["lines"]} == {"sales_east": "9000.10", "sales_west": "1000.01"}
    assert api("sales_west").get("/api/v1/forecast/").json()["open_amount"] == "1000.01"
    assert api("finance", customer=customer).get("/api/v1/forecast/").status_code == 404


def test_forecast_bad_input(api, run):
    assert api("finance").get("/api/v1/forecast/", {"as_of": "2026-06-29"}).status_code == 404
    assert api("finance").get("/api/v1/forecast/", {"as_of": "30/06/2026"}).status_code == 422
    assert api("finance").get("/api/v1/forecast/", {"group_by": "planet"}).status_code == 422
    assert api("finance").get("/api/v1/forecast/", {"currency": "XXX"}).status_code == 422
