"""/api/v1/predictions/ (issue 16): the stored predictions, scoped, filtered, synced by updated_since."""

import datetime as dt

import pytest

from huikuan.customers.models import Customer
from huikuan.prediction import services
from huikuan.prediction.models import ItemPrediction
from huikuan.prediction.tests.conftest import load_synthetic

pytestmark = pytest.mark.django_db


def test_predictions_list_filters_scope_and_retrieve(api, company, users, finance):
    load_synthetic(company, finance, n_invoices=900, n_customers=12, seed=5)
    ids = list(Customer.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))
    Customer.objects.filter(pk__in=ids[::2]).update(owner=users["sales_east"])
    Customer.objects.filter(pk__in=ids[1::2]).update(owner=users["sales_west"])
    services.train_model(company=company, as_of=dt.date(2026, 1, 5), actor=finance)
    total = ItemPrediction.objects.count()
    c = api("finance")
    r = c.get("/api/v1/predictions/?page_size=500", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200 and r.data["count"] == min(total, 1000)
    row = r.data["results"][0]
    p = ItemPrediction.objects.select_related("document").get(pk=row["id"])
    assert row["document_number"] == p.document.number and row["p_late"] == str(p.p_late)
    assert row["interval_low"] == p.low_date.isoformat() and row["model_version"] == 1
    assert row["reasons"] and row["reasons"][0]["text"] and row["reasons"][0]["code"]
    zh = c.get(f"/api/v1/predictions/{p.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").data
    assert zh["reasons"][0]["code"] == row["reasons"][0]["code"] and zh["reasons"][0]["text"] != row["reasons"][0]["text"]
    # filters
    r = c.get(f"/api/v1/predictions/?customer={p.customer_id}&page_size=500")
    assert r.data["count"] == ItemPrediction.objects.filter(customer_id=p.customer_id).count()
    assert {x["customer"] for x in r.data["results"]} == {p.customer_id}
    r = c.get(f"/api/v1/predictions/?document={p.document_id}")
    assert {x["document"] for x in r.data["results"]} == {p.document_id}
    assert c.get("/api/v1/predictions/?customer=abc").data["count"] == 0
    # updated_since: everything refreshed since then, in change order with a cursor
    r = c.get("/api/v1/predictions/?updated_since=2000-01-01&page_size=5")
    assert len(r.data["results"]) == 5 and r.data["next_cursor"]
    assert c.get("/api/v1/predictions/?updated_since=2999-01-01").data["count"] == 0
    assert c.get("/api/v1/predictions/?updated_since=yesterday").status_code == 422
    # scope: sales_west sees only their customers' items; another's item is 404
    west = api("sales_west")
    r = west.get("/api/v1/predictions/?page_size=500")
    mine = ItemPrediction.objects.filter(customer__owner=users["sales_west"]).count()
    assert r.data["count"] == min(mine, 1000) and mine < total
    east_item = ItemPrediction.objects.filter(customer__owner=users["sales_east"]).first()
    assert west.get(f"/api/v1/predictions/{east_item.pk}/").status_code == 404
    assert west.get(f"/api/v1/predictions/?customer={east_item.customer_id}").data["count"] == 0
