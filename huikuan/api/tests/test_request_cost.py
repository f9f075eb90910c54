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
