"""The rows behind the cash-in forecast's bars (issue 13): a click on a bar of the chart (over the cumulative band
and lines drawn after the bars) opens the open items of that week, whose total is the bar's figure; the list is
sorted by a header, its breadcrumb leads back; at 390 px it is cards and no wider than the phone — in English
and Chinese."""

import re
from decimal import Decimal

import pytest

from huikuan.customers.models import Customer
from huikuan.prediction import forecast as fc
from huikuan.prediction import services
from huikuan.prediction.tests.conftest import END, load_synthetic
from tests.e2e import signed_in_context

pytestmark = pytest.mark.django_db(transaction=True)


_context = signed_in_context


def _amount(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", ""))


def test_journey_a_bar_opens_its_rows(browser, live_server, shot, company, users, settings, tmp_path, monkeypatch):
    load_synthetic(company, users["finance"], n_invoices=700, n_customers=16, seed=9)
    Customer.objects.filter(company=company).update(owner=users["sales_east"])
    services.train_model(company=company, as_of=END)
    run = fc.build_forecast(company=company, as_of=END, actor=users["finance"])
    f = fc.read_forecast(run=run, user=users["finance"])
    week = max(range(fc.WEEKS), key=lambda k: f.scenarios["p50"].weeks[k])  # the tallest bar

    for language, width in (("en", 1366), ("zh-hans", 1366), ("zh-hans", 390), ("en", 390)):
        ctx, page = _context(browser, live_server, users["finance"], language, width, 844 if width == 390 else 768)
        try:
            page.goto(f"{live_server.url}/forecast/?as_of={END}")
            bar = page.locator("svg.forecast-chart a.bar").nth(week)
            assert "P50" in bar.locator("title").text_content()  # the tooltip is there
            bar.click()  # a real click at the bar's centre: nothing drawn over it takes it
            page.wait_for_url(re.compile(rf"/forecast/items/\?as_of={END}&currency=CNY&scenario=p50&week={week}$"))
            assert _amount(page.locator("#forecast-items-total").inner_text()) == f.scenarios["p50"].weeks[week]
            assert _amount(page.locator("#forecast-items-bar").inner_text()) == f.scenarios["p50"].weeks[week]
            assert page.locator("#forecast-items-differ").count() == 0
            assert page.locator("#forecast-items tbody tr").count() > 0
            assert page.locator("#forecast-items-xlsx").is_visible()
            # the week's dates in the title never break at their hyphens (a phone's width): one line box each
            assert page.evaluate("""[...document.querySelectorAll('h1 .nowrap')].every(
                s => s.getClientRects().length === 1)""")
            assert page.locator("h1 .nowrap").count() == (1 if week == 0 else 2)
            if width == 390:
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= 390, wide
                assert page.locator("#forecast-items thead th.sortable").first.is_visible()  # the sort chips
            page.locator("#forecast-items thead th.sortable a[data-sort=due]").click()
            page.wait_for_url(re.compile(r"sort=due"))
            shot(page, f"forecast-items-{width}-{language}")
            page.locator("nav.crumbs a").nth(1).click()
            page.wait_for_url(re.compile(rf"/forecast/\?as_of={END}&currency=CNY$"))
            assert page.locator("svg.forecast-chart").count() == 1
        finally:
            ctx.close()

    # a list of more rows than EXPORT_NOW_ROWS: "Export XLSX" queues a job for the worker (run at once here), its
    # page shows the progress, then the download link; the file is the list's
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    from huikuan.common import export_jobs

    monkeypatch.setattr(export_jobs, "EXPORT_NOW_ROWS", 5)
    for language, width in (("en", 1366), ("zh-hans", 390)):
        ctx, page = _context(browser, live_server, users["finance"], language, width, 844 if width == 390 else 768)
        try:
            page.goto(f"{live_server.url}/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week=all")
            page.locator("#forecast-items-xlsx").click()
            page.wait_for_url(re.compile(r"/exports/\d+/$"))
            link = page.locator("#export-download")
            link.wait_for()
            assert page.locator(".progress[aria-valuenow='100']").count() == 1
            if width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390
            shot(page, f"export-job-{width}-{language}")
            with page.expect_download() as download:
                link.click()
            assert download.value.suggested_filename == f"forecast-items-{END}-CNY.xlsx"
        finally:
            ctx.close()
