"""The customer list's capped count (a search's or the plain list's) is remembered for a few seconds (issue 19): the
next pages and the next calls of the same caller with the same filters skip the count statement; a count under the
cap is always taken anew."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.api.views import CustomerList, Pagination
from huikuan.customers import services

pytestmark = pytest.mark.django_db

NAMES = [("A001", "上海华东机械有限公司"), ("A002", "杭州西湖贸易有限公司"), ("A003", "宁波东海五金有限公司"),
         ("A004", "Marshall Trading"), ("A005", "上海浦东物流有限公司"), ("A006", "成都西部物流有限公司")]


@pytest.fixture
def customers(company, users, monkeypatch):
    for code, name in NAMES:
        services.create_customer(company=company, actor=users["admin"], code=code, name=name, owner=users["sales_east"])
    monkeypatch.setattr(Pagination, "count_cap", 2)  # "有限公司" (5 customers) is past it, "上海" (2) is not


def _get(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/customers/", params)
    assert response.status_code == 200, response.content
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    return response.json(), len(counts)


def test_a_capped_count_is_taken_once_then_remembered(api, customers):
    c = api()
    first, counted = _get(c, q="有限公司", page_size=1)
    assert counted == 1
    assert (first["count"], first["count_capped"]) == (3, True)
    again, counted = _get(c, q="有限公司", page_size=1)
    assert counted == 0
    assert again == first
    second_page, counted = _get(c, q="有限公司", page_size=1, page=2)
    assert counted == 0
    assert (second_page["count"], second_page["count_capped"]) == (3, True)
    assert second_page["results"][0]["code"] == "A002"
    # a page past the counted rows counts further (another limit) and is remembered under it
    fifth, counted = _get(c, q="有限公司", page_size=1, page=5)
    assert counted == 1
    assert (fifth["count"], fifth["count_capped"], fifth["results"][0]["code"]) == (5, False, "A006")


def test_a_count_under_the_cap_is_always_taken(api, customers):
    c = api()
    for _ in range(2):
        body, counted = _get(c, q="上海", page_size=1)
        assert counted == 1
        assert (body["count"], body["count_capped"]) == (2, False)


def test_other_filters_and_other_callers_count_for_themselves(api, customers, users):
    finance = api()
    _get(finance, q="有限公司", page_size=1)
    body, counted = _get(finance, q="有限公司", page_size=1, status="suspended")
    assert counted == 1
    assert (body["count"], body["count_capped"]) == (0, False)
    # another user's key (a salesperson sees only their own customers: none here)
    body, counted = _get(api("sales_west"), q="有限公司", page_size=1)
    assert counted == 1
    assert (body["count"], body["count_capped"]) == (0, False)
    # a key limited to one customer
    one = services.create_customer(company=finance.key.company, actor=users["admin"], code="A007",
                                   name="厦门海沧有限公司", owner=users["sales_east"])
    body, counted = _get(api(customer=one), q="有限公司", page_size=1)
    assert counted == 1
    assert (body["count"], body["count_capped"], body["results"][0]["code"]) == (1, False, "A007")


def test_the_list_without_a_search_remembers_its_capped_count_too(api, customers):
    c = api()
    body, counted = _get(c, page_size=1)
    assert counted == 1
    assert (body["count"], body["count_capped"]) == (3, True)
    again, counted = _get(c, page_size=1)
    assert counted == 0
    assert again == body
    _body, counted = _get(c, page_size=1, status="suspended")  # other filters: counted for themselves
    assert counted == 1


def test_nothing_is_remembered_when_the_seconds_are_zero(api, customers, monkeypatch):
    monkeypatch.setattr(CustomerList, "count_seconds", 0)
    c = api()
    for _ in range(2):
        _body, counted = _get(c, q="有限公司", page_size=1)
        assert counted == 1
