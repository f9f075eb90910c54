"""The payment-date model, its baselines and the backtest metrics — no ORM, no clock.

Target: days late ``DL = settled date − due date`` in nine classes (≤ −8, −7…0, 1…7, 8…14, 15…29, 30…59,
60…89, 90…179, ≥ 180). A ``HistGradientBoostingClassifier`` gives each item a probability per class;
inside a class the days follow the training items of that class (their empirical distribution). The
mixture is the item's predictive distribution of DL, from which everything is read:

- p_late = P(DL ≥ 1), p_late_30 = P(DL ≥ 30), p_late_90 = P(DL ≥ 90);
- the 80 % interval = the 10th and 90th percentiles; the predicted payment date = due date + the estimate
  of a ``HistGradientBoostingRegressor`` fitted with the absolute-error loss (a conditional median; the
  interval widened to hold it): the median of the class mixture was a poor point estimate — inside a wide class
  the days follow all customers' items of that class, so a very late payer got the pooled middle of
  "30–59" or "90–179" — and its MAE of days late was twice the baselines' (docs/PERFORMANCE.md);
- an item still open on the prediction date, already ``d`` days past due, is conditioned on not having
  been paid before it (DL ≥ d); beyond everything the training saw, the rest is spread over 60 days.

P(late) — the late / on-time call, the figure the product is judged on — is not the trees' alone: on the most
recent fifth of the training window (out of time) the trees and a smooth model (a regularised logistic regression
on the customer's shrunk late rates, disputed, electronic, …) are blended with the weights of least log loss when
that beats the trees by more than chance, and the cut stays at 0.5 unless another is better there by more than
chance; a small window (≤ ``OOF_MAX`` items) decides on rolling-origin folds of 60 % of its items instead, and its
blend may hold the best probability baseline ("customer × disputed") as a third part. The nine classes are
rescaled to agree with it.

Training items whose payment is not known yet at the cutoff are labelled with the class of the
lateness they had reached (a lower bound), so the slowest payers are not dropped from training.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .features import FEATURES, FEATURES_V1

EDGES = (-8, 0, 7, 14, 29, 59, 89, 179)  # class k: EDGES[k-1] < DL <= EDGES[k]
N_CLASSES = len(EDGES) + 1
GRID = np.arange(-120, 731)  # days late the distributions are tabulated on
LATE, LATE30, LATE90 = 2, 5, 7  # first class of: 1+ / 30+ / 90+ days late
MAX_TRAIN = 400_000  # the most recent items train the late / on-time classifier and the median (time box)
MAX_TRAIN_CLASSES = 150_000  # the nine-class mixture: an even sample of those (its shape needs fewer)
# … and at most this many rounds (9 trees each): its fitting and, above all, its scoring of every open item cost in
# proportion; P(late) is not its (the late / on-time model's), and from 100 rounds on, its log loss gained ≤ 1 % on
# the backtest's items while its median's MAE of days late got no better (docs/PERFORMANCE.md)
CLASSES_MAX_ITER = 100
BASELINES = ("on_time", "customer_rate", "customer_disputed", "customer_median", "terms")
F = {name: i for i, name in enumerate(FEATURES)}
# OpenMP threads for fitting: 1 by default — a worker job on a shared machine; on a busy 2-core box
# more threads made a 2,000-item fit 20× slower (spinning on oversubscribed cores)
THREADS = int(os.environ.get("HUIKUAN_ML_THREADS", "1"))


VAL_SHARE = 0.2  # the most recent fifth of the training items validates the late / on-time classifier
VAL_MIN = 50  # … when it holds at least this many items of each kind (late, on time); else threshold 0.5
VAL_FIT_MAX = 200_000  # the validation fit sees an even sample of at most this many earlier items
THRESHOLDS = np.round(np.arange(0.30, 0.7001, 0.01), 2)
# the late / on-time classifier, more regularised than the others (smaller trees, more items per leaf, slower
# learning, its rounds stopped on the recent fifth): on small companies the default trees overfit and lost to
# "customer × disputed" (docs/PERFORMANCE.md)
LATE_PARAMS = {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 80, "max_iter": 300}


def _columns(model: Trained, X: np.ndarray) -> np.ndarray:
    """The feature columns ``model``'s estimators were fitted on (X always holds every current feature)."""
    names = getattr(model, "features", FEATURES_V1) or FEATURES_V1
    if len(names) == X.shape[1]:
        return X
    return X[:, [F[n] for n in names]]


def _filled(X: np.ndarray) -> np.ndarray:
    """X for fitting, as the float64 array scikit-learn's boosting converts it to anyway (one copy, made here, so no
    float32 copy besides it — memory at 2 M items): a column without any value (no delivery channel known, say: no
    history import) becomes 0 — scikit-learn's binning fails on an all-missing column; prediction still passes NaN
    (no split uses it)."""
    out = np.array(X, dtype=np.float64, order="C")
    empty = np.isnan(out).all(axis=0)
    if empty.any():
        out[:, empty] = 0
    return out


def choose_threshold(p: np.ndarray, late: np.ndarray) -> float:
    """The cut on P(late) with the best accuracy on validation items; among cuts within one item of the best,
    the one nearest 0.5 (a calibrated model's natural cut), so noise does not move it."""
    acc = np.array([((p >= t) == late).mean() for t in THRESHOLDS])
    near = np.flatnonzero(acc >= acc.max() - 1.0 / max(len(late), 1) + 1e-12)
    return float(THRESHOLDS[near[np.argmin(np.abs(THRESHOLDS[near] - 0.5))]])


