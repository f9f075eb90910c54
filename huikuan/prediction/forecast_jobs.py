"""Computing the cash-in forecast in the background (issue 16 point 5), one build per company and date.

At full scale a build takes from half a minute (the stored predictions of the day, SQL only) to minutes (a
past date: every open item predicted again), far too long for a web request. The page's "compute" button
therefore only queues a ``ForecastJob`` (``queue_forecast``); the worker's task (``run_forecast_task``)
claims it with one conditional UPDATE, runs ``forecast.build_forecast`` with a progress callback (the phase
it is in) and a heartbeat thread, and records the outcome (done with its ``ForecastRun``, or failed with the
reason, stored as a text code). The job page polls the job row.

One build at a time per company and date: the partial unique constraint on (company, as_of) over queued and
running jobs; a second request while one is queued or running gets that job back (no second task), and the
daily job and ``huikuan predict forecast`` (``compute_forecast_now``, run in-process) go through the same
slot and refuse (``ForecastBusy``) rather than compute the same forecast twice. A job whose worker went
silent — running with a heartbeat older than ``ForecastJob.STALE_AFTER``, or queued that long with no
worker taking it — is marked failed when a new request for its date comes, and the new one replaces it.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.accounts.models import Company
from huikuan.common import audit, texts
from huikuan.common.errors import DomainError

from .forecast import ForecastError, build_forecast
from .models_forecast import ACTIVE_JOB, ForecastJob, ForecastJobStatus, ForecastRun

texts.register(
    {
        "prediction.forecast.job.stale": gettext_lazy(
            "The worker stopped answering while this forecast was computed (it was stopped or its machine restarted); "
            "a new computation replaced it."
        ),
        "prediction.forecast.job.crashed": gettext_lazy(
            "The computation stopped with an unexpected error; the previous forecast of this date is unchanged."
        ),
    }
)


class ForecastBusy(ForecastError):
    """A forecast of this company and date is already queued or being computed."""

    code = "prediction_forecast_busy"


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _take_slot(*, company, as_of: dt.date, actor, status: str) -> tuple[ForecastJob, bool]:
    """The active job of (company, as_of) and False, or a new job in ``status`` and True. Runs inside the
    caller's transaction, under the company's row lock; a stale active job is marked failed first."""
    now = timezone.now()
    current = ForecastJob.objects.filter(company=company, as_of=as_of, status__in=ACTIVE_JOB).first()
    if current is not None:
        if not current.is_stale(now):
            return current, False
        ForecastJob.objects.filter(pk=current.pk, status=current.status).update(
            status=ForecastJobStatus.FAILED,
            finished_at=now,
            error=texts.Text("prediction.forecast.job.stale"),
        )
    running = status == ForecastJobStatus.RUNNING
    try:
        with transaction.atomic():  # the constraint is the backstop if another writer got past the lock
            job = ForecastJob.objects.create(
                company=company,
                as_of=as_of,
                status=status,
                created_by=_actor(actor),
                phase="reading" if running else "queued",
                started_at=now if running else None,
                heartbeat_at=now if running else None,
            )
    except IntegrityError:
        return ForecastJob.objects.get(company=company, as_of=as_of, status__in=ACTIVE_JOB), False
    return job, True


@transaction.atomic(durable=True)
def queue_forecast(*, company, as_of: dt.date, actor) -> tuple[ForecastJob, bool]:
    """Ask the worker to compute the forecast of ``company`` as of ``as_of`` (a business date, not after the
    company's today — checked by the caller, which knows the clock).

    Returns ``(job, True)`` for a newly queued job (the task is enqueued when this transaction commits) or
    ``(job, False)`` for the job of that date already queued or running, which is left to finish. Locks the
    company row (queue requests of a company one at a time); one audit event for a new job."""
    Company.objects.select_for_update().filter(pk=company.pk).first()
    job, created = _take_slot(company=company, as_of=as_of, actor=actor, status=ForecastJobStatus.QUEUED)
    if created:
        audit.record(
            actor=actor,
            verb="prediction.forecast.queued",
            target=job,
            company_id=company.pk,
            summary=f"{as_of}",
            data={"as_of": str(as_of), "job": job.pk},
        )
        transaction.on_commit(lambda: run_forecast_task.enqueue(job.pk))
    return job, created


@transaction.atomic(durable=True)
def _start_now(*, company, as_of: dt.date, actor) -> ForecastJob:
    Company.objects.select_for_update().filter(pk=company.pk).first()
    job, created = _take_slot(company=company, as_of=as_of, actor=actor, status=ForecastJobStatus.RUNNING)
    if not created:
        raise ForecastBusy(
            _("The forecast as of %(day)s is already being computed (job %(job)s).")
            % {"day": as_of, "job": job.pk},
            field="as_of",
        )
    return job


class _Heartbeat(threading.Thread):
    """Touches the running job's ``heartbeat_at`` every ``HEARTBEAT_EVERY`` seconds from its own connection,
    so a long prediction (minutes at a million items) is not taken for a dead worker."""

    def __init__(self, job_id: int):
        super().__init__(daemon=True, name=f"forecast-heartbeat-{job_id}")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(ForecastJob.HEARTBEAT_EVERY):
                try:
                    ForecastJob.objects.filter(pk=self.job_id, status=ForecastJobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:  # SQLite busy with the build's write: the next beat will do
                    pass
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def _finish(job: ForecastJob, **values) -> None:
    values["finished_at"] = values["heartbeat_at"] = timezone.now()
    # only while still ours: a job replaced as stale meanwhile keeps its "failed"
    ForecastJob.objects.filter(pk=job.pk, status=ForecastJobStatus.RUNNING).update(**values)
    job.refresh_from_db()


def _execute(job: ForecastJob) -> ForecastRun:
    """Build the forecast of a job this process holds (status running); record the outcome. A refusal
    (``DomainError``) or a crash marks the job failed with the reason and is raised again."""

    def progress(phase: str) -> None:
        ForecastJob.objects.filter(pk=job.pk, status=ForecastJobStatus.RUNNING).update(
            phase=phase, heartbeat_at=timezone.now()
        )

    beat = _Heartbeat(job.pk)
    beat.start()
    try:
        run = build_forecast(company=job.company, as_of=job.as_of, actor=job.created_by, progress=progress)
    except DomainError as exc:
        _finish(job, status=ForecastJobStatus.FAILED, error=texts.from_error(exc))
        raise
    except Exception:
        _finish(job, status=ForecastJobStatus.FAILED, error=texts.Text("prediction.forecast.job.crashed"))
        raise
    finally:
        beat.stop()
    _finish(job, status=ForecastJobStatus.DONE, phase="done", run=run, items=run.items)
    return run


def run_forecast_job(job_id: int) -> ForecastJob:
    """Claim a queued job (one conditional UPDATE: two workers never both take it) and compute it. A job
    already taken, done, or replaced as stale is left alone. A refusal is recorded on the job (failed)."""
    now = timezone.now()
    claimed = ForecastJob.objects.filter(pk=job_id, status=ForecastJobStatus.QUEUED).update(
        status=ForecastJobStatus.RUNNING, phase="reading", started_at=now, heartbeat_at=now
    )
    job = ForecastJob.objects.select_related("company", "created_by").get(pk=job_id)
    if claimed:
        try:
            _execute(job)
        except DomainError:
            pass  # recorded on the job; the page shows it
    return job


def compute_forecast_now(*, company, as_of: dt.date, actor=None) -> ForecastRun:
    """Compute the forecast in this process (the daily job, ``huikuan predict forecast``) through the same
    one-build-per-date slot as the worker. Raises ForecastBusy when that date is queued or being computed,
    and whatever ``build_forecast`` raises (the job is then marked failed)."""
    job = _start_now(company=company, as_of=as_of, actor=actor)
    job.company = company
    return _execute(job)


@task()
def run_forecast_task(job_id: int) -> dict:
    """The worker's side of ``queue_forecast``."""
    job = run_forecast_job(job_id)
    return {"status": job.status, "items": job.items, "run": job.run_id}


__all__ = ["ForecastBusy", "compute_forecast_now", "queue_forecast", "run_forecast_job", "run_forecast_task"]
