"""The daily run: every periodic job, each exactly once per business date (safe to call repeatedly)."""

import datetime as dt
import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from huikuan.accounts.models import Company
from huikuan.common import clock, leader
from huikuan.common.jobs import daily_jobs, run_once

log = logging.getLogger("huikuan.scheduler")


class Command(BaseCommand):
    help = "Run the daily jobs (AR snapshot, …) once per business date; idempotent and non-overlapping."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default="", help="business date (default: today in each company's time zone)")
        parser.add_argument("--force", action="store_true", help="re-run jobs already done for that date")
        parser.add_argument(
            "--every", type=int, default=0, metavar="SECONDS",
            help="keep running: call the jobs again every SECONDS (each still runs once per date); used by `serve`",
        )

    def handle(self, *args, as_of, force, every, verbosity=1, **opts):
        self.verbosity = verbosity
        if every < 0:
            raise CommandError("--every must be a number of seconds")
        if as_of:
            try:
                dt.date.fromisoformat(as_of)
            except ValueError as exc:
                raise CommandError(f"bad --as-of: {as_of}") from exc
        if not every:
            self._run(as_of, force)
            return
        while True:
            try:
                self._run(as_of, force)
            except Exception:  # noqa: BLE001 - a failing job is recorded in JobRun; keep the schedule going
                log.exception("daily run failed")
            finally:
                connections.close_all()
            time.sleep(every)

    def _run(self, as_of: str, force: bool) -> None:
        with leader.exclusive("scheduler") as held:
            if not held:  # another node runs the schedule now; try again next cycle
                log.info("another process holds the scheduler lock; standing by")
                if self.verbosity:
                    self.stdout.write("scheduler: another process runs the daily jobs now; standing by")
                return
            self._run_jobs(as_of, force)

    def _run_jobs(self, as_of: str, force: bool) -> None:
        for company in Company.objects.all():
            day = dt.date.fromisoformat(as_of) if as_of else clock.today(company)
            for name, fn in daily_jobs(company, day):
                ran = run_once(name, day, fn, force=force, resume_unfinished=True)  # we hold the scheduler lock
                if self.verbosity:
                    self.stdout.write(f"{company.code} {name} {day}: {'done' if ran else 'already done'}")
