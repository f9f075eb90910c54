"""The 13-week cash-in forecast (issue 16 point 5): build, read, and its own backtest.

Building (``build_forecast``, a service: company row lock, one audit event) takes the items open on the
as-of date and their predicted payment dates — P10 / P50 / P90 of the live model, or of the best
baseline when the company's backtest chose one (``ModelVersion.live``); with no model trained yet, the
due dates (said on the page) — and sums their open amounts, in integer hundredths, into a small cube
(``ForecastCell``: owner × salesperson × group × currency × week). Week k (0–12) holds the dates from
as-of + 7k + 1 to as-of + 7k + 7 (a date on or before the as-of date counts in the first week); 13 is
"beyond". Each of the P10 / P50 / P90 / due-date columns puts every item in exactly one bucket, so each
column's 14 buckets add up to the open amount to the fen (tested).

Reading (``read_forecast``) aggregates the cube in SQL, scoped by the customers' owner like every list;
expected collections of open (approved, not yet invoiced) orders are added on request, at the date
their customer's default payment terms give from the as-of date, split terms split with the one
rounding function.

The backtest (``backtest_forecast``) trains one model on what was known before the first as-of date,
forecasts the items open on each as-of date and compares each week with what was actually collected
on those items (allocations dated in the week): WAPE = Σ|forecast − actual| / Σ actual, per week
ahead and overall, beside the naive forecast "everything is paid on its due date" (overdue items in
the first week).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from huikuan.accounts.models import Company
from huikuan.accounts.scoping import owner_q
from huikuan.common import audit
from huikuan.common.errors import DomainError
from huikuan.common.money import ZERO, from_minor, round_money

from .models_forecast import BEYOND, ForecastCell, ForecastRun

WEEKS = 13
SCENARIOS = ("p10", "p50", "p90", "naive")
DIMENSIONS = ("total", "salesperson", "group", "currency")


class ForecastError(DomainError):
    code = "prediction_forecast"


def week_of(dates: np.ndarray, as_of: int) -> np.ndarray:
    """Bucket of each ordinal date: 0–12 the weeks after ``as_of`` (on or before it: 0), 13 beyond."""
    return np.clip((np.asarray(dates, dtype=np.int64) - as_of - 1) // 7, 0, BEYOND)


def week_ranges(as_of: dt.date) -> list[tuple[dt.date, dt.date]]:
    return [(as_of + dt.timedelta(days=7 * k + 1), as_of + dt.timedelta(days=7 * k + 7)) for k in range(WEEKS)]


def to_fen(amounts: np.ndarray) -> np.ndarray:
    """Open amounts (the prediction arrays hold them as float64, exact for two decimals below 10¹³) back to
    integer hundredths."""
    return np.rint(np.asarray(amounts, dtype=np.float64) * 100).astype(np.int64)


# ---------------------------------------------------------------- building


@dataclass
class OpenDates:
    """The items open on ``as_of`` with their scenario dates (ordinals) and open amounts in hundredths."""

    as_of: dt.date
    source: str
    version: object
    ids: np.ndarray
    customer: np.ndarray
    salesperson: np.ndarray
    currency: list
    fen: np.ndarray
    due: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


def open_dates(*, company, as_of: dt.date, trained=None, live: str | None = None) -> OpenDates:
    """Predicted dates of the items open on ``as_of``: the given (or the active) model's, else the due dates."""
    from . import engine, services
    from .features import load_items

    version = None
    if trained is None:
        active = services.active_model(company)
        if active is not None:
            version, trained = active
            live = version.live
    t = as_of.toordinal()
    if trained is not None:
        pred = engine.predict_open(company=company, as_of=as_of, trained=trained, live=live or "model")
        it, lo, mid, hi, source = pred.items, pred.low, pred.predicted, pred.high, pred.source
    else:
        everything = load_items(company=company, until=as_of)
        it = everything.subset((everything.settled_on == 0) & (everything.open_amount > 0))
        lo = mid = hi = np.maximum(it.due_date, t)
        source = "due_date"
    return OpenDates(as_of=as_of, source=source, version=version, ids=it.id, customer=it.customer,
                     salesperson=it.salesperson, currency=list(it.currency), fen=to_fen(it.open_amount),
                     due=it.due_date, p10=np.asarray(lo, dtype=np.int64), p50=np.asarray(mid, dtype=np.int64),
                     p90=np.asarray(hi, dtype=np.int64))


