"""Cash-in forecast screens: the 13-week forecast (chart, breakdown, XLSX), building one as of a date, and
the forecast's backtest (weekly WAPE beside the naive due-date forecast). Scoped by the customers' owner:
a salesperson sees the forecast of their customers only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting
from huikuan.common.money import ZERO
from huikuan.common.paging import MAX_PAGE, CappedPaginator
from huikuan.customers.models import CustomerGroup

from . import forecast as fc
from . import forecast_items as fi
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
                     "kind": "line", "key": line.key})
    base = reverse("forecast:items")
    for r in rows:
        r["texts"] = [money_text(v) for v in [*r["weeks"], r["total"]]]
        query = row_query(f, r)
        r["cells"] = list(zip(r["texts"], [f"{base}?{query}&week={k}" for k in range(fc.BEYOND + 1)]
                              + [f"{base}?{query}&week={fi.ALL}"] if query else [None] * (fc.BEYOND + 2), strict=True))
    return rows


def row_query(f: fc.Forecast, r: dict) -> str | None:
    """The drill-down query (without its week) of a table row: a scenario, or one line of the breakdown; the
    orders' row has no items behind it."""
    if r["kind"] in fc.SCENARIOS:
        return items_query(as_of=f.run.as_of, currency=f.currency, scenario=r["kind"], week=None)
    if r["kind"] != "line":
        return None
    key = r["key"]
    if f.by == "currency":
        return items_query(as_of=f.run.as_of, currency=key, week=None)
    return items_query(as_of=f.run.as_of, currency=f.currency, **{f.by: key or 0})


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
    items_url = reverse("forecast:items")

    def bar_href(k, week=None):
        return f"{items_url}?" + items_query(as_of=run.as_of, currency=f.currency, week=k if week is None else week,
                                             orders=orders and week != fi.OVERDUE)

    ctx["links"] = {"all": bar_href(0, fi.ALL), "beyond": bar_href(fc.BEYOND), "overdue": bar_href(0, fi.OVERDUE)}
    ctx.update({"f": f, "rows": rows, "chart": fc.chart(f, bar_href=bar_href), "source": source_label(run.source),
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


# ---------------------------------------------------------------- the rows behind a bar

ITEMS_PER_PAGE = 50
ITEMS_XLSX_ROWS = 200_000  # the export's cap (the rows are read into memory before the workbook is written)
ADD_UP_TO = 10_000  # a bar of more items shows the forecast's stored figure unless asked to add the rows up
EXPORT_KIND = "prediction.forecast_items"  # its exporter (common.export_jobs), registered in PredictionConfig.ready()
ITEM_SORTS = Sorting({"document": ("document__number", "seq"), "customer": ("customer__name",),
                      "salesperson": ("sp_name",), "due": ("due_date",), "amount": ("open_as_of",),
                      "predicted": ("placed_on",), "p_late": ("p_late",)}, default="-amount",
                     nulls_last=frozenset({"salesperson", "p_late"}))  # the others are NOT NULL: an index's order


def items_query(*, as_of: dt.date, currency: str, scenario: str = "p50", week=None, salesperson=None, group=None,
                orders: bool = False) -> str:
    """The query string of the drill-down behind one bar or table cell of the forecast (``week`` None: left out,
    for the caller to append)."""
    params = {"as_of": as_of.isoformat(), "currency": currency, "scenario": scenario}
    if week is not None:
        params["week"] = week
    if salesperson is not None:
        params["salesperson"] = salesperson or 0
    if group is not None:
        params["group"] = group or 0
    if orders:
        params["orders"] = 1
    return urlencode(params)


def _bucket_of(g) -> fi.Bucket:
    """The bucket a drill-down's GET parameters ask for; anything malformed is a 404 (links are built here)."""
    week = g.get("week", "")
    if week not in (fi.ALL, fi.OVERDUE):
        week = parse_int(week)
    ids = {}
    for name in ("salesperson", "group"):
        raw = g.get(name)
        ids[name] = None if raw in (None, "") else parse_int(raw)
        if raw not in (None, "") and (ids[name] is None or ids[name] < 0):
            raise Http404
    try:
        return fi.Bucket(scenario=g.get("scenario") or "p50", week=week, **ids)
    except ValueError as exc:
        raise Http404 from exc


def bucket_label(run, bucket: fi.Bucket, *, html: bool = False) -> str:
    """The bucket's name (a week with its dates); ``html``: each date in a ``nowrap`` span, so a heading breaks at
    a space only, never at a date's hyphens (a phone's 390 px)."""

    def day(d):
        return format_html('<span class="nowrap">{}</span>', d) if html else str(d)

    fmt = format_html if html else (lambda text, **kw: text.format(**kw))
    if bucket.week == fi.ALL:
        return _("All weeks")
    if bucket.week == fi.OVERDUE:
        return _("Already overdue on the as-of date")
    if bucket.week == fc.BEYOND:
        text = _("Beyond 13 weeks (after %(day)s)") % {"day": "{day}"}
        return fmt(text, day=day(run.as_of + dt.timedelta(days=7 * fc.WEEKS)))
    start, end = fc.week_ranges(run.as_of)[bucket.week]
    label = _("Week %(n)d") % {"n": bucket.week + 1}
    if bucket.week == 0:
        text = _("%(week)s (up to %(end)s, overdue items included)") % {"week": "{week}", "end": "{end}"}
        return fmt(text, week=label, end=day(end))
    return fmt("{label} ({start} – {end})", label=label, start=day(start), end=day(end))


def scenario_names() -> dict:
    return {"p10": _("Early (P10)"), "p50": _("Expected (P50)"), "p90": _("Late (P90)"),
            "naive": _("If paid on due dates")}


@dataclass(frozen=True)
class _Items:
    """A drill-down's list as its query asks for it: the forecast, bucket, currency, whether the books moved since,
    the sort, the rows to order (``ordered``) and to count / sum (``counted``)."""

    run: ForecastRun
    bucket: fi.Bucket
    currency: str
    moved: bool
    sort_key: str
    ordered: object
    counted: object
    user: object = None
    joined: bool = False  # found through its predictions alone (fi.placement): counted along their date index

    def page_ids(self, g, *, large: bool = False):
        """The rows' ids in the page's order (something to slice, as a paginator reads a page): a joined bucket by
        probability or by due date descending from its prediction entries (``fi.joined_order``); a ``large`` bucket
        (more than ``ADD_UP_TO`` items) by salesperson a salesperson at a time, or from a joined week's entries of the
        reader's customers (``fi.salesperson_order``); else the ordered rows."""
        s = ITEM_SORTS.state(g)
        if self.joined and (s.key == "p_late" or (s.key == "due" and s.descending)):
            return fi.joined_order(run=self.run, user=self.user, currency=self.currency, bucket=self.bucket, key=s.key,
                                   descending=s.descending)
        if large and s.key == "salesperson":
            pages = fi.salesperson_order(qs=self.counted, run=self.run, user=self.user, currency=self.currency,
                                         bucket=self.bucket, descending=s.descending, joined=self.joined)
            if pages is not None:
                return pages
        return self.ordered.values_list("pk", flat=True)

    def total(self, limit: int | None = None) -> tuple[Decimal, int]:
        """Σ open amount and number of the rows (up to ``limit``: see ``fi.items_total``)."""
        if self.joined and limit is not None:
            return fi.joined_total(run=self.run, user=self.user, currency=self.currency, bucket=self.bucket,
                                   limit=limit)
        return fi.items_total(self.counted, run=self.run, moved=self.moved, limit=limit)


def _items_of(company, user, g) -> _Items:
    """Resolve a drill-down's GET parameters ``g`` for ``user``; an unknown forecast date or bucket, or a
    salesperson / group that is not in the reader's forecast, is a 404 (the page and its export alike)."""
    as_of = parse_date(g.get("as_of"))
    run = get_object_or_404(ForecastRun.objects.select_related("company"), company=company, as_of=as_of)
    bucket = _bucket_of(g)
    currency = fi.pick_currency(run, g.get("currency", ""))
    if bucket.salesperson or bucket.group:
        if bucket.group and not CustomerGroup.objects.filter(pk=bucket.group, company=company).exists():
            raise Http404
        if not fi.in_scope(run=run, user=user, currency=currency, salesperson=bucket.salesperson,
                           group=bucket.group):
            raise Http404
    moved = fi.books_moved(run)
    sort_key = ITEM_SORTS.state(g).key
    # a P50 bar (or every week) placed by the model, books not moved: found through the stored predictions
    # (fi.forecast_items' ``stored``), which also order it by predicted date and probability
    narrow = run.version_id is not None and bucket.scenario == "p50" and bucket.week != fi.OVERDUE and not moved
    stored = fi.stored_predictions(run, currency) if narrow else None
    qs = fi.forecast_items(run=run, user=user, currency=currency, bucket=bucket, moved=moved,
                           by_name=sort_key == "salesperson", stored=stored)
    return _Items(run=run, bucket=bucket, currency=currency, moved=moved, sort_key=sort_key,
                  ordered=ITEM_SORTS.apply(fi.for_order(qs, run=run, key=sort_key), g), counted=qs,
                  user=user, joined=fi.placement(run, bucket, stored)[0] == "joined")


def items_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The drill-down's XLSX (``common.export_jobs`` exporter ``prediction.forecast_items``): its first
    ``ITEMS_XLSX_ROWS`` rows in the list's order, with the open amounts' total as the last row. A list that is not
    there for ``user`` (any more) raises ``ExportUnavailable``."""
    from huikuan.accounts.models import Company

    company = Company.objects.get(pk=company_id)
    try:
        it = _items_of(company, user, params)
    except Http404 as exc:
        raise export_jobs.ExportUnavailable(gettext_lazy("These forecast items are not there any more.")) from exc
    yes, no = _("Yes"), _("No, due date")
    total = [ZERO]

    def rows():
        for number, seq, code, name, sp, due, amount, p50, p10, p90, p_late, predicted in fi.export_rows(
                it.ordered, run=it.run, limit=ITEMS_XLSX_ROWS, moved=it.moved):
            total[0] += amount
            yield (number, seq, code, name, sp or "", due, amount, p50, p10, p90,
                   None if p_late is None else (p_late * 100).quantize(Decimal("0.1")), yes if predicted else no)

    def count():
        return it.total(ITEMS_XLSX_ROWS)[1]

    return export_jobs.Export(
        filename=f"forecast-items-{it.run.as_of}-{it.currency}.xlsx", sheet_title=_("Forecast items"),
        columns=[(_("Document"), "text"), (_("Instalment"), "int"), (_("Customer code"), "text"),
                 (_("Customer"), "text"), (_("Salesperson"), "text"), (_("Due date"), "date"),
                 (_("Open amount"), "money"), (_("Expected payment (P50)"), "date"), (_("Early (P10)"), "date"),
                 (_("Late (P90)"), "date"), (_("Probability late"), "percent"), (_("Predicted"), "text")],
        rows=rows(), totals=lambda: [_("Total"), None, None, None, None, None, total[0], None, None, None, None, None],
        count=count)


@login_required
def forecast_items(request):
    """The open items behind one bar (or table cell) of a stored forecast: listed, sorted, paged and exported,
    with the bar's stored figure beside the rows' total (they differ only when the books moved since the
    forecast was computed, and the page says so). Scoped like the forecast; an unknown forecast date,
    bucket, or a salesperson / group that is not in the reader's forecast is a 404. The XLSX of more than
    ``export_jobs.EXPORT_NOW_ROWS`` rows is written by the worker (``items_export``)."""
    company = company_of(request)
    g = request.GET
    it = _items_of(company, request.user, g)
    if g.get("format") == "xlsx":
        rows = it.total(export_jobs.EXPORT_NOW_ROWS + 1)[1]
        title = (f"{_('Forecast items')} · {bucket_label(it.run, it.bucket)} · {scenario_names()[it.bucket.scenario]}"
                 f" · {it.currency}")
        return export_jobs.export_or_queue(request, kind=EXPORT_KIND, params=g, rows=rows, title=title)
    run, bucket, currency, moved = it.run, it.bucket, it.currency, it.moved
    bar = fi.bar_value(run=run, user=request.user, currency=currency, bucket=bucket)
    orders = None
    whole_scope = bucket.salesperson is None and bucket.group is None
    if g.get("orders") == "1" and bucket.scenario == "p50" and whole_scope and bucket.week != fi.OVERDUE:
        line = fc.expected_orders(company=company, user=request.user, as_of=run.as_of, currency=currency)
        orders = line.total if bucket.week == fi.ALL else line.weeks[bucket.week]
    label = bucket_label(run, bucket)
    scenario = scenario_names()[bucket.scenario]
    # Counted and summed in one statement that stops after ADD_UP_TO rows (or the rows up to the asked page): a bar
    # of ~850,000 items (the first week holds everything already overdue) is not added up again on every view — its
    # figure is the forecast's own, its count the cube's, and "add up" (check=1) re-adds it on demand.
    check = g.get("check") == "1"
    wanted = min(max(1, parse_int(g.get("page")) or 1), MAX_PAGE)
    limit = None if check else max(ADD_UP_TO + 1, wanted * ITEMS_PER_PAGE + 1)
    listed, count = it.total(limit)
    added_up = limit is None or count < limit
    stored_count = None if added_up else fi.bar_items(run=run, user=request.user, currency=currency, bucket=bucket)
    # ordered and paged by id (an index walk for the amount, due date, customer and document), shown by item_rows
    ordered = it.page_ids(g, large=not added_up)
    paginator = CappedPaginator(ordered, ITEMS_PER_PAGE, number=wanted)
    paginator.count, paginator.capped = count, not added_up  # counted above: one query fewer
    page = paginator.get_page(g.get("page"))
    items = fi.item_rows(run=run, ids=list(page.object_list), moved=moved)
    names = dict(dimension_choices())
    line_label = None
    if bucket.salesperson is not None:
        line_label = (fc._label_users([bucket.salesperson]).get(bucket.salesperson) if bucket.salesperson
                      else _("No salesperson"))
        line_label = f"{names['salesperson']}: {line_label}"
    elif bucket.group is not None:
        line_label = (CustomerGroup.objects.filter(pk=bucket.group).values_list("name", flat=True).first()
                      if bucket.group else _("No group"))
        line_label = f"{names['group']}: {line_label}"
    back = {"as_of": run.as_of.isoformat(), "currency": currency}
    if bucket.salesperson is not None:
        back["by"] = "salesperson"
    elif bucket.group is not None:
        back["by"] = "group"
    if g.get("orders") == "1":
        back["orders"] = 1
    return render(request, "prediction/forecast_items.html", {
        "nav": "forecast", "run": run, "bucket": bucket, "label": label, "heading": bucket_label(run, bucket, html=True), "scenario": scenario, "currency": currency,
        "line_label": line_label, "page": page, "items": items, "listed": listed if added_up else bar, "count": count,
        "added_up": added_up, "stored_count": stored_count, "add_up_to": ADD_UP_TO,
        "bar": bar, "orders": orders, "with_orders": ((listed if added_up else bar) + orders) if orders is not None else None,
        "matches": not added_up or listed == bar, "back_url": f"{reverse('forecast:page')}?{urlencode(back)}",
        "no_model": run.source == "due_date", "xlsx_rows": ITEMS_XLSX_ROWS, **ITEM_SORTS.context(g)})
