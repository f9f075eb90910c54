"""The salesperson's day on a phone (issue 13), at 390×844 in 简体中文: my customers and my overdue as cards,
the key action one tap away, tap-to-call and tap-to-email on the contact, a visit logged with a photo of
the signed statement (uploaded from the phone, filed like any other attachment) and a promise to pay.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.collections.models import Activity, Promise
from huikuan.common import clock
from huikuan.customers.models import Contact
from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2048


def _phone(browser, live_server, user):
    c = Client()
    c.force_login(user)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "zh-hans", "url": live_server.url},
    ])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url


def test_salespersons_day_on_a_phone(browser, live_server, shot, company, customer, other_customer, users, finance,
                                     settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    today = clock.today(company)
    overdue = ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=60),
                               total=D("12800.00"), actor=finance, number="INV-PHONE-1")
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=today - dt.timedelta(days=60),
                     total=D("500.00"), actor=finance, number="INV-WEST-1")  # another salesperson's customer
    Contact.objects.create(customer=customer, name="王经理", phone="021-6888 1234 转 801", email="wang@huadong.example",
                           is_primary=True)
    photo = tmp_path / "signed-statement.jpg"
    photo.write_bytes(JPEG)

    ctx, page = _phone(browser, live_server, users["sales_east"])
    try:
        # ---- my customers: cards, the key action one tap away
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="我的客户", exact=True).tap()
        page.wait_for_url(f"{live_server.url}/customers/?owner={users['sales_east'].pk}&balance=1&sort=-open_amount")
        row = page.locator("table.list tbody tr").first
        assert row.evaluate("r => getComputedStyle(r).display") == "block"  # a card, not a table row
        assert customer.name in row.inner_text() and other_customer.name not in page.content()
        _fits(page)
        shot(page, "phone-my-customers")

        # ---- my overdue: the overdue invoice as a card, the other salesperson's not there
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="我的逾期", exact=True).tap()
        page.wait_for_url(f"{live_server.url}/documents/?overdue=1&mine=1&sort=due")
        cards = page.locator("table.list tbody tr")
        assert cards.count() == 1 and "INV-PHONE-1" in cards.first.inner_text()
        assert cards.first.evaluate("r => getComputedStyle(r).display") == "block"
        _fits(page)
        shot(page, "phone-my-overdue")

        # ---- from my customers, one tap to the customer's collections page
        page.go_back()
        page.go_back()
        page.wait_for_url(f"{live_server.url}/customers/?owner={users['sales_east'].pk}&balance=1&sort=-open_amount")
        action = page.locator("table.list tbody tr").first.get_by_role("link", name="记录联系", exact=True)
        box = action.bounding_box()
        assert box["height"] >= 40  # big enough to tap
        action.tap()
        page.wait_for_url(f"{live_server.url}/collections/customers/{customer.pk}/#log-{customer.pk}")

        # ---- tap-to-call and tap-to-email on the contact
        assert page.locator(".contact-cards a.tel").get_attribute("href") == "tel:02168881234,801"
        assert page.locator(".contact-cards a.mailto").get_attribute("href") == "mailto:wang@huadong.example"
        _fits(page)

        # ---- log the visit with the photo of the signed statement and the promise
        form = page.locator(f"#log-{customer.pk}")
        form.locator("select[name=kind]").select_option("visit")
        form.locator("select[name=outcome]").select_option("promised")
        form.locator("textarea[name=note]").fill("上门拜访，王经理签回对账单")
        form.locator("input[name=photo]").set_input_files(str(photo))
        form.locator("input[name=promise_amount]").fill("8,000")
        promised = today + dt.timedelta(days=5)
        form.locator("input[name=promise_date]").fill(promised.isoformat())
        form.locator("input[name=photo]").scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-log-visit.png"))  # the phone's screen, for the guide
        form.get_by_role("button", name="保存").tap()
        page.wait_for_url(f"{live_server.url}/collections/customers/{customer.pk}/")
        page.locator("#collections-summary").get_by_text("签回对账单").wait_for()
        _fits(page)
        shot(page, "phone-visit-logged")
    finally:
        ctx.close()

    act = Activity.objects.get(customer=customer)
    assert act.kind == "visit" and act.outcome == "promised" and act.actor == users["sales_east"]
    assert act.attachment.kind == "signed_statement" and act.attachment.content_type == "image/jpeg"
    assert act.attachment.size == len(JPEG)
    promise = Promise.objects.get(customer=customer)
    assert promise.amount == D("8000.00") and promise.promised_date == promised and promise.activity_id == act.pk
    assert overdue.customer_id == customer.pk
