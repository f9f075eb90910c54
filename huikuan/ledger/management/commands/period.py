"""``huikuan period close 2026-11`` / ``huikuan period reopen 2026-11 --reason …`` / ``huikuan period status``."""

from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from huikuan.accounts.commands import COMPANY_HELP, one_company
from huikuan.accounts.models import Role, User
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.ledger import periods


class Command(HuikuanCommand):
    help = "Period close (关账): close a month, reopen it (administrators), or show the lock date and history."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        close = sub.add_parser("close", help="close a month and every month before it")
        close.add_argument("month", help="YYYY-MM")
        reopen = sub.add_parser("reopen", help="reopen a month and every month after it (administrators)")
        reopen.add_argument("month", help="YYYY-MM")
        reopen.add_argument("--reason", required=True, help="why the month is reopened (kept in the history)")
        sub.add_parser("status", help="the lock date and the close/reopen history")
        for p in (close, reopen):
            p.add_argument("--user", default="", help="who acts (default: the first active administrator)")
        parser.add_argument("--company", default="", help=COMPANY_HELP)
        parser.add_argument("--language", default="", help="zh-hans or en for messages")

    def handle(self, *args, action, company, language, **opts):
        if language:
            translation.activate(language)
        comp = one_company(company)
        if action == "status":
            lock = periods.lock_date(comp.pk)
            self.stdout.write(_("The books are closed up to %(lock)s.") % {"lock": lock} if lock else _("No month is closed."))
            for e in periods.period_history(company=comp):
                self.stdout.write(f"{e.at:%Y-%m-%d %H:%M}\t{e.get_action_display()}\t{e.month:%Y-%m}\t"
                                  f"{e.lock_date_before or '—'} → {e.lock_date_after or '—'}\t{e.actor}\t{e.reason}")
            return
        actor = self._user(opts.get("user", ""), comp)
        try:
            month = periods.parse_month(opts["month"])
            if action == "close":
                event = periods.close_month(company=comp, month=month, actor=actor, today=clock.today(comp))
            else:
                event = periods.reopen_month(company=comp, month=month, actor=actor, reason=opts["reason"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        lock = event.lock_date_after
        self.stdout.write(self.style.SUCCESS(
            _("The books are now closed up to %(lock)s.") % {"lock": lock} if lock else _("No month is closed now.")))

    @staticmethod
    def _user(username, company):
        qs = User.objects.filter(is_active=True, companies=company)
        found = qs.filter(username=username).first() if username else qs.filter(role=Role.ADMIN).order_by("pk").first()
        if found is None:
            raise CommandError(_("Name an active user of this company with --user NAME."))
        return found
