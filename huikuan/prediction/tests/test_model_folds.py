"""A small training window validated on rolling-origin folds (issue 16, pred16b): the parts of P(late) predicted
out of time for most of its items, the blend chosen on them (the "customer × disputed" baseline may be one part)."""

import datetime as dt

import numpy as np

from huikuan.prediction import engine, model, synthetic
from huikuan.prediction.features import features

from .conftest import END


def _window(seed: int, cutoff: dt.date, **kw):
    settled, still_open = synthetic.ar_rows(start=dt.date(2024, 1, 1), end=END, seed=seed, **kw)
    items = synthetic.items_from(settled, still_open)
    X = features(items, items.document_date)
    return items, X, *engine.training_set(items, X, cutoff.toordinal())


def test_a_small_training_window_is_validated_on_rolling_folds():
    """~420 training items: their most recent fifth (~85 items, fewer than 50 late) validated nothing, so the
    blend and the cut stayed at their defaults. On four rolling-origin folds 60 % of the items are predicted by
    models fitted on earlier items only, and the blend is chosen there."""
    _, _, Xt, dl = _window(101, dt.date(2024, 7, 1))
    assert 300 < len(Xt) < 600
    trained = model.train(Xt, dl)
    v = trained.validation
    assert v["folds"] == 4 and v["items"] >= 0.55 * len(Xt), v
    assert trained.blend and abs(sum(v["blend"][k] for k in ("model", "smooth", "weight_baseline")) - 1) < 1e-9
    assert v["log_loss"] <= min(v["log_loss_trees"], v["log_loss_baseline"]) + 1e-9, v  # the grid holds each part
    p = model.late_probability(trained, Xt)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_rolling_folds_are_out_of_time():
    """A fold's parts come from models fitted on the items before it: changing the labels of the last fold's
    items changes none of the earlier folds' predictions."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    def hgb(**kw):
        return HistGradientBoostingClassifier(**{"random_state": 0, "validation_fraction": 0.15,
                                                 "n_iter_no_change": 10, **kw})

    _, _, Xt, dl = _window(3, dt.date(2025, 7, 1))
    Xt = np.asarray(Xt, dtype=np.float32)
    n = len(Xt)
    last = int(n * model.FOLDS[-2])
    p, smooth, base, y, _ = model._rolling_parts(Xt, dl, hgb)
    flipped = dl.copy()
    flipped[last:] = np.where(dl[last:] >= 1, -3, 5)
    p2, smooth2, base2, y2, _ = model._rolling_parts(Xt, flipped, hgb)
    earlier = last - int(n * model.FOLDS[0])  # pooled rows of the folds before the last
    assert len(y) == n - int(n * model.FOLDS[0])
    np.testing.assert_array_equal(p[:earlier], p2[:earlier])
    np.testing.assert_array_equal(smooth[:earlier], smooth2[:earlier])
    for name in base:
        np.testing.assert_array_equal(base[name][:earlier], base2[name][:earlier])
    assert (y[earlier:] != y2[earlier:]).all()


def test_model_beats_every_baseline_on_ar_shaped_companies_it_tied_or_lost():
    """AR-shaped companies (new seeds, not those of the earlier counts) on which the recent fifth's blend lost or
    tied against "customer × disputed" — see docs/PERFORMANCE.md, pred16b: with the blend chosen on rolling folds
    (the baseline a possible part of it) the model beats every baseline."""
    for seed, cutoff, kw in CASES:
        items, X, _, _ = _window(seed, cutoff, **kw)
        bt = engine.backtest(company=None, cutoff=cutoff, items=items, X=X)
        acc = {k: v["accuracy"] for k, v in bt.figures.items()}
        assert all(acc["model"] > acc[b] for b in model.BASELINES), (seed, cutoff, acc)
        assert bt.live == "model"


# (seed, cutoff, generator's size): 1,200 invoices of 60 customers, 335–490 training items; before (the recent
# fifth) / after / "customer × disputed": 0.8464 / 0.8546 / 0.8464 (a tie), 0.7709 / 0.7886 / 0.7780,
# 0.7897 / 0.8004 / 0.7950
CASES = [(101, dt.date(2024, 10, 1), {"n_invoices": 1200, "n_customers": 60}),
         (111, dt.date(2025, 1, 1), {"n_invoices": 1200, "n_customers": 60}),
         (113, dt.date(2025, 1, 1), {"n_invoices": 1200, "n_customers": 60})]
