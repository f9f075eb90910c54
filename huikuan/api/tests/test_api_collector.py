"""Collector assignment through the API (issue 13): `collector` on the customer is read and set by PATCH, only
by a role that may assign collectors; moved here from collections' tests (the API is a higher layer)."""

import pytest
from rest_framework.test import APIClient

from huikuan.api.services import issue_api_key
from huikuan.common.models import AuditEvent
from huikuan.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_api_reads_and_sets_the_collector(company, customer, users):
    def client(user):
        _key, raw = issue_api_key(actor=users["admin"], user=users[user], company=company, name=f"k-{user}")
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return c

    boss = client("credit_manager")
    url = f"/api/v1/customers/{customer.pk}/"
    version = boss.get(url).json()["version"]
    assert boss.get(url).json()["collector"] is None
    r = boss.patch(url, {"collector": "collector", "version": version}, format="json")
    assert r.status_code == 200 and r.json()["collector"] == "collector"
    assert AuditEvent.objects.filter(verb="customers.collector.assigned", data__channel="api").exists()
    bad = boss.patch(url, {"collector": "sales_east", "version": version}, format="json")
    assert bad.status_code == 422 and "collector" in bad.json()["error"]["fields"]
    assert boss.patch(url, {"collector": None, "version": version - 1}, format="json").status_code == 409
    # a finance key edits customers but does not assign collectors; nothing of the request is written
    r = client("finance").patch(url, {"collector": None, "region": "华北", "version": version}, format="json")
    assert r.status_code == 403
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.collector.username == "collector" and fresh.region != "华北"
    assert client("finance").get("/api/v1/customers/").json()["results"][0]["collector"] == "collector"
