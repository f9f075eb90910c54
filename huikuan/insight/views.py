"""KPI screens: the KPI report (definitions, comparisons, trend, groups, XLSX) and its drill-down.

Everything a user sees is limited to their scope (``insight.kpis`` applies ``accounts.scoping``); a
group key outside it simply has no rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from huikuan.accounts.models import Role
from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date
from huikuan.common.listing import Sorting

from . import commission, kpi_calc
from . import kpis as k
from .commission import rule_for
from .kpi_calc import Period, PeriodError, parse_period
from .kpis import commission_statements
from .models import BillMode, CommissionRule

TRENDS = (12, 24)
TABLE = ("billed", "collected", "ar_end", "overdue", "dso", "best_dso", "add", "dso_countback", "cei",
         "collection_rate_opening", "collection_rate_due", "overdue_rate", "bad_debt_rate", "on_time_share")


def _period(request, company) -> tuple[Period, str | None]:
    """The period asked for (default: this month), cut at ``as_of`` (default its end, at most today)."""
    today = clock.today(company)
    raw = (request.GET.get("period") or "").strip()
    as_of = parse_date(request.GET.get("as_of"))
    try:
        p = parse_period(raw) if raw else parse_period(f"{(as_of or today):%Y-%m}")
        return p.until(as_of or min(p.end, today)), None
    except PeriodError as exc:
        fallback = parse_period(f"{today:%Y-%m}").until(today)
        if str(exc) in ("end_before_start", "as_of_before_start"):
            return fallback, _("The period's end is before its start.")
        return fallback, _("Enter a period such as 2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-20.")


def _key(group: str, raw):
    if group == "none" or raw is None:
        return None
    if raw in ("", "None"):
        return None
    if group == "region":
        return raw
    try:
        return int(raw)
    except ValueError as exc:
        raise Http404 from exc


def _change(now, before):
    if now is None or before is None:
        return None
    return now - before


def _svg_lines(points, series, width=640, height=180, pad=30):
    """Server-rendered SVG polylines (no JavaScript): ``series`` = [(attr, colour)]; gaps where a value is None."""
    values = [getattr(p, a) for p in points for a, _c in series if getattr(p, a) is not None]
    if len(points) < 2 or not values:
        return None
    top = max(max(values), 1)
    n = len(points) - 1

    def x(i):
        return pad + (width - 2 * pad) * i / n

    def y(v):
        return height - pad - (height - 2 * pad) * float(v / top)

    lines = []
    for attr, colour in series:
        segs, cur = [], []
        for i, p in enumerate(points):
            v = getattr(p, attr)
            if v is None:
                if cur:
                    segs.append(cur)
                cur = []
            else:
                cur.append(f"{x(i):.1f},{y(v):.1f}")
        if cur:
            segs.append(cur)
        lines.append({"colour": colour, "segments": [" ".join(s) for s in segs]})
    return {"width": width, "height": height, "lines": lines, "top": top, "y_base": height - pad,
            "labels": [{"x": f"{x(i):.1f}", "text": p.end.strftime("%y-%m")} for i, p in enumerate(points)
                       if n <= 12 or i % 2 == n % 2]}


def _bars(points, width=640, height=180, pad=30):
    """Billed and collected per month as paired bars, each a link to the rows behind it (the month's invoices,
    the month's receipts: the KPI drill-down)."""
    from django.urls import reverse
    from django.utils.http import urlencode

    drill = reverse("insight:kpi-items")
    top = max([max(p.billed, p.collected) for p in points] + [1])
    n = len(points)
    slot = (width - 2 * pad) / max(n, 1)
    bw = max(slot / 2 - 2, 1)
    out = []
    for i, p in enumerate(points):
        x0 = pad + slot * i
        for j, (v, colour, source) in enumerate(((p.billed, "#8aa4c8", "billed"), (p.collected, "#2f8f5b", "collected"))):
            h = (height - 2 * pad) * float(max(v, 0) / top)
            query = urlencode({"period": f"{p.end:%Y-%m}", "as_of": p.end.isoformat(), "source": source})
            out.append({"x": f"{x0 + j * (bw + 1):.1f}", "y": f"{height - pad - h:.1f}", "w": f"{bw:.1f}", "h": f"{h:.1f}",
                        "colour": colour, "title": f"{SOURCE_LABELS[source]} {p.end:%Y-%m} {v:,.2f}",
                        "href": f"{drill}?{query}"})
    return {"width": width, "height": height, "bars": out, "top": top, "y_base": height - pad,
            "labels": [{"x": f"{pad + slot * i + slot / 2:.1f}", "text": p.end.strftime("%y-%m")} for i, p in enumerate(points)
                       if n <= 12 or i % 2 == (n - 1) % 2]}


@login_required
def kpi_page(request):
    company = company_of(request)
    period, error = _period(request, company)
    group = request.GET.get("group") if request.GET.get("group") in k.GROUPS else "none"
    try:
        trend_n = int(request.GET.get("trend", "12"))
    except ValueError:
        trend_n = 12
    trend_n = trend_n if trend_n in TRENDS else 12
    cache: dict = {}
    rep = k.kpi_report(user=request.user, company=company, period=period, group_by=group, cache=cache)
    if request.GET.get("format") == "xlsx":
        rows = rep.rows if group != "none" else []
        return xlsx_response(
            filename=f"kpi-{period.label.replace('..', '_')}-{group}.xlsx", sheet_title=_("KPIs"),
            columns=[(str(k.GROUP_LABELS[group]), "text"), *[(str(m.label), k.export_kind(m)) for m in k.METRICS]],
            rows=([r.label, *[k.metric_value(r, m.code) for m in k.METRICS]] for r in rows),
            totals=[_("Total"), *[k.metric_value(rep.total, m.code) for m in k.METRICS]],
        )
    prev_p, yoy_p = period.previous(), period.year_before()
    prev = k.kpi_report(user=request.user, company=company, period=prev_p, cache=cache).total
    yoy = k.kpi_report(user=request.user, company=company, period=yoy_p, cache=cache).total
    figures = []
    for m in k.METRICS:
        now = k.metric_value(rep.total, m.code)
        p_val, y_val = k.metric_value(prev, m.code), k.metric_value(yoy, m.code)
        figures.append({"m": m, "now": now, "prev": p_val, "yoy": y_val, "d_prev": _change(now, p_val),
                        "d_yoy": _change(now, y_val),
                        "lower_bound": m.code == "dso_countback" and not rep.total.kpis.countback_complete})
    trend = k.kpi_trend(user=request.user, company=company, end=period.end, months=trend_n)
    table_metrics = [k.METRIC[c] for c in TABLE]

    def cells(row):
        return [{"m": m, "v": k.metric_value(row, m.code)} for m in table_metrics]

    params = request.GET.copy()
    params.pop("format", None)
    base = {"period": period.label, "as_of": period.end.isoformat()}
    return render(request, "insight/kpis.html", {
        "nav": "kpis", "r": rep, "period": period, "prev_p": prev_p, "yoy_p": yoy_p, "figures": figures,
        "group": group, "groups": [(g, k.GROUP_LABELS[g]) for g in k.GROUPS], "error": error,
        "period_text": request.GET.get("period", "") if not error else period.label, "trend_n": trend_n, "trends": TRENDS,
        "trend": trend, "dso_chart": _svg_lines(trend, [("dso", "#1f6feb"), ("best_dso", "#2f8f5b")]),
        "rate_chart": _svg_lines(trend, [("collection_rate", "#2f8f5b"), ("overdue_rate", "#c8432b")]),
        "bars": _bars(trend) if trend else None, "qs": params.urlencode(),
        "drill_qs": "&".join(f"{a}={b}" for a, b in base.items()) + f"&group={group}",
        "table_metrics": table_metrics, "group_rows": [{"row": r, "cells": cells(r)} for r in rep.rows],
        "total_cells": cells(rep.total),
    })


@login_required
def dashboard_strip(request):
    """The dashboard's KPI strip and cash outlook, loaded after the page (htmx) so the dashboard itself stays
    fast: the strip sums a month of the ledger (see docs/PERFORMANCE.md)."""
    company = company_of(request)
    return render(request, "insight/_dashboard.html",
                  {"kpi": k.dashboard_kpis(user=request.user, company=company, today=clock.today(company))})


SOURCE_LABELS = {
    "billed": _("Documents billed"), "due": _("Instalments due"), "collected": _("Payments applied"),
    "written_off": _("Write-offs"), "ar": _("Open receivables"), "overdue": _("Overdue receivables"),
    "current": _("Receivables not yet due"),
}


KPI_ITEM_SORTS = Sorting({key: key for key in k.ITEM_ORDER}, default="date")
_ITEM_DEFAULT = {"ar": "due", "overdue": "due", "current": "due", "due": "due"}  # each source's own order


@login_required
def kpi_items(request):
    company = company_of(request)
    period, _error = _period(request, company)
    source = request.GET.get("source", "")
    group = request.GET.get("group") if request.GET.get("group") in k.GROUPS else "none"
    if source not in k.SOURCES:
        raise Http404
    key = _key(group, request.GET.get("key"))
    sort = KPI_ITEM_SORTS.state(request.GET)
    explicit = request.GET.get("sort") == sort.value  # without a (valid) sort the source's own order stays
    items = k.kpi_items(user=request.user, company=company, period=period, source=source, group_by=group, key=key,
                        order=sort.key if explicit else "", descending=sort.descending)
    title = str(SOURCE_LABELS[source])
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"kpi-{source}-{period.label.replace('..', '_')}.xlsx", sheet_title=title[:30],
            columns=[(_("Date"), "date"), (_("Document"), "text"), (_("Customer"), "text"), (_("Due date"), "date"),
                     (_("Receipt"), "text"), (_("Amount"), "money")],
            rows=((i.date, i.document_number, i.customer_label, i.due_date, i.reference, i.amount) for i in items),
        )
    total = sum((i.amount for i in items), k.ZERO)
    ctx = {"items": items, "title": title, "period": period, "source": source, "total": total, "limit": 500,
           **KPI_ITEM_SORTS.context(request.GET if explicit else {"sort": _ITEM_DEFAULT.get(source, "date")}),
           "qs": request.GET.urlencode(), "nav": "kpis", "label": request.GET.get("label", "")}
    template = "insight/kpi_items.html#items" if request.htmx else "insight/kpi_items.html"
    return render(request, template, ctx)




