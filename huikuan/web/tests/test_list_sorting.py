"""Lists (issue 13): server-side sorting by whitelisted columns, stable with a tie-breaker, keeping the
filters and the export; documents filtered by due date; empty states that say what to do; breadcrumbs.
"""

import datetime as dt
import io
import re
from decimal import Decimal as D

import openpyxl
import pytest
from django.http import QueryDict

from huikuan.common.listing import Sorting, is_filtered
from huikuan.ledger import services as s
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client, users):
    def login(name):
        client.force_login(users[name])
        client.cookies["django_language"] = "en"
        return client

    return login


def _inv(company, customer, actor, total, date, number=""):
    return s.post_document(company=company, customer_id=customer.pk, document_date=date, total=D(total), actor=actor,
                           number=number)


def _numbers(html: str, prefix: str) -> list[str]:
    return re.findall(rf">({prefix}[\w-]+)</a>", html)


def test_sorting_whitelists_keys_and_always_ends_on_the_primary_key():
    sorting = Sorting({"amount": "total_amount", "date": ("document_date", "number")}, default="-date")
    assert sorting.state(QueryDict("sort=amount")).value == "amount"
    assert sorting.state(QueryDict("sort=-amount")).value == "-amount"
    for bad in ("sort=password", "sort=--amount", "sort=customer__owner__password", "sort=", ""):
        assert sorting.state(QueryDict(bad)).value == "-date", bad
    order = [str(o) for o in sorting.order(QueryDict("sort=-date"))]
    assert order == [str(o) for o in sorting.order(QueryDict(""))]
    assert "F(pk)" in order[-1] and "descending=True" in order[-1]  # tie-breaker in the same direction
    assert is_filtered(QueryDict("q=x&page=2")) and not is_filtered(QueryDict("page=2&sort=amount&format=xlsx&q="))


@pytest.fixture
def documents(company, customer, other_customer, finance):
    a = _inv(company, customer, finance, "300.00", dt.date(2026, 1, 10), "INV-A")  # due 02-09 (net 30)
    b = _inv(company, other_customer, finance, "100.00", dt.date(2026, 2, 10), "INV-B")  # due 03-12
    c = _inv(company, customer, finance, "100.00", dt.date(2026, 3, 1), "INV-C")  # due 03-31, same amount as B
    return a, b, c


def test_document_list_sorts_by_every_column_both_ways(as_user, documents):
    c = as_user("finance")
    html = c.get("/documents/").content.decode()
    assert _numbers(html, "INV") == ["INV-C", "INV-B", "INV-A"]  # default: newest first
    assert _numbers(c.get("/documents/?sort=amount").content.decode(), "INV") == ["INV-B", "INV-C", "INV-A"]
    # equal amounts keep one order (the pk, in the sort's direction)
    assert _numbers(c.get("/documents/?sort=-amount").content.decode(), "INV") == ["INV-A", "INV-C", "INV-B"]
    assert _numbers(c.get("/documents/?sort=due").content.decode(), "INV") == ["INV-A", "INV-B", "INV-C"]
    from huikuan.web.views.ledger import DOCUMENT_SORTS

    for key in DOCUMENT_SORTS.columns:
        for direction in ("", "-"):
            r = c.get(f"/documents/?sort={direction}{key}")
            assert r.status_code == 200, key
            assert f'aria-sort="{"descending" if direction else "ascending"}"><a href="?sort=' in r.content.decode()
    # an unknown column is the default order, never an error
    assert _numbers(c.get("/documents/?sort=customer__owner__password").content.decode(), "INV") == [
        "INV-C", "INV-B", "INV-A"]


def test_sort_links_keep_the_filters_and_drop_the_page(as_user, documents):
    c = as_user("finance")
    html = c.get("/documents/?q=INV&kind=invoice&page=1&sort=amount").content.decode()
    link = re.search(r'<a href="\?([^"]+)" data-sort="amount"', html).group(1).replace("&amp;", "&")
    assert QueryDict(link).dict() == {"q": "INV", "kind": "invoice", "sort": "-amount"}  # flips, keeps, no page
    other = re.search(r'<a href="\?([^"]+)" data-sort="date"', html).group(1).replace("&amp;", "&")
    assert QueryDict(other)["sort"] == "-date"  # dates sort newest first on the first click
    # the filter form carries the sort, so filtering keeps the order
    assert '<input type="hidden" name="sort" value="amount">' in html


