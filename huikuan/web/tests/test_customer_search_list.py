"""The web customer list's search (issue 19): counted through the trigram prefilter, the first pages of a
frequent term read with the plain conditions in the list's order (customers.selectors.search_page_plan)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.customers import search, selectors, services
from huikuan.web.views import customers as views

pytestmark = pytest.mark.django_db

NAMES = [("A001", "上海华东机械有限公司", "华东机械"), ("A002", "杭州西湖贸易有限公司", ""),
         ("A003", "宁波东海五金有限公司", "东海"), ("A004", "Marshall Trading Co., Ltd.", "Marshall"),
         ("A005", "Shanghai Hua Dong 100% Ltd", "HD_1"), ("A006", "成都西部物流有限公司", "西部"),
         ("SH01", "北京明珠科技有限公司", ""), ("A008", "深圳市南方电子科技有限公司", "南方电子")]


@pytest.fixture
def book(company, users):
    for code, name, short in NAMES:
        services.create_customer(company=company, actor=users["admin"], code=code, name=name, short_name=short,
                                 owner=users["sales_east"])
    return company


def _has_prefilter(sql: str) -> bool:
    if connection.vendor == "postgresql":
        return search.search_text_sql("customers_customer") in sql or "customer_search_grams" in sql
    return search.FTS_TABLE in sql


@pytest.mark.parametrize("q", ["有限公司", "公司", "sh"])
def test_the_web_list_pages_a_frequent_term_without_the_prefilter(client, users, book, monkeypatch, q):
    """Counted through the index; the page read with the plain conditions (the same rows, in order)."""
    monkeypatch.setattr(search, "FREQUENT", 3, raising=False)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(users["finance"])
    expected = [c.code for c in selectors.customer_list(user=users["finance"], company=book, q=q)]
    assert len(expected) >= 3
    shown = []
    for number in range(1, len(expected) + 1):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get("/customers/", {"q": q, "page": number})
        assert r.status_code == 200
        shown += [c.code for c in r.context["page"].object_list]
        pages = [x["sql"] for x in ctx.captured_queries if "LIMIT 1" in x["sql"] and '"code"' in x["sql"]
                 and "COUNT(" not in x["sql"].upper()]
        counts = [x["sql"] for x in ctx.captured_queries if "COUNT(" in x["sql"].upper()
                  and "customers_customer" in x["sql"]]
        assert pages and counts
        if search.is_short(q) and connection.vendor == "sqlite":
            continue  # SQLite has no prefilter for one or two characters
        assert any(_has_prefilter(sql) for sql in counts)
        in_order = search.scan_in_order(count=len(expected), offset=number - 1, limit=1)
        assert _has_prefilter(pages[-1]) is not in_order, (number, pages[-1])
    assert shown == expected