# ---------------------------------------------------------------- salespeople's results and commission


def _month(request, company):
    today = clock.today(company)
    raw = (request.GET.get("month") or "").strip()
    try:
        p = parse_period(raw) if raw else parse_period(f"{today:%Y-%m}")
        if p.kind != "month":
            raise PeriodError("invalid")
        return p, None
    except PeriodError:
        return parse_period(f"{today:%Y-%m}"), _("Enter a month such as 2026-11.")


def _can_manage(user) -> bool:
    return user.role in (Role.ADMIN, Role.FINANCE)


@login_required
def people(request):
    """Salespeople's results for a month (billed, collected, rates, DSO, promises kept), ranked, with their
    commission statements; finance computes and approves from here."""
    company = company_of(request)
    month, error = _month(request, company)
    period = month.until(min(month.end, clock.today(company))) if month.start <= clock.today(company) else month
    rep = k.kpi_report(user=request.user, company=company, period=period, group_by="salesperson", countback_months=1)
    promises = k.promises_by_salesperson(user=request.user, company=company, period=period)
    statements = {st.salesperson_id: st for st in commission_statements(user=request.user, company=company,
                                                                         month=month.start)}
    sort = request.GET.get("sort") if request.GET.get("sort") in LEADERBOARD else "collected"
    rows = []
    for r in rep.rows:
        if r.key is None:
            continue
        kept, broken = promises.get(r.key, (0, 0))
        st = statements.get(r.key)
        rows.append({"row": r, "kept": kept, "broken": broken,
                     "kept_rate": kpi_calc.percent(Decimal(kept), Decimal(kept + broken)), "st": st,
                     "commission": st.commission_amount if st else None})
    rows.sort(key=lambda x: _rank_key(x, sort))
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"salespeople-{month.label}.xlsx", sheet_title=_("Salespeople"),
            columns=[(_("Rank"), "int"), (_("Salesperson"), "text"), (_("Billed (credit sales)"), "money"),
                     (_("Collected"), "money"), (_("Collection rate (of opening AR + billed)"), "percent"),
                     (_("Overdue rate"), "percent"), (_("Bad-debt rate"), "percent"), (_("DSO"), "money"),
                     (_("Promises kept"), "int"), (_("Promises broken"), "int"), (_("Commission"), "money")],
            rows=([i + 1, x["row"].label, x["row"].sums.billed, x["row"].sums.collected,
                   x["row"].kpis.collection_rate_opening, x["row"].kpis.overdue_rate, x["row"].kpis.bad_debt_rate,
                   x["row"].kpis.dso, x["kept"], x["broken"], x["commission"]] for i, x in enumerate(rows)),
        )
    return render(request, "insight/people.html", {
        "nav": "people", "month": month, "period": period, "rows": rows, "error": error, "sort": sort,
        "can_manage": _can_manage(request.user), "rule": rule_for(company, month.end),
        "drafts": [st.pk for st in statements.values() if st.status == "draft"],
        "total": rep.total,
    })


