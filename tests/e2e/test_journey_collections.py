"""Collections journey (issue 5): a collector works the queue, logs a call with a promise, the payment arrives
(recorded by finance on the payment screen), and the promise shows kept — all through the UI, in English.
"""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.collections.models import Activity, Promise
from huikuan.collections.worklist import refresh_queue
from huikuan.common import clock
from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])


def test_journey_collector_works_queue_promise_kept(browser, live_server, shot, company, customer, other_customer, users,
                                                   finance):
    today = clock.today(company)
    big = ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=75),
                           total=D("8000.00"), actor=finance)
    ls.post_document(company=company, customer_id=other_customer.pk, document_date=today - dt.timedelta(days=40),
                     total=D("300.00"), actor=finance)
    refresh_queue(company=company, as_of=today)  # what the daily job does each morning

    collector = browser.new_context(viewport={"width": 1366, "height": 900})
    page = collector.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, live_server, users["collector"])
        page.goto(f"{live_server.url}/collections/")
        rows = page.locator("#worklist tbody tr")
        assert rows.count() == 2
        top = rows.first
        assert customer.name in top.inner_text()  # 8,000 × 45 days beats 300 × 10 days
        assert "Overdue" in top.inner_text()
        shot(page, "collections-worklist")

        # ---- log the call with its outcome and a promise, from the queue
        top.locator("summary").click()
        form = top.locator("form.quick-log")
        form.locator("select[name=outcome]").select_option("promised")
        form.locator("input[name=note]").fill("王经理: will pay on Friday")
        promised = today + dt.timedelta(days=3)
        form.locator("input[name=promise_amount]").fill("5,000.00")
        form.locator("input[name=promise_date]").fill(promised.isoformat())
        form.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/collections/(\?.*)?$"))
        assert "Logged for" in page.locator(".messages").inner_text()
        promise = Promise.objects.get()
        assert (promise.amount, promise.promised_date, promise.status) == (D("5000.00"), promised, "open")
        assert Activity.objects.get().outcome == "promised"
        row = page.locator(f"#worklist tbody tr[data-customer='{customer.pk}']")
        assert f"Promised for {promised:%m-%d}" in row.inner_text()
        assert rows.last.get_attribute("data-customer") == str(customer.pk)  # no chasing before the promised date

        # ---- the customer's collections page shows the open promise
        row.locator(f"a[href='/collections/customers/{customer.pk}/']").click()
        page.wait_for_url(re.compile(rf"/collections/customers/{customer.pk}/$"))
        assert page.locator(".promises .promise-state").first.inner_text().strip() == "Open"
    finally:
        collector.close()

    # ---- the money arrives: finance records it on the payment screen (applied oldest first)
    clerk = browser.new_context(viewport={"width": 1366, "height": 900})
    fpage = clerk.new_page()
    fpage.set_default_timeout(TIMEOUT_MS)
    try:
        _login(fpage, live_server, finance)
        fpage.goto(f"{live_server.url}/payments/new/?customer={customer.pk}")
        fpage.fill("input[name=amount]", "5000")
        fpage.fill("input[name=date]", today.isoformat())
        fpage.click("#payment-form button.primary")
        fpage.wait_for_url(re.compile(r"/payments/\d+/$"))
    finally:
        clerk.close()
    assert big.instalments.get().open_amount == D("3000.00")

    # ---- the collector sees the promise kept on the customer 360 page (collections panel)
    collector = browser.new_context(viewport={"width": 1366, "height": 900})
    page = collector.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, live_server, users["collector"])
        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        state = page.locator("#collections-panel .promises .promise-state").first
        state.wait_for()
        assert state.inner_text().strip() == "Kept"
        assert "5,000.00" in page.locator("#collections-panel .promises").inner_text()
        shot(page, "collections-promise-kept")
    finally:
        collector.close()
