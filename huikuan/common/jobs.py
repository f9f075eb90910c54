"""Exactly-once periodic jobs: claim (name, date) by inserting a row, run, record the outcome."""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import JobRun

# The daily run's jobs: (name, factory) where factory(company, day) returns the callable to run once
# for that company and business date. Apps register theirs in AppConfig.ready(); `huikuan daily`
# (and the scheduler thread of `huikuan serve`) runs them in registration order.
DailyJob = Callable[[object, dt.date], Callable[[], str | None]]
DAILY_JOBS: list[tuple[str, DailyJob]] = []


def register_daily(name: str, factory: DailyJob) -> None:
    if not any(n == name for n, _ in DAILY_JOBS):
        DAILY_JOBS.append((name, factory))


def daily_jobs(company, day: dt.date) -> list[tuple[str, Callable[[], str | None]]]:
    """(unique job name, callable) for one company and business date."""
    return [(f"{name}:{company.pk}", factory(company, day)) for name, factory in DAILY_JOBS]


def run_once(name: str, date: dt.date, fn: Callable[[], str | None], *, force: bool = False,
             resume_unfinished: bool = False) -> bool:
    """Run ``fn`` unless (name, date) already ran (or is running elsewhere). Returns True when it ran.

    ``resume_unfinished``: the caller holds the scheduler lock (``leader.exclusive``), which every process
    running the daily jobs holds while it runs them, so an unfinished claim found then belongs to a process
    that is gone (killed in the middle of the job; the lock died with it): the job is run again (every daily
    job is safe to re-run: exactly-once by its own constraints, or a rebuild)."""
    if force:
        JobRun.objects.filter(name=name, date=date).delete()
    resumed = False
    if resume_unfinished and not force:
        resumed = JobRun.objects.filter(name=name, date=date, finished_at__isnull=True).delete()[0] > 0
    try:
        with transaction.atomic():
            run = JobRun.objects.create(name=name, date=date)
    except IntegrityError:
        return False
    try:
        detail = fn() or ""
        if resumed:
            detail = f"resumed after an interrupted run; {detail}"
        JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), ok=True, detail=str(detail)[:2000])
    except Exception:
        JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), ok=False, detail=traceback.format_exc()[-2000:])
        raise
    return True
