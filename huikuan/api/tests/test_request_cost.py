"""What every API request pays before its view (issue 19: per-request CPU under 20 clients)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_the_key_is_found_by_its_prefix_in_one_statement_without_a_sort(api):
    c = api()
    c.get("/api/v1/customers/")  # the first call also records last_used_at
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/api/v1/customers/").status_code == 200
    lookups = [q["sql"] for q in ctx.captured_queries if 'FROM "api_apikey"' in q["sql"]]
    assert len(lookups) == 1
    assert "ORDER BY" not in lookups[0]  # the prefix is unique: the model's ordering would only cost CPU


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
