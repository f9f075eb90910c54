"""`huikuan bank import FILE [--account NUMBER] [--profile LAYOUT] [--company CODE] [--user NAME] [--no-match]`
and `huikuan bank match [--company CODE] [--user NAME]` (re-run matching over the review queue).

An import stores the file's new lines (all or nothing; lines already imported are skipped), then
matches them and applies the certain ones, with a progress bar. Exit status 1 when the file is refused.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from huikuan.accounts.models import Company, User
from huikuan.banking import services
from huikuan.banking.models import OPEN_STATUSES, BankAccount, BankLine
from huikuan.banking.parsers import FORMATS
from huikuan.common import clock
from huikuan.common.errors import DomainError


class Command(BaseCommand):
    help = "Import bank statements (Chinese bank exports, CAMT.053, MT940, WeChat Pay, Alipay) and match them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a statement file and match its lines")
        imp.add_argument("file")
        imp.add_argument("--account", default="", help="the company's account number (default: from the file)")
        imp.add_argument("--profile", default="", choices=["", *FORMATS], help="force a layout")
        imp.add_argument("--no-match", action="store_true", help="only store the lines")
        match = sub.add_parser("match", help="match the lines waiting in the review queue again")
        for p in (imp, match):
            p.add_argument("--company", default="", help="company code (default: the only one)")
            p.add_argument("--user", default="", help="who acts (default: the first active administrator)")
            p.add_argument("--language", default="", help="zh-hans or en for messages")

    def handle(self, *args, action, company, user, language, **opts):
        if language:
            translation.activate(language)
        comp = self._company(company)
        actor = self._user(user, comp)
        try:
            if action == "import":
                self._import(comp, actor, Path(opts["file"]), opts["account"], opts["profile"], not opts["no_match"])
            else:
                ids = list(BankLine.objects.filter(company=comp, status__in=OPEN_STATUSES, amount__gt=0)
                           .values_list("pk", flat=True))
                counts = self._with_progress(lambda progress: services.match_lines(
                    company=comp, line_ids=ids, actor=actor, on=clock.today(comp), progress=progress), len(ids))
                self._counts(counts)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

    def _import(self, comp, actor, path, account, profile, match):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        account_id = None
        if account:
            acct = BankAccount.objects.filter(company=comp, account_number=account).first()
            if acct is None:
                raise CommandError(f"no bank account {account} in {comp.code}")
            account_id = acct.pk
        res = self._with_progress(lambda progress: services.import_statement(
            company=comp, path=path, file_name=path.name, actor=actor, account_id=account_id, profile=profile,
            on=clock.today(comp), match=match, progress=progress), None)
        st = res.statement
        self.stdout.write(f"{st.get_source_format_display()}: {res.total} lines, {res.new} new, "
                          f"{res.duplicates} already imported, {res.outgoing} outgoing")
        if res.matched:
            self._counts(res.matched)
        self.stdout.write(self.style.SUCCESS(f"statement {st.pk} imported"))

    def _counts(self, counts):
        self.stdout.write(f"applied automatically {counts.get('auto_applied', 0)}, "
                          f"to review {counts.get('suggested', 0)}, unmatched {counts.get('unmatched', 0)}")

    def _with_progress(self, work, total):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("matching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=None, transient=False) as bar:
            task = bar.add_task("matching", total=total)

            def progress(done, all_):
                bar.update(task, completed=done, total=all_)

            return work(progress)

    def _company(self, code):
        qs = Company.objects.all()
        if code:
            qs = qs.filter(code=code)
        companies = list(qs[:2])
        if len(companies) != 1:
            raise CommandError("name the company with --company CODE")
        return companies[0]

    def _user(self, username, company):
        qs = User.objects.filter(is_active=True)
        found = qs.filter(username=username).first() if username else \
            qs.filter(role="admin", companies=company).order_by("pk").first()
        if found is None:
            raise CommandError("name an active user with --user NAME")
        return found