def cube(company, od: OpenDates) -> tuple[list[dict], dict]:
    """Sum the open amounts into (owner, salesperson, group, currency, week) cells for the four scenarios.

    Integer arithmetic throughout (numpy int64 ``add.at``): each scenario's cells add up to the open amount."""
    from huikuan.customers.models import Customer

    n = len(od.ids)
    t = od.as_of.toordinal()
    owners, groups = {}, {}
    for pk, owner, group in Customer.objects.filter(company=company).values_list("pk", "owner_id", "group_id") \
            .iterator(chunk_size=20000):
        owners[pk], groups[pk] = owner or 0, group or 0
    owner = np.array([owners.get(int(c), 0) for c in od.customer], dtype=np.int64)
    group = np.array([groups.get(int(c), 0) for c in od.customer], dtype=np.int64)
    currencies = sorted(set(od.currency))
    cur_index = {c: i for i, c in enumerate(currencies)}
    cur = np.array([cur_index[c] for c in od.currency], dtype=np.int64)
    naive_dates = np.maximum(od.due, t)  # overdue on the as-of date: expected at once (first week)
    weeks = {"p10": week_of(od.p10, t), "p50": week_of(od.p50, t), "p90": week_of(od.p90, t),
             "naive": week_of(naive_dates, t)}
    salesperson = np.where(od.salesperson > 0, od.salesperson, owner)  # the document's, else the customer's owner
    base = np.stack([owner, salesperson.astype(np.int64), group, cur], axis=1) if n else np.zeros((0, 4), np.int64)
    keys = np.concatenate([np.column_stack([base, weeks[s]]) for s in SCENARIOS]) if n else np.zeros((0, 5), np.int64)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True) if n else (keys, np.zeros(0, np.int64))
    inverse = np.asarray(inverse).reshape(-1)
    sums = np.zeros((len(uniq), len(SCENARIOS)), dtype=np.int64)
    counts = np.zeros(len(uniq), dtype=np.int64)
    late = np.zeros(len(uniq), dtype=np.int64)
    overdue = od.due < t
    for k, s in enumerate(SCENARIOS):
        part = inverse[k * n:(k + 1) * n]
        np.add.at(sums[:, k], part, od.fen)
        if s == "p50":
            np.add.at(counts, part, 1)
        if s == "naive":  # an overdue item's naive week is the first: its cell carries the overdue part
            np.add.at(late, part, np.where(overdue, od.fen, 0))
    cells = [{"owner_id": int(u[0]) or None, "salesperson_id": int(u[1]) or None, "group_id": int(u[2]) or None,
              "currency": currencies[int(u[3])], "week": int(u[4]),
              **{s: from_minor(int(sums[i, k])) for k, s in enumerate(SCENARIOS)}, "items": int(counts[i]),
              "overdue": from_minor(int(late[i]))}
             for i, u in enumerate(uniq)]
    totals = {}
    for c, i in cur_index.items():
        mask = cur == i
        totals[c] = {"open": str(from_minor(int(od.fen[mask].sum()))),
                     "overdue": str(from_minor(int(od.fen[mask & overdue].sum()))), "items": int(mask.sum())}
    return cells, totals


def _week_case(field_name: str, as_of: dt.date):
    from django.db.models import Case, IntegerField, Value, When

    return Case(*[When(**{f"{field_name}__lte": as_of + dt.timedelta(days=7 * (k + 1))}, then=Value(k))
                  for k in range(WEEKS)], default=Value(BEYOND), output_field=IntegerField())


