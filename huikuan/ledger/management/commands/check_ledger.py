from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from huikuan.ledger.checks import check_ledger


class Command(BaseCommand):
    help = "Verify every denormalised ledger balance against its recomputation."

    def add_arguments(self, parser):
        parser.add_argument("--company", type=int, default=None, help="company id (default: all)")

    def handle(self, *args, company=None, **opts):
        problems = check_ledger(company_id=company)
        for p in problems:
            self.stderr.write(str(p))
        if problems:
            raise CommandError(_("%(n)d ledger differences found") % {"n": len(problems)})
        self.stdout.write(_("Ledger consistent: every balance equals its recomputation."))
