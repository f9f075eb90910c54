"""Payment prediction at full scale (issue 16): training on ~2 M historical instalments, predicting ~1 M open ones.

Run it on a scratch clone of the full-scale bench database, never on the template itself:

    createdb -U postgres -h 127.0.0.1 -T huikuan_bench hk_<name>
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python bench/prediction_scale.py \
        --company BENCH01 --as-of 2026-11-30 [--stage train|predict|all] [--no-store] [--breakdown]

``train``: the steps of ``services.train_model`` one by one, timed — reading the items (``load_items``), the
features of every item as of its document date, the company's own backtest (a model trained on what was known
before the cutoff, scored on what followed, the baselines beside it), the final fit on every item due 30+
days before ``--as-of`` — then the version stored. ``predict``: the steps of ``services.refresh_predictions``
with the active version — ``engine.open_items`` (reading the books as of ``--as-of``, the open items' features as of
that day), ``services.store_predictions`` (in one transaction: the company's rows deleted, then 50,000 items at a
time predicted by the model, their reasons computed with numpy and the rows sent through one COPY by a writer
thread — the backend stores a chunk while this process predicts the next —, the audit event) and the worklist's
requeue; ``--no-store`` runs ``engine.predict_open`` (everything predicted at once) and stops; ``--breakdown`` first times the
steps inside ``predict_open`` (and the reasons) one by one. Each step prints wall time, the process's CPU time
(user + system: what the load of the machine does not inflate much), the CPU time of the connection's
PostgreSQL backend (from /proc: the server runs on this machine; parallel query workers not counted) and the
peak RSS so far (``ru_maxrss``). Wall times on the shared machine are not verdicts.
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
from bench.measure import backend_cpu as _backend_cpu  # noqa: E402

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
    total_backend = 0.0

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.b = _backend_cpu()
        self.w, self.c = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.w, _cpu() - self.c
        backend = _backend_cpu() - self.b
        Step.total_wall += wall
        Step.total_cpu += cpu
        Step.total_backend += backend
        print(
            f"  {self.name:52s} wall {wall:8.1f} s   cpu {cpu:8.1f} s   backend cpu {backend:7.1f} s   "
            f"peak RSS {_rss_mb():7.0f} MB",
            flush=True,
        )


def train(company, as_of: dt.date, seed: int) -> None:
    print(f"training as of {as_of} (load average {os.getloadavg()[0]:.1f})", flush=True)
    with Step("load_items (the books as of the day)"):
        items = load_items(company=company, until=as_of)
    print(f"    {len(items):,} instalments, {(items.settled_on > 0).sum():,} settled", flush=True)
    with Step("features as of each document date"):
        X = features(items, items.document_date)
    cutoff = engine.default_cutoff(items)
    first = dt.date.fromordinal(int(items.document_date.min()))
    # the order of services._fit: the backtest first, then the final training set, the items and X released
    with Step(f"backtest at {cutoff} (fit + score + baselines)"):
        bt = engine.backtest(company=company, cutoff=cutoff, items=items, X=X, seed=seed)
    print(f"    trained on {bt.train_items:,}; live: {bt.live}", flush=True)
    for name, f in bt.figures.items():
        print(
            f"    {name:20s} n {f['n']:8d}  acc {f['accuracy']:.4f}  auc {f['auc'] or 0:.4f}  "
            f"mae {f['mae_days_late']:.2f}  rmse {f['rmse_days_to_settle']:.2f}",
            flush=True,
        )
    with Step("training set (due 30+ days before)"):
        Xt, dlt, known = engine.training_set(items, X, as_of.toordinal(), with_known=True)
        del items, X
    print(f"    {len(Xt):,} training items ({known.sum():,} with days late known)", flush=True)
    with Step("final fit on every training item"):
        trained = m.train(Xt, dlt, seed=seed, known=known)
    with Step("store the version (pickle, insert, activate)"):
        blob = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
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
        f"  training total: wall {Step.total_wall:.1f} s, cpu {Step.total_cpu:.1f} s, backend cpu "
        f"{Step.total_backend:.1f} s, peak RSS {_rss_mb():.0f} MB; "
        f"v{v.version} ({len(blob) / 1e6:.1f} MB pickled)",
        flush=True,
    )


def predict(company, as_of: dt.date, store: bool, breakdown: bool) -> None:
    Step.total_wall = Step.total_cpu = Step.total_backend = 0.0
    print(f"predicting as of {as_of} (load average {os.getloadavg()[0]:.1f})", flush=True)
    active = services.active_model(company)
    if active is None:
        raise SystemExit("no active model: run --stage train first")
    version, trained = active
    if breakdown:  # the inner steps of predict_open one by one (then the service runs them again, below)
        with Step("  load_items (the books as of the day)"):
            everything = load_items(company=company, until=as_of)
        open_mask = (everything.settled_on == 0) & (everything.open_amount > 0)
        print(f"      {len(everything):,} instalments, {open_mask.sum():,} open", flush=True)
        with Step("  features of the open items as of the day"):
            X = features(everything, np.full(len(everything), as_of.toordinal()), rows=open_mask)
        overdue = as_of.toordinal() - everything.due_date[open_mask]
        del everything
        with Step("  model: the distribution of every open item"):
            m.predict(trained, X, overdue_days=overdue)
        with Step("  reasons of every open item (numpy, JSON texts)"):
            engine.reasons_json(X, overdue)
        del X, overdue
        print("    — the service:", flush=True)
        Step.total_wall = Step.total_cpu = Step.total_backend = 0.0
    if not store:
        with Step("predict_open (read, features, predict)"):
            pred = engine.predict_open(company=company, as_of=as_of, trained=trained, live=version.live)
        print(f"    {len(pred.items):,} open instalments; mean p_late {np.mean(pred.p_late):.3f} (live: {version.live})",
              flush=True)
    else:  # what services.refresh_predictions runs
        with Step("open_items (read, features of the open items)"):
            opened = engine.open_items(company=company, as_of=as_of, trained=trained, live=version.live)
        print(f"    {len(opened):,} open instalments (live: {version.live})", flush=True)
        with Step("store_predictions (delete; predict, reasons, COPY by chunk; audit)"):
            n = services.store_predictions(company=company, version=version, pred=opened)
        del opened
        with Step("worklist requeue (collections.refresh_queue)"):
            services._requeue(company, as_of)
        print(f"    {n:,} rows stored", flush=True)
    print(
        f"  prediction total: wall {Step.total_wall:.1f} s, cpu {Step.total_cpu:.1f} s, backend cpu "
        f"{Step.total_backend:.1f} s, peak RSS {_rss_mb():.0f} MB",
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--stage", choices=("train", "predict", "all"), default="all")
    ap.add_argument("--no-store", action="store_true")
    ap.add_argument("--breakdown", action="store_true", help="predict: also time the steps inside predict_open")
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
        predict(company, as_of, store=not args.no_store, breakdown=args.breakdown)


if __name__ == "__main__":
    main()
