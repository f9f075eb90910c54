from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from huikuan.common.calendar import calendar_warning
from huikuan.common.clock import today


class Command(BaseCommand):
    help = "Warn when next year's Chinese working-day schedule (调休) is missing."

    def handle(self, *args, **opts):
        warning = calendar_warning(today())
        if warning:
            raise CommandError(warning)
        self.stdout.write(_("Working-day calendar is complete."))
