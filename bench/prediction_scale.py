"""Payment prediction at full scale (issue 16): training on ~2 M historical instalments, predicting ~1 M open ones.

Run it on a scratch clone of the full-scale bench database, never on the template itself:

    createdb -U postgres -h 127.0.0.1 -T huikuan_bench hk_<name>
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python bench/prediction_scale.py \
        --company BENCH01 --as-of 2026-11-30 [--stage train|predict|all] [--no-store]

``train``: the steps of ``services.train_model`` one by one, timed — reading the items (``load_items``), the
features of every item as of its document date, the company's own backtest (a model trained on what was known
before the cutoff, scored on what followed, the baselines beside it), the final fit on every item due 30+
days before ``--as-of`` — then the version stored. ``predict``: ``services.refresh_predictions`` with the
active version (reading the books as of ``--as-of``, features as of that day, the prediction of every open
item, the reasons, the bulk write of ``ItemPrediction``; ``--no-store`` stops before the write). Each step
prints wall time, the process's CPU time (user + system: what the load of the machine does not inflate much)
and the peak RSS so far (``ru_maxrss``). Wall times on the shared machine are not verdicts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from huikuan.accounts.models import Company  # noqa: E402
from huikuan.prediction import engine, services  # noqa: E402
from huikuan.prediction import model as m  # noqa: E402
from huikuan.prediction.features import FEATURES, features, load_items  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Step:
    total_wall = 0.0
    total_cpu = 0.0

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.w, self.c = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.w, _cpu() - self.c
        Step.total_wall += wall
        Step.total_cpu += cpu
        print(
            f"  {self.name:52s} wall {wall:8.1f} s   cpu {cpu:8.1f} s   peak RSS {_rss_mb():7.0f} MB",
            flush=True,
        )


def train(company, as_of: dt.date, seed: int) -> None:
    print(f"training as of {as_of} (load average {os.getloadavg()[0]:.1f})", flush=True)
    with Step("load_items (the books as of the day)"):
        items = load_items(company=company, until=as_of)
    print(f"    {len(items):,} instalments, {(items.settled_on > 0).sum():,} settled", flush=True)
    with Step("features as of each document date"):
        X = features(items, items.document_date)
    with Step("training set (due 30+ days before)"):
        Xt, dlt, known = engine.training_set(items, X, as_of.toordinal(), with_known=True)
    print(f"    {len(Xt):,} training items ({known.sum():,} with days late known)", flush=True)
    cutoff = engine.default_cutoff(items)
    with Step(f"backtest at {cutoff} (fit + score + baselines)"):
        bt = engine.backtest(company=company, cutoff=cutoff, items=items, X=X, seed=seed)
    print(f"    trained on {bt.train_items:,}; live: {bt.live}", flush=True)
    for name, f in bt.figures.items():
        print(
            f"    {name:20s} n {f['n']:8d}  acc {f['accuracy']:.4f}  auc {f['auc'] or 0:.4f}  "
            f"mae {f['mae_days_late']:.2f}  rmse {f['rmse_days_to_settle']:.2f}",
            flush=True,
        )
    with Step("final fit on every training item"):
        trained = m.train(Xt, dlt, seed=seed, known=known)
    with Step("store the version (pickle, insert, activate)"):
        blob = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
        first = dt.date.fromordinal(int(items.document_date.min()))
        meta = {
            "window_start": first,
            "window_end": as_of,
            "cutoff": cutoff,
            "items": len(Xt),
            "features": list(FEATURES),
            "backtest": bt.figures,
            "live": bt.live,
        }
        v = services._store(
            company=company,
            actor=None,
            blob=blob,
            meta=meta,
            activate=True,
            seconds=round(Step.total_wall, 2),
        )
    print(
        f"  training total: wall {Step.total_wall:.1f} s, cpu {Step.total_cpu:.1f} s, peak RSS {_rss_mb():.0f} MB; "
        f"v{v.version} ({len(blob) / 1e6:.1f} MB pickled)",
        flush=True,
    )


def predict(company, as_of: dt.date, store: bool) -> None:
    Step.total_wall = Step.total_cpu = 0.0
    print(f"predicting as of {as_of} (load average {os.getloadavg()[0]:.1f})", flush=True)
    active = services.active_model(company)
    if active is None:
        raise SystemExit("no active model: run --stage train first")
    version, trained = active
    if store:
        with Step("refresh_predictions (read, predict, reasons, write)"):
            n = services.refresh_predictions(company=company, as_of=as_of, active=active)
        print(f"    {n:,} open instalments predicted and stored (live: {version.live})", flush=True)
    else:
        with Step("predict_open (read, features, predict)"):
            pred = engine.predict_open(company=company, as_of=as_of, trained=trained, live=version.live)
        with Step("reasons"):
            engine.reasons_all(pred)
        print(f"    {len(pred.items):,} open instalments; mean p_late {np.mean(pred.p_late):.3f}", flush=True)
    print(
        f"  prediction total: wall {Step.total_wall:.1f} s, cpu {Step.total_cpu:.1f} s, peak RSS {_rss_mb():.0f} MB",
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--stage", choices=("train", "predict", "all"), default="all")
    ap.add_argument("--no-store", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    company = Company.objects.get(code=args.company)
    as_of = dt.date.fromisoformat(args.as_of)
    print(
        f"threads for fitting / predicting: {m.THREADS}; sample limits {m.MAX_TRAIN:,} / {m.MAX_TRAIN_CLASSES:,}"
    )
    if args.stage in ("train", "all"):
        train(company, as_of, args.seed)
    if args.stage in ("predict", "all"):
        predict(company, as_of, store=not args.no_store)


if __name__ == "__main__":
    main()