def test_the_export_has_the_pages_order_and_filters(as_user, documents):
    c = as_user("finance")
    r = c.get("/documents/?sort=amount&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    numbers = [row[0] for row in ws.iter_rows(min_row=2, values_only=True) if row[0] and row[0].startswith("INV")]
    assert numbers == ["INV-B", "INV-C", "INV-A"]
    assert ws.cell(row=1, column=3).value == "Next due"


def test_documents_filter_by_due_date_as_well_as_document_date(as_user, documents, company, finance):
    c = as_user("finance")
    html = c.get("/documents/?due_from=2026-03-01&due_to=2026-03-20").content.decode()
    assert _numbers(html, "INV") == ["INV-B"]  # due 03-12; C is due 03-31, A 02-09
    html = c.get("/documents/?due_from=2026-03-01").content.decode()
    assert _numbers(html, "INV") == ["INV-C", "INV-B"]
    assert 'name="due_from" value="2026-03-01"' in html
    # next due is the earliest *open* instalment: a settled document shows none
    a = documents[0]
    assert Instalment.objects.get(document=a).due_date == dt.date(2026, 2, 9)
    assert "2026-02-09" in c.get("/documents/?q=INV-A").content.decode()
    # a bad date is ignored, not a 500
    assert c.get("/documents/?due_from=2026-13-45").status_code == 200


def test_payment_list_sorts(as_user, company, customer, finance):
    for i, amount in enumerate(("50.00", "70.00", "60.00")):
        s.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=dt.date(2026, 3, 1 + i),
                         actor=finance, method="transfer", reference=f"REF{i}")
    c = as_user("finance")
    html = c.get("/payments/?sort=-amount").content.decode()
    amounts = re.findall(r'<td class="num">([\d,]+\.\d\d)</td><td class="num">', html)
    assert amounts == ["70.00", "60.00", "50.00"]
    assert c.get("/payments/?sort=-unapplied&format=xlsx").status_code == 200


def test_empty_lists_say_what_to_do_with_the_action_the_role_may_take(as_user):
    c = as_user("finance")
    html = c.get("/documents/").content.decode()
    assert "No receivable documents yet" in html and 'href="/documents/new/"' in html
    html = c.get("/documents/?q=nothing-like-this").content.decode()
    assert "No documents match these filters." in html and "Clear the filters" in html
    html = as_user("auditor").get("/documents/").content.decode()
    assert "No receivable documents yet" in html and 'class="btn primary" href="/documents/new/"' not in html
    html = as_user("finance").get("/payments/").content.decode()
    assert "No payments recorded yet" in html and 'class="btn primary" href="/payments/new/"' in html


def test_detail_pages_have_breadcrumbs(as_user, documents, customer):
    c = as_user("finance")
    doc = documents[0]
    html = c.get(f"/documents/{doc.pk}/").content.decode()
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S).group(0)
    assert 'href="/documents/"' in crumbs and f'href="/customers/{customer.pk}/"' in crumbs
    assert '<span aria-current="page">INV-A</span>' in crumbs
    html = c.get(f"/customers/{customer.pk}/").content.decode()
    assert '<nav class="crumbs"' in html and 'href="/customers/"' in html


def test_credit_overview_counts_every_held_customer(as_user, company, users, net30):
    from huikuan.credit.models import CreditProfile
    from huikuan.customers.models import Customer

    custs = Customer.objects.bulk_create([Customer(company=company, code=f"H{i:03d}", name=f"暂停{i}",
                                                   owner=users["sales_east"], payment_term=net30) for i in range(53)])
    CreditProfile.objects.bulk_create([CreditProfile(company=company, customer=cu, on_hold=True) for cu in custs])
    html = as_user("credit_manager").get("/credit/").content.decode()
    kpi = re.search(r'href="/credit/profiles/\?hold=1"><div class="label">[^<]+</div><div class="value">(\d+)<', html)
    assert kpi.group(1) == "53"  # the table below lists 50; the count is the true one
    assert "All 53 customers on hold" in html
    profiles = as_user("credit_manager").get("/credit/profiles/?hold=1&sort=-open").content.decode()
    assert len(re.findall(r">H\d{3} 暂停", profiles)) == 50 and "aria-sort=\"descending\"" in profiles