def cube_from_stored(company, as_of: dt.date, version) -> tuple[list[dict], dict, int] | None:
    """The cube in SQL from the stored per-item predictions (``ItemPrediction``) when they were made as of
    ``as_of`` by ``version`` (None: no model, the due dates) and the books have not changed since — no
    allocation dated after ``as_of`` — so the instalments' open amounts are those of ``as_of``. An item
    open now but without a stored prediction (posted after the refresh) counts on its due date. Four
    grouped scans (one per column) instead of predicting every item again; None when not applicable."""
    from django.db.models import Count, DateField, F, OuterRef, Q, Subquery, Value
    from django.db.models.functions import Coalesce, Greatest

    from huikuan.ledger.models import Instalment, Status

    from .models import ItemPrediction

    if Instalment.objects.filter(company=company, last_allocated_on__gt=as_of).exists():
        return None
    if version is not None and not ItemPrediction.objects.filter(company=company, as_of=as_of,
                                                                 version=version).exists():
        return None
    base = Instalment.objects.filter(company=company, document__status=Status.POSTED, replaced_on__isnull=True,
                                     amount__gt=0, open_amount__gt=0, document_date__lte=as_of)
    due = Greatest(F("due_date"), Value(as_of, output_field=DateField()))
    if version is not None:
        stored = ItemPrediction.objects.filter(instalment_id=OuterRef("pk"), as_of=as_of, version=version)
        dates = {"p10": Coalesce(Subquery(stored.values("low_date")[:1]), due),
                 "p50": Coalesce(Subquery(stored.values("predicted_date")[:1]), due),
                 "p90": Coalesce(Subquery(stored.values("high_date")[:1]), due)}
    else:
        dates = {"p10": due, "p50": due, "p90": due}
    dates["naive"] = due
    dims = {"o": F("customer__owner_id"), "sp": Coalesce(F("salesperson_id"), F("customer__owner_id")),
            "g": F("customer__group_id"), "c": F("currency")}
    cells: dict[tuple, dict] = {}
    for s in SCENARIOS:
        extra = {"n": Count("id")} if s == "p50" else {}
        if s == "naive":
            extra["late"] = Sum("open_amount", filter=Q(due_date__lt=as_of))
        qs = (base.annotate(**dims, d=dates[s]).annotate(w=_week_case("d", as_of))
              .values("o", "sp", "g", "c", "w").annotate(v=Sum("open_amount"), **extra).order_by())
        for row in qs:
            key = (row["o"], row["sp"], row["g"], row["c"], row["w"])
            cell = cells.setdefault(key, {"owner_id": row["o"], "salesperson_id": row["sp"], "group_id": row["g"],
                                          "currency": row["c"], "week": row["w"], **{x: ZERO for x in SCENARIOS},
                                          "items": 0, "overdue": ZERO})
            cell[s] += row["v"] or ZERO
            if s == "p50":
                cell["items"] += row["n"]
            if s == "naive":
                cell["overdue"] += row["late"] or ZERO
    totals: dict = {}
    items = 0
    for cell in cells.values():
        t = totals.setdefault(cell["currency"], {"open": ZERO, "overdue": ZERO, "items": 0})
        t["open"] += cell["p50"]
        t["overdue"] += cell["overdue"]
        t["items"] += cell["items"]
        items += cell["items"]
    totals = {c: {"open": str(t["open"]), "overdue": str(t["overdue"]), "items": t["items"]} for c, t in totals.items()}
    return list(cells.values()), totals, items