LEADERBOARD = ("collected", "collection_rate", "dso", "commission")


def _rank_key(x, sort):
    r = x["row"]
    if sort == "collection_rate":
        return (-(r.kpis.collection_rate_opening or Decimal(-1)), r.label)
    if sort == "dso":
        return (r.kpis.dso if r.kpis.dso is not None else Decimal(10**9), r.label)
    if sort == "commission":
        return (-(x["commission"] or Decimal(0)), r.label)
    return (-r.sums.collected, r.label)


@login_required
def commission_run(request):
    company = company_of(request)
    if not _can_manage(request.user):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    month, _error = _month(request, company)
    action = request.POST.get("action")
    try:
        if action == "approve":
            ids = [int(x) for x in request.POST.getlist("statement") if x.isdigit()]
            n = commission.approve(company=company, statement_ids=ids, actor=request.user)
            messages.success(request, _("%(n)s statement(s) approved.") % {"n": n})
        else:
            n = commission.compute_month(company=company, month=month.start, actor=request.user)
            messages.success(request, _("Commission computed: %(n)s payment line(s).") % {"n": n})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('insight:people')}?month={month.label}")


@login_required
def commission_statement(request, pk):
    company = company_of(request)
    st = get_object_or_404(commission_statements(user=request.user, company=company), pk=pk)
    lines = list(st.lines.select_related("customer", "credit", "instalment__document").order_by("date", "pk"))
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"commission-{st.month:%Y-%m}-{st.salesperson.username}.xlsx", sheet_title=_("Commission"),
            columns=[(_("Date"), "date"), (_("Customer"), "text"), (_("Document"), "text"), (_("Receipt"), "text"),
                     (_("Due date"), "date"), (_("Days late"), "int"), (_("Acceptance bill"), "text"),
                     (_("Amount applied"), "money"), (_("Rate (%)"), "money"), (_("Commission"), "money"),
                     (_("Adjustment"), "text")],
            rows=([ln.date, f"{ln.customer.code} {ln.customer.name}", ln.instalment.document.number, ln.credit.number,
                   ln.due_date, ln.days_late, _("Yes") if ln.is_bill else "", ln.amount, ln.rate, ln.commission,
                   _("Yes") if ln.adjustment else ""] for ln in lines),
            totals=[_("Total"), None, None, None, None, None, None, st.collected_amount, None, st.commission_amount, None],
        )
    return render(request, "insight/commission_statement.html", {"nav": "people", "st": st, "lines": lines})


