"""Cash-in forecast screens: the 13-week forecast (chart, breakdown, XLSX), building one as of a date, and
the forecast's backtest (weekly WAPE beside the naive due-date forecast). Scoped by the customers' owner:
a salesperson sees the forecast of their customers only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int

from . import forecast as fc
from . import forecast_jobs
from .models_forecast import ACTIVE_JOB, ForecastJob, ForecastJobStatus, ForecastRun
from .texts import LIVE_LABELS


def pct(x):
    """A WAPE fraction as the percentage number the XLSX percent columns take (12.5 → 12.5 %)."""
    return None if x is None else Decimal(str(round(x * 100, 1)))


def source_label(source: str) -> str:
    if source == "due_date":
        return _("No model trained yet: every item is expected on its due date")
    return str(LIVE_LABELS.get(source, source))


def dimension_choices():
    return [("total", _("Company")), ("salesperson", _("Salesperson")), ("group", _("Customer group")),
            ("currency", _("Currency"))]


def week_headers(f: fc.Forecast) -> list[str]:
    out = []
    for k, (a, b) in enumerate(f.ranges):
        label = _("Week %(n)d") % {"n": k + 1}
        out.append(f"{label} ({a:%m-%d}–{b:%m-%d})")
    return out


def money_text(v) -> str:
    """1,234,567.89 — what floatformat:"2g" prints in both languages (config/formats), formatted once here:
    a 56-group table has ~800 amounts and the template filter cost ~100 ms for them."""
    return f"{v:,.2f}"


def table_rows(f: fc.Forecast) -> list[dict]:
    """The rows shown and exported: the four scenarios, the orders (when asked), then the breakdown."""
    names = {"p10": _("Early (P10)"), "p50": _("Expected (P50)"), "p90": _("Late (P90)"),
             "naive": _("If paid on due dates")}
    rows = [{"label": names[s], "weeks": f.scenarios[s].weeks, "total": f.scenarios[s].total,
             "within": f.scenarios[s].within, "kind": s} for s in fc.SCENARIOS]
    if f.orders is not None:
        rows.append({"label": f.orders.label, "weeks": f.orders.weeks, "total": f.orders.total,
                     "within": f.orders.within, "kind": "orders"})
    for line in f.lines:
        rows.append({"label": line.label, "weeks": line.weeks, "total": line.total, "within": line.within,
                     "kind": "line"})
    for r in rows:
        r["texts"] = [money_text(v) for v in [*r["weeks"], r["total"]]]
    return rows


@login_required
def forecast_page(request):
    company = company_of(request)
    g = request.GET
    as_of = parse_date(g.get("as_of"))
    by = g.get("by") if g.get("by") in fc.DIMENSIONS else "total"
    orders = g.get("orders") == "1"
    run = fc.run_on(company, as_of)
    runs = list(fc.runs_of(company).values_list("as_of", flat=True)[:60])
    jobs = (list(ForecastJob.objects.filter(company=company, status__in=ACTIVE_JOB).order_by("as_of")[:10])
            if request.user.can("forecast.build") else [])
    ctx = {"nav": "forecast", "run": run, "runs": runs, "dimensions": dimension_choices(), "jobs": jobs,
           "can_build": request.user.can("forecast.build"), "can_backtest": request.user.can("forecast.backtest"), "today": clock.today(company),
           "form": {"as_of": as_of.isoformat() if as_of else "", "by": by, "orders": orders, "currency": ""}}
    if run is None:
        if as_of is not None and runs:
            messages.info(request, _("There is no forecast as of %(day)s yet.") % {"day": as_of})
        return render(request, "prediction/forecast.html", ctx)
    f = fc.read_forecast(run=run, user=request.user, by=by, currency=g.get("currency", ""), orders=orders)
    rows = table_rows(f)
    if g.get("format") == "xlsx":
        return xlsx_response(
            filename=f"forecast-{run.as_of}-{f.currency}.xlsx", sheet_title=_("Cash-in forecast"),
            columns=[(_("Line"), "text"), *[(h, "money") for h in week_headers(f)], (_("Beyond 13 weeks"), "money"),
                     (_("Total"), "money")],
            rows=([r["label"], *r["weeks"], r["total"]] for r in rows))
    ctx["form"]["currency"] = f.currency
    ctx.update({"f": f, "rows": rows, "chart": fc.chart(f), "source": source_label(run.source),
                "is_baseline": run.source not in ("model", "due_date"), "no_model": run.source == "due_date",
                "headers": week_headers(f)})
    return render(request, "prediction/forecast.html", ctx)


@login_required
def forecast_build(request):
    company = company_of(request)
    if not request.user.can("forecast.build"):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    as_of = parse_date(request.POST.get("as_of"))
    today = clock.today(company)
    if as_of is None or as_of > today:
        messages.error(request, _("Enter an as-of date on or before today (%(today)s).") % {"today": today})
        return redirect(reverse("forecast:page"))
    try:
        job, queued = forecast_jobs.queue_forecast(company=company, as_of=as_of, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("forecast:page"))
    if not queued:
        messages.info(request, _("The forecast as of %(day)s is already being computed: this page follows that "
                                 "computation.") % {"day": as_of})
    return redirect(reverse("forecast:job", args=[job.pk]))


def _job_context(job: ForecastJob) -> dict:
    last = (ForecastRun.objects.filter(company_id=job.company_id).exclude(pk=job.run_id)
            .order_by("-created_at").values_list("seconds", flat=True).first())
    return {"job": job, "page_url": f"{reverse('forecast:page')}?as_of={job.as_of}",
            "last_seconds": last, "elapsed": job.seconds}


@login_required
def forecast_job(request, pk: int):
    """Where a requested computation stands (polled by htmx while queued or running); when it is done the
    polling request is sent on to the forecast it computed."""
    company = company_of(request)
    if not request.user.can("forecast.build"):
        raise PermissionDenied
    job = get_object_or_404(ForecastJob.objects.select_related("created_by", "run"), pk=pk, company=company)
    ctx = _job_context(job)
    if request.htmx:
        if job.status == ForecastJobStatus.DONE:
            messages.success(request, _("Forecast as of %(day)s computed: %(n)d open items.")
                             % {"day": job.as_of, "n": job.items})
            return HttpResponseClientRedirect(ctx["page_url"])
        return render(request, "prediction/forecast_job.html#progress", ctx)
    return render(request, "prediction/forecast_job.html", {"nav": "forecast", **ctx})


def _backtest_dates(g, company) -> tuple[list[dt.date], dict]:
    last = parse_date(g.get("last"))
    count = parse_int(g.get("count"))
    every = parse_int(g.get("every"))
    defaults = fc.default_dates(company)
    count = count if count is not None and 1 <= count <= 26 else 4
    every = every if every is not None and 1 <= every <= 13 else 4
    if last is None:
        last = defaults[-1] if defaults else None
    dates = [last - dt.timedelta(days=7 * every * k) for k in reversed(range(count))] if last else []
    return dates, {"last": last.isoformat() if last else "", "count": count, "every": every}


@login_required
def backtest_page(request):
    company = company_of(request)
    if not request.user.can("forecast.backtest"):
        raise PermissionDenied
    g = request.GET
    dates, form = _backtest_dates(g, company)
    ctx = {"nav": "forecast", "form": form, "result": None, "error": None}
    if g.get("run") == "1" or g.get("format") == "xlsx":
        try:
            result = fc.backtest_forecast(company=company, as_of_dates=dates)
        except DomainError as exc:
            ctx["error"] = exc.message
            return render(request, "prediction/forecast_backtest.html", ctx, status=422)
        if g.get("format") == "xlsx":
            return xlsx_response(
                filename=f"forecast-backtest-{form['last']}.xlsx", sheet_title=_("Forecast backtest"),
                columns=[(_("Week ahead"), "text"), (_("Forecast"), "money"), (_("If paid on due dates"), "money"),
                         (_("Actually collected"), "money"), (_("WAPE of the forecast"), "percent"),
                         (_("WAPE if paid on due dates"), "percent")],
                rows=([str(w["week"]), w["forecast"], w["naive"], w["actual"], pct(w["wape"]), pct(w["wape_naive"])]
                      for w in result.weeks),
                totals=[_("Total"), None, None, None, pct(result.wape), pct(result.wape_naive)])
        ctx["result"] = result
        ctx["weeks"] = [{**w, "wape_pct": pct(w["wape"]), "naive_pct": pct(w["wape_naive"])} for w in result.weeks]
        ctx["per_date"] = [{**d, "wape_pct": pct(d["wape"]), "naive_pct": pct(d["wape_naive"])} for d in result.per_date]
        ctx["overall"] = {"wape_pct": pct(result.wape), "naive_pct": pct(result.wape_naive)}
    return render(request, "prediction/forecast_backtest.html", ctx)
