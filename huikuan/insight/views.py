"""KPI screens: the KPI report (definitions, comparisons, trend, groups, XLSX) and its drill-down.

Everything a user sees is limited to their scope (``insight.kpis`` applies ``accounts.scoping``); a
group key outside it simply has no rows.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from huikuan.common import clock
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date

from . import kpis as k
from .kpi_calc import Period, PeriodError, parse_period

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
    """Billed and collected per month as paired bars."""
    top = max([max(p.billed, p.collected) for p in points] + [1])
    n = len(points)
    slot = (width - 2 * pad) / max(n, 1)
    bw = max(slot / 2 - 2, 1)
    out = []
    for i, p in enumerate(points):
        x0 = pad + slot * i
        for j, (v, colour) in enumerate(((p.billed, "#8aa4c8"), (p.collected, "#2f8f5b"))):
            h = (height - 2 * pad) * float(max(v, 0) / top)
            out.append({"x": f"{x0 + j * (bw + 1):.1f}", "y": f"{height - pad - h:.1f}", "w": f"{bw:.1f}", "h": f"{h:.1f}",
                        "colour": colour, "title": f"{p.end:%Y-%m} {v:,.2f}"})
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


SOURCE_LABELS = {
    "billed": _("Documents billed"), "due": _("Instalments due"), "collected": _("Payments applied"),
    "written_off": _("Write-offs"), "ar": _("Open receivables"), "overdue": _("Overdue receivables"),
    "current": _("Receivables not yet due"),
}


@login_required
def kpi_items(request):
    company = company_of(request)
    period, _error = _period(request, company)
    source = request.GET.get("source", "")
    group = request.GET.get("group") if request.GET.get("group") in k.GROUPS else "none"
    if source not in k.SOURCES:
        raise Http404
    key = _key(group, request.GET.get("key"))
    items = k.kpi_items(user=request.user, company=company, period=period, source=source, group_by=group, key=key)
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
           "qs": request.GET.urlencode(), "nav": "kpis", "label": request.GET.get("label", "")}
    template = "insight/kpi_items.html#items" if request.htmx else "insight/kpi_items.html"
    return render(request, template, ctx)


