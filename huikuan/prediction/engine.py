"""Backtest, training and open-item prediction on top of ``features`` and ``model`` (reads only).

The writes (storing a model version, activating it) are in ``services``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from huikuan.common.errors import DomainError

from . import model as m
from .features import Items, features, load_items, with_labels

TRAIN_SETTLE_GAP = 30  # a training item is due at least this many days before the cutoff
KNOWN_GAP = 180  # … and the median regressor's, this many (its days late are known by then)


class BacktestError(DomainError):
    code = "prediction_backtest"


def _dates(items: Items):
    if not len(items):
        return None, None
    last = max(int(items.document_date.max()), int(items.settled_on.max()))
    return dt.date.fromordinal(int(items.document_date.min())), dt.date.fromordinal(last)


def training_set(items: Items, X: np.ndarray, cutoff: int, *, with_known: bool = False):
    """Items due ≥ 30 days before the cutoff: days late if settled before it, else the lateness reached
    by the cutoff (a lower bound). Rows in document-date order. ``with_known`` adds a third array: the
    rows due ≥ ``KNOWN_GAP`` days before the cutoff, whose days late are (nearly all) known — the median
    regressor trains on those only (lower bounds of recent slow payers pulled its estimates down: MAE
    of days late 23.9 vs 10.2 on the 20,000-invoice synthetic company, docs/PERFORMANCE.md)."""
    mask = items.due_date < cutoff - TRAIN_SETTLE_GAP
    settled_before = (items.settled_on > 0) & (items.settled_on < cutoff)
    dl = np.where(settled_before, items.settled_on - items.due_date, cutoff - items.due_date)
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(items.document_date[idx], kind="stable")]
    if with_known:
        return X[idx], dl[idx].astype(float), items.due_date[idx] < cutoff - KNOWN_GAP
    return X[idx], dl[idx].astype(float)


@dataclass
class Backtest:
    cutoff: dt.date
    data_from: dt.date
    data_to: dt.date
    train_items: int
    figures: dict  # {"model": metrics, baseline name: metrics}
    live: str  # "model" or the best baseline
    rows: list  # per scored item, for --items


def backtest(*, company, cutoff: dt.date, items: Items | None = None, X: np.ndarray | None = None,
             with_rows: bool = False, seed: int = 0) -> Backtest:
    """Train only on what was known before ``cutoff``; score items issued on or after it.

    Features of every item are computed as of its document date. A scored item still unpaid at the
    end of the data counts for late / on time only (it is late by then or not yet due: not scored).
    Raises BacktestError when the cutoff leaves nothing to train on or nothing to score.
    """
    if items is None:
        items = load_items(company=company)
    first, last = _dates(items)
    if first is None or not (first < cutoff <= last):
        raise BacktestError(_("The cutoff %(cutoff)s is outside the data (%(first)s to %(last)s).")
                            % {"cutoff": cutoff, "first": first or "-", "last": last or "-"}, field="cutoff")
    if X is None:
        X = features(items, items.document_date)
    c = cutoff.toordinal()
    Xt, dlt, known = training_set(items, X, c, with_known=True)
    end = last.toordinal()
    test = (items.document_date >= c) & ((items.settled_on > 0) | (items.due_date < end))
    if len(Xt) < 50 or test.sum() < 20:
        raise BacktestError(_("Too little data around the cutoff %(cutoff)s: %(train)d items to train on, %(test)d to "
                              "score (at least 50 and 20).") % {"cutoff": cutoff, "train": len(Xt), "test": int(test.sum())},
                            field="cutoff")
    trained = m.train(Xt, dlt, seed=seed, known=known)
    n_train = len(Xt)
    del Xt, dlt, known  # the scoring below needs the memory more (at 2 M items: 110 MB)
    idx = np.flatnonzero(test)
    Xs = X[idx]
    censored = items.settled_on[idx] == 0
    y = np.where(censored, end - items.due_date[idx], items.settled_on[idx] - items.due_date[idx]).astype(float)
    terms = (items.due_date[idx] - items.document_date[idx]).astype(float)
    pred = m.predict(trained, Xs)
    figures = {"model": m.metrics(y_dl=y, terms_days=terms, p_late=pred.p_late, dl_pred=pred.dl_p50.astype(float),
                                  censored=censored, threshold=getattr(trained, "threshold", 0.5))}
    for name in m.BASELINES:
        p, dl = m.baseline(name, trained, Xs)
        figures[name] = m.metrics(y_dl=y, terms_days=terms, p_late=p, dl_pred=dl, censored=censored)
    live = choose_live(figures)
    rows = []
    if with_rows:
        labelled = with_labels(items.subset(test))  # document numbers and customer codes of the scored items
        for k, i in enumerate(idx):
            due = dt.date.fromordinal(int(items.due_date[i]))
            rows.append({
                "number": labelled.number[k], "seq": int(items.seq[i]), "customer": labelled.customer_code[k],
                "document_date": dt.date.fromordinal(int(items.document_date[i])), "due_date": due,
                "amount": items.amount[i], "p_late": round(float(pred.p_late[k]), 4),
                "p_late_30": round(float(pred.p_late_30[k]), 4), "p_late_90": round(float(pred.p_late_90[k]), 4),
                "predicted_date": due + dt.timedelta(days=int(pred.dl_p50[k])),
                "low": due + dt.timedelta(days=int(pred.dl_p10[k])), "high": due + dt.timedelta(days=int(pred.dl_p90[k])),
                "actual": None if censored[k] else dt.date.fromordinal(int(items.settled_on[i])),
            })
    return Backtest(cutoff=cutoff, data_from=first, data_to=last, train_items=n_train, figures=figures, live=live,
                    rows=rows)


def choose_live(figures: dict) -> str:
    """The model when its late / on-time accuracy beats every baseline's; else the best baseline."""
    acc = {k: (v["accuracy"] or 0.0) for k, v in figures.items()}
    if all(acc["model"] > acc[b] for b in m.BASELINES):
        return "model"
    return max(m.BASELINES, key=lambda b: (acc[b], -m.BASELINES.index(b)))


