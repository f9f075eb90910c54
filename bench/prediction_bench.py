"""Backtest and timing of the payment prediction (issue 16) on synthetic companies, in memory (no database).

    .venv/bin/python bench/prediction_bench.py --invoices 5000 --customers 80 --seeds 3,4
    .venv/bin/python bench/prediction_bench.py --invoices 200000 --customers 4000 --seeds 1 --timing
    .venv/bin/python bench/prediction_bench.py --shape ar --seeds 1-12        # shaped like the public AR data sets
    .venv/bin/python bench/prediction_bench.py --shape ar --seeds 1 --predict-cost 1000000  # CPU of P(late)'s parts
    .venv/bin/python bench/prediction_bench.py --invoices 2000 --customers 80 --seeds 1-6 --sign  # losses vs chance

Each seed: ``prediction.synthetic`` rows (2022-01-01 … 2025-12-31) → items as the history import would
post them → ``engine.backtest`` at cutoff 2025-01-01 (the same code as ``huikuan predict backtest``):
the model and the five baselines side by side. ``--shape ar``: ``synthetic.ar_rows`` (defaults 2,500 invoices,
100 customers, 2024-01-01 … 2025-12-31, cutoff 2025-07-01). The last line counts the seeds on which the model's
late / on-time accuracy beats every baseline's, and the mean margin over the best baseline.
``--trees-weight 1 --cut-sigmas 2``: the former late / on-time rule (the trees alone unless a blend wins beyond
chance; the cut moved at 2σ). ``--timing`` also times features, training on every item due before the end,
and predicting all items; peak RSS from ``resource.getrusage``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from huikuan.prediction import engine, synthetic  # noqa: E402
from huikuan.prediction import model as m  # noqa: E402
from huikuan.prediction.features import features  # noqa: E402

END = dt.date(2025, 12, 31)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="ours", choices=["ours", "ar"])
    ap.add_argument("--invoices", type=int, default=0, help="default 5000 (ours) / 2500 (ar)")
    ap.add_argument("--customers", type=int, default=0, help="default 80 (ours) / 100 (ar)")
    ap.add_argument("--seeds", default="3,4", help="a list (3,4) or a range (1-12)")
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--trees-weight", type=float, default=m.DEFAULT_W_MODEL,
                    help="the trees' default weight in P(late) (1: the former default, the trees alone)")
    ap.add_argument("--cut-sigmas", type=float, default=m.CUT_SIGMAS, help="the sign test's bar (2: the former one)")
    ap.add_argument("--predict-cost", type=int, default=0, metavar="N",
                    help="CPU time (process) of each part of P(late) and of the nine classes on N items (the "
                         "company's items repeated), model trained at the backtest's cutoff")
    ap.add_argument("--sign", action="store_true",
                    help="on seeds the model does not win: a sign test against the best baseline over the items the "
                         "two call differently (trains the model once more)")
    args = ap.parse_args()
    m.DEFAULT_W_MODEL, m.CUT_SIGMAS = args.trees_weight, args.cut_sigmas
    ar = args.shape == "ar"
    generate = synthetic.ar_rows if ar else synthetic.rows
    start, cutoff = (dt.date(2024, 1, 1), dt.date(2025, 7, 1)) if ar else (dt.date(2022, 1, 1), dt.date(2025, 1, 1))
    if "-" in args.seeds:
        lo, hi = args.seeds.split("-")
        seeds = list(range(int(lo), int(hi) + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    wins, margins = 0, []
    for seed in seeds:
        settled, still_open = generate(n_invoices=args.invoices or (2500 if ar else 5000),
                                       n_customers=args.customers or (100 if ar else 80), start=start, end=END,
                                       seed=seed)
        items = synthetic.items_from(settled, still_open)
        t0 = time.perf_counter()
        X = features(items, items.document_date)
        t_feat = time.perf_counter() - t0
        bt = engine.backtest(company=None, cutoff=cutoff, items=items, X=X)
        best = max(bt.figures[b]["accuracy"] for b in m.BASELINES)
        wins += bt.figures["model"]["accuracy"] > best
        margins.append(bt.figures["model"]["accuracy"] - best)
        print(f"seed {seed}: {len(items)} items, trained on {bt.train_items} before {cutoff}, live: {bt.live}")
        print(f"  {'':18s} {'n':>6s} {'late':>6s} {'acc':>7s} {'auc':>7s} {'mae_dl':>7s} {'rmse_dts':>8s}")
        for name, f in bt.figures.items():
            print(f"  {name:18s} {f['n']:6d} {f['late_share']:6.3f} {f['accuracy']:7.4f} {f['auc'] or 0:7.4f} "
                  f"{f['mae_days_late']:7.2f} {f['rmse_days_to_settle']:8.2f}")
        if args.sign and bt.figures["model"]["accuracy"] <= best:
            sign_test(items, X, cutoff, bt)
        if args.predict_cost:
            predict_cost(items, X, cutoff, args.predict_cost)
        if args.timing:
            Xt, dl = engine.training_set(items, X, END.toordinal())
            t0, c0 = time.perf_counter(), time.process_time()
            trained = m.train(Xt, dl)
            t_train, c_train = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            m.predict(trained, X, overdue_days=END.toordinal() - items.due_date)
            t_pred = time.perf_counter() - t0
            print(f"  features {t_feat:.1f} s for {len(items)} items; training {t_train:.1f} s on {len(Xt)} items "
                  f"(model on at most {m.MAX_TRAIN}; CPU {c_train:.1f} s); predicting {len(items)} items {t_pred:.1f} s; "
                  f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"model beats every baseline on {wins} of {len(seeds)} seeds; mean margin over the best baseline "
          f"{np.mean(margins):+.4f}")


def sign_test(items, X, cutoff, bt):
    """The model against the best baseline on the scored items the two call differently: (right − wrong) / √n, in
    standard deviations of a fair coin (|value| ≤ 2: within chance). The same training and scoring as the backtest."""
    c = cutoff.toordinal()
    Xt, dl, known = engine.training_set(items, X, c, with_known=True)
    trained = m.train(Xt, dl, known=known)
    end = max(int(items.document_date.max()), int(items.settled_on.max()))
    idx = np.flatnonzero((items.document_date >= c) & ((items.settled_on > 0) | (items.due_date < end)))
    settled = items.settled_on[idx] > 0
    late = np.where(settled, items.settled_on[idx] - items.due_date[idx], end - items.due_date[idx]) >= 1
    name = max(m.BASELINES, key=lambda b: (bt.figures[b]["accuracy"], -m.BASELINES.index(b)))
    ours = m.predict(trained, X[idx]).p_late >= trained.threshold
    theirs = m.baseline(name, trained, X[idx])[0] >= 0.5
    differ = ours != theirs
    right = int((ours[differ] == late[differ]).sum())
    print(f"  sign test against {name}: {int(differ.sum())} items called differently, the model right on {right}: "
          f"{(2 * right - int(differ.sum())) / max(np.sqrt(differ.sum()), 1):+.2f} σ")


def predict_cost(items, X, cutoff, n):
    """Process CPU time (one thread, as the product predicts) of the parts of a prediction on ``n`` items."""
    from threadpoolctl import threadpool_limits

    Xt, dl, known = engine.training_set(items, X, cutoff.toordinal(), with_known=True)
    trained = m.train(Xt, dl, known=known)
    big = np.resize(X, (n, X.shape[1])).astype(np.float32)
    smooth = (trained.blend or {}).get("smooth")
    parts = {"late trees": lambda: trained.late_classifier.predict_proba(m._columns(trained, big)),
             "smooth model": (lambda: smooth.predict_proba(big)) if smooth is not None else None,
             "P(late), blended": lambda: m.late_probability(trained, big),
             "nine classes": lambda: trained.classifier.predict_proba(m._columns(trained, big)),
             "whole predict": lambda: m.predict(trained, big)}
    with threadpool_limits(limits=m.THREADS):
        for name, run in parts.items():
            if run is None:
                continue
            t0 = time.process_time()
            run()
            print(f"  predict cost, {name}: {time.process_time() - t0:.2f} s CPU for {n} items "
                  f"(late trees: {trained.late_classifier.n_iter_} rounds; nine classes: "
                  f"{trained.classifier.n_iter_} rounds × {len(trained.classifier.classes_)} classes)")


if __name__ == "__main__":
    main()