def significant_threshold(p: np.ndarray, late: np.ndarray) -> float:
    """0.5, unless the best cut on the validation items (``choose_threshold``) wins there by more than chance:
    of the items the two cuts call differently, the ones it gets right exceed the ones it gets wrong by more
    than ``CUT_SIGMAS`` standard deviations of a fair coin (a sign test). A cut moved by a few items of a small
    company's recent fifth lost on the later items (0.31 instead of 0.5 on the AR-shaped synthetic company of seed 9:
    accuracy 0.7635 on the scored items, 0.825 at 0.5)."""
    best = choose_threshold(p, late)
    a, b = (p >= 0.5), (p >= best)
    changed = a != b
    gains = int((b[changed] == late[changed]).sum())
    losses = int(changed.sum()) - gains
    return best if gains - losses > CUT_SIGMAS * math.sqrt(gains + losses) else 0.5


def classes(days_late: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(EDGES), days_late, side="left")


@dataclass
class Trained:
    """What is stored (pickled) for one model version."""

    classifier: object | None
    bin_cdf: np.ndarray  # N_CLASSES × len(GRID): the CDF of DL inside each class
    late_rate: float
    late30_rate: float
    late90_rate: float
    dispute_rates: dict = field(default_factory=dict)  # disputed flag → late rate
    terms: dict = field(default_factory=dict)  # terms days → (late rate, median DL)
    mean_dl_late: float = 0.0
    residuals: tuple = (0.0, 0.0)  # 10th / 90th percentile of DL − median, for baseline intervals
    late_classifier: object | None = None  # P(late); the class probabilities are rescaled to agree with it
    median_regressor: object | None = None  # days late, absolute-error loss: the point estimate
    # the columns the estimators were fitted on (a version pickled before a feature was added keeps its own)
    features: tuple = FEATURES_V1
    # late / on-time call: p_late ≥ threshold, chosen on the most recent part of the training window (VAL_SHARE)
    threshold: float = 0.5
    validation: dict = field(default_factory=dict)  # what the threshold was chosen on (for the versions page)
    # P(late) = w_model × the trees' + w_smooth × the smooth model's + the rest × a baseline's, chosen on the recent
    # part: {"w_model", "w_smooth", "smooth" (fitted), "baseline" (name or "")}; empty: the trees alone
    blend: dict = field(default_factory=dict)


def _bin_cdf(dl: np.ndarray, cls: np.ndarray) -> np.ndarray:
    out = np.zeros((N_CLASSES, len(GRID)))
    lows = (-10_000, *[e + 1 for e in EDGES])
    highs = (*EDGES, 10_000)
    for k in range(N_CLASSES):
        vals = np.sort(dl[cls == k])
        if len(vals) == 0:  # no training item in this class: spread it evenly over the class
            lo, hi = max(lows[k], GRID[0]), min(highs[k], GRID[-1])
            out[k] = np.clip((GRID - lo + 1) / max(hi - lo + 1, 1), 0, 1)
        else:
            out[k] = np.searchsorted(vals, GRID, side="right") / len(vals)
    return out


def _summary(X: np.ndarray, days_late: np.ndarray) -> dict:
    """The training figures the baselines read (company late rates, by disputed flag and by terms)."""
    late = days_late >= 1
    disputed = X[:, F["disputed"]] > 0
    terms: dict = {}
    tdays = X[:, F["terms_days"]].astype(int)
    for t in np.unique(tdays):
        m = tdays == t
        if m.sum() >= 20:
            terms[int(t)] = (float(late[m].mean()), float(np.median(np.maximum(days_late[m], 0))))
    return {
        "late_rate": float(late.mean()), "late30_rate": float((days_late >= 30).mean()),
        "late90_rate": float((days_late >= 90).mean()),
        "dispute_rates": {flag: float(late[disputed == flag].mean()) if (disputed == flag).any()
                          else float(late.mean()) for flag in (False, True)},
        "terms": terms, "mean_dl_late": float(days_late[late].mean()) if late.any() else 0.0,
        "residuals": (float(np.percentile(days_late - np.median(days_late), 10)),
                      float(np.percentile(days_late - np.median(days_late), 90))) if len(days_late) else (0.0, 0.0),
    }


def _merge_rare(cls: np.ndarray, least: int = 2) -> np.ndarray:
    """Classes with fewer than ``least`` items folded into the nearest populated class on the same side of
    on time / late, nearer the boundary (one item 30–59 days late among a small company's items made the
    stratified early-stopping split fail: "The least populated classes in y have only 1 member")."""
    counts = np.bincount(cls, minlength=N_CLASSES)
    out = cls.copy()
    for k in np.flatnonzero((counts > 0) & (counts < least)):
        side = range(k + 1, LATE) if k < LATE else range(k - 1, LATE - 1, -1)
        side = [*side, *(range(k - 1, -1, -1) if k < LATE else range(k + 1, N_CLASSES))]
        for j in side:
            if counts[j] >= least:
                out[out == k] = j
                counts[j] += counts[k]
                counts[k] = 0
                break
    return out


