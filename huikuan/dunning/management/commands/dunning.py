"""huikuan dunning run [--as-of DATE] [--dry-run] [--company CODE] | huikuan dunning send"""

import datetime as dt

from django.core.management.base import CommandError

from huikuan.accounts.commands import some_companies
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError


class Command(HuikuanCommand):
    help = "Dunning: 'run' creates today's notices exactly once (then the outbox sends them); 'send' processes the outbox now."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run", "send", "proposals", "approve", "reject"],
                            help="run: create the day's notices; send: process the outbox; proposals: list the holds and "
                                 "cases a first run proposed; approve / reject: decide them (--id, or --all)")
        parser.add_argument("--as-of", help="business date (YYYY-MM-DD), default today in the company's time zone")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be sent")
        parser.add_argument("--company", help="company code (default: every company)")
        parser.add_argument("--no-send", action="store_true", help="leave the outbox to the worker")
        parser.add_argument("--id", type=int, action="append", default=[], help="a proposal to approve or reject (repeat)")
        parser.add_argument("--all", action="store_true", help="approve or reject every proposal of the company")

    def handle(self, *args, action, as_of, dry_run, company, no_send, **opts):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from huikuan.dunning.outbox import process
        from huikuan.dunning.services import check_as_of, run_dunning

        console = Console(file=self.stdout, force_terminal=False)
        companies = some_companies(company) if action != "send" else []
        if action in ("proposals", "approve", "reject"):
            return self._proposals(action, companies, opts, console)
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
            try:
                check_as_of(as_of=when, today=clock.today(c), dry_run=dry_run)
            except DomainError as exc:
                raise CommandError(str(exc)) from exc
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

    def _proposals(self, action, companies, opts, console):
        from huikuan.dunning.services import decide_proposals, proposals

        for c in companies:
            rows = list(proposals(c))
            if action == "proposals":
                for d in rows:
                    console.print(f"{d.pk:>8}  {c.code}  {d.notice.number}  {d.notice.customer.name}  {d.channel}  "
                                  f"{d.notice.total}")
                console.print(f"{c.code}: {len(rows)} awaiting approval")
                continue
            ids = [d.pk for d in rows] if opts["all"] else opts["id"]
            if not ids:
                raise CommandError("name the proposals with --id N (repeat) or --all")
            n = decide_proposals(company=c, actor=None, delivery_ids=ids, approve=action == "approve")
            console.print(f"{c.code}: {n} {'approved' if action == 'approve' else 'rejected'}")
