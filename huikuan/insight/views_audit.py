"""The internal audit report (categories, segregation-of-duties findings, the events of a category) and the
audit-log search (every event: verb, object, user, customer, dates, text), both with XLSX. Administrator and
auditor only (``audit.report``); anyone else gets 403, which is itself recorded (accounts.middleware)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from huikuan.accounts.models import Company
from huikuan.common import clock, export_jobs
from huikuan.common.audit import VERB_LABELS, verb_label
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting
from huikuan.customers.models import Customer

from . import audit_report as ar

PER_PAGE = 50
XLSX_MAX = 100_000


def _filters(g, company, *, search: bool) -> tuple[ar.Filters, dict, str | None]:
    """The filters the GET parameters ``g`` ask for, the form's values, and an error for a bad input (the
    default period then)."""
    today = clock.today(company)
    error = None
    raw_from, raw_to = (g.get("from") or "").strip(), (g.get("to") or "").strip()
    since, until = parse_date(raw_from), parse_date(raw_to)
    if (raw_from and since is None) or (raw_to and until is None):
        error = _("Enter dates as YYYY-MM-DD.")
    if not raw_from and since is None:
        since = today.replace(day=1) if not search else today - dt.timedelta(days=30)
    if not raw_to and until is None:
        until = today
    category = (g.get("category") or "").strip()
    text = (g.get("q") or "").strip()[:100]
    f = ar.Filters(since=since, until=until, category=category, actor_id=parse_int(g.get("user")),
                   customer_id=parse_int(g.get("customer")), verb=(g.get("verb") or "").strip()[:80],
                   target_type=(g.get("object_type") or "").strip()[:80], target_id=parse_int(g.get("object_id")),
                   text=text)
    try:
        ar.check_filters(f)
    except ar.AuditFilterError as exc:
        error = exc.message
    if error:
        f = ar.Filters(since=today.replace(day=1), until=today)
    form = {"from": raw_from or (since.isoformat() if since else ""), "to": raw_to or (until.isoformat() if until else ""),
            "category": category, "user": g.get("user", ""), "customer": g.get("customer", ""), "verb": f.verb,
            "object_type": f.target_type, "object_id": g.get("object_id", ""), "q": text}
    return f, form, error


AUDIT_LOG_EXPORT = "insight.audit_log"  # the log search's exporter (common.export_jobs), in InsightConfig.ready()
AUDIT_EVENTS_EXPORT = "insight.audit_events"  # a category's events of the audit report, the same way


def _export(*, company_id: int, user, params, search: bool) -> export_jobs.Export:
    if not user.can("audit.report"):
        raise export_jobs.ExportUnavailable(export_jobs.SCOPE_LOST)
    company = Company.objects.get(pk=company_id)
    f, _form, error = _filters(params, company, search=search)
    if error:
        raise export_jobs.ExportUnavailable(error)
    qs = EVENT_SORTS.apply(ar.events(company=company, f=f), params)
    if search:
        name, title = "audit-log", _("Audit log")
    else:
        name, title = f"audit-{f.category}", str(ar.BY_CODE[f.category].label)
    return export_jobs.Export(filename=f"{name}-{clock.today(company)}.xlsx", sheet_title=title, columns=ar.columns(),
                              rows=ar.xlsx_rows(company, qs, XLSX_MAX), count=lambda: min(qs.count(), XLSX_MAX))


def audit_log_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The audit-log search's XLSX (up to ``XLSX_MAX`` events; ``audit.report`` needed when written too)."""
    return _export(company_id=company_id, user=user, params=params, search=True)


def audit_events_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The events of one category of the audit report as XLSX (up to ``XLSX_MAX``)."""
    return _export(company_id=company_id, user=user, params=params, search=False)


def _xlsx(request, kind: str, qs, title: str):
    """The list's "Export XLSX": at once up to ``export_jobs.EXPORT_NOW_ROWS`` events, else a job."""
    return export_jobs.export_or_queue(request, kind=kind, params=request.GET, rows=export_jobs.capped_count(qs),
                                       title=title)


# The log pages by keyset on (at, id), so it sorts by time only, both ways; who, action and object are
# narrowed by the filters instead (an ORDER BY on them would need OFFSET paging over the whole log)
EVENT_SORTS = Sorting({"at": "at"}, default="-at", tiebreak="id", nulls_last=False)