def default_cutoff(items: Items) -> dt.date | None:
    """For the backtest stored with a trained version: the document date three quarters into the data."""
    if len(items) < 100:
        return None
    return dt.date.fromordinal(int(np.quantile(items.document_date, 0.75)))


# ---------------------------------------------------------------- open items, live


@dataclass
class OpenPredictions:
    as_of: dt.date
    items: Items  # the items open on ``as_of`` (open amount as of that day)
    p_late: np.ndarray
    p_late_30: np.ndarray
    p_late_90: np.ndarray
    low: np.ndarray  # ordinal dates
    predicted: np.ndarray
    high: np.ndarray
    X: np.ndarray
    source: str  # "model" or a baseline's name

    def __len__(self) -> int:
        return len(self.items)

    def reasons(self, k: int) -> list[tuple[str, dict]]:
        return reasons(self.X[k], overdue=int(self.as_of.toordinal() - self.items.due_date[k]))

    def rows(self, start: int, stop: int) -> OpenPredictions:
        """The predictions of items ``start`` to ``stop`` (what ``OpenItems.rows`` computes for them)."""
        sl = slice(start, stop)
        return OpenPredictions(as_of=self.as_of, items=_items_slice(self.items, start, stop), p_late=self.p_late[sl],
                               p_late_30=self.p_late_30[sl], p_late_90=self.p_late_90[sl], low=self.low[sl],
                               predicted=self.predicted[sl], high=self.high[sl], X=self.X[sl], source=self.source)


@dataclass
class OpenItems:
    """The items open on ``as_of`` and their features, not predicted yet: ``rows`` predicts a slice at a time, so the
    service that stores the predictions computes the next slice while the database writes the last one (two
    processes on two cores). Each row's prediction is its own (no row depends on another): the same numbers as
    ``predict_open`` (tested)."""

    as_of: dt.date
    items: Items
    X: np.ndarray
    trained: m.Trained
    live: str = "model"

    @property
    def source(self) -> str:
        return self.live

    def __len__(self) -> int:
        return len(self.items)

    def rows(self, start: int, stop: int) -> OpenPredictions:
        return predict_items(items=_items_slice(self.items, start, stop), X=self.X[start:stop], as_of=self.as_of,
                             trained=self.trained, live=self.live)