def build_forecast(*, company, as_of: dt.date, actor=None, progress=None) -> ForecastRun:
    """Compute the forecast as of ``as_of`` and store it (replacing an earlier one of the same date).

    From the stored per-item predictions when they are of that date and the books have not moved since
    (``cube_from_stored``: SQL only); otherwise the items open on ``as_of`` are predicted here. Either way
    the computation runs before the short writing transaction; one audit event. ``progress(phase)`` is
    called as the build enters each phase (reading, predicting, summing, storing): the worker's job page
    shows it. Screens and the daily job go through ``forecast_jobs`` (one build per company and date)."""
    from . import services

    step = progress or (lambda phase: None)
    started = time.monotonic()
    step("reading")
    active = services.active_model(company)
    version = active[0] if active else None
    stored = cube_from_stored(company, as_of, version)
    if stored is not None:
        cells, totals, n = stored
        od = OpenDates(as_of=as_of, source=version.live if version else "due_date", version=version,
                       ids=np.zeros(n, dtype=np.int64), customer=np.zeros(0), salesperson=np.zeros(0), currency=[],
                       fen=np.zeros(0), due=np.zeros(0), p10=np.zeros(0), p50=np.zeros(0), p90=np.zeros(0))
    else:
        step("predicting")
        od = open_dates(company=company, as_of=as_of, trained=active[1] if active else None,
                        live=version.live if version else None)
        od.version = version
        step("summing")
        cells, totals = cube(company, od)
    step("storing")
    return _store(company=company, as_of=as_of, od=od, cells=cells, totals=totals, actor=actor,
                  seconds=Decimal(str(round(time.monotonic() - started, 2))))


@transaction.atomic(durable=True)
def _store(*, company, as_of, od: OpenDates, cells, totals, actor, seconds) -> ForecastRun:
    Company.objects.select_for_update().filter(pk=company.pk).first()  # one build at a time per company
    run = ForecastRun.objects.filter(company=company, as_of=as_of).first()
    if run is None:
        run = ForecastRun(company=company, as_of=as_of)
    else:
        ForecastCell.objects.filter(run=run).delete()
    run.source, run.version = od.source, od.version
    run.items, run.totals, run.seconds = len(od.ids), totals, seconds
    run.created_by = actor if getattr(actor, "pk", None) else None
    run.save()
    ForecastCell.objects.bulk_create([ForecastCell(run=run, **c) for c in cells], batch_size=2000)
    audit.record(actor=actor, verb="prediction.forecast.built", target=run, company_id=company.pk,
                 summary=f"{as_of} {od.source} {len(od.ids)}",
                 data={"as_of": str(as_of), "source": od.source, "items": len(od.ids), "cells": len(cells)})
    return run


# ---------------------------------------------------------------- reading


def runs_of(company):
    return ForecastRun.objects.filter(company=company).order_by("-as_of")


def run_on(company, as_of: dt.date | None) -> ForecastRun | None:
    """The stored forecast of ``as_of`` (None: the latest)."""
    qs = runs_of(company)
    return qs.filter(as_of=as_of).first() if as_of else qs.first()


@dataclass
class Line:
    key: object
    label: str
    weeks: list = field(default_factory=lambda: [ZERO] * (BEYOND + 1))

    @property
    def total(self) -> Decimal:
        return sum(self.weeks, ZERO)

    @property
    def within(self) -> Decimal:
        return sum(self.weeks[:WEEKS], ZERO)


@dataclass
class Forecast:
    run: ForecastRun
    currency: str
    currencies: list
    by: str
    scenarios: dict  # scenario → Line (the whole scope, in ``currency``)
    lines: list  # Line per dimension value (P50)
    orders: Line | None
    ranges: list
    open_amount: Decimal
    overdue_amount: Decimal


def _label_users(ids) -> dict:
    from huikuan.accounts.models import User

    return {u.pk: (u.display_name or u.get_full_name() or u.username)
            for u in User.objects.filter(pk__in=[i for i in ids if i])}


def _label_groups(ids) -> dict:
    from huikuan.customers.models import CustomerGroup

    return {g.pk: g.name for g in CustomerGroup.objects.filter(pk__in=[i for i in ids if i])}


