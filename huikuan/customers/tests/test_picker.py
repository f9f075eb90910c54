"""The customer picker (issue 13): autocomplete by code, name, short name, pinyin (initials and full, any
position), a contact's phone and the 信用代码 — scoped, exact code first, never a capped list."""

import pytest
from django import forms
from django.urls import reverse

from huikuan.customers import selectors, services
from huikuan.customers.models import Customer
from huikuan.customers.picker import CustomerPickerField

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, users):
    made = {}
    for code, name, short, owner, credit in [
        ("E001", "上海华东机械有限公司", "华东机械", "sales_east", "91310000MA1FL0AB3X"),
        ("E002", "杭州西湖贸易有限公司", "", "sales_east", ""),
        ("E0021", "宁波东海五金有限公司", "东海", "sales_east", ""),
        ("W001", "成都西部物流有限公司", "", "sales_west", ""),
    ]:
        made[code] = services.create_customer(company=company, actor=users["admin"], code=code, name=name,
                                              short_name=short, owner=users[owner])
        if credit:
            Customer.objects.filter(pk=made[code].pk).update(credit_code=credit)
    services.add_contact(customer_id=made["E002"].pk, actor=users["admin"], name="王经理", phone="138 0013 8000")
    return made


def _codes(user, company, q, **kw):
    return [c.code for c in selectors.customer_pick(user=user, company=company, q=q, **kw)]


@pytest.mark.parametrize("q, expected", [
    ("E002", ["E002", "E0021"]),            # exact code first, then the codes it begins
    ("e00", ["E001", "E002", "E0021"]),
    ("华东", ["E001"]),                      # name anywhere
    ("东海", ["E0021"]),                      # short name
    ("shhd", ["E001"]),                      # initials from the start
    ("hdjx", ["E001"]),                      # initials at any position
    ("huadong", ["E001"]),                   # full pinyin at any position
    ("HangZhou", ["E002"]),
    ("xihu mao", ["E002"]),                  # spaces typed between syllables
    ("0013 8000", ["E002"]),                 # a contact's phone, as typed
    ("13800138000", ["E002"]),
    ("91310000MA1F", ["E001"]),              # 统一社会信用代码 by prefix
    ("chengdu", []),                         # W001 is another salesperson's: not in scope
    ("zzz", []),
])
def test_pick_matches(users, company, book, q, expected):
    assert _codes(users["sales_east"], company, q) == expected


def test_finance_sees_every_customer_and_the_limit_holds(users, company, book):
    assert _codes(users["finance"], company, "chengdu") == ["W001"]
    assert _codes(users["finance"], company, "youxiangongsi") == ["E001", "E002", "E0021", "W001"]
    assert len(_codes(users["finance"], company, "youxiangongsi", limit=2)) == 2


def test_the_picker_endpoint_is_scoped_json(client, users, company, book):
    url = reverse("web:customer-pick")
    assert client.get(url, {"q": "E0"}).status_code == 302  # sign in first
    client.force_login(users["sales_west"])
    assert client.get(url, {"q": "E0"}).json() == {"results": []}
    body = client.get(url, {"q": "cd"}).json()["results"]
    assert [(r["code"], r["name"], r["status"]) for r in body] == [("W001", "成都西部物流有限公司", "")]
    client.force_login(users["sales_east"])
    assert [r["code"] for r in client.get(url, {"q": "huadong"}).json()["results"]] == ["E001"]
    assert client.get(url, {"q": ""}).json() == {"results": []}


def test_field_resolves_a_code_in_scope_only(users, company, book):
    class F(forms.Form):
        customer = CustomerPickerField()

    scoped = selectors.scoped_customers(user=users["sales_east"], company=company)
    f = F({"customer": "E001"})
    f.fields["customer"].queryset = scoped
    assert f.is_valid() and f.cleaned_data["customer"] == book["E001"]
    f = F({"customer": "W001"})
    f.fields["customer"].queryset = scoped
    assert not f.is_valid() and "customer" in f.errors
    f = F(initial={"customer": book["E002"].pk})
    f.fields["customer"].queryset = scoped
    assert 'value="E002"' in str(f["customer"]) and "data-customer-picker" in str(f["customer"])
    assert reverse("web:customer-pick") in str(f["customer"])


def test_names_keep_their_pinyin_on_rename(users, company, book):
    e = services.update_customer(customer_id=book["E002"].pk, actor=users["admin"], expected_version=book["E002"].version,
                                 name="苏州园林贸易有限公司")
    assert "suzhouyuanlin" in e.name_pinyin
    assert _codes(users["sales_east"], company, "yuanlin") == ["E002"]


def test_a_phone_like_term_keeps_the_index_and_merges_by_code(users, company, book):
    """"B0012"-like input is both a code/name search and a phone search: the phone matches are a statement of
    their own (OR-ed in, they kept the trigram prefilter from being a condition of the query and every customer
    was read — issue 19), merged with the others in code order, within the limit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.customers import search

    services.add_contact(customer_id=book["E001"].pk, actor=users["admin"], name="李", phone="021 6201 0013")
    e9 = services.create_customer(company=company, actor=users["admin"], code="E0090", name="无锡0013机电有限公司",
                                  owner=users["sales_east"])
    with CaptureQueriesContext(connection) as ctx:
        found = _codes(users["sales_east"], company, "0013")
    assert found == ["E001", "E002", "E0090"]  # E001, E002 by a phone; E0090 by its name
    assert _codes(users["sales_east"], company, "0013", limit=2) == ["E001", "E002"]
    assert e9.pk
    marker = (search.search_text_sql("customers_customer") if connection.vendor == "postgresql" else search.FTS_TABLE)
    for x in ctx.captured_queries:
        assert not (marker in x["sql"] and "customers_contact" in x["sql"]), x["sql"]


@pytest.mark.parametrize("frequent", [False, True])
def test_a_frequent_term_is_read_in_code_order(users, company, book, monkeypatch, frequent):
    """Like a list's page (issue 19): once counted through the index, a term found in many customers is read
    with the plain conditions in code order (a scan that stops after the limit); a rare one through the index.
    The rows are the same either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.customers import search

    if frequent:
        monkeypatch.setattr(search, "FREQUENT", 3, raising=False)
    with CaptureQueriesContext(connection) as ctx:
        found = _codes(users["finance"], company, "youxiangongsi", limit=1)
    assert found == ["E001"]
    marker = (search.search_text_sql("customers_customer") if connection.vendor == "postgresql" else search.FTS_TABLE)
    last = [x["sql"] for x in ctx.captured_queries if "customers_customer" in x["sql"]][-1]
    assert "COUNT(" not in last.upper() and (marker in last) is not frequent, last
