import datetime as dt

import pytest
from django.core.management import call_command

from huikuan.common.jobs import run_once
from huikuan.common.models import JobRun

pytestmark = pytest.mark.django_db


def test_run_once_per_date_and_failures_recorded():
    calls = []
    assert run_once("x", dt.date(2026, 1, 1), lambda: calls.append(1))
    assert not run_once("x", dt.date(2026, 1, 1), lambda: calls.append(2))
    assert run_once("x", dt.date(2026, 1, 2), lambda: calls.append(3))
    assert calls == [1, 3]

    def boom():
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError):
        run_once("y", dt.date(2026, 1, 1), boom)
    assert JobRun.objects.get(name="y").ok is False


def test_daily_command_is_idempotent(company, capsys):
    call_command("daily", "--as-of", "2026-02-01")
    call_command("daily", "--as-of", "2026-02-01")
    out = capsys.readouterr().out
    assert "done" in out and "already done" in out
    from huikuan.common.jobs import DAILY_JOBS

    # one run per registered job and company, however often the command is called
    assert JobRun.objects.filter(date=dt.date(2026, 2, 1)).count() == len(DAILY_JOBS)
    assert len(DAILY_JOBS) >= 5  # snapshot, credit, collections, dunning, … all registered
