"""Cash-in forecast journey (issue 16 point 5): finance computes the forecast as of a date on the page, reads the
chart and the table by salesperson, exports it, and runs the forecast's backtest — at 1366 px and 390 px, in
English and Chinese."""

import re

import pytest
from django.conf import settings as dj_settings
from django.test import Client
from playwright.sync_api import expect

from huikuan.customers.models import Customer
from huikuan.prediction import services
from huikuan.prediction.models import ForecastRun
from huikuan.prediction.tests.conftest import END, load_synthetic
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


def _context(browser, live_server, user, language, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Client()
    c.force_login(user)
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": language, "url": live_server.url},
    ])
    return ctx, page


def test_journey_forecast_compute_read_backtest(browser, live_server, shot, company, users, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    load_synthetic(company, users["finance"], n_invoices=800, n_customers=20, seed=7)
    Customer.objects.filter(company=company).update(owner=users["sales_east"])
    services.train_model(company=company, as_of=END)

    ctx, page = _context(browser, live_server, users["finance"], "en", 1366)
    try:
        page.goto(f"{live_server.url}/forecast/")
        assert page.locator("#forecast-empty").is_visible()
        page.locator("#forecast-build input[name=as_of]").fill(END.isoformat())
        page.locator("#forecast-build button").click()
        # queued for the worker (here the immediate task backend: it runs when the request commits)
        page.wait_for_url(re.compile(r"/forecast/jobs/[0-9]+/$"))
        expect(page.locator("#forecast-job")).to_have_attribute("data-status", "done")
        page.locator("#forecast-job-done a").click()
        page.wait_for_url(f"{live_server.url}/forecast/?as_of={END}")
        assert page.locator("svg.forecast-chart rect").count() >= 13
        assert "Predicted by" in page.locator("#forecast-source").inner_text()
        page.locator("#forecast-filters select[name=by]").select_option("salesperson")
        page.locator("#forecast-filters button.primary").click()
        page.wait_for_url(re.compile(r"/forecast/\?as_of=[0-9-]+&by=salesperson"))
        assert "sales_east" in page.locator("#forecast-table").inner_text()
        shot(page, "forecast-1366-en")
        with page.expect_download() as dl:
            page.locator("#forecast-xlsx").click()
        assert dl.value.suggested_filename == f"forecast-{END}-CNY.xlsx"
        page.goto(f"{live_server.url}/forecast/backtest/")
        page.locator("#backtest-form input[name=last]").fill("2025-06-30")
        page.locator("#backtest-form input[name=count]").fill("2")
        page.locator("#backtest-form button").click()
        page.wait_for_url(re.compile(r"/forecast/backtest/\?run=1"))
        assert "%" in page.locator("#wape-forecast").inner_text()
        assert page.locator("#backtest-weeks tbody tr").count() == 13
        shot(page, "forecast-backtest-1366-en")
    finally:
        ctx.close()
    assert ForecastRun.objects.filter(company=company, as_of=END).exists()

    for language, width in (("zh-hans", 1366), ("zh-hans", 390), ("en", 390)):
        ctx, page = _context(browser, live_server, users["sales_east"], language, width)
        try:
            page.goto(f"{live_server.url}/forecast/?as_of={END}&by=group")
            page.wait_for_selector("svg.forecast-chart")
            if language == "zh-hans":
                assert "回款预测" in page.locator("h1").inner_text()
            # nothing wider than the screen but the table's own scroller
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, overflow
            shot(page, f"forecast-{width}-{language}")
        finally:
            ctx.close()
