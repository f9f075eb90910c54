"""Maintain the working-day override table (next year's 调休 schedule before the holidays package has it).

    huikuan holidays list [--year 2027]
    huikuan holidays off 2027-02-10 2027-02-11 --note 春节
    huikuan holidays work 2027-02-07 --note 调休上班
    huikuan holidays remove 2027-02-07
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from huikuan.common import audit
from huikuan.common.calendar import is_working_day
from huikuan.common.models import HolidayOverride


class Command(BaseCommand):
    help = "List or edit working-day overrides (holidays and make-up working days)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "off", "work", "remove"])
        parser.add_argument("dates", nargs="*")
        parser.add_argument("--note", default="")
        parser.add_argument("--year", type=int, default=None)

    def handle(self, *args, action, dates, note, year, **opts):
        if action == "list":
            qs = HolidayOverride.objects.all()
            if year:
                qs = qs.filter(date__year=year)
            for o in qs:
                self.stdout.write(f"{o.date}  {'work' if o.is_working_day else 'off '}  {o.note}")
            return
        if not dates:
            raise CommandError("give one or more dates (YYYY-MM-DD)")
        try:
            days = [dt.date.fromisoformat(d) for d in dates]
        except ValueError as exc:
            raise CommandError(f"not a date: {exc}") from exc
        with transaction.atomic():
            for day in days:
                if action == "remove":
                    HolidayOverride.objects.filter(date=day).delete()
                else:
                    HolidayOverride.objects.update_or_create(
                        date=day, defaults={"is_working_day": action == "work", "note": note[:100]})
                audit.record(actor=None, verb=f"calendar.override.{action}", summary=f"{day} {note}"[:300],
                             data={"date": day, "note": note})
        for day in days:
            self.stdout.write(f"{day}: {'working day' if is_working_day(day) else 'non-working day'}")
