"""What every API request pays before its view (issue 19: per-request CPU under 20 clients)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huikuan.accounts.models import User
from huikuan.api.auth import KEY_CACHE_SECONDS
from huikuan.api.models import ApiKey
from huikuan.api.services import revoke_api_key

pytestmark = pytest.mark.django_db


def test_the_key_is_found_by_its_prefix_in_one_statement_without_a_sort_then_remembered(api):
    c = api()
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/api/v1/customers/").status_code == 200  # the first call also records last_used_at
    lookups = [q["sql"] for q in ctx.captured_queries if 'FROM "api_apikey"' in q["sql"]]
    assert len(lookups) == 1
    assert "ORDER BY" not in lookups[0]  # the prefix is unique: the model's ordering would only cost CPU
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/api/v1/customers/").status_code == 200
    assert not [q for q in ctx.captured_queries if '"api_apikey"' in q["sql"]]  # remembered: no look-up, no update


def test_a_key_revoked_through_the_service_is_refused_at_once(api, users, django_capture_on_commit_callbacks):
    c = api()
    assert c.get("/api/v1/customers/").status_code == 200  # remembered from here on
    with django_capture_on_commit_callbacks(execute=True):
        revoke_api_key(actor=users["admin"], key_id=c.key.pk)
    r = c.get("/api/v1/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_a_change_made_elsewhere_takes_effect_within_seconds(api, users):
    """Another process revoking the key (the CLI, without a shared cache) or deactivating its user is seen once
    the remembered key expires: within KEY_CACHE_SECONDS."""
    c, d = api(), api("sales_east")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert c.get("/api/v1/customers/").status_code == 200
        assert d.get("/api/v1/customers/").status_code == 200
        ApiKey.objects.filter(pk=c.key.pk).update(revoked_at=start)
        User.objects.filter(pk=users["sales_east"].pk).update(is_active=False)
        clock.shift(dt.timedelta(seconds=KEY_CACHE_SECONDS - 1))
        assert c.get("/api/v1/customers/").status_code == 200  # still remembered: the documented delay
        assert d.get("/api/v1/customers/").status_code == 200
        clock.shift(dt.timedelta(seconds=2))
        assert c.get("/api/v1/customers/").status_code == 401
        assert d.get("/api/v1/customers/").status_code == 401


def test_a_remembered_key_still_expires_on_time(api):
    c = api(expires_in_days=1)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert c.get("/api/v1/customers/").status_code == 200
        clock.shift(c.key.expires_at - start + dt.timedelta(seconds=1))  # remembered, but past its expiry
        r = c.get("/api/v1/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_a_page_s_rows_are_read_unsorted_and_put_in_the_page_s_order(api, company, users):
    from huikuan.customers import services

    for code in ("B002", "B003", "B001"):
        services.create_customer(company=company, actor=users["admin"], code=code, name=f"客户{code}")
    c = api()
    with CaptureQueriesContext(connection) as ctx:
        body = c.get("/api/v1/customers/").json()
    assert [row["code"] for row in body["results"]] == ["B001", "B002", "B003"]
    rows = [q["sql"] for q in ctx.captured_queries if '"customers_customer"."id" IN (' in q["sql"]]
    assert len(rows) == 1
    assert "ORDER BY" not in rows[0]  # the ids' statement sorted them; a second sort would only cost CPU
