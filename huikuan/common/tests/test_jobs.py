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


def test_a_job_whose_process_was_killed_is_run_again_by_the_next_lock_holder():
    """A SIGKILL leaves the claim without an outcome. Without the scheduler lock it counts as running elsewhere;
    under the lock (which the killed process no longer holds) the job is run again."""
    day = dt.date(2026, 1, 1)
    JobRun.objects.create(name="z", date=day)  # claimed by a process that was then killed
    calls = []
    assert not run_once("z", day, lambda: calls.append(1))
    assert run_once("z", day, lambda: calls.append(2) or "ok", resume_unfinished=True)
    assert calls == [2]
    run = JobRun.objects.get(name="z")
    assert run.ok and run.detail == "resumed after an interrupted run; ok"
    assert not run_once("z", day, lambda: calls.append(3), resume_unfinished=True)  # finished: never again that day
    assert calls == [2]


def test_the_daily_command_resumes_an_interrupted_job(company, capsys):
    from huikuan.common.jobs import daily_jobs

    name = daily_jobs(company, dt.date(2026, 2, 1))[0][0]
    JobRun.objects.create(name=name, date=dt.date(2026, 2, 1))
    call_command("daily", "--as-of", "2026-02-01")
    assert JobRun.objects.get(name=name).ok is True