def _lists():
    from huikuan.collections import views as coll
    from huikuan.credit import views as credit
    from huikuan.web.views import ledger

    # (page, its Sorting, its XLSX export with the same GET parameters, the date filter it offers)
    return [
        ("/documents/", ledger.DOCUMENT_SORTS, "/documents/?format=xlsx", ("date_from", "due_from")),
        ("/payments/", ledger.CREDIT_SORTS, "/payments/?format=xlsx", ("date_from",)),
        ("/write-offs/", ledger.WRITEOFF_SORTS, "/write-offs/?format=xlsx", ("date_from",)),
        ("/fapiao/", ledger.FAPIAO_SORTS, "/fapiao/?format=xlsx", ("date_from",)),
        ("/credit/profiles/", credit.PROFILE_SORTS, "/credit/profiles/export.xlsx", ()),
        ("/credit/orders/", credit.ORDER_SORTS, "/credit/orders/export.xlsx", ("date_from",)),
        ("/collections/promises/", coll.PROMISE_SORTS, "/collections/promises/?export=xlsx", ("date_from",)),
        ("/collections/disputes/", coll.DISPUTE_SORTS, "/collections/disputes/?export=xlsx", ("date_from",)),
        ("/collections/plans/", coll.PLAN_SORTS, "/collections/plans/?export=xlsx", ("date_from",)),
        ("/collections/cases/", coll.CASE_SORTS, "/collections/cases/?export=xlsx", ("date_from",)),
    ]


def test_every_list_sorts_by_each_column_both_ways_with_its_export(as_user, documents):
    """Every list: each whitelisted column sorts both ways (the SQL is valid on this database), the header
    marks the order, an unknown key is the default, the date filter is offered and the export takes the sort."""
    c = as_user("admin")
    for url, sorting, export, dates in _lists():
        for key in sorting.columns:
            for direction in ("", "-"):
                r = c.get(f"{url}?sort={direction}{key}&date_from=2020-01-01")
                assert r.status_code == 200, (url, key)
                html = r.content.decode()
                assert re.search(rf'aria-sort="{"descending" if direction else "ascending"}"><a href="\?[^"]*" '
                                 rf'data-sort="{key}"', html), (url, key)
        default = sorting.state(QueryDict("")).key
        assert re.search(rf'aria-sort="(a|de)scending"><a href="\?[^"]*" data-sort="{default}"',
                         c.get(f"{url}?sort=nope").content.decode()), url
        html = c.get(url).content.decode()
        for name in dates:
            assert f'name="{name}"' in html, (url, name)
        sep = "&" if "?" in export else "?"
        assert c.get(f"{export}{sep}sort=-{next(iter(sorting.columns))}").status_code == 200, export


def test_a_column_field_may_run_against_the_columns_direction_and_indexed_lists_keep_plain_nulls():
    def terms(sorting, raw):
        return [(o.expression.name, o.descending, bool(o.nulls_last)) for o in sorting.order(QueryDict(raw))]

    sorting = Sorting({"status": ("-is_active", "name")}, default="status")
    assert terms(sorting, "sort=status") == [("is_active", True, True), ("name", False, True), ("pk", False, True)]
    assert terms(sorting, "sort=-status") == [("is_active", False, True), ("name", True, True), ("pk", True, True)]
    plain = Sorting({"amount": "amount"}, default="-amount", tiebreak="id", nulls_last=False)
    assert terms(plain, "") == [("amount", True, False), ("id", True, False)]


def test_contacts_sort_by_each_column_and_the_export_follows(as_user, customer):
    from huikuan.customers.models import Contact

    Contact.objects.create(customer=customer, name="乙 Li", phone="13800000002", is_primary=True)
    Contact.objects.create(customer=customer, name="甲 Wang", phone="13800000001")
    Contact.objects.create(customer=customer, name="丙 Zhao", phone="13800000003", is_active=False)
    c = as_user("finance")
    url = f"/customers/{customer.pk}/contacts/"

    def names(html):
        return [n.strip() for n in re.findall(r"<tr(?: class=\"muted\")?>\s*<td>([^<]+)", html)]

    assert names(c.get(url).content.decode()) == ["乙 Li", "甲 Wang", "丙 Zhao"]  # active, primary first
    assert names(c.get(f"{url}?sort=phone").content.decode()) == ["甲 Wang", "乙 Li", "丙 Zhao"]
    assert names(c.get(f"{url}?sort=-phone").content.decode()) == ["丙 Zhao", "乙 Li", "甲 Wang"]
    r = c.get(f"{url}?sort=-phone&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content)).active
    assert [row[1] for row in ws.iter_rows(min_row=2, values_only=True) if row[1]] == ["丙 Zhao", "乙 Li", "甲 Wang"]