def _items_slice(items: Items, start: int, stop: int) -> Items:
    if start == 0 and stop >= len(items):
        return items
    mask = np.zeros(len(items), dtype=bool)
    mask[start:stop] = True
    return items.subset(mask)


def open_items(*, company, as_of: dt.date, trained: m.Trained, live: str = "model", customer_ids=None) -> OpenItems:
    """Every instalment open on ``as_of`` with its features as of ``as_of`` (the history is every item, read once),
    to be predicted by ``OpenItems.rows`` or at once by ``predict_open``."""
    everything = load_items(company=company, until=as_of, customer_ids=customer_ids)
    at = np.full(len(everything), as_of.toordinal())
    open_mask = (everything.settled_on == 0) & (everything.open_amount > 0)
    X = features(everything, at, rows=open_mask)  # the open items' rows only; their history is every item
    items = everything.subset(open_mask)
    return OpenItems(as_of=as_of, items=items, X=X, trained=trained, live=live)


def predict_open(*, company, as_of: dt.date, trained: m.Trained, live: str = "model",
                 customer_ids=None) -> OpenPredictions:
    """Every instalment open on ``as_of``: features as of ``as_of``, the distribution conditioned on not
    being paid before ``as_of``; dates never before ``as_of``. ``live`` names a baseline when the
    company's backtest chose one (see ``choose_live``)."""
    opened = open_items(company=company, as_of=as_of, trained=trained, live=live, customer_ids=customer_ids)
    return opened.rows(0, len(opened))


def predict_items(*, items: Items, X: np.ndarray, as_of: dt.date, trained: m.Trained, live: str = "model"
                  ) -> OpenPredictions:
    """The predictions of ``items`` (open on ``as_of``, ``X`` their features as of that day): see ``predict_open``."""
    t = as_of.toordinal()
    overdue = t - items.due_date
    if live == "model" and trained.classifier is not None:
        pred = m.predict(trained, X, overdue_days=overdue)
        p_late, p30, p90 = pred.p_late, pred.p_late_30, pred.p_late_90
        lo, mid, hi = pred.dl_p10, pred.dl_p50, pred.dl_p90
    else:
        p_late, dl = m.baseline(live if live != "model" else "customer_rate", trained, X)
        p_late = np.where(overdue >= 1, 1.0, np.clip(p_late, 0, 1))
        ratio30 = trained.late30_rate / trained.late_rate if trained.late_rate else 0.0
        ratio90 = trained.late90_rate / trained.late_rate if trained.late_rate else 0.0
        p30 = np.where(overdue >= 30, 1.0, p_late * ratio30)
        p90 = np.where(overdue >= 90, 1.0, p_late * ratio90)
        mid = np.maximum(dl, overdue)
        lo = np.maximum(dl + trained.residuals[0], overdue)
        hi = np.maximum(dl + trained.residuals[1], mid)
    floor = np.full(len(items), t)
    low = np.maximum(items.due_date + lo, floor)
    predicted = np.maximum(items.due_date + mid, floor)
    high = np.maximum(items.due_date + hi, predicted)
    return OpenPredictions(as_of=as_of, items=items, p_late=p_late, p_late_30=p30, p_late_90=p90, low=low,
                           predicted=predicted, high=high, X=X, source=live)


def reasons(x: np.ndarray, *, overdue: int) -> list[tuple[str, dict]]:
    """The main reasons behind a prediction, as (code, parameters) rendered by ``texts.reason``."""
    f = m.F
    out: list[tuple[str, dict]] = []
    n = int(x[f["n_prev"]])
    if overdue > 0:
        out.append(("overdue", {"days": overdue}))
    if n == 0:
        out.append(("no_history", {}))
    else:
        late_share = x[f["late_rate"]]
        if late_share >= 0.5:
            out.append(("usually_late", {"late": round(late_share * n), "n": n,
                                         "days": round(float(x[f["mean_days_late"]]))}))
        elif late_share <= 0.2 and n >= 3:
            out.append(("usually_on_time", {"n": n, "late": round(late_share * n)}))
        if not np.isnan(x[f["last6_days_late"]]) and x[f["last6_days_late"]] >= 10:
            out.append(("recent_late", {"k": min(n, 6), "days": round(float(x[f["last6_days_late"]]))}))
    if x[f["disputed"]] > 0:
        out.append(("disputed", {}))
    ratio = x[f["amount_ratio"]]
    if not np.isnan(ratio) and ratio >= 3:
        out.append(("large_amount", {"times": round(float(ratio), 1)}))
    if x[f["overdue_open_n"]] >= 1:
        out.append(("other_overdue", {"n": int(x[f["overdue_open_n"]])}))
    return out[:4]


