"""Audit journey (issue 15 §6): an auditor opens the internal audit report, reads the back-dated entries, tries a
period that ends before it starts (refused in their language), searches the audit log for a document number and
exports it. In Chinese and English, at 1366 and 390 px."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = {"en": "before it starts", "zh-hans": "早于开始日期"}


@pytest.mark.parametrize(("lang", "width"), [("en", 1366), ("zh-hans", 390)])
def test_auditor_reads_the_report_and_searches(browser, live_server, shot, company, customer, users, finance, lang,
                                               width):
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("800.00"),
                     actor=finance, number="INV-BACK-1")
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Client()
    c.force_login(users["auditor"])
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": dj_settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url},
    ])
    tag = f"{lang}-{width}"
    try:
        page.goto(f"{live_server.url}/kpis/audit/")
        assert page.locator("#count-backdated").inner_text().strip() == "1"
        shot(page, f"journey-audit-report-{tag}")
        page.locator("#cat-backdated").click()
        page.wait_for_url(f"{live_server.url}/kpis/audit/?*category=backdated*")
        assert "INV-BACK-1" in page.locator("#audit-events").inner_text()
        shot(page, f"journey-audit-backdated-{tag}")
        form = page.locator("#audit-filters")
        form.locator("input[name=from]").fill("2026-05-01")
        form.locator("input[name=to]").fill("2026-04-01")
        form.locator("button.primary").click()
        page.locator(".form-errors").wait_for()
        assert REFUSED[lang] in page.locator(".form-errors").inner_text()
        shot(page, f"journey-audit-refused-{tag}")
        page.goto(f"{live_server.url}/kpis/audit/events/?q=INV-BACK-1")
        assert page.locator("#audit-events tbody tr").count() == 1
        shot(page, f"journey-audit-search-{tag}")
        with page.expect_download() as dl:
            page.locator("#audit-xlsx").click()
        assert dl.value.suggested_filename.startswith("audit-log-")
    finally:
        ctx.close()
