"""Large exports written by the worker (common.export_jobs) with a list of its own: a crash and a refusal are
recorded on the job, a stale job is replaced, the cleanup deletes expired and orphaned files only."""

import datetime as dt
import os

import pytest
from django.utils import timezone, translation

from huikuan.common import export_jobs, texts
from huikuan.common.errors import DomainError
from huikuan.common.models import ExportJob

pytestmark = pytest.mark.django_db


def _numbers(*, company_id, user, params):
    n = int(params.get("n", "3"))
    if params.get("boom"):
        raise RuntimeError("boom")
    if params.get("refuse"):
        raise export_jobs.ExportUnavailable("These forecast items are not there any more.")
    return export_jobs.Export(filename="numbers", sheet_title="Numbers", columns=[("N", "int")],
                              rows=([i] for i in range(n)), count=lambda: n)


@pytest.fixture
def numbers(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setitem(export_jobs.EXPORTERS, "test.numbers", _numbers)
    return tmp_path / "exports"


def _queue(user, company, **params):
    return export_jobs.queue_export(kind="test.numbers", params={k: str(v) for k, v in params.items()}, user=user,
                                    company_id=company.pk, title="Numbers", language="en")


def test_written_then_expired_and_orphans_deleted(numbers, users, company):
    job, created = _queue(users["finance"], company, n=12)
    assert created and job.status == "queued"
    job = export_jobs.run_export_job(job.pk)
    assert (job.status, job.done, job.total, job.filename) == ("done", 12, 12, "numbers.xlsx")
    assert export_jobs.export_file(job) == numbers / job.path
    # taking a done job again does nothing (two workers, or a retried task)
    assert export_jobs.run_export_job(job.pk).finished_at == job.finished_at
    orphan, fresh = numbers / "old.xlsx.part", numbers / "new.xlsx.part"
    orphan.write_bytes(b"x")
    fresh.write_bytes(b"x")
    two_days = (timezone.now() - dt.timedelta(days=2)).timestamp()
    os.utime(orphan, (two_days, two_days))
    assert export_jobs.expire_exports() == 1 and not orphan.exists() and fresh.exists()
    assert export_jobs.export_file(job) is not None  # kept: not old enough
    assert export_jobs.expire_exports(now=timezone.now() + dt.timedelta(days=7, seconds=1)) == 2
    job.refresh_from_db()
    assert job.status == "expired" and export_jobs.export_file(job) is None and not list(numbers.iterdir())


def test_a_crash_and_a_refusal_fail_the_job_without_a_file(numbers, users, company):
    job, _ = _queue(users["finance"], company, boom=1)
    with pytest.raises(RuntimeError):
        export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == texts.Text("common.export.crashed")
    assert not numbers.exists() or not list(numbers.iterdir())
    job, _ = _queue(users["finance"], company, refuse=1)
    job = export_jobs.run_export_job(job.pk)
    with translation.override("en"):
        assert job.status == "failed" and str(job.error) == "These forecast items are not there any more."
    with pytest.raises(DomainError):
        export_jobs.queue_export(kind="test.unknown", params={}, user=users["finance"], company_id=company.pk,
                                 title="x", language="en")


def test_the_same_export_while_queued_is_that_job_and_a_stale_one_is_replaced(numbers, users, company):
    first, created = _queue(users["finance"], company, n=4)
    again, created_again = _queue(users["finance"], company, n=4)
    assert created and not created_again and again.pk == first.pk
    other, created_other = _queue(users["finance2"], company, n=4)  # another user's is their own job
    assert created_other and other.pk != first.pk
    ExportJob.objects.filter(pk=first.pk).update(created_at=timezone.now() - ExportJob.STALE_AFTER)
    replaced, created = _queue(users["finance"], company, n=4)
    first.refresh_from_db()
    assert created and replaced.pk != first.pk and first.status == "failed"
    assert export_jobs.run_export_job(first.pk).status == "failed"  # the stale one is not taken any more
