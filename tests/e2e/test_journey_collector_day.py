"""The collector's day (issue 13): a manager ticks customers on the worklist and assigns them to a collector
(desk, 1366×768, where at least 12 customers fit on the screen); the collector, on a phone (390×844, 简体中文),
opens on "my queue", calls the customer through the tel: link and logs the call with a promise."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.collections.models import Activity, Promise
from huikuan.collections.worklist import refresh_queue
from huikuan.common import clock
from huikuan.customers.models import Contact, Customer
from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _context(browser, live_server, user, width, height, language):
    c = Client()
    c.force_login(user)
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": language, "url": live_server.url},
    ])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def test_manager_assigns_and_the_collector_works_the_day_on_a_phone(browser, live_server, shot, company, customer,
                                                                      users, finance, net30):
    today = clock.today(company)
    extra = [Customer.objects.create(company=company, code=f"C1{k:02d}", name=f"杭州客户{k:02d}贸易有限公司",
                                     owner=users["sales_east"], payment_term=net30) for k in range(14)]
    for k, c in enumerate([customer, *extra]):
        ls.post_document(company=company, customer_id=c.pk, document_date=today - dt.timedelta(days=60 + k),
                         total=D(9000 - k * 100), actor=finance)
        Contact.objects.create(customer=c, name=f"王经理{k}", phone=f"+86138001380{k:02d}", is_primary=True)
    refresh_queue(company=company, as_of=today)

    # ---- the manager, at the desk: 12+ customers on one screen, tick two, assign them to the collector
    ctx, page = _context(browser, live_server, users["credit_manager"], 1366, 768, "zh-hans")
    try:
        page.goto(f"{live_server.url}/collections/")
        rows = page.locator("#worklist tbody tr")
        assert rows.count() == 15
        page.locator("#worklist").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('#worklist thead').scrollIntoView()")
        top = rows.nth(0).bounding_box()["y"]
        twelfth = rows.nth(11).bounding_box()
        assert twelfth["y"] + twelfth["height"] - top <= 768 - 40, "12 customers do not fit on a 1366×768 screen"
        first_phone = rows.nth(0).locator("a[href^='tel:']")
        assert first_phone.get_attribute("href").startswith("tel:+86138001380")
        shot(page, "worklist-1366-zh")
        page.locator(f"#worklist tbody tr[data-customer='{customer.pk}'] input[type=checkbox][name=customer]").check()
        page.locator(f"#worklist tbody tr:not([data-customer='{customer.pk}'])").first.locator(
            "input[type=checkbox][name=customer]").check()
        page.select_option("#assign select[name=collector]", str(users["collector"].pk))
        page.click("#assign button[type=submit]")
        page.wait_for_url(re.compile(r"/collections/\?collector=$"))
        assert "已将 2 个客户分配给" in page.inner_text(".messages")
    finally:
        ctx.close()
    mine = list(Customer.objects.filter(collector=users["collector"]).order_by("pk"))
    assert len(mine) == 2 and customer in mine

    # ---- the collector, on a phone in Chinese: my queue, call, log the call with a promise
    ctx, page = _context(browser, live_server, users["collector"], 390, 844, "zh-hans")
    try:
        page.goto(f"{live_server.url}/collections/")
        assert page.locator("#collector-filter").input_value() == "me"
        rows = page.locator("#worklist tbody tr")
        assert rows.count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        row = page.locator(f"#worklist tbody tr[data-customer='{customer.pk}']")
        call = row.locator("a[href^='tel:']")
        assert call.is_visible() and call.get_attribute("href") == "tel:+8613800138000"
        box = call.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # one tap away, on the screen
        shot(page, "worklist-390-zh")
        page.screenshot(path=str(ARTIFACTS / "phone-my-queue.png"))  # the viewport only: the guide's picture
        row.locator("summary").click()
        form = row.locator("form.quick-log")
        form.locator("select[name=outcome]").select_option("promised")
        form.locator("input[name=note]").fill("王经理：周五付款")
        promised = today + dt.timedelta(days=3)
        form.locator("input[name=promise_amount]").fill("5,000.00")
        form.locator("input[name=promise_date]").fill(promised.isoformat())
        with page.expect_navigation():  # the same address before and after: wait for the new page itself
            form.locator("button.primary").click()
        assert page.locator(".messages").count() == 1
        row = page.locator(f"#worklist tbody tr[data-customer='{customer.pk}']")
        assert f"{promised:%m-%d}" in row.inner_text()
        shot(page, "worklist-390-zh-promised")
    finally:
        ctx.close()
    promise = Promise.objects.get()
    assert (promise.customer_id, promise.amount, promise.promised_date) == (customer.pk, D("5000.00"), promised)
    assert Activity.objects.get().outcome == "promised"
