"""huikuan user add LOGIN --role ROLE [...] | list | set-role LOGIN ROLE | deactivate LOGIN | reactivate LOGIN |
reset-password LOGIN — user administration at the command line (the same services as the Users page).

A password set here is one-time: the user chooses their own at their first sign-in. It comes from
``--password-file`` or ``HUIKUAN_USER_PASSWORD``; without either a random one is generated and shown once.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from huikuan.accounts import services
from huikuan.accounts.commands import COMPANY_HELP, no_company_message, one_company
from huikuan.accounts.models import Company, Role, User
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError

ROLE_HELP = "one of: " + ", ".join(Role.values)


class Command(HuikuanCommand):
    help = ("Add, list, change the role of, deactivate or reactivate users, move a leaver's customers to another "
            "salesperson, or reset a password.")

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help=COMPANY_HELP)
        parser.add_argument("--language", default="", choices=["", "zh-hans", "en"], help="language of the messages")
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,list,set-role,deactivate,reactivate,"
                                    "reassign,reset-password}")
        add = sub.add_parser("add", help="add a user to the company (one-time password)")
        add.add_argument("login")
        add.add_argument("--role", required=True, help=ROLE_HELP)
        add.add_argument("--name", default="", help="display name, e.g. 张伟")
        add.add_argument("--employee-number", default="", help="employee number (工号), unique when set")
        add.add_argument("--email", default="", help="e-mail address")
        add.add_argument("--phone", default="", help="phone number")
        add.add_argument("--team", default="", help="team name (created when new)")
        add.add_argument("--manager", default="", help="login or employee number of the user's manager")
        add.add_argument("--user-language", default="zh-hans", choices=["zh-hans", "en"],
                         help="the language the user reads the product in (default: zh-hans)")
        add.add_argument("--password-file", default="",
                         help="file whose first line is the one-time password (else HUIKUAN_USER_PASSWORD, else generated)")
        lst = sub.add_parser("list", help="list the company's users")
        lst.add_argument("--all", action="store_true", help="include deactivated users")
        lst.add_argument("--json", action="store_true", help="print JSON lines")
        role = sub.add_parser("set-role", help="give a user another role")
        role.add_argument("login", help="login or employee number")
        role.add_argument("role", help=ROLE_HELP)
        off = sub.add_parser("deactivate", help="stop a leaver signing in (history keeps the name)")
        off.add_argument("login", help="login or employee number")
        on = sub.add_parser("reactivate", help="let a deactivated user sign in again")
        on.add_argument("login", help="login or employee number")
        move = sub.add_parser("reassign", help="move every customer a user owns (e.g. a leaver's) to another salesperson")
        move.add_argument("login", help="login or employee number of the present owner")
        move.add_argument("--to", required=True, help="login or employee number of the new owner")
        reset = sub.add_parser("reset-password", help="set a one-time password")
        reset.add_argument("login", help="login or employee number")
        reset.add_argument("--password-file", default="",
                           help="file whose first line is the one-time password (else HUIKUAN_USER_PASSWORD, else generated)")

    def handle(self, *args, action, **o):
        with translation.override(o["language"] or translation.get_language()):
            try:
                getattr(self, "do_" + action.replace("-", "_"))(o)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc

    def _user(self, login: str) -> User:
        user = services.find_user(login)
        if user is None:
            raise CommandError(_("Unknown user %(login)s.") % {"login": login})
        return user

    def _password(self, path: str) -> tuple[str, bool]:
        if path:
            file = Path(path)
            if not file.is_file():
                raise CommandError(_("No such file: %(path)s") % {"path": path})
            lines = file.read_text(encoding="utf-8-sig").splitlines()
            if lines and lines[0]:
                return lines[0], False
            raise CommandError(_("The password file is empty."))
        if os.environ.get("HUIKUAN_USER_PASSWORD"):
            return os.environ["HUIKUAN_USER_PASSWORD"], False
        return secrets.token_urlsafe(9), True

    def do_add(self, o):
        company = one_company(o["company"])
        password, generated = self._password(o["password_file"])
        user = services.create_user(
            actor=None, username=o["login"], password=password, role=o["role"], display_name=o["name"],
            employee_number=o["employee_number"], email=o["email"], phone=o["phone"], team=o["team"],
            manager=o["manager"], language=o["user_language"], companies=[company], one_time=True)
        self.stdout.write(self.style.SUCCESS(_("User %(login)s added to %(company)s as %(role)s.") % {
            "login": user.username, "company": company.code, "role": user.get_role_display()}))
        if generated:
            self.stdout.write(_("One-time password (shown once; to be changed at the first sign-in): %(password)s")
                              % {"password": password})

    def do_list(self, o):
        if not Company.objects.exists():
            raise CommandError(no_company_message())
        company = one_company(o["company"])
        qs = (User.objects.filter(companies=company).select_related("team", "manager")
              .order_by("-is_active", "username"))
        if not o["all"]:
            qs = qs.filter(is_active=True)
        rows = [{"login": u.username, "name": u.display_name, "employee_number": u.employee_number,
                 "role": u.role, "team": u.team.name if u.team else "", "manager": u.manager.username if u.manager else "",
                 "email": u.email, "phone": u.phone, "active": u.is_active} for u in qs]
        if o["json"]:
            for r in rows:
                self.stdout.write(json.dumps(r, ensure_ascii=False))
            return
        for r in rows:
            state = "" if r["active"] else "  [" + _("deactivated") + "]"
            self.stdout.write(f"{r['login']:<16} {r['employee_number']:<10} {r['role']:<15} {r['name']:<12} "
                              f"{r['team']:<10} {r['email']}{state}")
        self.stdout.write(_("%(count)d users") % {"count": len(rows)})

    def do_set_role(self, o):
        user = services.set_role(actor=None, user_id=self._user(o["login"]).pk, role=o["role"])
        self.stdout.write(self.style.SUCCESS(_("%(login)s is now %(role)s.") % {
            "login": user.username, "role": user.get_role_display()}))

    def do_deactivate(self, o):
        user = services.deactivate_user(actor=None, user_id=self._user(o["login"]).pk)
        self.stdout.write(self.style.SUCCESS(_("%(login)s is deactivated.") % {"login": user.username}))

    def do_reactivate(self, o):
        user = services.reactivate_user(actor=None, user_id=self._user(o["login"]).pk)
        self.stdout.write(self.style.SUCCESS(_("%(login)s can sign in again.") % {"login": user.username}))

    def do_reassign(self, o):
        from huikuan.customers.services import reassign_customers

        company = one_company(o["company"])
        old, new = self._user(o["login"]), self._user(o["to"])
        moved = reassign_customers(company=company, actor=None, from_user_id=old.pk, to_user_id=new.pk)
        self.stdout.write(self.style.SUCCESS(_("%(count)d customers moved from %(old)s to %(new)s.") % {
            "count": moved, "old": old.username, "new": new.username}))

    def do_reset_password(self, o):
        password, generated = self._password(o["password_file"])
        user = services.reset_password(actor=None, user_id=self._user(o["login"]).pk, password=password)
        self.stdout.write(self.style.SUCCESS(_("One-time password set for %(login)s.") % {"login": user.username}))
        if generated:
            self.stdout.write(_("One-time password (shown once; to be changed at the first sign-in): %(password)s")
                              % {"password": password})
