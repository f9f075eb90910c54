"""huikuan dunning run [--as-of DATE] [--dry-run] [--company CODE] | huikuan dunning send"""

import datetime as dt

from django.core.management.base import CommandError

from huikuan.accounts.commands import some_companies
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand


class Command(HuikuanCommand):
    help = "Dunning: 'run' creates today's notices exactly once (then the outbox sends them); 'send' processes the outbox now."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "send"])
        parser.add_argument("--as-of", help="business date (YYYY-MM-DD), default today in the company's time zone")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be sent")
        parser.add_argument("--company", help="company code (default: every company)")
        parser.add_argument("--no-send", action="store_true", help="leave the outbox to the worker")

    def handle(self, *args, action, as_of, dry_run, company, no_send, **opts):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from huikuan.dunning.outbox import process
        from huikuan.dunning.services import run_dunning

        console = Console(file=self.stdout, force_terminal=False)
        companies = some_companies(company) if action == "run" else []
        if action == "send":
            counts = process()
            console.print(f"outbox: {counts or 'nothing due'}")
            return
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError("--as-of must be YYYY-MM-DD") from exc
        for c in companies:
            when = day or clock.today(c)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=False) as bar:
                task = bar.add_task(f"{c.code} {when}", total=None)

                def progress(done, total, _t=task):
                    bar.update(_t, completed=done, total=total)

                run = run_dunning(company=c, as_of=when, dry_run=dry_run, trigger="cli", progress=progress,
                                  enqueue=False)
            label = "dry run" if dry_run else "run"
            console.print(f"{c.code} {when} {label} #{run.pk}: {run.notices} notices, {run.items} items, "
                          + ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items())))
        if not dry_run and not no_send:
            counts = process()
            console.print(f"outbox: {counts or 'nothing due'}")
