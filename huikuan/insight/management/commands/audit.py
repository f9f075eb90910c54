"""``huikuan audit report --from 2026-11-01 --to 2026-11-30 [--category C] [--format table|json|xlsx]``: the
internal audit report (events per category, segregation-of-duties findings; with --format xlsx the events —
of one category, or of every category with a category column — and the findings on a second sheet);
``huikuan audit search --from … --to … [--verb V] [--user ID] [--customer ID] [--text T]``: the audit log.

Same selectors as the pages (``huikuan.insight.audit_report``); a period that ends before it starts is refused."""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from openpyxl import Workbook

from huikuan.accounts.commands import COMPANY_HELP, one_company
from huikuan.common import clock
from huikuan.common.export import _xlsx_text, build_xlsx
from huikuan.insight import audit_report as ar


def _date(value: str, name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError as exc:
        raise CommandError(f"bad --{name}: {value} (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Internal audit report (内部审计) and audit-log search."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["report", "search"])
        parser.add_argument("--company", default="", help=COMPANY_HELP)
        parser.add_argument("--from", dest="since", default="", help="YYYY-MM-DD (default: the month's first day)")
        parser.add_argument("--to", dest="until", default="", help="YYYY-MM-DD, inclusive (default: today)")
        parser.add_argument("--category", default="", choices=["", *ar.BY_CODE])
        parser.add_argument("--verb", default="", help="search: a verb, or a prefix ending in *")
        parser.add_argument("--user", type=int, default=None, help="user id")
        parser.add_argument("--customer", type=int, default=None, help="customer id")
        parser.add_argument("--text", default="", help="search: text in the summary or the data")
        parser.add_argument("--limit", type=int, default=100_000, help="most events written (xlsx, json)")
        parser.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        parser.add_argument("--output", default="", help="file for --format xlsx (default: audit-<from>-<to>.xlsx)")
        parser.add_argument("--language", default="", help="zh-hans or en")

    def handle(self, *args, action, company, since, until, category, verb, user, customer, text, limit, format,
               output, language, **opts):
        if language:
            translation.activate(language)
        comp = one_company(company)
        today = clock.today(comp)
        f = ar.Filters(since=_date(since, "from", today.replace(day=1)), until=_date(until, "to", today),
                       category=category, actor_id=user, customer_id=customer, verb=verb, text=text)
        try:
            ar.check_filters(f)
        except ar.AuditFilterError as exc:
            raise CommandError(str(exc.message)) from exc
        if action == "search":
            return self._events(comp, f, format=format, output=output, limit=limit)
        counts = ar.category_counts(company=comp, f=f)
        findings = ar.sod_findings(company=comp, f=f, limit=10_000)
        if format == "json":
            self.stdout.write(json.dumps({
                "from": str(f.since), "to": str(f.until),
                "categories": [{"code": c.code, "label": str(c.label), "events": n} for c, n in counts],
                "findings": [{"rule": x.rule, "customer_id": x.customer_id, "object": x.object_label,
                              "first": x.first_verb, "first_by": x.first_actor, "first_at": x.first_at.isoformat(),
                              "second": x.second_verb, "second_by": x.second_actor,
                              "second_at": x.second_at.isoformat(), "same_account": x.same_account}
                             for x in findings]}, ensure_ascii=False, indent=2))
            return
        if format == "xlsx":
            path = Path(output or f"audit-{f.since}-{f.until}.xlsx")
            self._report_xlsx(comp, f, findings, path, limit)
            self.stdout.write(f"{path}")
            return
        self.stdout.write(f"{comp.code} internal audit {f.since} – {f.until}")
        for c, n in counts:
            self.stdout.write(f"  {str(c.label):<36} {n:>10,}")
        self.stdout.write(f"segregation of duties: {len(findings)} finding(s)")
        for x in findings:
            self.stdout.write(f"  {x.label}: customer {x.customer_id or '—'} {x.object_label} · {x.first_verb} "
                              f"{x.first_actor} {x.first_at:%Y-%m-%d %H:%M} → {x.second_verb} {x.second_actor} "
                              f"{x.second_at:%Y-%m-%d %H:%M}")

    def _events(self, comp, f, *, format, output, limit):
        qs = ar.events(company=comp, f=f)
        if format == "xlsx":
            path = Path(output or f"audit-log-{f.since}-{f.until}.xlsx")
            with path.open("wb") as fh:
                build_xlsx(sheet_title="audit", columns=ar.columns(), rows=ar.xlsx_rows(comp, qs, limit), fileobj=fh)
            self.stdout.write(f"{path}")
            return
        rows = ar.xlsx_rows(comp, qs, limit if format == "json" else 200)
        if format == "json":
            keys = ["at", "who", "action", "verb", "object", "customer", "detail", "before", "after"]
            self.stdout.write(json.dumps([dict(zip(keys, r, strict=True)) for r in rows], ensure_ascii=False, indent=2))
            return
        for r in rows:
            self.stdout.write("  ".join(str(v) for v in r[:7] if v))

    def _report_xlsx(self, comp, f, findings, path: Path, limit: int):
        """Sheet 1: the events (of the category, or of every category with a category column); sheet 2: findings."""
        from django.utils.translation import gettext as _

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(_("Audit log")[:31])
        cats = [ar.BY_CODE[f.category]] if f.category else list(ar.CATEGORIES)
        ws.append([_("Category"), *[c for c, _kind in ar.columns()]])
        written = 0
        for cat in cats:
            qs = ar.events(company=comp, f=ar.Filters(**{**f.__dict__, "category": cat.code}))
            for row in ar.xlsx_rows(comp, qs, max(limit - written, 0)):
                ws.append([str(cat.label), *[_safe(v) for v in row]])
                written += 1
        fs = wb.create_sheet(_("Segregation of duties")[:31])
        fs.append([_("Finding"), _("Customer ID"), _("Object"), _("First step"), _("By"), _("When"), _("Second step"),
                   _("By"), _("When"), _("Same account")])
        for x in findings:
            fs.append([x.label, x.customer_id, x.object_label, x.first_verb, _safe(x.first_actor),
                       f"{x.first_at:%Y-%m-%d %H:%M}", x.second_verb, _safe(x.second_actor), f"{x.second_at:%Y-%m-%d %H:%M}",
                       _("Yes") if x.same_account else _("No")])
        wb.save(path)


def _safe(value):
    """Text as a spreadsheet must keep it: no formula, no XML control character (common.export)."""
    return _xlsx_text(value) if isinstance(value, str) else value
