from django.core.management.base import BaseCommand, CommandError
from rich.progress import track

from huikuan.accounts.models import Company
from huikuan.common import clock
from huikuan.insight.services import month_ends, take_snapshot


class Command(BaseCommand):
    help = "Write receivables snapshots (per owner) for the dashboard trend; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", default="", help="date (default: today); with --months, the last month ends up to it")
        parser.add_argument("--months", type=int, default=0, help="back-fill this many month ends")

    def handle(self, *args, as_of, months, **opts):
        import datetime as dt

        for company in Company.objects.all():
            try:
                day = dt.date.fromisoformat(as_of) if as_of else clock.today(company)
            except ValueError as exc:
                raise CommandError(f"bad --as-of: {as_of}") from exc
            dates = month_ends(day, months) if months else [day]
            for d in track(dates, description=f"{company.code} snapshots", disable=len(dates) < 3):
                take_snapshot(company=company, as_of=d)
            self.stdout.write(f"{company.code}: {len(dates)} snapshot date(s) written")
