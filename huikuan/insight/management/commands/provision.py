"""``huikuan provision --as-of 2026-11-30 [--months 12] [--format table|json|xlsx]``: the suggested bad-debt
provision (坏账准备) as of a date and its movement by month."""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from huikuan.accounts.commands import COMPANY_HELP, one_company
from huikuan.common import clock
from huikuan.common.export import build_xlsx
from huikuan.insight import provision as pv


class Command(BaseCommand):
    help = "Bad-debt provision (坏账准备) as of a date by the company's matrix and individual assessments."

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help=COMPANY_HELP)
        parser.add_argument("--as-of", default="", help="YYYY-MM-DD (default: the last month end)")
        parser.add_argument("--months", type=int, default=0, help="also the movement for this many months (0–36)")
        parser.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        parser.add_argument("--output", default="", help="file for --format xlsx (default: provision-<date>.xlsx)")
        parser.add_argument("--language", default="", help="zh-hans or en")

    def handle(self, *args, company, as_of, months, format, output, language, **opts):
        if language:
            translation.activate(language)
        comp = one_company(company)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else clock.today(comp).replace(day=1) - dt.timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"bad --as-of: {as_of}") from exc
        if not 0 <= months <= 36:
            raise CommandError("--months must be from 0 to 36")
        rep = pv.provision_report(company=comp, as_of=day)
        movement = pv.movement_report(company=comp, until=day, months=months) if months else []
        if format == "json":
            self.stdout.write(json.dumps({
                "as_of": str(day), "matrix_version": rep.matrix_version, "stored": rep.stored,
                "balance": str(rep.balance), "provision": str(rep.provision),
                "lines": [{"kind": ln.kind, "label": ln.label, "customer_id": ln.customer_id, "document_id": ln.document_id,
                           "balance": str(ln.balance), "rate": str(ln.rate), "provision": str(ln.provision)}
                          for ln in rep.lines],
                "movement": [{"month": f"{r.month:%Y-%m}", "opening": str(r.opening), "charge": str(r.charge),
                              "release": str(r.release), "write_off_use": str(r.write_off_use),
                              "closing": str(r.closing)} for r in movement]}, ensure_ascii=False, indent=2))
            return
        if format == "xlsx":
            path = Path(output or f"provision-{day}.xlsx")
            with path.open("wb") as fh:
                build_xlsx(sheet_title="provision", columns=[("", "text"), ("customer", "text"), ("balance", "money"),
                                                            ("rate", "percent"), ("provision", "money")],
                           rows=([ln.label, ln.customer, ln.balance, ln.rate, ln.provision] for ln in rep.lines),
                           totals=["total", "", rep.balance, None, rep.provision], fileobj=fh)
            self.stdout.write(f"{path} ({len(rep.lines)} lines)")
            return
        stored = " (stored at close)" if rep.stored else ""
        self.stdout.write(f"{comp.code} provision as of {day}{stored}, matrix v{rep.matrix_version or 0}")
        for ln in rep.lines:
            self.stdout.write(f"{ln.label[:30]:<30} {ln.balance:>18,.2f} {ln.rate:>7}% {ln.provision:>18,.2f}")
        self.stdout.write(f"{'total':<30} {rep.balance:>18,.2f} {'':>8} {rep.provision:>18,.2f}")
        for r in movement:
            self.stdout.write(f"{r.month:%Y-%m}  opening {r.opening:,.2f}  charge {r.charge:,.2f}  release {r.release:,.2f}"
                              f"  write-off use {r.write_off_use:,.2f}  closing {r.closing:,.2f}")
