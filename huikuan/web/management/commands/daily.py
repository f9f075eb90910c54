"""The daily run: every periodic job, each exactly once per business date (safe to call repeatedly)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from huikuan.accounts.models import Company
from huikuan.common import clock
from huikuan.common.jobs import daily_jobs, run_once


class Command(BaseCommand):
    help = "Run the daily jobs (AR snapshot, …) once per business date; idempotent and non-overlapping."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default="", help="business date (default: today in each company's time zone)")
        parser.add_argument("--force", action="store_true", help="re-run jobs already done for that date")

    def handle(self, *args, as_of, force, **opts):
        for company in Company.objects.all():
            try:
                day = dt.date.fromisoformat(as_of) if as_of else clock.today(company)
            except ValueError as exc:
                raise CommandError(f"bad --as-of: {as_of}") from exc
            for name, fn in daily_jobs(company, day):
                ran = run_once(name, day, fn, force=force)
                self.stdout.write(f"{company.code} {name} {day}: {'done' if ran else 'already done'}")
