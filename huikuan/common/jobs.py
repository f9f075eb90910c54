"""Exactly-once periodic jobs: claim (name, date) by inserting a row, run, record the outcome."""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import JobRun


def run_once(name: str, date: dt.date, fn: Callable[[], str | None], *, force: bool = False) -> bool:
    """Run ``fn`` unless (name, date) already ran (or is running elsewhere). Returns True when it ran."""
    if force:
        JobRun.objects.filter(name=name, date=date).delete()
    try:
        with transaction.atomic():
            run = JobRun.objects.create(name=name, date=date)
    except IntegrityError:
        return False
    try:
        detail = fn() or ""
        JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), ok=True, detail=str(detail)[:2000])
    except Exception:
        JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), ok=False, detail=traceback.format_exc()[-2000:])
        raise
    return True
