"""Bill register (issue 12 point 4): the finance clerk sees bills by maturity with the reminder, at desktop and
phone widths, in both languages (screenshots kept in test-artifacts/)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.ledger import services as ledger
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_bill_register_widths_and_languages(browser, live_server, shot, company, customer, finance):
    today = dt.date.today()
    ledger.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=60),
                         total=D("50000.00"), actor=finance)
    for number, days, method in (("230000000101", 4, "commercial_acceptance"), ("130000000102", 45, "bank_acceptance"),
                                 ("230000000103", -3, "commercial_acceptance")):
        ledger.record_payment(company=company, customer_id=customer.pk, amount=D("10000.00"),
                              date=today - dt.timedelta(days=30), actor=finance, method=method, bill_number=number,
                              bill_acceptor="上海华东机械有限公司", bill_maturity_date=today + dt.timedelta(days=days))
    c = Client()
    c.force_login(finance)
    for lang, title in (("en", "Bill register"), ("zh-hans", "票据台账")):
        for width in (1366, 390):
            ctx = browser.new_context(viewport={"width": width, "height": 900})
            page = ctx.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            try:
                ctx.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME,
                                  "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value, "url": live_server.url},
                                 {"name": "django_language", "value": lang, "url": live_server.url}])
                page.goto(f"{live_server.url}/payments/bills/")
                assert title in page.locator("h1").inner_text()
                rows = page.locator("table.list tbody tr")
                assert rows.count() == 3 and "230000000103" in rows.nth(0).inner_text()
                assert "10,000.00" in page.locator("#bill-reminder").inner_text()
                shot(page, f"bill-register-{lang}-{width}")
            finally:
                ctx.close()
