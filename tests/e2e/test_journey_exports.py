"""A finance clerk's large exports in the browser (issue 13): the document list's "Export XLSX" above the threshold
opens the job's page, which shows the progress while the worker writes and then the download; "My exports" lists
every job with its state, and says what to do when there is none; a failed job says why, in the reader's language —
at 1366 and 390 px, in English and Chinese, never wider than the screen."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.utils import timezone

from huikuan.common import clock, export_jobs, texts
from huikuan.common.models import ExportJob, ExportJobStatus
from huikuan.ledger import services as ls
from tests.e2e import signed_in_context

pytestmark = pytest.mark.django_db(transaction=True)


_context = signed_in_context


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _job(company, user, status, *, done=0, total=None, error=None, title="收款及贷项 Payments and credits", ago=0):
    now = timezone.now() - dt.timedelta(minutes=ago)
    job = ExportJob.objects.create(company_id=company.pk, created_by=user, kind="ledger.payments", params={"q": "x"},
                                   language="en", title=title, status=status, done=done, total=total, error=error,
                                   started_at=now, heartbeat_at=now, url="/payments/?q=x&format=xlsx")
    ExportJob.objects.filter(pk=job.pk).update(created_at=now)
    return job


def test_journey_a_clerk_s_large_exports(browser, live_server, shot, company, users, customer, finance, settings,
                                         tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    today = clock.today(company)
    for n in range(4):
        ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=10 * n),
                         total=D("1000.00") + n, actor=finance)
    for language, width, height in (("zh-hans", 1366, 768), ("en", 390, 844), ("en", 1366, 768),
                                    ("zh-hans", 390, 844)):
        ExportJob.objects.all().delete()
        ctx, page = _context(browser, live_server, finance, language, width, height)
        try:
            # nothing yet: the empty state says what lands here and how
            page.goto(f"{live_server.url}/exports/")
            empty = page.locator("#exports-empty")
            assert empty.is_visible()
            _fits(page, width)
            shot(page, f"exports-empty-{width}-{language}")
            # a queued job and one half written: the state, the rows written of the rows counted
            running = _job(company, finance, ExportJobStatus.RUNNING, done=12_500, total=25_000)
            page.goto(f"{live_server.url}/exports/{running.pk}/")
            assert page.locator(".progress[aria-valuenow='50']").count() == 1
            state = page.locator("#export-job-state").inner_text()
            assert "12,500" in state and "25,000" in state and "50%" in state, state
            _fits(page, width)
            shot(page, f"export-job-running-{width}-{language}")
            # a failed one says why, in the reader's language
            failed = _job(company, finance, ExportJobStatus.FAILED, error=texts.from_error(
                export_jobs.ExportUnavailable(export_jobs.SCOPE_LOST)), ago=5)
            page.goto(f"{live_server.url}/exports/{failed.pk}/")
            reason = page.locator("#export-job-error").inner_text()
            assert reason == ("You may no longer see this list." if language == "en" else "您已无权查看此列表。")
            assert page.locator("#export-again").count() == 0  # a refusal: exporting again would not help
            shot(page, f"export-job-failed-{width}-{language}")
            crashed = _job(company, finance, ExportJobStatus.FAILED, error=texts.Text("common.export.crashed"), ago=6)
            page.goto(f"{live_server.url}/exports/{crashed.pk}/")
            assert page.locator("#export-again").get_attribute("href") == "/payments/?q=x&format=xlsx"
            # a job whose worker went silent has stopped, whatever its row still says; no bar, the way out offered
            stale = _job(company, finance, ExportJobStatus.RUNNING, done=5_000, total=25_000, ago=30)
            page.goto(f"{live_server.url}/exports/{stale.pk}/")
            assert page.locator("#export-job").get_attribute("data-status") == "stale"
            assert page.locator(".progress").count() == 0 and page.locator("#export-again").is_visible()
            _fits(page, width)
            shot(page, f"export-job-stale-{width}-{language}")
            # the real thing: the document list above the threshold queues a job, the page ends on the download
            monkeypatch.setattr(export_jobs, "EXPORT_NOW_ROWS", 2)
            page.goto(f"{live_server.url}/documents/")
            page.locator("a[href*='format=xlsx']").first.click()
            page.wait_for_url(re.compile(r"/exports/\d+/$"))
            link = page.locator("#export-download")
            link.wait_for()
            assert page.locator(".progress[aria-valuenow='100']").count() == 1
            _fits(page, width)
            shot(page, f"export-job-done-{width}-{language}")
            with page.expect_download() as download:
                link.click()
            assert download.value.suggested_filename == "documents.xlsx"
            # every job in "My exports": its state, rows, the download or the reason
            page.goto(f"{live_server.url}/exports/")
            rows = page.locator("#exports tbody tr")
            assert rows.count() == 5
            assert page.locator("#exports tbody tr[data-status=done] a.btn").count() == 1
            _fits(page, width)
            shot(page, f"exports-{width}-{language}")
        finally:
            ctx.close()
