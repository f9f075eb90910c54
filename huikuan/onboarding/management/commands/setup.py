"""huikuan setup --company-code CODE --company-name NAME --admin USER [--currency CNY] [--time-zone ZONE]
[--password-file FILE] [--terms-file FILE | --print-terms] — set up a company without the web UI.

The administrator's password comes from ``--password-file`` (its first line) or the environment
variable ``HUIKUAN_ADMIN_PASSWORD`` (never from the command line, where other users could read it);
an administrator who already exists is given access to the new company instead. Exits non-zero with
a clear message when the company code is taken; nothing is written then.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from decimal import Decimal
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from huikuan.accounts.models import User
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.customers.termtext import (
    TermTextError,
    format_discount,
    format_split,
    parse_discount,
    parse_split,
)
from huikuan.onboarding import services
from huikuan.onboarding.defaults import starter_terms

TERM_COLUMNS = ["code", "name", "kind", "days", "split", "discount"]


def terms_to_csv(terms: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TERM_COLUMNS)
    for t in terms:
        writer.writerow([t["code"], t["name"], t["kind"], t["days"], format_split(t["split_lines"]),
                         format_discount(t["discount_percent"], t["discount_days"]) if Decimal(str(t["discount_percent"])) else ""])
    return out.getvalue()


def terms_from_csv(text: str) -> list[dict]:
    """Rows as ``--print-terms`` writes them (code,name,kind,days,split,discount); CommandError per bad line."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise CommandError(_("The terms file has no rows (columns: %(columns)s).") % {"columns": ",".join(TERM_COLUMNS)})
    missing = [c for c in ("code", "name", "kind") if c not in rows[0]]
    if missing:
        raise CommandError(_("The terms file lacks the columns %(columns)s.") % {"columns": ", ".join(missing)})
    terms = []
    for n, row in enumerate(rows, start=2):
        try:
            percent, days, _net = parse_discount(row.get("discount") or "")
            split = parse_split(row.get("split") or "")
        except TermTextError as exc:
            raise CommandError(_("Terms file line %(line)d: cannot read %(text)s.") % {"line": n, "text": exc}) from exc
        terms.append({"code": row["code"], "name": row["name"], "kind": (row["kind"] or "").strip(),
                      "days": (row.get("days") or "0").strip() or "0", "split_lines": split,
                      "discount_percent": percent, "discount_days": days})
    return terms


class Command(HuikuanCommand):
    help = ("Set up a company: the company, its first administrator, the work calendar, starter payment terms "
            "(net 30/60/90, 月结 30/60, 2/10 net 30, a 30/70 split), default credit grades and a default dunning "
            "policy. The password comes from --password-file or HUIKUAN_ADMIN_PASSWORD.")

    def add_arguments(self, parser):
        parser.add_argument("--company-code", default="", help="short code of the company, e.g. HK01 (required)")
        parser.add_argument("--company-name", default="", help="full legal name, e.g. 杭州汇款科技有限公司 (required)")
        parser.add_argument("--company-name-en", default="", help="English name (optional)")
        parser.add_argument("--currency", default="CNY", help="base currency code (default: CNY)")
        parser.add_argument("--time-zone", default="Asia/Shanghai", help="IANA time zone (default: Asia/Shanghai)")
        parser.add_argument("--admin", default="", help="login of the first administrator (required); an existing "
                            "administrator is given access to the company instead")
        parser.add_argument("--admin-name", default="", help="the administrator's display name")
        parser.add_argument("--admin-email", default="", help="the administrator's e-mail address")
        parser.add_argument("--password-file", default="",
                            help="file whose first line is the administrator's password (else HUIKUAN_ADMIN_PASSWORD)")
        parser.add_argument("--terms-file", default="", help="CSV of the payment terms to create instead of the "
                            "starter set (columns code,name,kind,days,split,discount; see --print-terms)")
        parser.add_argument("--print-terms", action="store_true",
                            help="print the starter payment terms as CSV (to edit and pass back with --terms-file) and exit")
        parser.add_argument("--roll-due-dates", action=argparse.BooleanOptionalAction, default=True,
                            help="roll due dates that fall on a holiday or weekend to the next working day (default: on)")
        parser.add_argument("--language", default="", choices=["", "zh-hans", "en"], help="language of the messages")

    def handle(self, *args, **o):
        with translation.override(o["language"] or translation.get_language()):
            self._handle(o)

    def _handle(self, o):
        if o["print_terms"]:
            self.stdout.write(terms_to_csv(starter_terms()), ending="")
            return
        missing = [flag for flag, key in (("--company-code", "company_code"), ("--company-name", "company_name"),
                                          ("--admin", "admin")) if not o[key].strip()]
        if missing:
            raise CommandError(_("Missing %(options)s (see `huikuan setup --help`).") % {"options": ", ".join(missing)})
        terms = None
        if o["terms_file"]:
            path = Path(o["terms_file"])
            if not path.is_file():
                raise CommandError(_("No such file: %(path)s") % {"path": path})
            terms = terms_from_csv(path.read_text(encoding="utf-8-sig"))
        existing = User.objects.filter(username=o["admin"].strip()).first()
        admin = existing if existing is not None else services.NewAdmin(
            username=o["admin"].strip(), password=self._password(o["password_file"]),
            display_name=o["admin_name"], email=o["admin_email"])
        try:
            result = services.setup_company(
                code=o["company_code"], name=o["company_name"], name_en=o["company_name_en"], currency=o["currency"],
                time_zone=o["time_zone"], roll_due_dates=o["roll_due_dates"], admin=admin, terms=terms)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        c = result.company
        self.stdout.write(self.style.SUCCESS(_("Company %(code)s %(name)s is set up.") % {"code": c.code, "name": c.name}))
        if existing is None:
            self.stdout.write(_("Administrator: %(user)s") % {"user": result.admin.username})
        else:
            self.stdout.write(_("Administrator: %(user)s (an existing user, now given access to this company)")
                              % {"user": result.admin.username})
        self.stdout.write(_("Currency %(currency)s, time zone %(zone)s, due dates on holidays roll to the next "
                            "working day: %(roll)s") % {"currency": c.base_currency, "zone": c.timezone,
                                                       "roll": _("yes") if c.roll_due_to_working_day else _("no")})
        self.stdout.write(_("Payment terms: %(terms)s") % {"terms": ", ".join(f"{t.code} ({t.name})" for t in result.terms)})
        self.stdout.write(_("Credit grades: %(grades)s; dunning policy: %(policy)s")
                          % {"grades": ", ".join(result.grades), "policy": result.dunning_policy})
        self.stdout.write(_("Next: add people with `huikuan user add`, then import customers with "
                            "`huikuan import customers FILE`."))

    def _password(self, path: str) -> str:
        if path:
            file = Path(path)
            if not file.is_file():
                raise CommandError(_("No such file: %(path)s") % {"path": path})
            lines = file.read_text(encoding="utf-8-sig").splitlines()
            password = lines[0] if lines else ""
        else:
            password = os.environ.get("HUIKUAN_ADMIN_PASSWORD", "")
        if not password and sys.stdin.isatty():
            import getpass

            password = getpass.getpass(_("Password for the administrator:") + " ")
            if password != getpass.getpass(_("Same password again:") + " "):
                raise CommandError(_("The two passwords differ."))
        if not password:
            raise CommandError(_("Give the administrator's password with --password-file FILE or the environment "
                                 "variable HUIKUAN_ADMIN_PASSWORD."))
        return password

