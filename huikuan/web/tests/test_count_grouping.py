"""Large counts on list pages carry a thousands separator in both languages (62,759 items, not 62759)."""

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation


def _page(count: int, pages: int, number: int = 1):
    paginator = SimpleNamespace(count=count, num_pages=pages, capped=False)
    return SimpleNamespace(paginator=paginator, number=number, has_previous=number > 1, has_next=number < pages,
                           previous_page_number=number - 1, next_page_number=number + 1)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_pager_groups_rows_and_pages(rf, lang):
    request = rf.get("/documents/")
    with translation.override(lang):
        one = render_to_string("ledger/_pager.html", {"page": _page(62759, 1)}, request=request)
        many = render_to_string("ledger/_pager.html", {"page": _page(1887282, 37746, number=1200)}, request=request)
    assert "62,759" in one and "62759" not in one
    assert "1,887,282" in many and "37,746" in many and "1,200" in many
    assert "1887282" not in many.replace("=1887282", "")


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_customer_list_groups_its_count(client, users, company, lang):
    from django.urls import reverse

    from huikuan.customers.models import Customer

    Customer.objects.bulk_create([Customer(company=company, code=f"G{i:05d}", name=f"客户{i}", currency="CNY")
                                  for i in range(1234)])
    client.force_login(users["admin"])
    html = client.get(reverse("web:customer-list"), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert ("共 1,234 个客户" if lang == "zh-hans" else "1,234 customers") in html
