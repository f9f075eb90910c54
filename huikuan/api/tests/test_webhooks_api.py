"""Webhook subscriptions over the API (administrators only); delivery is tested in huikuan/integrations."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def allow_local(settings):
    settings.HUIKUAN_WEBHOOK_ALLOW_PRIVATE = True


def test_api_manages_subscriptions(allow_local, api, company, users):
    c = api("admin")
    r = c.post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x", "events": ["promise.made", "order.decided"]},
               format="json")
    assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
    pk = r.json()["id"]
    assert c.get("/api/v1/webhooks/").json()["count"] == 1
    r = c.post(f"/api/v1/webhooks/{pk}/rotate-secret/", {"overlap_hours": 2}, format="json")
    assert r.status_code == 200 and r.json()["previous_secret_expires_at"]
    r = c.patch(f"/api/v1/webhooks/{pk}/", {"is_active": False}, format="json")
    assert r.json()["is_active"] is False
    assert c.post("/api/v1/webhooks/", {"url": "gopher://x", "events": ["promise.made"]},
                  format="json").status_code == 422
    assert api("finance").get("/api/v1/webhooks/").status_code == 403
    assert c.get(f"/api/v1/webhooks/{pk}/deliveries/").status_code == 200