def read_forecast(*, run: ForecastRun, user, by: str = "total", currency: str = "", orders: bool = False,
                  customer_id: int | None = None) -> Forecast:
    """The forecast of ``run`` as ``user`` may see it: totals per scenario and one P50 line per value of
    ``by`` (salesperson, group, currency), in one currency (default: the company's base currency when it has
    open items, else the largest; ``by`` currency lists every currency's line, never added together). A few
    grouped SQL sums over the cube."""
    if by not in DIMENSIONS:
        by = "total"
    cells = ForecastCell.objects.filter(run=run)
    if user is not None:  # None: the command line, which sees the whole company
        cells = cells.filter(owner_q(user, "owner"))
    present = sorted(run.totals, key=lambda c: -Decimal(run.totals[c]["open"]))
    base = run.company.base_currency
    if currency not in present:
        currency = base if base in present or not present else present[0]
    scoped, cells = cells, cells.filter(currency=currency)  # amounts are never added across currencies
    sums = {s: Sum(s) for s in SCENARIOS}
    scenarios = {s: Line(key=s, label=s) for s in SCENARIOS}
    for row in cells.values("week").annotate(**sums):
        for s in SCENARIOS:
            scenarios[s].weeks[row["week"]] += row[s] or ZERO
    lines: list[Line] = []
    if by != "total":
        field_name = {"salesperson": "salesperson_id", "group": "group_id", "currency": "currency"}[by]
        found: dict = {}
        for row in (scoped if by == "currency" else cells).values(field_name, "week").annotate(p50=Sum("p50")):
            line = found.setdefault(row[field_name], Line(key=row[field_name], label=""))
            line.weeks[row["week"]] += row["p50"] or ZERO
        labels = (_label_users(found) if by == "salesperson" else _label_groups(found) if by == "group"
                  else {c: c for c in found})
        for key, line in found.items():
            line.label = labels.get(key) or (_("No salesperson") if by == "salesperson" else _("No group"))
        lines = sorted(found.values(), key=lambda ln: -ln.total)
    order_line = None
    if orders and by != "currency":
        order_line = expected_orders(company=run.company, user=user, as_of=run.as_of, currency=currency,
                                     customer_id=customer_id)
    open_amount = scenarios["p50"].total
    overdue = cells.aggregate(v=Sum("overdue"))["v"] or ZERO
    return Forecast(run=run, currency=currency, currencies=present, by=by, scenarios=scenarios, lines=lines,
                    orders=order_line, ranges=week_ranges(run.as_of), open_amount=open_amount, overdue_amount=overdue)


