"""huikuan collections review [--as-of D] [--company CODE] | queue [--as-of D] | interest CUSTOMER [--as-of D]."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import CommandError

from huikuan.accounts.commands import some_companies
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.customers.models import Customer


class Command(HuikuanCommand):
    help = ("Collections: settle promises (kept/broken) and payment plans, repair disputed amounts and recompute the "
            "worklist (what the daily job does), recompute only the worklist, or show a customer's penalty interest")

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help="company code (default: every company)")
        sub = parser.add_subparsers(dest="action", required=True)
        r = sub.add_parser("review", help="promises, plans, disputed amounts and the worklist as of a date")
        r.add_argument("--as-of", default="", help="business date YYYY-MM-DD (default: today)")
        q = sub.add_parser("queue", help="recompute the worklist ranking")
        q.add_argument("--as-of", default="")
        i = sub.add_parser("interest", help="penalty interest per overdue item of a customer (code)")
        i.add_argument("customer")
        i.add_argument("--as-of", default="")

    def _companies(self, code):
        return some_companies(code)

    def _day(self, value, company):
        if not value:
            return clock.today(company)
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {value!r}") from exc

    def handle(self, *args, action, **o):
        try:
            for company in self._companies(o["company"]):
                getattr(self, f"do_{action}")(company, o)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def do_review(self, company, o):
        from huikuan.collections import services
        from huikuan.collections.worklist import refresh_queue

        day = self._day(o["as_of"], company)
        t = time.perf_counter()
        p = services.review_promises(company=company, as_of=day)
        pl = services.review_plans(company=company, as_of=day)
        synced = services.sync_all_disputed(company=company)
        rows = refresh_queue(company=company, as_of=day)
        self.stdout.write(f"{company.code} {day}: promises kept {p['kept']}, broken {p['broken']}; plans completed "
                          f"{pl['completed']}, broken {pl['broken']}; disputed amounts repaired {synced}; worklist "
                          f"{rows} customers ({time.perf_counter() - t:.1f} s)")

    def do_queue(self, company, o):
        from huikuan.collections.worklist import refresh_queue

        day = self._day(o["as_of"], company)
        t = time.perf_counter()
        rows = refresh_queue(company=company, as_of=day)
        self.stdout.write(f"{company.code} {day}: worklist {rows} customers ({time.perf_counter() - t:.1f} s)")

    def do_interest(self, company, o):
        from huikuan.collections.interest import instalment_interest

        customer = Customer.objects.filter(company=company, code=o["customer"]).first()
        if customer is None:
            return
        day = self._day(o["as_of"], company)
        total = 0
        for r in instalment_interest(customer=customer, as_of=day):
            self.stdout.write(f"{r.document_number}\t{r.due_date}\t{r.days} days\t{r.amount}{' (capped)' if r.capped else ''}")
            total += r.amount
        self.stdout.write(f"{customer.code} {customer.name}: penalty interest to {day}: {total}")