def _page(qs, request, error):
    """The page after the request's cursor, in the request's time order; a damaged cursor gives the first page
    and an error."""
    oldest = not EVENT_SORTS.state(request.GET).descending
    qs = EVENT_SORTS.apply(qs, request.GET)
    try:
        events, after = ar.page_after(qs, after=request.GET.get("after", "") if not error else "", size=PER_PAGE,
                                      oldest_first=oldest)
    except ar.AuditFilterError as exc:
        events, after = ar.page_after(qs, size=PER_PAGE, oldest_first=oldest)
        error = exc.message
    return events, after, error


def _allowed(request):
    company = company_of(request)
    if not request.user.can("audit.report"):
        raise PermissionDenied
    return company


def _people(company):
    users = get_user_model().objects.filter(companies=company).order_by("username")
    return [(u.pk, ar.who(u)) for u in users[:500]]


@login_required
def audit_report(request):
    company = _allowed(request)
    f, form, error = _filters(request.GET, company, search=False)
    if request.GET.get("format") == "xlsx":
        if f.category:
            label = str(ar.BY_CODE[f.category].label)
            return _xlsx(request, AUDIT_EVENTS_EXPORT, ar.events(company=company, f=f), f"{_('Internal audit report')} · {label}")
        return _findings_xlsx(company, f)
    counts = ar.category_counts(company=company, f=f)
    top = max((n for _c, n in counts), default=0) or 1
    counts = [{"code": c.code, "label": c.label, "n": n, "pct": round(n * 100 / top)} for c, n in counts]
    findings = ar.sod_findings(company=company, f=f)
    rows, after = [], ""
    if f.category:
        events, after, error = _page(ar.events(company=company, f=f), request, error)
        rows = ar.event_rows(company, events)
    params = request.GET.copy()
    for k in ("after", "format"):
        params.pop(k, None)
    return render(request, "insight/audit_report.html", {
        "nav": "audit", "form": form, "error": error, "counts": counts, "findings": findings, "rows": rows,
        "after": after, "qs": params.urlencode(), "category": ar.BY_CODE.get(f.category), "people": _people(company),
        "categories": [(c.code, c.label) for c in ar.CATEGORIES], **EVENT_SORTS.context(request.GET),
    }, status=422 if error else 200)


def _findings_xlsx(company, f):
    tz = zoneinfo.ZoneInfo(company.timezone)
    findings = ar.sod_findings(company=company, f=f, limit=10_000)
    customers = dict(Customer.objects.filter(pk__in={x.customer_id for x in findings if x.customer_id})
                     .values_list("pk", "code"))
    return xlsx_response(
        filename=f"audit-segregation-{clock.today(company)}.xlsx", sheet_title=_("Segregation of duties"),
        columns=[(_("Finding"), "text"), (_("Customer"), "text"), (_("Object"), "text"), (_("First step"), "text"),
                 (_("By"), "text"), (_("When"), "text"), (_("Second step"), "text"), (_("By"), "text"),
                 (_("When"), "text"), (_("Same account"), "text")],
        rows=([x.label, customers.get(x.customer_id, ""), x.object_label, x.first_verb, x.first_actor,
               f"{x.first_at.astimezone(tz):%Y-%m-%d %H:%M}", x.second_verb, x.second_actor,
               f"{x.second_at.astimezone(tz):%Y-%m-%d %H:%M}", _("Yes") if x.same_account else _("No")]
              for x in findings))


@login_required
def audit_search(request):
    company = _allowed(request)
    f, form, error = _filters(request.GET, company, search=True)
    qs = ar.events(company=company, f=f)
    if request.GET.get("format") == "xlsx" and not error:
        return _xlsx(request, AUDIT_LOG_EXPORT, qs, _("Audit log"))
    events, after, error = _page(qs, request, error)
    params = request.GET.copy()
    for k in ("after", "format"):
        params.pop(k, None)
    verbs = sorted(((v, verb_label(v)) for v in VERB_LABELS), key=lambda p: p[1])
    return render(request, "insight/audit_search.html", {
        "nav": "audit", "form": form, "error": error, "rows": ar.event_rows(company, events), "after": after,
        "qs": params.urlencode(), "verbs": verbs, "people": _people(company), **EVENT_SORTS.context(request.GET),
    }, status=422 if error else 200)
