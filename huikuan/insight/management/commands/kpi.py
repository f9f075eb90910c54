"""``huikuan kpi --as-of D --period 2026-11 --by salesperson``: receivables KPIs as a table, JSON or XLSX."""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from huikuan.accounts.commands import one_company
from huikuan.accounts.models import User
from huikuan.common import clock
from huikuan.common.export import build_xlsx
from huikuan.insight.kpi_calc import PeriodError, parse_period
from huikuan.insight.kpis import GROUPS, METRICS, export_kind, kpi_report, metric_value

TABLE = ("billed", "collected", "ar_end", "overdue", "dso", "best_dso", "add", "cei", "collection_rate_opening",
         "overdue_rate")


class Command(BaseCommand):
    help = "Receivables KPIs (DSO, CEI, collection rate, …) for a period, for the company or grouped."

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help="company code (default: the only one)")
        parser.add_argument("--period", default="", help="2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-20 "
                                                         "(default: the month of --as-of)")
        parser.add_argument("--as-of", default="", help="YYYY-MM-DD: cuts the period there (default: its end, "
                                                        "at most today)")
        parser.add_argument("--by", default="none", choices=GROUPS, help="grouping (default: company total)")
        parser.add_argument("--user", default="", help="see what this user sees (default: everything)")
        parser.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        parser.add_argument("--output", default="", help="file for --format xlsx (default: kpi-<period>.xlsx)")
        parser.add_argument("--language", default="", help="zh-hans or en")

    def handle(self, *args, company, period, as_of, by, user, format, output, language, **opts):
        if language:
            translation.activate(language)
        comp = self._company(company)
        today = clock.today(comp)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"bad --as-of: {as_of}") from exc
        try:
            p = parse_period(period) if period else parse_period(f"{(day or today):%Y-%m}")
            p = p.until(day or min(p.end, today))
        except PeriodError as exc:
            raise CommandError(f"bad --period {period!r} or --as-of before its start ({exc})") from exc
        who = None
        if user:
            who = User.objects.filter(username=user, is_active=True, companies=comp).first()
            if who is None:
                raise CommandError(f"no active user {user} in {comp.code}")
        rep = kpi_report(user=who, company=comp, period=p, group_by=by)
        rows = rep.rows if by != "none" else []
        if format == "json":
            def enc(v):
                return None if v is None else str(v)
            data = {"period": {"start": str(p.start), "end": str(p.end), "label": p.label}, "group_by": by,
                    "total": {m.code: enc(metric_value(rep.total, m.code)) for m in METRICS},
                    "rows": [{"key": enc(r.key), "label": r.label, **{m.code: enc(metric_value(r, m.code))
                                                                      for m in METRICS}} for r in rows]}
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if format == "xlsx":
            path = Path(output or f"kpi-{p.label.replace('..', '_')}.xlsx")
            with path.open("wb") as fh:
                build_xlsx(sheet_title="KPI", columns=[("", "text"), *[(str(m.label), export_kind(m)) for m in METRICS]],
                           rows=([r.label, *[metric_value(r, m.code) for m in METRICS]] for r in rows),
                           totals=[str(rep.total.label), *[metric_value(rep.total, m.code) for m in METRICS]],
                           fileobj=fh)
            self.stdout.write(f"{path} ({len(rows)} rows)")
            return
        self.stdout.write(f"{comp.code} {p.start} – {p.end} ({p.days} d)")
        if not rows:  # the company (or the user's scope): one figure per line
            for m in METRICS:
                self.stdout.write(f"{str(m.label):<44} {self._fmt(metric_value(rep.total, m.code), m.kind):>18}")
            return
        shown = [m for m in METRICS if m.code in TABLE]
        self.stdout.write(f"{'':<30} " + " ".join(f"{m.code[:12]:>12}" for m in shown))
        for r in [*rows, rep.total]:
            self.stdout.write(f"{str(r.label)[:30]:<30} "
                              + " ".join(f"{self._fmt(metric_value(r, m.code), m.kind):>12}" for m in shown))

    @staticmethod
    def _fmt(value, kind):
        if value is None:
            return "—"
        if kind == "percent":
            return f"{value:,.2f}%"
        return f"{value:,.2f}"

    def _company(self, code):
        return one_company(code)
