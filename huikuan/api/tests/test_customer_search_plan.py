"""The API's customer search (issue 19): counted through the trigram prefilter, the first pages of a frequent
term read by a scan in code order with the plain conditions (customers.search.scan_in_order) — same rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.customers import search, services

pytestmark = pytest.mark.django_db

NAMES = [("A001", "上海华东机械有限公司"), ("A002", "杭州西湖贸易有限公司"), ("A003", "宁波东海五金有限公司"),
         ("A004", "Marshall Trading"), ("A005", "上海浦东物流有限公司"), ("A006", "成都西部物流有限公司")]


def _prefiltered(sql: str) -> bool:
    if connection.vendor == "postgresql":
        return search.search_text_sql("customers_customer") in sql or "customer_search_grams" in sql
    return search.FTS_TABLE in sql


@pytest.mark.parametrize("q", ["有限公司", "公司"])
def test_a_frequent_term_is_counted_by_the_index_and_paged_in_code_order(api, company, users, monkeypatch, q):
    for code, name in NAMES:
        services.create_customer(company=company, actor=users["admin"], code=code, name=name, owner=users["sales_east"])
    if search.is_short(q) and connection.vendor == "sqlite":
        pytest.skip("SQLite has no prefilter for one or two characters")
    monkeypatch.setattr(search, "FREQUENT", 3, raising=False)
    c = api()
    expected = [code for code, name in NAMES if q in name]
    seen = []
    for page in range(1, len(expected) + 1):
        with CaptureQueriesContext(connection) as ctx:
            body = c.get("/api/v1/customers/", {"q": q, "page_size": 1, "page": page}).json()
        assert body["count"] == len(expected)
        seen += [row["code"] for row in body["results"]]
        count_sql = next(x["sql"] for x in ctx.captured_queries if "COUNT(" in x["sql"].upper())
        page_sqls = [x["sql"] for x in ctx.captured_queries if "LIMIT 1" in x["sql"] and "COUNT(" not in x["sql"].upper()
                     and 'ORDER BY "customers_customer"."code"' in x["sql"]]
        assert _prefiltered(count_sql)
        in_order = (page) * 4 <= len(expected)
        if in_order:  # read again by the scan in code order, without the prefilter
            assert len(page_sqls) == 1 and not _prefiltered(page_sqls[0]), (page, page_sqls)
        else:  # under the cap: the count's statement read the page's ids through the prefilter (paging.count_and_page)
            assert page_sqls == [] and "OFFSET" in count_sql.upper(), (page, page_sqls, count_sql)
    assert seen == expected
