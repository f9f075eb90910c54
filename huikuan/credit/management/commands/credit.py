"""huikuan credit rescore [--as-of D] [--company CODE] | check CUSTOMER AMOUNT | holds [--as-of D] | fit."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import CommandError

from huikuan.accounts.commands import one_company, some_companies
from huikuan.accounts.models import User
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.customers.models import Customer


class Command(HuikuanCommand):
    help = ("Credit management: rescore customers (with a progress bar), check credit for an amount, apply the "
            "automatic hold rule, or fit scorecard weights (proposed, not applied)")

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help="company code (default: every company; `check` needs one unless there is only one)")
        sub = parser.add_subparsers(dest="action", required=True)
        r = sub.add_parser("rescore", help="score every customer as of a date")
        r.add_argument("--as-of", default="", help="business date YYYY-MM-DD (default: today)")
        c = sub.add_parser("check", help="credit check for a customer (code) and amount")
        c.add_argument("customer")
        c.add_argument("amount")
        c.add_argument("--as-of", default="")
        c.add_argument("--json", action="store_true")
        h = sub.add_parser("holds", help="place and lift automatic holds by the grade hold rules")
        h.add_argument("--as-of", default="")
        f = sub.add_parser("fit", help="fit weights by logistic regression and propose them as a scorecard version")
        f.add_argument("--as-of", default="")
        f.add_argument("--as", dest="actor", default="", help="user proposing the version (default: first admin)")

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
        companies = self._companies(o["company"])
        try:
            getattr(self, f"do_{action}")(companies, o)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def do_rescore(self, companies, o):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from huikuan.credit.scoring import rescore

        for company in companies:
            day = self._day(o["as_of"], company)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          transient=not self.stdout.isatty()) as bar:
                task = bar.add_task(f"{company.code} factors", total=None)

                def tell(phase, done, total, task=task, bar=bar, company=company):
                    bar.update(task, description=f"{company.code} {phase}", completed=done, total=total)

                result = rescore(company=company, as_of=day, progress=tell)
            self.stdout.write(f"{company.code} {day}: scored {result['customers']} customers with scorecard version "
                              f"{result['version']}, {result['grade_changes']} grade changes")

    def do_check(self, companies, o):
        from huikuan.credit.services import check_credit

        company = one_company(o["company"])
        customer = Customer.objects.filter(company=company, code=o["customer"]).first()
        if customer is None:
            raise CommandError(f"unknown customer {o['customer']}")
        result = check_credit(company=company, customer_id=customer.pk, amount=o["amount"],
                              as_of=self._day(o["as_of"], company))
        if o["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(f"{result.outcome.upper()}  limit {result.limit_amount:,.2f}  exposure "
                          f"{result.exposure_amount:,.2f}  available {result.available_amount:,.2f}")
        for r in result.reasons:
            self.stdout.write(f"  [{r.severity}] {r.message}")

    def do_holds(self, companies, o):
        from huikuan.credit.jobs import apply_hold_rules

        for company in companies:
            res = apply_hold_rules(company=company, as_of=self._day(o["as_of"], company))
            self.stdout.write(f"{company.code}: placed {res['placed']}, lifted {res['lifted']}")

    def do_fit(self, companies, o):
        from huikuan.credit.model_fit import propose_fitted_version

        admins = User.objects.filter(role="admin", is_active=True).order_by("pk")
        actor = admins.filter(username=o["actor"]).first() if o["actor"] else admins.first()
        if actor is None:
            raise CommandError("no active administrator to act as")
        for company in companies:
            version = propose_fitted_version(company=company, as_of=self._day(o["as_of"], company), actor=actor)
            m = version.metrics
            self.stdout.write(f"{company.code}: proposed scorecard version {version.number}; held-out AUC {m.get('auc')} "
                              f"(current scorecard {m.get('baseline_auc')}); train {m['train_customers']} customers "
                              f"({m['train_late']} became 60+ days late), test {m['test_customers']} ({m['test_late']})")
