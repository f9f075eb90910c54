"""``huikuan warnings run [--as-of D] [--company CODE] [--no-digest]`` | ``huikuan warnings list [--status S]``"""

import datetime as dt

from django.core.management.base import CommandError

from huikuan.accounts.commands import some_companies
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand


class Command(HuikuanCommand):
    help = ("Early warnings: 'run' raises the day's warnings of every enabled rule (once per cause; rerunning "
            "raises nothing twice) and sends the digests; 'list' prints the open ones.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "list"])
        parser.add_argument("--as-of", help="business date (YYYY-MM-DD), default today in the company's time zone")
        parser.add_argument("--company", help="company code (default: every company)")
        parser.add_argument("--no-digest", action="store_true", help="do not send the e-mail and robot digests")
        parser.add_argument("--status", default="open", choices=["open", "acknowledged", "resolved", "all"],
                            help="for list (default open)")

    def handle(self, *args, action, as_of, company, no_digest, status, **opts):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from huikuan.insight import early_warnings as ew
        from huikuan.insight.models import EarlyWarning

        console = Console(file=self.stdout, force_terminal=False, width=160)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError("--as-of must be YYYY-MM-DD") from exc
        for c in some_companies(company):
            when = day or clock.today(c)
            if action == "list":
                qs = EarlyWarning.objects.filter(company=c).select_related("customer", "owner").order_by("-raised_on", "pk")
                if status != "all":
                    qs = qs.filter(status=status)
                for w in qs[:1000]:
                    who = f"{w.customer.code} {w.customer.name}" if w.customer_id else "—"
                    console.print(f"{w.pk:>8} {w.raised_on} {w.severity:<6} {w.kind:<15} {who}  {ew.describe(w)}",
                                  markup=False, highlight=False)
                continue
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=False) as bar:
                task = bar.add_task(f"{c.code} {when}", total=None)

                def progress(done, total, rule, _t=task, _label=f"{c.code} {when}"):
                    bar.update(_t, completed=done, total=total, description=f"{_label} {rule}")

                counts = ew.run_warnings(company=c, as_of=when, progress=progress)
            console.print(f"{c.code} {when}: {sum(counts.values())} warnings raised "
                          + ", ".join(f"{k}={v}" for k, v in counts.items()), markup=False, highlight=False)
            if not no_digest:
                sent = ew.send_digests(company=c, day=when)
                console.print(f"digests: {sent}", markup=False, highlight=False)
