"""A playbook run, its hold and its rejected orders read in the reader's language, with no raw code, on
every page that shows them — whatever language the person who ran it used."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from huikuan.common.tests.raw_codes import raw_codes, visible_text
from huikuan.credit import services as credit
from huikuan.credit.models import SalesOrder
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def _get(client, user, url, lang):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, url
    return visible_text(response.content.decode())


@pytest.fixture
def ran(client, company, customer, users, finance):
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                     actor=finance)
    credit.submit_order(company=company, customer_id=customer.pk, reference="SO-1", amount="500", as_of=TODAY,
                        actor=users["admin"])
    cm = users["credit_manager"]
    client.force_login(cm)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # run by a Chinese-speaking manager
    client.post(reverse("collections:playbook-run", args=[customer.pk, "bankruptcy"]), {"note": "法院受理"},
                HTTP_ACCEPT_LANGUAGE="zh-hans")
    return customer


PAGES = [("collections:customer", True), ("credit:profile", True), ("web:customer-detail", True)]
DATA = ("sales_east", "credit_manager", "admin", "legal", "finance", "C001", "SO")


def test_playbook_history_hold_and_order_read_in_english(client, ran, users):
    text = _get(client, users["admin"], reverse("collections:customer", args=[ran.pk]), "en")
    assert "Customer bankruptcy / insolvency" in text
    assert "Place a credit hold" in text and "Reject open orders" in text and "Done" in text
    assert "1 open orders rejected" in text
    assert "处置预案" not in text and "已完成" not in text
    profile = _get(client, users["admin"], reverse("credit:profile", args=[ran.pk]), "en")
    assert "Collections playbook" in profile and "Playbook: Customer bankruptcy / insolvency — 法院受理" in profile
    order = _get(client, users["admin"], reverse("credit:order", args=[SalesOrder.objects.get().pk]), "en")
    assert "Playbook: Customer bankruptcy / insolvency — 法院受理" in order and "处置预案" not in order
    timeline = _get(client, users["admin"], reverse("web:customer-detail", args=[ran.pk]), "en")
    assert "Playbook run" in timeline and "Place a credit hold (Done)" in timeline
    assert "Credit hold placed" in timeline and "Collections playbook: Playbook:" in timeline
    for page in (text, profile, order, timeline):
        assert not raw_codes(page, chinese=False, data=DATA), raw_codes(page, chinese=False, data=DATA)


@pytest.mark.parametrize("name", ["collections:customer", "credit:profile", "web:customer-detail", "credit:order"])
def test_no_raw_code_or_english_in_chinese(client, ran, users, name):
    pk = SalesOrder.objects.get().pk if name == "credit:order" else ran.pk
    text = _get(client, users["admin"], reverse(name, args=[pk]), "zh-hans")
    assert not raw_codes(text, chinese=True, data=DATA), raw_codes(text, chinese=True, data=DATA)
    for english in ("Place a credit hold", "Customer bankruptcy", "Collections playbook", "Done", "Playbook"):
        assert english not in text