def train(X: np.ndarray, days_late: np.ndarray, *, seed: int = 0, classifier: bool = True,
          known: np.ndarray | None = None) -> Trained:
    """Fit the classifier and the per-class day distributions on (features, days late) of past items;
    the median regressor on the rows ``known`` (days late known, not a lower bound; default all)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    cls = classes(days_late)
    late = days_late >= 1
    trained = Trained(classifier=None, bin_cdf=_bin_cdf(days_late, cls), **_summary(X, days_late))
    if classifier and len(set(cls.tolist())) > 1:
        X = np.asarray(X, dtype=np.float32)
        known = np.ones(len(X), dtype=bool) if known is None else np.asarray(known, dtype=bool)
        if len(X) > MAX_TRAIN:  # the most recent ones (rows are in document-date order)
            X, cls, late, days_late = X[-MAX_TRAIN:], cls[-MAX_TRAIN:], late[-MAX_TRAIN:], days_late[-MAX_TRAIN:]
            known = known[-MAX_TRAIN:]
        every = max(1, -(-len(X) // MAX_TRAIN_CLASSES))  # an even sample, every k-th item (still in time order)

        def hgb(kind=HistGradientBoostingClassifier, **kw):
            params = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 40,
                      "l2_regularization": 1.0, "early_stopping": len(X) > 2000, "validation_fraction": 0.15,
                      "n_iter_no_change": 10, "random_state": seed}
            return kind(**{**params, **kw})

        trained.features = tuple(FEATURES)

        with threadpool_limits(limits=THREADS):
            sample = _merge_rare(cls[::every])
            counts = np.bincount(sample, minlength=N_CLASSES)
            # early stopping holds out a stratified share: every class needs two items (else scikit-learn raises)
            trained.classifier = hgb(early_stopping=len(X) > 2000 and counts[counts > 0].min() >= 2,
                                     max_iter=CLASSES_MAX_ITER).fit(_filled(X[::every]), sample)
            if late.any() and not late.all():  # late / on time on its own: the decision that matters most
                (trained.late_classifier, trained.threshold, trained.validation,
                 trained.blend) = _late_classifier(X, days_late, hgb)
            if known.sum() >= 50:
                trained.median_regressor = hgb(HistGradientBoostingRegressor, loss="absolute_error").fit(
                    _filled(X[known]), np.clip(days_late[known], GRID[0], GRID[-1]).astype(np.float32))
    return trained


BLEND_STEP = 0.1  # the blend's weights: multiples of this summing to 1
PROBABILITY_BASELINES = ("customer_rate", "customer_disputed", "terms")  # baselines that give a probability
# the best baseline as a third part of a blend chosen on the recent fifth (windows above ``OOF_MAX``): off — on 12
# AR-shaped companies it won 8 against 4 without it, but on 12 of our synthetic companies 5 against 6, and it lost
# the seed-3 company by one item (docs/PERFORMANCE.md); the product's own safety net stays ``engine.choose_live`` (a
# baseline goes live when the model does not beat it). A small window's rolling folds always offer it (pred16b).
BLEND_BASELINE = False
# P(late) by default: the trees and the smooth model half and half — two models of different kinds averaged (less
# variance than either); other weights only when the validation items prefer them beyond chance. The trees alone by
# default lost more AR-shaped synthetic companies (docs/PERFORMANCE.md): their gate kept them on noise.
DEFAULT_W_MODEL = 0.5
# the cut moves from 0.5 only beyond three standard deviations of a fair coin: the best of 41 cuts is tested on the
# items it was chosen on (multiple comparisons — two moved it on noise: 0.35 / 0.54 lost AR-shaped companies)
CUT_SIGMAS = 3.0
SHRINK = 5.0  # pseudo-items of the company's rate in a customer's shrunk late rates


def _late_classifier(X: np.ndarray, days_late: np.ndarray, hgb) -> tuple[object, float, dict, dict]:
    """P(late), its blend and its decision threshold, all validated on time. A training window of at most
    ``OOF_MAX`` items is validated on rolling-origin folds (``_rolling_parts``); a larger one on its most recent
    fifth: a first fit on the older items stops early on it (``X_val``), and on it the boosted trees, the smooth
    model (fitted on the same older items) and the baselines (from the older items' figures) are scored. On those
    validation items the blend and the cut are chosen (``_choose_blend``); then the final fits run on every item
    (the trees for the number of rounds the last validation fit kept). Too few items to validate: the default
    blend (``DEFAULT_W_MODEL``), threshold 0.5."""
    late = days_late >= 1
    n = len(X)
    if n <= OOF_MAX:
        parts = _rolling_parts(X, days_late, hgb)
        if parts is not None:
            p, smooth_v, base, yv, rounds = parts
            info = {"items": int(len(yv)), "rounds": rounds, "folds": len(FOLDS) - 1,
                    "accuracy_at_half": round(float(((p >= 0.5) == yv).mean()), 4)}
            final = hgb(**{**LATE_PARAMS, "max_iter": rounds}, early_stopping=False).fit(_filled(X), late)
            blend, threshold = _choose_blend(p, smooth_v, base, yv, info, with_baseline=True, gate=False)
            if blend.get("w_smooth"):
                blend["smooth"] = Smooth(X, late, float(late.mean()))
            return final, threshold, info, blend
    n_val = int(n * VAL_SHARE)
    yv = late[n - n_val:]
    if n_val < 2 * VAL_MIN or yv.sum() < VAL_MIN or (~yv).sum() < VAL_MIN or late[:n - n_val].all() \
            or not late[:n - n_val].any():
        return _unvalidated(X, late, hgb)
    step = max(1, -(-(n - n_val) // VAL_FIT_MAX))
    Xf, yf, Xv = X[:n - n_val:step], late[:n - n_val:step], X[n - n_val:]
    first = hgb(**LATE_PARAMS, early_stopping=True).fit(_filled(Xf), yf, X_val=Xv, y_val=yv)
    p = first.predict_proba(Xv)[:, 1]
    rounds = max(int(first.n_iter_), 10)
    final = hgb(**{**LATE_PARAMS, "max_iter": rounds}, early_stopping=False).fit(_filled(X), late)
    older = Trained(classifier=None, bin_cdf=np.zeros(0), **_summary(X[:n - n_val], days_late[:n - n_val]))
    smooth_v = Smooth(Xf, yf, older.late_rate).predict_proba(Xv)[:, 1]
    base = {b: baseline(b, older, Xv)[0] for b in PROBABILITY_BASELINES}
    info = {"items": int(n_val), "rounds": rounds,
            "accuracy_at_half": round(float(((p >= 0.5) == yv).mean()), 4)}
    blend, threshold = _choose_blend(p, smooth_v, base, yv, info)
    if blend.get("w_smooth"):
        blend["smooth"] = Smooth(X, late, float(late.mean()))
    return final, threshold, info, blend


def _unvalidated(X: np.ndarray, late: np.ndarray, hgb) -> tuple[object, float, dict, dict]:
    """Too few items to validate anything: the trees for their full rounds, the default blend, the cut at 0.5."""
    blend = {}
    if DEFAULT_W_MODEL < 1:  # nothing to decide on: the default blend
        blend = {"w_model": DEFAULT_W_MODEL, "w_smooth": 1 - DEFAULT_W_MODEL, "baseline": "",
                 "smooth": Smooth(X, late, float(late.mean()))}
    return hgb(**LATE_PARAMS).fit(_filled(X), late), 0.5, {}, blend


# a training window of at most this many items (a small company: hundreds to tens of thousands of invoices) is
# validated on rolling-origin folds instead of its most recent fifth alone — the parts of P(late) predicted out of
# time for 60 % of its items, not 20 %: the blend's weights are chosen on three times the items (at 400–2,000 items
# the recent fifth held 80–400 and the blend was left at its default on noise, docs/PERFORMANCE.md); four more
# small fits, so only below this size (the full-scale training keeps the recent fifth)
OOF_MAX = 50_000
FOLDS = (0.4, 0.55, 0.7, 0.85, 1.0)  # fold k: the items from FOLDS[k] to FOLDS[k + 1] of the window (time order)


def _rolling_parts(X: np.ndarray, days_late: np.ndarray, hgb):
    """The parts of P(late) out of time on rolling-origin folds of the training window (rows in time order): each
    fold's items are predicted by the trees, the smooth model and the probability baselines fitted on the items
    before it only (the trees' rounds stopped early on the fold, as the recent-fifth fit does). Returns (trees,
    smooth, {baseline: p}, late, rounds of the last fold's trees), pooled over the folds; None when the pooled
    items hold fewer than ``VAL_MIN`` late or on-time items (then the recent fifth decides, or nothing)."""
    late = days_late >= 1
    n = len(X)
    parts: dict = {"p": [], "smooth": [], "y": [], **{b: [] for b in PROBABILITY_BASELINES}}
    rounds = None
    for k in range(len(FOLDS) - 1):
        a, b = int(n * FOLDS[k]), int(n * FOLDS[k + 1])
        if b <= a or late[:a].all() or not late[:a].any():
            continue
        Xf, yf, Xv, yv = X[:a], late[:a], X[a:b], late[a:b]
        if yv.all() or not yv.any():  # early stopping scores the fold: it needs both kinds
            trees = hgb(**LATE_PARAMS, early_stopping=False).fit(_filled(Xf), yf)
        else:
            trees = hgb(**LATE_PARAMS, early_stopping=True).fit(_filled(Xf), yf, X_val=Xv, y_val=yv)
        rounds = max(int(trees.n_iter_), 10)
        older = Trained(classifier=None, bin_cdf=np.zeros(0), **_summary(Xf, days_late[:a]))
        parts["p"].append(trees.predict_proba(Xv)[:, 1])
        parts["smooth"].append(Smooth(Xf, yf, older.late_rate).predict_proba(Xv)[:, 1])
        for name in PROBABILITY_BASELINES:
            parts[name].append(baseline(name, older, Xv)[0])
        parts["y"].append(yv)
    if not parts["y"]:
        return None
    yv = np.concatenate(parts["y"])
    if yv.sum() < VAL_MIN or (~yv).sum() < VAL_MIN:
        return None
    return (np.concatenate(parts["p"]), np.concatenate(parts["smooth"]),
            {name: np.concatenate(parts[name]) for name in PROBABILITY_BASELINES}, yv, rounds)


def _item_log_loss(q: np.ndarray, y: np.ndarray) -> np.ndarray:
    q = np.clip(q, 0.01, 0.99)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q))


def _log_loss(q: np.ndarray, y: np.ndarray) -> float:
    return float(_item_log_loss(q, y).mean())


def _choose_blend(p: np.ndarray, smooth: np.ndarray, base: dict, yv: np.ndarray, info: dict, *,
                  with_baseline: bool | None = None, gate: bool = True) -> tuple[dict, float]:
    """The weights of P(late) = w_model × trees + w_smooth × smooth model (+ the rest × the baseline of least log
    loss when ``BLEND_BASELINE``), on the validation items, by log loss — a proper score: it rewards calibrated
    probabilities, not a lucky cut; the grid holds each part alone, so on these items the blend is never worse
    than any part alone. The default weights (``DEFAULT_W_MODEL``: trees and smooth model half and half) stay
    unless the best blend's gain over them is beyond chance. The cut: 0.5 — the natural cut of a calibrated
    probability — unless another cut is better on the validation items by more than chance
    (``significant_threshold``)."""
    with_baseline = BLEND_BASELINE if with_baseline is None else with_baseline
    best_base = min(base, key=lambda b: (_log_loss(base[b], yv), PROBABILITY_BASELINES.index(b)))
    k = int(round(1 / BLEND_STEP))
    best = None
    for i in range(k, -1, -1):  # ties: more weight on the trees, then on the smooth model
        for j in range(k - i, -1, -1):
            if k - i - j and not with_baseline:
                continue
            q = (i * p + j * smooth + (k - i - j) * base[best_base]) / k
            score = _log_loss(q, yv)
            if best is None or score < best[0] - 1e-12:
                best = (score, i / k, j / k, q)
    score, w_model, w_smooth, q = best
    # the default weights unless the best blend's gain in log loss on these items is beyond chance (two standard
    # errors of the mean per-item difference): a blend chosen on noise lost on the later items
    q0 = DEFAULT_W_MODEL * p + (1 - DEFAULT_W_MODEL) * smooth
    diff = _item_log_loss(q0, yv) - _item_log_loss(q, yv)
    if gate and w_model != DEFAULT_W_MODEL and diff.mean() <= 2 * diff.std(ddof=1) / math.sqrt(len(diff)):
        score, w_model, w_smooth, q = _log_loss(q0, yv), DEFAULT_W_MODEL, 1 - DEFAULT_W_MODEL, q0
    threshold = significant_threshold(q, yv)
    info.update({"blend": {"model": w_model, "smooth": w_smooth, "baseline": best_base,
                           "weight_baseline": round(max(0.0, 1 - w_model - w_smooth), 1)},
                 "log_loss": round(score, 4), "log_loss_trees": round(_log_loss(p, yv), 4),
                 "log_loss_baseline": round(_log_loss(base[best_base], yv), 4), "threshold": threshold,
                 "accuracy_at_threshold": round(float(((q >= threshold) == yv).mean()), 4),
                 "accuracy_baseline": round(float(((base[best_base] >= 0.5) == yv).mean()), 4)})
    blend = {"w_model": w_model, "w_smooth": w_smooth,
             "baseline": best_base if w_model + w_smooth < 1 - 1e-9 else ""}
    return ({} if w_model == 1 else blend), threshold


def _logit(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.02, 0.98)
    return np.log(v / (1 - v))


def smooth_inputs(X: np.ndarray, prior: float) -> np.ndarray:
    """The inputs of the smooth late / on-time model, from the feature columns only: the customer's late rate,
    its rate among items with the same disputed flag and the last six's, each shrunk towards a prior by
    ``SHRINK`` pseudo-items (log-odds: a customer with two items is not "100 % late"); disputed; electronic;
    the customer's mean days late not clipped at 0 (days to pay − terms, in months, shrunk the same way);
    overdue items; the amount against the customer's usual; no history yet. ``prior``: the company's late
    rate of the training window."""
    def c(name):  # one column as float64 (not the whole X: 400,000 × 24 in float64 is 77 MB at each call)
        return np.asarray(X[:, F[name]], dtype=np.float64)

    n = np.nan_to_num(c("n_prev"), nan=0.0)
    rate = np.nan_to_num(c("late_rate"), nan=prior)
    shrunk = (rate * n + SHRINK * prior) / (n + SHRINK)
    n_same = np.nan_to_num(c("n_same_dispute"), nan=0.0)
    same = np.nan_to_num(c("late_rate_same_dispute"), nan=0.0)
    # towards the customer's own rate when it has items of that flag, else the company's rate for the flag
    toward = np.where(n_same > 0, shrunk, np.nan_to_num(c("dispute_rate_or_company"), nan=prior))
    same_shrunk = (same * n_same + SHRINK * toward) / (n_same + SHRINK)
    k6 = np.minimum(n, 6)
    recent = (np.nan_to_num(c("last6_late_rate"), nan=0.0) * k6 + SHRINK * shrunk) / (k6 + SHRINK)
    mean_dl = np.clip(np.nan_to_num(c("mean_days_to_pay") - c("terms_days"), nan=0.0), -60, 120)
    ratio = np.log(np.clip(np.nan_to_num(c("amount_ratio"), nan=1.0), 0.05, 20))
    return np.column_stack([
        _logit(shrunk), _logit(same_shrunk), _logit(recent), c("disputed"),
        np.nan_to_num(c("electronic"), nan=0.5), mean_dl * n / (n + SHRINK) / 30,
        np.log1p(np.maximum(np.nan_to_num(c("overdue_open_n"), nan=0.0), 0)), ratio, (n == 0).astype(float)])


SCALE_SHRINK = 3.0  # pseudo-items of the company's typical spread in a customer's spread of days to pay
MEAN_SHRINK = 2.0  # … of its location (undisputed items) in the customer's mean days late
SMOOTH_FIT_MAX = 100_000  # the smooth model fits on an even sample of at most this many items (in time order)


class Smooth:
    """The smooth late / on-time model: a regularised logistic regression on ``smooth_inputs`` and on a location
    and a scale of the customer's lateness — P(late) ≈ P(μ + δ·disputed + π·paper + ε > 0), ε of the customer's
    spread σ: the inputs μ/σ, disputed/σ, paper/σ, 1/σ let one logistic regression read that for every customer
    (a heteroscedastic location-scale model of days late, not the generator's: nothing in it is specific to one
    data set). μ: the customer's mean days late (not clipped) of its earlier undisputed items, shrunk towards its
    overall mean and that towards the company's; σ: its spread of days to pay shrunk towards the company's
    typical one. The company figures (``priors``) are the training items' own, fixed at fitting."""

    def __init__(self, X: np.ndarray, late: np.ndarray, prior: float):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        step = max(1, -(-len(X) // SMOOTH_FIT_MAX))  # fourteen coefficients: an even sample is plenty (memory)
        X, late = X[::step], late[::step]
        def c(name):
            return np.asarray(X[:, F[name]], dtype=np.float64)

        n = np.nan_to_num(c("n_prev"), nan=0.0)
        std = c("std_days_to_pay")
        typical = np.nanmedian(std[n >= 5]) if np.isfinite(std[n >= 5]).any() else np.nan
        mean_dl = c("mean_days_to_pay") - c("terms_days")
        self.priors = {"late": prior, "scale": float(typical) if np.isfinite(typical) and typical > 0 else 10.0,
                       "mean": float(np.nanmedian(mean_dl)) if np.isfinite(mean_dl).any() else 0.0}
        self.fitted = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=1000)).fit(
            self.inputs(X), late)

    def inputs(self, X: np.ndarray) -> np.ndarray:
        def c(name):
            return np.asarray(X[:, F[name]], dtype=np.float64)

        pr = self.priors
        n = np.maximum(np.nan_to_num(c("n_prev"), nan=0.0), 0)
        n_same = np.clip(np.nan_to_num(c("n_same_dispute"), nan=0.0), 0, n)
        disputed = c("disputed") > 0
        n_undisputed = np.where(disputed, n - n_same, n_same)
        std = np.maximum(np.nan_to_num(c("std_days_to_pay"), nan=0.0), 0)
        # at least half a day: a customer always paying on the same day would make μ/σ infinite
        scale = np.maximum(np.sqrt((std * std * n + SCALE_SHRINK * pr["scale"] ** 2) / (n + SCALE_SHRINK)), 0.5)
        overall = np.nan_to_num(c("mean_days_to_pay") - c("terms_days"), nan=pr["mean"])
        overall = (overall * n + MEAN_SHRINK * pr["mean"]) / (n + MEAN_SHRINK)
        undisputed = np.nan_to_num(c("mean_dl_undisputed"), nan=0.0)
        mu = (undisputed * n_undisputed + MEAN_SHRINK * overall) / (n_undisputed + MEAN_SHRINK)
        paper = 1 - np.nan_to_num(c("electronic"), nan=0.5)
        return np.nan_to_num(np.column_stack([smooth_inputs(X, pr["late"]), mu / scale, disputed / scale,
                                              paper / scale, 1 / scale, np.log(scale)]), nan=0.0, posinf=0.0,
                             neginf=0.0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.fitted.predict_proba(self.inputs(X))


def late_probability(model: Trained, X: np.ndarray) -> np.ndarray:
    """P(late) of each item: the late / on-time trees', blended with the smooth model's and a baseline's when
    training chose to (``Trained.blend``)."""
    p = model.late_classifier.predict_proba(_columns(model, X))[:, 1]
    blend = getattr(model, "blend", None) or {}
    if not blend:
        return p
    q = blend["w_model"] * p
    if blend.get("w_smooth"):
        smooth = blend["smooth"]
        q = q + blend["w_smooth"] * (smooth.predict_proba(X) if isinstance(smooth, Smooth) else  # version 1: inputs
                                     smooth.predict_proba(smooth_inputs(X, model.late_rate)))[:, 1]
    if blend.get("baseline"):
        q = q + (1 - blend["w_model"] - blend["w_smooth"]) * baseline(blend["baseline"], model, X)[0]
    return np.clip(q, 0.0, 1.0)


def class_probabilities(model: Trained, X: np.ndarray) -> np.ndarray:
    out = np.zeros((len(X), N_CLASSES))
    if model.classifier is None or len(X) == 0:
        return out
    proba = model.classifier.predict_proba(_columns(model, X))
    out[:, model.classifier.classes_] = proba
    if model.late_classifier is not None:
        p_late = late_probability(model, X)
        on_time, late = out[:, :LATE].sum(axis=1), out[:, LATE:].sum(axis=1)
        out[:, :LATE] *= np.where(on_time > 0, (1 - p_late) / np.maximum(on_time, 1e-12), 0)[:, None]
        out[:, LATE:] *= np.where(late > 0, p_late / np.maximum(late, 1e-12), 0)[:, None]
        # a side the classes gave no mass: put it in the class next to the boundary
        out[:, LATE - 1] += np.where(on_time > 0, 0, 1 - p_late)
        out[:, LATE] += np.where(late > 0, 0, p_late)
    return out


@dataclass
class Prediction:
    """Per item: probabilities, and DL (days late) of the median and the 80 % interval."""

    p_late: np.ndarray
    p_late_30: np.ndarray
    p_late_90: np.ndarray
    dl_p10: np.ndarray
    dl_p50: np.ndarray
    dl_p90: np.ndarray


def _quantile(cdf: np.ndarray, q: float) -> np.ndarray:
    idx = (cdf >= q - 1e-12).argmax(axis=1)
    idx = np.where(cdf[:, -1] >= q - 1e-12, idx, len(GRID) - 1)
    return GRID[idx]


def predict(model: Trained, X: np.ndarray, *, overdue_days: np.ndarray | None = None, chunk: int = 8192) -> Prediction:
    """The predictive distribution of each item, conditioned on DL ≥ ``overdue_days`` when given
    (an item still open on the prediction date; values ≤ the grid start mean no condition).

    Streams ``chunk`` items at a time through float32 grids (chunk × 851 days), so memory stays flat
    whatever the number of items."""
    n = len(X)
    parts = {k: np.zeros(n) for k in ("p_late", "p_late_30", "p_late_90", "dl_p10", "dl_p50", "dl_p90")}
    bin_cdf = model.bin_cdf.astype(np.float32)
    grid = GRID.astype(np.int32)
    at = {v: v - GRID[0] for v in (0, 29, 89)}
    median = getattr(model, "median_regressor", None)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=THREADS):  # as for fitting: OpenMP threads spin on a busy shared machine
        _predict_chunks(model, X, overdue_days, chunk, parts, bin_cdf, grid, at, median)
    return Prediction(**parts)


DEEP = EDGES[-1] + 1  # an open item this many days past due or more is in the last class whatever its features
TREE_BLOCK = 65_536  # rows whose class probabilities are computed at once (n × 9 floats; the trees' calls amortised)


def _predict_chunks(model, X, overdue_days, chunk, parts, bin_cdf, grid, at, median) -> None:
    """Blocks of ``TREE_BLOCK`` rows: the long-overdue ones without the classifiers (``_predict_deep``), the class
    probabilities of the others at once — of an open item already past due only the classes it can still fall in
    (``past_due_probabilities``) —, then their distributions ``chunk`` rows at a time (float32 grids)."""
    n = len(X)
    deep_ok = overdue_days is not None and model.classifier is not None
    past_ok = deep_ok and len(getattr(model.classifier, "classes_", ())) > 2
    for s in range(0, n, TREE_BLOCK):
        Xb = np.asarray(X[s : s + TREE_BLOCK], dtype=np.float32)
        d = None
        if overdue_days is not None:
            d = np.clip(overdue_days[s : s + TREE_BLOCK].astype(np.int32), GRID[0], GRID[-1])
        rows = np.arange(s, s + len(Xb))
        deep = d >= DEEP if deep_ok else np.zeros(len(Xb), dtype=bool)
        if deep.any():  # the classifiers are not run for them: nothing they say changes these rows
            _predict_deep(model, Xb[deep], d[deep], rows[deep], parts, bin_cdf, median)
        past = (d >= 1) & ~deep if past_ok else np.zeros(len(Xb), dtype=bool)
        rest = ~deep & ~past
        probs = np.zeros((len(Xb), N_CLASSES))
        if past.any():
            probs[past] = past_due_probabilities(model, Xb[past], classes(d[past]))
        if rest.any():
            probs[rest] = class_probabilities(model, Xb[rest])
        keep = np.flatnonzero(~deep)
        for c in range(0, len(keep), chunk):
            k = keep[c : c + chunk]
            _predict_rows(model, Xb[k], None if d is None else d[k], rows[k], parts, bin_cdf, grid, at, median,
                          probs=probs[k])


def past_due_probabilities(model: Trained, X: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The class probabilities of open items already past due, ``first[i]`` the class their days past due fall in
    (≥ ``LATE``), each item's conditioned on its class being ≥ ``first[i]``: the softmax of the nine-class trees'
    scores over those classes only — the trees of the classes below are not run. It is all the conditioning on
    DL ≥ d needs: the classes wholly before d drop out of it, and so does the late / on-time rescaling (every class
    left is on the late side: one factor, cancelled by the conditioning), so neither the late / on-time classifier
    nor the smooth model is run either. The scores are the classifier's own (its trees summed in its order, from its
    baseline: the same bits as ``predict_proba``'s; tested); rows sorted by ``first``, each class's trees run on the
    prefix of rows that need it. Items past every class the classifier has: ``class_probabilities``."""
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    clf = model.classifier
    out = np.zeros((len(X), N_CLASSES))
    if not len(X):
        return out
    order = np.argsort(first, kind="stable")
    first = first[order]
    labels = np.asarray(clf.classes_)
    none = first > labels.max()  # nothing left to condition on (a rare class merged away): the former path
    if none.any():
        out[order[none]] = class_probabilities(model, X[order[none]])
    m = int((~none).sum())
    if not m:
        return out
    Xp = clf._preprocess_X(_columns(model, X[order[:m]]), reset=False)  # float64, as predict_proba's
    bitsets, f_idx_map = clf._bin_mapper.make_known_categories_bitsets()
    threads = _openmp_effective_n_threads()
    raw = np.full((m, len(labels)), -np.inf)
    for j, k in enumerate(labels.tolist()):
        need = int(np.searchsorted(first[:m], k, side="right"))  # the rows whose first class is ≤ k
        if not need:
            continue
        score = np.zeros(need) + clf._baseline_prediction[0, j]
        for trees in clf._predictors:
            score += trees[j].predict(Xp[:need], bitsets, f_idx_map, threads)
        raw[:need, j] = score
    raw -= raw.max(axis=1, keepdims=True)
    np.exp(raw, out=raw)
    raw /= raw.sum(axis=1, keepdims=True)
    sub = np.zeros((m, N_CLASSES))
    sub[:, labels] = raw
    out[order[:m]] = sub
    return out


def _predict_rows(model, Xc, d, rows, parts, bin_cdf, grid, at, median, probs=None) -> None:
    """The rows ``rows`` of ``parts`` from their features ``Xc`` (and days past due ``d``, or None); ``probs``: their
    class probabilities when already computed (else ``class_probabilities``)."""
    if probs is None:
        probs = class_probabilities(model, Xc)
    # the product in float64, then float32: a float32 GEMM's rounding depends on the batch's shape (the BLAS
    # kernel and its blocking), so an item predicted in a chunk of 7 or among 50,000 could land a day apart
    cdf = (probs @ bin_cdf.astype(np.float64)).astype(np.float32)
    if d is not None:
        i0 = d - GRID[0]  # index of DL = d
        below = np.where(i0 > 0, cdf[np.arange(len(d)), np.maximum(i0 - 1, 0)], np.float32(0))
        surv = 1.0 - below
        ok = surv > 1e-4
        cdf -= below[:, None]
        cdf /= np.where(ok, surv, 1.0).astype(np.float32)[:, None]
        np.clip(cdf, 0, 1, out=cdf)
        cdf[grid[None, :] < d[:, None]] = 0.0
        if not ok.all():  # beyond everything the training saw: spread over the next 60 days
            bad = np.flatnonzero(~ok)
            cdf[bad] = np.clip((grid[None, :] - d[bad, None] + 1) / 61.0, 0, 1)
    parts["p_late"][rows] = 1 - cdf[:, at[0]]
    parts["p_late_30"][rows] = 1 - cdf[:, at[29]]
    parts["p_late_90"][rows] = 1 - cdf[:, at[89]]
    _store_quantiles(model, Xc, d, rows, parts, cdf, median)


def _predict_deep(model, Xc, d, rows, parts, bin_cdf, median) -> None:
    """Open items already ``d`` ≥ ``DEEP`` days past due: every class below the last lies wholly before ``d``, so
    the distribution conditioned on DL ≥ ``d`` is the last class's own days beyond ``d`` — the same for every such
    item whatever its class probabilities (they cancel in the conditioning), so neither classifier is run: late,
    30+ and 90+ days late with probability 1, the quantiles read from one conditioned row per distinct ``d`` (and
    spread to the items by it). The training saw (almost) no item as late as ``d`` (the class's share beyond it ≤
    1e-4): spread over the next 60 days. The median regressor, when there is one, still sets the point estimate as
    for any open item."""
    days, inverse = np.unique(d, return_inverse=True)
    for key in ("p_late", "p_late_30", "p_late_90"):
        parts[key][rows] = 1.0
    cdf = deep_cdf(bin_cdf, days)
    _store_quantiles(model, Xc, d, rows, parts, None, median,
                     quantiles=tuple(_quantile(cdf, q)[inverse] for q in (0.1, 0.5, 0.9)))


def deep_cdf(bin_cdf: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The CDF of DL on ``GRID`` conditioned on DL ≥ each of ``days`` (all ≥ ``DEEP``), from the last class's own
    (``bin_cdf[-1]``); float32, one row per day."""
    grid = GRID.astype(np.int32)
    last = np.asarray(bin_cdf[-1], dtype=np.float32)
    below = last[days - GRID[0] - 1]  # days ≥ DEEP > GRID[0]: the index before d is inside the grid
    surv = np.float32(1.0) - below
    ok = surv > 1e-4
    cdf = np.clip((last[None, :] - below[:, None]) / np.where(ok, surv, np.float32(1.0))[:, None], 0, 1)
    cdf[grid[None, :] < days[:, None]] = 0.0
    if not ok.all():
        bad = np.flatnonzero(~ok)
        cdf[bad] = np.clip((grid[None, :] - days[bad, None] + 1) / 61.0, 0, 1)
    return cdf.astype(np.float32)


def _store_quantiles(model, Xc, d, rows, parts, cdf, median, quantiles=None) -> None:
    p10, p50, p90 = quantiles or (_quantile(cdf, 0.1), _quantile(cdf, 0.5), _quantile(cdf, 0.9))
    if median is not None and len(Xc):
        est = np.clip(np.rint(median.predict(_columns(model, Xc))).astype(np.int64), GRID[0], GRID[-1])
        # the regressor's median (an open item already past it: the mixture's conditional median); the
        # interval widened to hold it — the mixture also learns from lower bounds and runs early
        p50 = np.where(est >= (d if d is not None else GRID[0]), est, p50)
        p10, p90 = np.minimum(p10, p50), np.maximum(p90, p50)
    parts["dl_p10"][rows], parts["dl_p50"][rows], parts["dl_p90"][rows] = p10, p50, p90


def baseline(name: str, model: Trained, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_late, predicted days late ≥ 0) of a baseline, from the features as of the item's date and
    the training figures (unknown customers fall back to the training rates)."""
    n = len(X)
    mean_dl = np.nan_to_num(X[:, F["mean_days_late"]], nan=0.0)
    if name == "on_time":
        return np.zeros(n), np.zeros(n)
    if name == "customer_rate":
        p = np.where(np.isnan(X[:, F["late_rate"]]), model.late_rate, X[:, F["late_rate"]])
        return p, np.where(p >= 0.5, mean_dl, 0.0)
    if name == "customer_disputed":
        fallback = np.where(X[:, F["disputed"]] > 0, model.dispute_rates[True], model.dispute_rates[False])
        p = np.where(np.isnan(X[:, F["late_rate_same_dispute"]]), fallback, X[:, F["late_rate_same_dispute"]])
        return p, np.where(p >= 0.5, mean_dl, 0.0)
    if name == "customer_median":
        med = np.nan_to_num(X[:, F["median_days_late"]], nan=0.0)
        return (med > 0).astype(float) * 0.5 + np.minimum(med, 365) / 730, med  # a score: ≥ 0.5 iff median late
    if name == "terms":
        tdays = X[:, F["terms_days"]].astype(int)
        p = np.array([model.terms.get(int(t), (model.late_rate, 0.0))[0] for t in tdays])
        dl = np.array([model.terms.get(int(t), (0.0, 0.0))[1] for t in tdays])
        return p, dl
    raise ValueError(name)


# ---------------------------------------------------------------- metrics


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    if y.all() or not y.any():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def metrics(*, y_dl: np.ndarray, terms_days: np.ndarray, p_late: np.ndarray, dl_pred: np.ndarray,
            censored: np.ndarray | None = None, threshold: float = 0.5) -> dict:
    """Accuracy and AUC of late / on time, MAE of days late, RMSE of days to settle, 10-bin calibration.

    An item is called late when ``p_late ≥ threshold`` (0.5 for the baselines; the model's own, chosen on its
    training window). ``censored`` items (still open, already late by ``y_dl`` days) count for late / on time
    only."""
    late = y_dl >= 1
    known = ~censored if censored is not None else np.ones(len(y_dl), dtype=bool)
    pred_late = p_late >= threshold
    dl_true = np.maximum(y_dl, 0)
    settle_true = terms_days + y_dl
    settle_pred = terms_days + np.maximum(dl_pred, 0)
    calib = []
    for b in range(10):
        m = (p_late >= b / 10) & ((p_late < (b + 1) / 10) if b < 9 else (p_late <= 1.0))
        calib.append({"bin": f"{b / 10:.1f}–{(b + 1) / 10:.1f}", "n": int(m.sum()),
                      "predicted": round(float(p_late[m].mean()), 4) if m.any() else None,
                      "observed": round(float(late[m].mean()), 4) if m.any() else None})
    def rnd(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)
    return {
        "n": int(len(y_dl)),
        "late_share": rnd(late.mean()) if len(y_dl) else None,
        "accuracy": rnd((pred_late == late).mean()) if len(y_dl) else None,
        "auc": rnd(_auc(late, p_late)),
        "mae_days_late": rnd(np.abs(np.maximum(dl_pred, 0) - dl_true)[known].mean()) if known.any() else None,
        "rmse_days_to_settle": rnd(np.sqrt(((settle_pred - settle_true)[known] ** 2).mean())) if known.any() else None,
        "calibration": calib,
    }
