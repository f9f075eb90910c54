"""The forecast computed by the worker (issue 16 point 5): the button only queues, one computation per company and
date, the job page follows it, refusals and crashes are recorded, a dead worker's job is replaced."""

import datetime as dt
import time

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from huikuan.accounts.models import Company
from huikuan.common.models import AuditEvent
from huikuan.prediction import forecast as fc
from huikuan.prediction import forecast_jobs
from huikuan.prediction.apps import _daily_forecast
from huikuan.prediction.forecast_jobs import (
    ForecastBusy,
    compute_forecast_now,
    queue_forecast,
    run_forecast_job,
)
from huikuan.prediction.models import ForecastJob, ForecastRun

from .conftest import END, load_synthetic

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def small(company, users):
    load_synthetic(company, users["finance"], n_invoices=400, n_customers=10, seed=5)
    return company


def test_the_button_queues_and_the_worker_computes(
    client, small, users, immediate_tasks, django_capture_on_commit_callbacks
):
    client.force_login(users["finance"])
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.post("/forecast/build/", {"as_of": END.isoformat()})
    job = ForecastJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/forecast/jobs/{job.pk}/"
    # nothing was computed in the request: the job waits for the worker
    assert job.status == "queued" and job.created_by == users["finance"] and len(callbacks) == 1
    assert not ForecastRun.objects.exists()
    body = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting for the worker" in body and 'hx-trigger="every 1s"' in body
    assert "is being computed" in client.get("/forecast/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    callbacks[0]()  # the commit's callback enqueues the task; the immediate backend runs it here
    job.refresh_from_db()
    run = ForecastRun.objects.get(company=small, as_of=END)
    assert (job.status, job.phase, job.run, job.items, job.percent) == ("done", "done", run, run.items, 100)
    assert run.items > 0 and job.started_at is not None and job.finished_at >= job.started_at
    verbs = list(
        AuditEvent.objects.filter(verb__startswith="prediction.forecast")
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == ["prediction.forecast.queued", "prediction.forecast.built"]
    # the polling request of a finished job sends the browser to the forecast it computed
    r = client.get(f"/forecast/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert r["HX-Redirect"] == f"/forecast/?as_of={END}"
    body = client.get(f"/forecast/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "every 1s" not in body and "forecast-job-done" in body
    assert "is being computed" not in client.get("/forecast/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_one_computation_per_company_and_date(client, small, users, django_capture_on_commit_callbacks):
    finance = users["finance"]
    with django_capture_on_commit_callbacks() as callbacks:
        first, queued = queue_forecast(company=small, as_of=END, actor=finance)
        again, queued_again = queue_forecast(company=small, as_of=END, actor=users["admin"])
        other, other_queued = queue_forecast(company=small, as_of=END - dt.timedelta(days=7), actor=finance)
    assert queued and not queued_again and again.pk == first.pk and other_queued and other.pk != first.pk
    assert len(callbacks) == 2  # one task per date, not per click
    # a second click on the page follows the same job
    client.force_login(users["admin"])
    r = client.post("/forecast/build/", {"as_of": END.isoformat()}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert (
        r.redirect_chain[-1][0] == f"/forecast/jobs/{first.pk}/"
        and "already being computed" in r.content.decode()
    )
    # while it runs, the daily job and the command line do not compute the same forecast beside it
    ForecastJob.objects.filter(pk=first.pk).update(
        status="running", started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    with pytest.raises(ForecastBusy):
        compute_forecast_now(company=small, as_of=END)
    assert _daily_forecast(small, END)() == "already being computed"
    assert not ForecastRun.objects.exists()
    # the database refuses a second active job of the same date whatever the code does
    with pytest.raises(IntegrityError), transaction.atomic():
        ForecastJob.objects.create(company=small, as_of=END, status="queued")
    # a worker taking the task late, or twice, leaves a job that is not queued alone
    assert run_forecast_job(first.pk).status == "running" and not ForecastRun.objects.exists()
    run_forecast_job(other.pk)
    assert run_forecast_job(other.pk).status == "done" and ForecastRun.objects.count() == 1


def test_a_dead_workers_job_is_replaced(small, users, django_capture_on_commit_callbacks):
    finance = users["finance"]
    job, _ = queue_forecast(company=small, as_of=END, actor=finance)
    beat = timezone.now() - ForecastJob.STALE_AFTER + dt.timedelta(seconds=30)
    ForecastJob.objects.filter(pk=job.pk).update(status="running", started_at=beat, heartbeat_at=beat)
    assert queue_forecast(company=small, as_of=END, actor=finance) == (job, False)  # still beating: kept
    gone = timezone.now() - ForecastJob.STALE_AFTER - dt.timedelta(seconds=1)
    ForecastJob.objects.filter(pk=job.pk).update(heartbeat_at=gone)
    new, queued = queue_forecast(company=small, as_of=END, actor=finance)
    job.refresh_from_db()
    assert queued and new.pk != job.pk and job.status == "failed" and job.finished_at is not None
    with translation.override("en"):
        assert "stopped answering" in str(job.error)
    with translation.override("zh-hans"):
        assert "stopped answering" not in str(job.error)
    # queued with no worker taking it for as long: replaced too
    ForecastJob.objects.filter(pk=new.pk).update(created_at=gone)
    newer, queued = queue_forecast(company=small, as_of=END, actor=finance)
    assert queued and newer.pk not in (job.pk, new.pk)
    # the dead worker's task coming back late finds its job failed and computes nothing
    assert run_forecast_job(job.pk).status == "failed" and not ForecastRun.objects.exists()


def test_a_refusal_or_a_crash_is_recorded_and_shown(client, small, users, monkeypatch):
    job, _ = queue_forecast(company=small, as_of=END, actor=users["finance"])

    def refuse(**kw):
        kw["progress"]("reading")
        raise fc.ForecastError("no items in this currency", field="as_of")

    monkeypatch.setattr(forecast_jobs, "build_forecast", refuse)
    assert run_forecast_job(job.pk).status == "failed"
    job.refresh_from_db()
    assert str(job.error) == "no items in this currency" and job.phase == "reading"
    client.force_login(users["finance"])
    body = client.get(f"/forecast/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "forecast-job-error" in body and "no items in this currency" in body and "Compute again" in body
    assert "every 1s" not in body

    def crash(**kw):
        raise ZeroDivisionError

    monkeypatch.setattr(forecast_jobs, "build_forecast", crash)
    job, _ = queue_forecast(company=small, as_of=END, actor=users["finance"])
    with pytest.raises(ZeroDivisionError):
        run_forecast_job(job.pk)
    job.refresh_from_db()
    with translation.override("en"):
        assert job.status == "failed" and "unexpected error" in str(job.error)
    assert not ForecastRun.objects.exists()


def test_job_page_scope(client, small, users):
    job, _ = queue_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["sales_east"])
    assert client.get(f"/forecast/jobs/{job.pk}/").status_code == 403
    assert "forecast-jobs" not in client.get("/forecast/").content.decode()  # a salesperson cannot compute
    other = Company.objects.create(code="OTHER", name="别家公司")
    theirs = ForecastJob.objects.create(company=other, as_of=END)
    client.force_login(users["finance"])
    assert client.get(f"/forecast/jobs/{theirs.pk}/").status_code == 404
    assert client.get(f"/forecast/jobs/{job.pk}/").status_code == 200


def test_progress_phases_of_a_build(small, users):
    seen = []
    fc.build_forecast(company=small, as_of=END, progress=seen.append)
    assert seen == ["reading", "storing"]  # the books have not moved since END: summed in SQL, no prediction
    seen.clear()
    fc.build_forecast(company=small, as_of=END - dt.timedelta(days=91), progress=seen.append)
    assert seen == ["reading", "predicting", "summing", "storing"]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_long_computation_alive(company, users, monkeypatch):
    job, _ = queue_forecast(company=company, as_of=END, actor=users["finance"])
    monkeypatch.setattr(ForecastJob, "HEARTBEAT_EVERY", 0.05)
    beats = []

    def slow(**kw):
        for _ in range(3):
            time.sleep(0.3)
            beats.append(ForecastJob.objects.get(pk=job.pk).heartbeat_at)
        raise fc.ForecastError("stop here", field="as_of")

    monkeypatch.setattr(forecast_jobs, "build_forecast", slow)
    run_forecast_job(job.pk)
    assert beats[0] < beats[1] < beats[2]  # beaten from another thread while the build was busy