@login_required
def commission_rules(request):
    company = company_of(request)
    if not _can_manage(request.user):
        raise PermissionDenied
    error = None
    form = {"valid_from": "", "bands": "0-30:1, 31-90:0.5, 91-:0", "bill_mode": "same", "bill_share": "100", "note": ""}
    if request.method == "POST":
        form = {key: request.POST.get(key, "").strip() for key in form}
        try:
            valid_from = parse_date(form["valid_from"])
            if valid_from is None:
                raise commission.CommissionError(_("Enter a valid date."), field="valid_from")
            try:
                share = Decimal(form["bill_share"] or "100")
            except ArithmeticError as exc:
                raise commission.CommissionError(_("A rate must be between 0 and 100 %."), field="bill_share") from exc
            commission.save_rule(company=company, valid_from=valid_from, bands=commission.parse_bands(form["bands"]),
                                 bill_mode=form["bill_mode"], bill_share=share, note=form["note"][:200],
                                 actor=request.user)
            messages.success(request, _("Commission rule saved."))
            return redirect("insight:commission-rules")
        except DomainError as exc:
            error = exc.message
    rules = CommissionRule.objects.filter(company=company).prefetch_related("bands")
    status = 422 if error else 200
    return render(request, "insight/commission_rules.html", {"nav": "people", "rules": rules, "form": form,
                                                             "error": error, "modes": BillMode.choices}, status=status)