def order_dates(as_of: dt.date, amount: Decimal, term, currency: str) -> list[tuple[dt.date, Decimal]]:
    """When an order invoiced on ``as_of`` would be paid on its terms: (date, amount) per line. Split terms
    split the amount by their percents with the one rounding function; the last line takes the rest, so
    the parts add up to the amount exactly. No terms: 30 days."""
    from huikuan.customers.models import TermKind

    if term is None:
        return [(as_of + dt.timedelta(days=30), amount)]
    if term.kind == TermKind.SPLIT and term.split_lines:
        out, left = [], amount
        lines = term.split_lines
        for i, line in enumerate(lines):
            part = left if i == len(lines) - 1 else round_money(amount * Decimal(str(line.get("percent") or 0)) / 100,
                                                                  currency)
            left -= part
            out.append((as_of + dt.timedelta(days=int(line.get("days") or 0)), part))
        return out
    if term.kind == TermKind.EOM:
        first_next = (as_of.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        return [(first_next - dt.timedelta(days=1) + dt.timedelta(days=term.days), amount)]
    return [(as_of + dt.timedelta(days=term.days), amount)]


def expected_orders(*, company, user, as_of: dt.date, currency: str, customer_id: int | None = None) -> Line:
    """Open (approved) orders entered by ``as_of`` of the customers ``user`` sees, in ``currency`` (orders
    carry the customer's currency), at the dates their customer's default terms give from ``as_of``."""
    from huikuan.credit.models import OrderStatus, SalesOrder
    from huikuan.customers.models import Customer, PaymentTerm
    from huikuan.customers.selectors import scoped_customers

    line = Line(key="orders", label=_("Open orders (not yet invoiced)"))
    customers = (scoped_customers(user=user, company=company) if user is not None
                 else Customer.objects.filter(company=company))
    if customer_id is not None:
        customers = customers.filter(pk=customer_id)
    rows = (SalesOrder.objects.filter(company=company, status=OrderStatus.OPEN, created_at__date__lte=as_of,
                                      customer__in=customers, customer__currency=currency)
            .values_list("amount", "customer__payment_term_id"))
    terms = {t.pk: t for t in PaymentTerm.objects.filter(company=company)}
    t = as_of.toordinal()
    for amount, term_id in rows.iterator(chunk_size=5000):
        for day, part in order_dates(as_of, amount, terms.get(term_id), currency):
            line.weeks[int(week_of(np.array([day.toordinal()]), t)[0])] += part
    return line


# ---------------------------------------------------------------- chart


def chart(fc: Forecast, bar_href=None) -> str:
    """SVG: weekly P50 bars and, on a second scale, the cumulative cash-in with the P10–P90 band (every
    item at its early / late date) and the naive due-date line. Server-rendered, no JavaScript.
    ``bar_href(k)``: the URL of the rows behind week ``k``'s bar; each bar is then a link to it."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    w, h, pad_l, pad_r, pad_t, pad_b = 720, 240, 64, 16, 14, 34
    weeks = list(range(WEEKS))
    extra = fc.orders.weeks if fc.orders else [ZERO] * (BEYOND + 1)

    def cum(line):
        out, run = [], ZERO
        for k in weeks:
            run += line.weeks[k] + extra[k]
            out.append(run)
        return out

    p10, p50, p90, naive = (cum(fc.scenarios[s]) for s in SCENARIOS)
    bars = [fc.scenarios["p50"].weeks[k] + extra[k] for k in weeks]
    top = max([*p10, *naive, *bars, Decimal(1)])
    inner_w, inner_h = w - pad_l - pad_r, h - pad_t - pad_b
    step = inner_w / WEEKS

    def y(v):
        return pad_t + inner_h - inner_h * float(v / top)

    def x(k):
        return pad_l + step * (k + 0.5)

    cum_word, due_word, title = escape(_("cumulative")), escape(_("due dates")), escape(_("Cash-in forecast by week"))
    open_word = escape(_("open the items behind this bar"))

    def week_word(k):
        return escape(_("Week %(n)d") % {"n": k + 1})

    parts = [f'<svg class="forecast-chart" role="img" viewBox="0 0 {w} {h}" width="100%" '
             f'aria-label="{title}">']
    for frac in (0, 0.5, 1):
        v = top * Decimal(str(frac))
        parts.append(f'<line x1="{pad_l}" x2="{w - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e6eb"/>'
                     f'<text x="{pad_l - 4}" y="{y(v) + 3:.1f}" font-size="10" fill="#777" text-anchor="end">'
                     f'{v:,.0f}</text>')
    for k in weeks:
        bh = inner_h * float(bars[k] / top)
        start, end = fc.ranges[k]
        parts.append(f'<rect x="{x(k) - step * 0.3:.1f}" y="{pad_t + inner_h - bh:.1f}" width="{step * 0.6:.1f}" '
                     f'height="{bh:.1f}" fill="#9ec5fe"><title>{week_word(k)} ({start:%m-%d}–{end:%m-%d}) · '
                     f'P50 {bars[k]:,.2f}</title></rect>'
                     f'<text x="{x(k):.1f}" y="{h - pad_b + 14}" font-size="10" fill="#666" text-anchor="middle">'
                     f'{start:%m-%d}</text>')
    band = [f"{x(k):.1f},{y(p10[k]):.1f}" for k in weeks] + [f"{x(k):.1f},{y(p90[k]):.1f}" for k in reversed(weeks)]
    parts.append(f'<polygon points="{" ".join(band)}" fill="#4c8bf5" fill-opacity="0.18" stroke="none">'
                 f'<title>{escape(_("Cumulative, P10 to P90"))}</title></polygon>')
    parts.append('<polyline fill="none" stroke="#1f5fd1" stroke-width="2" points="'
                 + " ".join(f"{x(k):.1f},{y(p50[k]):.1f}" for k in weeks) + '"/>')
    parts.append('<polyline fill="none" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5 4" points="'
                 + " ".join(f"{x(k):.1f},{y(naive[k]):.1f}" for k in weeks) + '"/>')
    if bar_href:  # the links lie over the band and the lines (drawn after the bars), under the dots
        for k in weeks:
            bh = max(inner_h * float(bars[k] / top), 8.0)  # an empty week can be opened too
            start, end = fc.ranges[k]
            parts.append(f'<a class="bar" href="{escape(bar_href(k))}"><rect class="hit" x="{x(k) - step * 0.3:.1f}" '
                         f'y="{pad_t + inner_h - bh:.1f}" width="{step * 0.6:.1f}" height="{bh:.1f}" fill="#1f5fd1" '
                         f'fill-opacity="0"><title>{week_word(k)} ({start:%m-%d}–{end:%m-%d}) · P50 {bars[k]:,.2f} · '
                         f'{open_word}</title></rect></a>')
    for k in weeks:
        parts.append(f'<circle cx="{x(k):.1f}" cy="{y(p50[k]):.1f}" r="3" fill="#1f5fd1"><title>{week_word(k)} '
                     f'· {cum_word} P10 {p10[k]:,.2f} · P50 {p50[k]:,.2f} · P90 {p90[k]:,.2f} · '
                     f'{due_word} {naive[k]:,.2f}</title></circle>')
    legend = [("#9ec5fe", _("Weekly, P50")), ("#1f5fd1", _("Cumulative, P50")),
              ("#4c8bf5", _("Cumulative, P10 to P90")), ("#c0392b", _("Cumulative, if paid on due dates"))]
    lx = pad_l
    for color, text in legend:
        parts.append(f'<rect x="{lx}" y="{h - 12}" width="10" height="8" fill="{color}"/>'
                     f'<text x="{lx + 14}" y="{h - 4}" font-size="10" fill="#444">{escape(text)}</text>')
        lx += 24 + 6 * len(text) if text.isascii() else 24 + 11 * len(text)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers, dates and escaped labels only


# ---------------------------------------------------------------- backtest


@dataclass
class BacktestResult:
    as_of_dates: list
    currency: str
    trained_before: dt.date
    train_items: int
    weeks: list  # per week ahead: {"forecast": Σ, "naive": Σ, "actual": Σ, "wape": x, "wape_naive": y}
    per_date: list  # per as-of date: {"as_of", "open", "actual", "wape", "wape_naive"}
    wape: float | None
    wape_naive: float | None
    source: str


def _wape(pairs) -> float | None:
    actual = sum(a for _, a in pairs)
    if actual <= 0:
        return None
    return round(sum(abs(f - a) for f, a in pairs) / actual, 4)


def default_dates(company) -> list[dt.date]:
    """Four as-of dates four weeks apart, the last one 13 weeks before the end of the data."""
    from huikuan.ledger.models import Allocation

    last = Allocation.objects.filter(company=company).order_by("-date").values_list("date", flat=True).first()
    if last is None:
        return []
    end = last - dt.timedelta(days=7 * WEEKS)
    return [end - dt.timedelta(days=28 * k) for k in (3, 2, 1, 0)]


def backtest_forecast(*, company, as_of_dates: list[dt.date], currency: str = "", seed: int = 0) -> BacktestResult:
    """Weekly WAPE of the forecast against actual collections for past as-of dates, beside the naive one.

    One model is trained on what was known before the first as-of date (so no forecast sees its future);
    each as-of date's open items are forecast with it and their allocations dated in each of the 13 weeks
    are the actual collections. Raises ForecastError when a date is outside the data."""
    from huikuan.ledger.models import Allocation

    from . import engine
    from . import model as m
    from .features import features, load_items

    dates = sorted(set(as_of_dates))
    if not dates:
        raise ForecastError(_("No as-of date: there is no payment history to backtest on."), field="as_of")
    if len(dates) > 26:
        raise ForecastError(_("At most 26 as-of dates."), field="as_of")
    currency = currency or company.base_currency
    items = load_items(company=company)
    if not len(items):
        raise ForecastError(_("No invoices to backtest on."), field="as_of")
    first = dt.date.fromordinal(int(items.document_date.min()))
    last_alloc = Allocation.objects.filter(company=company).order_by("-date").values_list("date", flat=True).first()
    last = max(dt.date.fromordinal(int(items.document_date.max())), last_alloc or first)
    latest = last - dt.timedelta(days=7 * WEEKS)
    bad = [d for d in dates if not (first < d <= latest)]
    if bad:
        raise ForecastError(_("The as-of date %(day)s is outside the data: it must be after %(first)s and at least "
                              "13 weeks before %(last)s (the last date with data), so that what was collected in "
                              "the 13 weeks is known.") % {"day": bad[0], "first": first, "last": last}, field="as_of")
    cutoff = dates[0].toordinal()
    X = features(items, items.document_date)
    Xt, dlt = engine.training_set(items, X, cutoff)
    if len(Xt) < 50:
        raise ForecastError(_("Too little payment history before %(day)s to train on: %(n)d items (at least 50).")
                            % {"day": dates[0], "n": len(Xt)}, field="as_of")
    trained = m.train(Xt, dlt, seed=seed)
    week_f = [[] for _ in range(WEEKS)]
    week_n = [[] for _ in range(WEEKS)]
    per_date = []
    for d in dates:
        od = open_dates(company=company, as_of=d, trained=trained, live="model")
        t = d.toordinal()
        mask = np.array([c == currency for c in od.currency], dtype=bool)
        ids = {int(i) for i in od.ids[mask]}
        fen = od.fen[mask]
        forecast = np.zeros(BEYOND + 1, dtype=np.int64)
        naive = np.zeros(BEYOND + 1, dtype=np.int64)
        np.add.at(forecast, week_of(od.p50[mask], t), fen)
        np.add.at(naive, week_of(np.maximum(od.due[mask], t), t), fen)
        actual = np.zeros(WEEKS, dtype=np.int64)
        for inst, day, amount in (Allocation.objects.filter(company=company, date__gt=d,
                                                            date__lte=d + dt.timedelta(days=7 * WEEKS))
                                  .values_list("instalment_id", "date", "amount").iterator(chunk_size=20000)):
            if inst in ids:
                actual[(day.toordinal() - t - 1) // 7] += int(amount * 100)
        for k in range(WEEKS):
            week_f[k].append((int(forecast[k]), int(actual[k])))
            week_n[k].append((int(naive[k]), int(actual[k])))
        per_date.append({"as_of": d, "open": from_minor(int(fen.sum())), "actual": from_minor(int(actual.sum())),
                         "wape": _wape([(int(forecast[k]), int(actual[k])) for k in range(WEEKS)]),
                         "wape_naive": _wape([(int(naive[k]), int(actual[k])) for k in range(WEEKS)])})
    weeks = [{"week": k + 1, "forecast": from_minor(sum(f for f, _ in week_f[k])),
              "naive": from_minor(sum(f for f, _ in week_n[k])), "actual": from_minor(sum(a for _, a in week_f[k])),
              "wape": _wape(week_f[k]), "wape_naive": _wape(week_n[k])} for k in range(WEEKS)]
    return BacktestResult(as_of_dates=dates, currency=currency, trained_before=dates[0], train_items=len(Xt),
                          weeks=weeks, per_date=per_date, wape=_wape([p for w in week_f for p in w]),
                          wape_naive=_wape([p for w in week_n for p in w]), source="model")

