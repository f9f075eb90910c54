"""``huikuan predict train|backtest|export|versions|activate``: payment prediction from the command line.

    huikuan predict train [--as-of D]                      train a version on what was known on D, make it live
    huikuan predict backtest --cutoff D [--items FILE] [--format table|json|xlsx] [--output FILE]
    huikuan predict export --as-of D --format csv|xlsx [--output FILE]
    huikuan predict refresh [--as-of D]                    store the live model's predictions of the open items
    huikuan predict versions | activate --version N        list versions; make one live (rollback)
    huikuan predict forecast --as-of D [--by salesperson|group|currency] [--orders] [--format table|json|xlsx]
    huikuan predict forecast-backtest [--last D --count N --every W] [--format table|json|xlsx]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import translation

from huikuan.accounts.commands import one_company
from huikuan.common import clock
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.common.export import build_xlsx
from huikuan.prediction import engine, model, services
from huikuan.prediction.features import with_labels
from huikuan.prediction.models import ModelVersion
from huikuan.prediction.texts import LIVE_LABELS, reasons_text

METRICS = ("n", "late_share", "accuracy", "auc", "mae_days_late", "rmse_days_to_settle")
EXPORT_HEADER = ["document_number", "instalment", "customer", "due_date", "amount", "p_late", "p_late_30", "p_late_90",
                 "predicted_date", "interval_low", "interval_high", "reasons"]
ITEMS_HEADER = ["document_number", "instalment", "customer_code", "document_date", "due_date", "amount", "p_late",
                "p_late_30", "p_late_90", "predicted_date", "interval_low", "interval_high", "actual_payment_date"]


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"bad {name}: {text!r} (YYYY-MM-DD)") from exc


def money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


class Command(HuikuanCommand):
    help = "Payment prediction: train, backtest, export predictions, list and activate model versions."

    def add_arguments(self, parser):
        parser.add_argument("--company", default="", help="company code (default: the only one)")
        parser.add_argument("--language", default="", help="zh-hans or en")
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="train a new version and make it live")
        train.add_argument("--as-of", default="", help="YYYY-MM-DD (default: today)")
        train.add_argument("--no-activate", action="store_true")
        bt = sub.add_parser("backtest", help="train on what was known before --cutoff, score what followed")
        bt.add_argument("--cutoff", required=True, help="YYYY-MM-DD")
        bt.add_argument("--items", default="", help="write one CSV row per scored item to this file")
        bt.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        bt.add_argument("--output", default="", help="file for --format xlsx")
        ex = sub.add_parser("export", help="predictions of the items open on --as-of")
        ex.add_argument("--as-of", default="", help="YYYY-MM-DD (default: today)")
        ex.add_argument("--format", default="csv", choices=["csv", "xlsx"])
        ex.add_argument("--output", default="", help="file (default: standard output for csv)")
        ref = sub.add_parser("refresh", help="store the live model's predictions of the items open on --as-of")
        ref.add_argument("--as-of", default="", help="YYYY-MM-DD (default: today)")
        fo = sub.add_parser("forecast", help="compute (and store) the 13-week cash-in forecast as of --as-of")
        fo.add_argument("--as-of", default="", help="YYYY-MM-DD (default: today)")
        fo.add_argument("--by", default="total", choices=["total", "salesperson", "group", "currency"])
        fo.add_argument("--currency", default="")
        fo.add_argument("--orders", action="store_true", help="add open orders not yet invoiced")
        fo.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        fo.add_argument("--output", default="", help="file for --format xlsx")
        fb = sub.add_parser("forecast-backtest", help="weekly WAPE of the forecast for past as-of dates")
        fb.add_argument("--last", default="", help="last as-of date, YYYY-MM-DD (default: 13 weeks before the data ends)")
        fb.add_argument("--count", type=int, default=4, help="number of as-of dates (1-26)")
        fb.add_argument("--every", type=int, default=4, help="weeks between as-of dates")
        fb.add_argument("--format", default="table", choices=["table", "json", "xlsx"])
        fb.add_argument("--output", default="", help="file for --format xlsx")
        sub.add_parser("versions", help="list the model versions")
        act = sub.add_parser("activate", help="make a version live (rollback)")
        act.add_argument("--version", type=int, required=True)

    def handle(self, *args, company, language, action, **opts):
        if language:
            translation.activate(language)
        comp = one_company(company)
        try:
            getattr(self, f"_{action.replace('-', '_')}")(comp, **opts)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def _train(self, comp, *, as_of="", no_activate=False, **_):
        day = _date(as_of, "--as-of") if as_of else clock.today(comp)
        v = services.train_model(company=comp, as_of=day, activate=not no_activate)
        self.stdout.write(f"v{v.version}: {v.items} items, window {v.window_start} – {v.window_end}, "
                          f"{v.seconds} s, live: {LIVE_LABELS.get(v.live, v.live)}{' (active)' if v.is_active else ''}")
        self._figures(v.backtest, f"backtest cutoff {v.cutoff}")

    def _figures(self, figures: dict, title: str):
        if not figures:
            self.stdout.write("no backtest (too little data)")
            return
        self.stdout.write(title)
        self.stdout.write(f"{'':20s}" + "".join(f"{m:>20s}" for m in METRICS))
        for name, fig in figures.items():
            self.stdout.write(f"{name:20s}" + "".join(f"{'' if fig.get(m) is None else fig[m]!s:>20s}" for m in METRICS))

    def _backtest(self, comp, *, cutoff, items="", format="table", output="", **_):
        day = _date(cutoff, "--cutoff")
        bt = engine.backtest(company=comp, cutoff=day, with_rows=bool(items))
        if items:
            with open(items, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(ITEMS_HEADER)
                for r in bt.rows:
                    w.writerow([r["number"], r["seq"], r["customer"], r["document_date"], r["due_date"], money(r["amount"]),
                                r["p_late"], r["p_late_30"], r["p_late_90"], r["predicted_date"], r["low"], r["high"],
                                r["actual"] or ""])
        if format == "json":
            self.stdout.write(json.dumps({"cutoff": str(day), "data_from": str(bt.data_from), "data_to": str(bt.data_to),
                                          "train_items": bt.train_items, "live": bt.live, "figures": bt.figures},
                                         ensure_ascii=False, indent=1))
            return
        if format == "xlsx":
            path = Path(output or f"backtest-{day}.xlsx")
            with path.open("wb") as fh:
                build_xlsx(sheet_title="backtest", columns=[("", "text"), *[(m, "text") for m in METRICS]],
                           rows=([name, *["" if fig.get(m) is None else str(fig[m]) for m in METRICS]]
                                 for name, fig in bt.figures.items()), fileobj=fh)
            self.stdout.write(str(path))
            return
        self.stdout.write(f"data {bt.data_from} – {bt.data_to}, trained on {bt.train_items} items before {day}")
        self._figures(bt.figures, f"scored items issued from {day}")
        self.stdout.write(f"live: {LIVE_LABELS.get(bt.live, bt.live)}")

    def _export(self, comp, *, as_of="", format="csv", output="", **_):
        day = _date(as_of, "--as-of") if as_of else clock.today(comp)
        active = services.active_model(comp)
        if active is None:
            raise CommandError("no trained model: run `huikuan predict train` first")
        version, trained = active
        pred = engine.predict_open(company=comp, as_of=day, trained=trained, live=version.live)
        it = with_labels(pred.items)  # document numbers and customer codes of the open items

        def d(o):
            return dt.date.fromordinal(int(o))

        rows = ([it.number[k], int(it.seq[k]), it.customer_code[k], d(it.due_date[k]), money(it.open_amount[k]),
                 round(float(pred.p_late[k]), 4), round(float(pred.p_late_30[k]), 4), round(float(pred.p_late_90[k]), 4),
                 d(pred.predicted[k]), d(pred.low[k]), d(pred.high[k]), reasons_text(pred.reasons(k))]
                for k in range(len(it)))
        if format == "xlsx":
            path = Path(output or f"predictions-{day}.xlsx")
            kinds = ["text", "int", "text", "date", "money", "text", "text", "text", "date", "date", "date", "text"]
            with path.open("wb") as fh:
                build_xlsx(sheet_title="predictions", columns=list(zip(EXPORT_HEADER, kinds, strict=True)),
                           rows=([*r[:5], str(r[5]), str(r[6]), str(r[7]), *r[8:]] for r in rows), fileobj=fh)
            self.stdout.write(f"{path} ({len(it)} items, v{version.version})")
            return
        fh = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            w = csv.writer(fh)
            w.writerow(EXPORT_HEADER)
            w.writerows(rows)
        finally:
            if output:
                fh.close()

    def _refresh(self, comp, *, as_of="", **_):
        day = _date(as_of, "--as-of") if as_of else clock.today(comp)
        n = services.refresh_predictions(company=comp, as_of=day)
        self.stdout.write(f"{n} predictions stored as of {day}")

    def _versions(self, comp, **_):
        for v in ModelVersion.objects.filter(company=comp).order_by("-version"):
            acc = (v.backtest.get("model") or {}).get("accuracy")
            self.stdout.write(f"{'*' if v.is_active else ' '} v{v.version} {v.trained_at:%Y-%m-%d %H:%M} items={v.items} "
                              f"window={v.window_start}..{v.window_end} live={v.live} accuracy={acc}")

    def _activate(self, comp, *, version, **_):
        v = services.activate(company=comp, version=version, actor=None)
        self.stdout.write(f"v{v.version} is live")

    def _forecast(self, comp, **opts):
        from huikuan.prediction.forecast_cli import forecast

        forecast(self, comp, **opts)

    def _forecast_backtest(self, comp, **opts):
        from huikuan.prediction.forecast_cli import backtest

        backtest(self, comp, **opts)


__all__ = ["Command", "model"]
