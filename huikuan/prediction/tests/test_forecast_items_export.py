"""The forecast drill-down's large XLSX written by the worker (issue 13, ``common.export_jobs``): the button queues
a job above EXPORT_NOW_ROWS, the worker writes the file with its progress, only the requester follows or downloads
it, the file's rows are the bar's rows."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from huikuan.common import export_jobs
from huikuan.common.models import AuditEvent, ExportJob
from huikuan.prediction import forecast as fc
from huikuan.prediction import forecast_items as fi

from .conftest import END, spread_customers

pytestmark = pytest.mark.django_db


@pytest.fixture
def small(company, users):
    return spread_customers(company, users, n_invoices=300, n_customers=12, seed=13)


@pytest.fixture
def worker(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(export_jobs, "EXPORT_NOW_ROWS", 5)  # every bar of the small data goes to the worker
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 3)
    return tmp_path


def _rows(content: bytes):
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_a_large_export_is_written_by_the_worker_for_its_requester_only(
    client, small, users, worker, django_capture_on_commit_callbacks
):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    week = fi.ALL  # every open item: more than EXPORT_NOW_ROWS
    url = f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week={week}&sort=-due"
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.get(url + "&format=xlsx", HTTP_ACCEPT_LANGUAGE="en")
    job = ExportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/exports/{job.pk}/"
    assert (job.status, job.kind, job.created_by, job.language) == ("queued", "prediction.forecast_items",
                                                                      users["finance"], "en")
    assert job.params["week"] == str(week) and "format" not in job.params
    page = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting for the worker" in page and 'hx-trigger="every 1s"' in page and "Forecast items" in page
    # a second click while it waits gets the same job, no second task
    with django_capture_on_commit_callbacks() as again:
        assert client.get(url + "&format=xlsx")["Location"] == f"/exports/{job.pk}/"
    assert ExportJob.objects.count() == 1 and not again
    # progress is stored while the rows stream (every PROGRESS_EVERY rows), seen by the page
    seen = []
    real = export_jobs._progress

    def spy(job_id, done):
        real(job_id, done)
        seen.append(ExportJob.objects.values_list("done", "total", "status").get(pk=job_id))

    export_jobs._progress = spy
    try:
        callbacks[0]()  # the commit's callback enqueues the task; the immediate backend runs it here
    finally:
        export_jobs._progress = real
    job.refresh_from_db()
    listed = fi.forecast_items(run=run, user=users["finance"], currency="CNY", bucket=fi.Bucket(week=week))
    n = listed.count()
    assert n > 5 and job.status == "done" and job.done == n and job.total == n and job.size > 0
    assert seen[0] == (3, n, "running") and seen[-1] == (n, n, "running")
    body = client.get(f"/exports/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="export-download"' in body and "hx-trigger" not in body
    d = client.get(f"/exports/{job.pk}/download/")
    assert d.status_code == 200 and "spreadsheetml" in d["Content-Type"]
    assert f"forecast-items-{END}-CNY.xlsx" in d["Content-Disposition"]
    rows = _rows(b"".join(d.streaming_content))
    # the file's rows are the bar's rows: the same items, ordered as asked, totalled to the bar's figure
    assert rows[0][0] == "Document" and rows[-1][0] == "Total"
    body_rows = rows[1:-1]
    assert len(body_rows) == n
    bar = fi.bar_value(run=run, user=users["finance"], currency="CNY", bucket=fi.Bucket(week=week))
    assert sum(Decimal(str(r[6])) for r in body_rows) == bar == Decimal(str(rows[-1][6]))
    assert sorted((r[0], r[1]) for r in body_rows) == sorted(listed.values_list("document__number", "seq"))
    dues = [r[5] for r in body_rows]
    assert dues == sorted(dues, reverse=True)
    verbs = list(AuditEvent.objects.filter(target_id=job.pk, verb__startswith="export.").values_list("verb", flat=True))
    assert sorted(verbs) == ["export.downloaded", "export.queued", "export.written"]
    assert client.get("/exports/", HTTP_ACCEPT_LANGUAGE="en").content.decode().count(f"/exports/{job.pk}/download/") == 1
    # anyone else: 404, for the page, the download and the list
    for other in (users["finance2"], users["sales_east"]):  # the same role too
        client.force_login(other)
        assert client.get(f"/exports/{job.pk}/").status_code == 404
        assert client.get(f"/exports/{job.pk}/download/").status_code == 404
        assert f"/exports/{job.pk}/" not in client.get("/exports/").content.decode()
    client.force_login(users["finance"])
    # unknown ids: 404; an expired file: 404, and the cleanup deletes it
    assert client.get(f"/exports/{job.pk + 1000}/").status_code == 404
    assert client.get("/exports/abc/").status_code == 404
    later = timezone.now() + dt.timedelta(days=8)
    path = worker / "exports" / job.path
    assert path.is_file()
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(days=8))
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
    assert export_jobs.expire_exports(now=later) == 1 and not path.exists()
    job.refresh_from_db()
    assert job.status == "expired" and job.path == ""
    assert "Deleted (expired)" in client.get(f"/exports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_small_export_stays_immediate_and_the_salesperson_exports_their_part_only(client, small, users, worker):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["sales_east"])
    f = fc.read_forecast(run=run, user=users["sales_east"])
    week = next(k for k in range(fc.BEYOND + 1) if 0 < fi.forecast_items(
        run=run, user=users["sales_east"], currency="CNY", bucket=fi.Bucket(week=k)).count() <= 5)
    r = client.get(f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week={week}&format=xlsx",
                   HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200 and not ExportJob.objects.exists()
    rows = _rows(b"".join(r.streaming_content))
    assert rows[0][0] == "单据" and rows[-1][0] == "合计"  # the reader's language
    assert Decimal(str(rows[-1][6])) == f.scenarios["p50"].weeks[week]
    # a line of another salesperson is not the reader's: 404 rather than a job
    other = users["sales_west"].pk
    r = client.get(f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week=all&salesperson={other}&format=xlsx")
    assert r.status_code == 404 and not ExportJob.objects.exists()


def test_a_list_gone_by_the_time_the_worker_runs_fails_with_the_reason(client, small, users, worker,
                                                                       django_capture_on_commit_callbacks):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    with django_capture_on_commit_callbacks() as callbacks:
        client.get(f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week=all&format=xlsx",
                   HTTP_ACCEPT_LANGUAGE="en")
    job = ExportJob.objects.get()
    run.delete()  # the forecast of that date is gone (e.g. computed again) before the worker runs
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == "failed" and not list((worker / "exports").glob("*"))
    body = client.get(f"/exports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "These forecast items are not there any more." in body and "export-download" not in body
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
