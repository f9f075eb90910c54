"""`huikuan bank import FILE [--account NUMBER] [--profile LAYOUT] [--map "列名=field" …] [--no-match]`,
`huikuan bank match`, `huikuan bank account add --bank 招商银行 --number 7559… [--currency CNY] [--name …]`,
`huikuan bank account list` and `huikuan bank purge-uploads` (each with [--company CODE] [--user NAME]).

An import stores the file's new lines (all or nothing; lines already imported are skipped), then
matches them and applies the certain ones, with a progress bar. A layout the product does not know is
mapped once with ``--map`` (the mapping is saved for the bank account and used by itself next time);
without it the command lists the file's columns with sample values. Exit status 1 when the file is
refused.
"""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huikuan.accounts.commands import one_company
from huikuan.accounts.models import User
from huikuan.banking import services
from huikuan.banking.models import OPEN_STATUSES, BankAccount, BankLine
from huikuan.banking.parsers import FORMATS, MAP_FIELDS, LayoutUnknown
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError


def _pair(text: str) -> tuple[str, str]:
    column, sep, field = text.rpartition("=")
    if not sep or not column.strip() or not field.strip():
        raise CommandError(_("--map takes “column=field”, e.g. --map \"贷方发生额(收入)=credit\"; got “%(value)s”.")
                           % {"value": text})
    return column.strip(), field.strip()


class Command(HuikuanCommand):
    help = "Import bank statements (Chinese bank exports, CAMT.053, MT940, WeChat Pay, Alipay), match them, manage the company's bank accounts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a statement file and match its lines")
        imp.add_argument("file")
        imp.add_argument("--account", default="", help="the company's account number (default: from the file)")
        imp.add_argument("--profile", default="", choices=["", *FORMATS], help="force a layout")
        imp.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                         help="map a column of an unknown layout to a field (" + ", ".join(MAP_FIELDS) + "); "
                              "repeat per column; saved for the account and used automatically next time")
        imp.add_argument("--no-match", action="store_true", help="only store the lines")
        match = sub.add_parser("match", help="match the lines waiting in the review queue again")
        acct = sub.add_parser("account", help="the company's own bank accounts")
        acct_sub = acct.add_subparsers(dest="account_action", required=True)
        add = acct_sub.add_parser("add", help="add a bank account of the company")
        add.add_argument("--bank", required=True, help="bank (and branch), e.g. 招商银行上海分行")
        add.add_argument("--number", required=True, help="account number")
        add.add_argument("--currency", default="CNY", help="three-letter currency code (default CNY)")
        add.add_argument("--name", default="", help="a name for the account, e.g. 基本户")
        lst = acct_sub.add_parser("list", help="list the company's bank accounts")
        purge = sub.add_parser("purge-uploads", help="delete uploads left unmapped for more than a day")
        for p in (imp, match, add, lst, purge):
            p.add_argument("--company", default="", help="company code (default: the only one)")
            p.add_argument("--user", default="", help="who acts (default: the first active administrator)")
            p.add_argument("--language", default="", help="zh-hans or en for messages")

    def handle(self, *args, action, company, user, language, **opts):
        if language:
            translation.activate(language)
        comp = self._company(company)
        try:
            if action == "purge-uploads":
                n = services.purge_abandoned_uploads(company=comp, now=timezone.now())
                self.stdout.write(_("%(n)s abandoned uploads deleted.") % {"n": n})
                return
            if action == "account" and opts["account_action"] == "list":
                self._list_accounts(comp)
                return
            actor = self._user(user, comp)
            if action == "account":
                acct = services.create_account(company=comp, bank=opts["bank"], account_number=opts["number"],
                                               currency=opts["currency"], name=opts["name"], actor=actor)
                self.stdout.write(self.style.SUCCESS(_("Bank account %(account)s added.") % {"account": acct}))
            elif action == "import":
                mapping = [_pair(m) for m in opts["map"]]
                self._import(comp, actor, Path(opts["file"]), opts["account"], opts["profile"], not opts["no_match"],
                             mapping)
            else:
                ids = list(BankLine.objects.filter(company=comp, status__in=OPEN_STATUSES, amount__gt=0)
                           .values_list("pk", flat=True))
                counts = self._with_progress(lambda progress: services.match_lines(
                    company=comp, line_ids=ids, actor=actor, on=clock.today(comp), progress=progress), len(ids))
                self._counts(counts)
        except LayoutUnknown as exc:
            raise CommandError(self._layout_help(exc, opts.get("file") or "FILE")) from exc
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc

    def _list_accounts(self, comp):
        rows = list(BankAccount.objects.filter(company=comp).order_by("bank", "account_number"))
        if not rows:
            self.stdout.write(_("No bank accounts yet. Add one with: huikuan bank account add --bank BANK --number NUMBER"))
            return
        for a in rows:
            state = "" if a.is_active else " " + _("(inactive)")
            layouts = a.layouts.count()
            extra = " · " + _("%(n)s saved layouts") % {"n": layouts} if layouts else ""
            self.stdout.write(f"{a.account_number}\t{a.currency}\t{a.bank}\t{a.name}{state}{extra}")

    def _layout_help(self, exc: LayoutUnknown, file: str) -> str:
        view = exc.preview
        lines = [str(exc.message), "", _("Columns of the file (header on line %(line)s), with sample values:")
                 % {"line": view.header_line}]
        for h in view.headers:
            if h:
                lines.append(f"  {h}: {' | '.join(view.samples.get(h, [])) or '—'}")
        lines += ["", _("Fields: %(fields)s") % {"fields": ", ".join(f"{code} ({label})" for code, label in MAP_FIELDS.items())},
                  _("Map them once, e.g.: %(example)s") % {
                      "example": f'huikuan bank import {file} --map "交易日期=date" --map "贷方发生额(收入)=credit" '
                                 '--map "借方发生额(支取)=debit" --map "对方户名=name"'}]
        return "\n".join(lines)

    def _import(self, comp, actor, path, account, profile, match, mapping):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        account_id = None
        if account:
            digits = "".join(ch for ch in account if ch.isdigit())
            acct = next((a for a in BankAccount.objects.filter(company=comp)
                         if a.account_number == account or (digits and "".join(
                             ch for ch in a.account_number if ch.isdigit()) == digits)), None)
            if acct is None:
                raise CommandError(f"no bank account {account} in {comp.code}")
            account_id = acct.pk
        res = self._with_progress(lambda progress: services.import_statement(
            company=comp, path=path, file_name=path.name, actor=actor, account_id=account_id, profile=profile,
            on=clock.today(comp), match=match, progress=progress, mapping=mapping or None), None)
        st = res.statement
        self.stdout.write(f"{st.account.account_number} · {st.get_source_format_display()}: {res.total} lines, "
                          f"{res.new} new, {res.duplicates} already imported, {res.outgoing} outgoing")
        if mapping:
            self.stdout.write(_("The mapping is saved for account %(account)s and used automatically next time.")
                              % {"account": st.account.account_number})
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
        return one_company(code)

    def _user(self, username, company):
        qs = User.objects.filter(is_active=True)
        found = qs.filter(username=username).first() if username else \
            qs.filter(role="admin", companies=company).order_by("pk").first()
        if found is None:
            raise CommandError("name an active user with --user NAME")
        return found
