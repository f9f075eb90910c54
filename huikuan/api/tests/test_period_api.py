"""``/api/v1/periods/``: the lock date and history; close (finance) and reopen (administrators, with a reason)."""

import pytest

pytestmark = pytest.mark.django_db


def test_api_close_reopen_and_history(api, company):
    r = api("finance").post("/api/v1/periods/close/", {"month": "2026-01"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["lock_date"] == "2026-01-31"
    r = api("finance").post("/api/v1/periods/reopen/", {"month": "2026-01", "reason": "x"}, format="json")
    assert r.status_code == 403
    r = api("admin").post("/api/v1/periods/reopen/", {"month": "2026-01", "reason": ""}, format="json")
    assert r.status_code == 422
    r = api("admin").post("/api/v1/periods/reopen/", {"month": "2026-01", "reason": "补录"}, format="json")
    assert r.status_code == 201 and r.json()["lock_date"] == "2025-12-31"
    body = api("auditor").get("/api/v1/periods/").json()
    assert [h["action"] for h in body["history"]] == ["reopen", "close"] and body["history"][0]["reason"] == "补录"
    assert api("salesperson").get("/api/v1/periods/").status_code == 403
    r = api("finance").post("/api/v1/periods/close/", {"month": "2026-13"}, format="json")
    assert r.status_code == 422