REASONS_MAX = 4  # the first four reasons of ``reasons`` are kept


def reasons_json(X: np.ndarray, overdue: np.ndarray) -> np.ndarray:
    """``reasons`` of every row of ``X`` at once (numpy over the whole array, no per-item call), each as the JSON
    text the JSON column stores: ``[["code", {params}], …]`` exactly as ``json.dumps`` writes what ``reasons``
    returns (the same codes, tests, parameters, rounding — half-even, as Python's ``round`` — and order, at most
    four). Returns an object array of str, one per row. Tested equal to ``reasons`` item by item."""
    f = m.F
    k = len(X)
    out = np.full(k, "", dtype=object)
    kept = np.zeros(k, dtype=np.int8)
    overdue = np.asarray(overdue, dtype=np.int64)
    n = X[:, f["n_prev"]].astype(np.int64)  # int(x) of a float32 count: truncation, as astype
    late_share = X[:, f["late_rate"]]
    # round(late_share * n) per item multiplies a float32 by an int in float32, then rounds half-even: the same here
    history = n != 0
    shown = np.where(history, late_share, np.float32(0))  # no history: NaN, never shown (no cast warning)
    late_n = np.rint(shown * n.astype(np.float32)).astype(np.int64)
    mean_dl = np.rint(np.where(history, X[:, f["mean_days_late"]], np.float32(0)).astype(np.float64))
    last6 = X[:, f["last6_days_late"]]
    ratio = X[:, f["amount_ratio"]].astype(np.float64)
    others = X[:, f["overdue_open_n"]]
    usually_late = history & (late_share >= 0.5)
    with np.errstate(invalid="ignore"):  # NaN compares false, as in ``reasons``
        kinds = (
            (overdue > 0, lambda i: [f'["overdue", {{"days": {d}}}]' for d in overdue[i].tolist()]),
            (~history, lambda i: ['["no_history", {}]'] * len(i)),
            (usually_late, lambda i: [f'["usually_late", {{"late": {a}, "n": {b}, "days": {c}}}]' for a, b, c in
                                      zip(late_n[i].tolist(), n[i].tolist(), mean_dl[i].astype(np.int64).tolist(),
                                          strict=True)]),
            (history & ~usually_late & (late_share <= np.float32(0.2)) & (n >= 3),
             lambda i: [f'["usually_on_time", {{"n": {b}, "late": {a}}}]' for a, b in
                        zip(late_n[i].tolist(), n[i].tolist(), strict=True)]),
            (history & ~np.isnan(last6) & (last6 >= 10),
             lambda i: [f'["recent_late", {{"k": {a}, "days": {b}}}]' for a, b in
                        zip(np.minimum(n[i], 6).tolist(), np.rint(last6[i].astype(np.float64)).astype(np.int64).tolist(),
                            strict=True)]),
            (X[:, f["disputed"]] > 0, lambda i: ['["disputed", {}]'] * len(i)),
            # round(x, 1) of a float32 value: x × 10 is exact in float64, so rint ÷ 10 is Python's correct rounding
            (~np.isnan(ratio) & (ratio >= 3),
             lambda i: [f'["large_amount", {{"times": {t!r}}}]' for t in (np.rint(ratio[i] * 10) / 10).tolist()]),
            (others >= 1, lambda i: [f'["other_overdue", {{"n": {a}}}]' for a in others[i].astype(np.int64).tolist()]),
        )
    for mask, fragments in kinds:
        idx = np.flatnonzero(mask & (kept < REASONS_MAX))
        if not len(idx):
            continue
        text = np.empty(len(idx), dtype=object)
        text[:] = fragments(idx)
        out[idx] = out[idx] + np.where(kept[idx] > 0, ", ", "").astype(object) + text
        kept[idx] += 1
    return "[" + out + "]"
