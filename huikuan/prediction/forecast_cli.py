"""``huikuan predict forecast`` and ``huikuan predict forecast-backtest`` (called by the predict command)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import CommandError

from huikuan.common import clock
from huikuan.common.export import build_xlsx

from . import forecast as fc
from .forecast_jobs import compute_forecast_now


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"bad {name}: {text!r} (YYYY-MM-DD)") from exc


def _pct(x):
    return "—" if x is None else f"{x * 100:.1f} %"


def _pct_number(x):
    return None if x is None else Decimal(str(round(x * 100, 1)))


def forecast(cmd, comp, *, as_of="", by="total", currency="", orders=False, format="table", output="", **_):
    day = _date(as_of, "--as-of") if as_of else clock.today(comp)
    if day > clock.today(comp):
        raise CommandError(f"--as-of {day} is after today")
    run = compute_forecast_now(company=comp, as_of=day)  # ForecastBusy (a DomainError) → the command's error
    f = fc.read_forecast(run=run, user=None, by=by, currency=currency, orders=orders)
    names = {"p10": "P10", "p50": "P50", "p90": "P90", "naive": "due dates"}
    rows = [(names[s], f.scenarios[s].weeks, f.scenarios[s].total) for s in fc.SCENARIOS]
    if f.orders is not None:
        rows.append(("orders", f.orders.weeks, f.orders.total))
    rows += [(ln.label, ln.weeks, ln.total) for ln in f.lines]
    heads = [f"W{k + 1} {a:%m-%d}" for k, (a, _b) in enumerate(f.ranges)] + ["beyond", "total"]
    if format == "json":
        cmd.stdout.write(json.dumps({
            "as_of": str(day), "currency": f.currency, "source": run.source, "items": run.items,
            "open_amount": str(f.open_amount), "overdue_amount": str(f.overdue_amount),
            "weeks": [{"start": str(a), "end": str(b)} for a, b in f.ranges],
            "lines": [{"line": label, "amounts": [str(v) for v in weeks], "total": str(total)}
                      for label, weeks, total in rows]}, ensure_ascii=False, indent=1))
        return
    if format == "xlsx":
        path = Path(output or f"forecast-{day}-{f.currency}.xlsx")
        with path.open("wb") as fh:
            build_xlsx(sheet_title="forecast", columns=[("line", "text"), *[(h, "money") for h in heads]],
                       rows=([label, *weeks, total] for label, weeks, total in rows), fileobj=fh)
        cmd.stdout.write(str(path))
        return
    cmd.stdout.write(f"forecast as of {day}, {f.currency}, predicted by {run.source}, {run.items} open items, "
                     f"open {f.open_amount}, overdue {f.overdue_amount}, {run.seconds} s")
    cmd.stdout.write(f"{'':14s}" + "".join(f"{h:>14s}" for h in heads))
    for label, weeks, total in rows:
        cmd.stdout.write(f"{label[:14]:14s}" + "".join(f"{v:>14,.2f}" for v in [*weeks, total]))


def backtest(cmd, comp, *, last="", count=4, every=4, format="table", output="", **_):
    if not 1 <= count <= 26 or not 1 <= every <= 13:
        raise CommandError("--count 1-26, --every 1-13")
    if last:
        end = _date(last, "--last")
    else:
        defaults = fc.default_dates(comp)
        if not defaults:
            raise CommandError("no payments to backtest on")
        end = defaults[-1]
    dates = [end - dt.timedelta(days=7 * every * k) for k in reversed(range(count))]
    res = fc.backtest_forecast(company=comp, as_of_dates=dates)
    if format == "json":
        cmd.stdout.write(json.dumps({
            "as_of_dates": [str(d) for d in res.as_of_dates], "currency": res.currency, "train_items": res.train_items,
            "wape": res.wape, "wape_naive": res.wape_naive,
            "weeks": [{**w, "forecast": str(w["forecast"]), "naive": str(w["naive"]), "actual": str(w["actual"])}
                      for w in res.weeks],
            "per_date": [{**d, "as_of": str(d["as_of"]), "open": str(d["open"]), "actual": str(d["actual"])}
                         for d in res.per_date]}, ensure_ascii=False, indent=1))
        return
    if format == "xlsx":
        path = Path(output or f"forecast-backtest-{end}.xlsx")
        with path.open("wb") as fh:
            build_xlsx(sheet_title="forecast backtest",
                       columns=[("week", "int"), ("forecast", "money"), ("due dates", "money"), ("actual", "money"),
                                ("WAPE forecast %", "percent"), ("WAPE due dates %", "percent")],
                       rows=([w["week"], w["forecast"], w["naive"], w["actual"],
                              _pct_number(w["wape"]), _pct_number(w["wape_naive"])] for w in res.weeks),
                       fileobj=fh)
        cmd.stdout.write(str(path))
        return
    cmd.stdout.write(f"as-of dates {', '.join(str(d) for d in res.as_of_dates)}; model trained on {res.train_items} "
                     f"items before {res.trained_before}; {res.currency}")
    cmd.stdout.write(f"{'week':>5s}{'forecast':>18s}{'due dates':>18s}{'actual':>18s}{'WAPE':>10s}{'WAPE naive':>12s}")
    for w in res.weeks:
        cmd.stdout.write(f"{w['week']:>5d}{w['forecast']:>18,.2f}{w['naive']:>18,.2f}{w['actual']:>18,.2f}"
                         f"{_pct(w['wape']):>10s}{_pct(w['wape_naive']):>12s}")
    cmd.stdout.write(f"overall WAPE: forecast {_pct(res.wape)}, paid on due dates {_pct(res.wape_naive)}")
