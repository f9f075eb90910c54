"""The reasons of every item at once (``engine.reasons_json``, what the stored predictions carry) equal the per-item
``engine.reasons`` — the same codes, parameters, rounding and order — as the JSON the column stores."""

import datetime as dt
import json

import numpy as np
import pytest

from huikuan.prediction import engine
from huikuan.prediction import model as m
from huikuan.prediction.features import FEATURES, features, load_items

from .conftest import load_synthetic


def _one_by_one(X: np.ndarray, overdue: np.ndarray) -> list[str]:
    """The former storing path: ``reasons`` per item, numbers made JSON-ready, ``json.dumps`` as the JSON column."""
    return [json.dumps([[code, {key: (float(v) if isinstance(v, float) else int(v)) for key, v in params.items()}]
                        for code, params in engine.reasons(X[k], overdue=int(overdue[k]))]) for k in range(len(X))]


@pytest.mark.django_db
def test_reasons_of_every_open_item_equal_the_per_item_ones(company, finance):
    load_synthetic(company, finance, n_invoices=1500, n_customers=25, seed=11)
    as_of = dt.date(2025, 6, 30)
    items = load_items(company=company, until=as_of)
    still_open = (items.settled_on == 0) & (items.open_amount > 0)
    X = features(items, np.full(len(items), as_of.toordinal()), rows=still_open)
    overdue = as_of.toordinal() - items.due_date[still_open]
    got = engine.reasons_json(X, overdue).tolist()
    assert got == _one_by_one(X, overdue)
    codes = {code for text in got for code, _params in json.loads(text)}
    assert {"overdue", "usually_late", "other_overdue"} <= codes  # the test sees the common reasons …
    # … and every item as of its document date (no history, new customers, on-time payers)
    X = features(items, items.document_date)
    overdue = np.zeros(len(items), dtype=np.int64)
    got = engine.reasons_json(X, overdue).tolist()
    assert got == _one_by_one(X, overdue)
    assert {"no_history", "usually_on_time"} <= {code for text in got for code, _params in json.loads(text)}


def test_reasons_at_the_edges_equal_the_per_item_ones():
    """Thresholds hit exactly (0.5, 0.2 in float32, 10 days, ratio 3), halves to round, NaN, more than four reasons."""
    rng = np.random.default_rng(5)
    k = 4000
    X = np.full((k, len(FEATURES)), np.nan, dtype=np.float32)
    f = m.F
    X[:, f["n_prev"]] = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 10, 40], k)
    X[:, f["late_rate"]] = rng.choice(np.array([0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.49999, 0.75, 1.0, 1 / 3],
                                               dtype=np.float32), k)
    X[:, f["mean_days_late"]] = rng.choice(np.array([0, 0.5, 1.5, 2.5, 12.49, 12.5, 13.5], dtype=np.float32), k)
    X[:, f["last6_days_late"]] = rng.choice(np.array([0, 9.99, 10, 10.5, 11.5, 30], dtype=np.float32), k)
    none = X[:, f["n_prev"]] == 0  # no history: the customer's figures are missing (as ``features`` leaves them)
    X[none, f["late_rate"]] = X[none, f["mean_days_late"]] = X[none, f["last6_days_late"]] = np.nan
    X[:, f["disputed"]] = rng.choice([0.0, 1.0], k)
    X[:, f["amount_ratio"]] = rng.choice(np.array([np.nan, 1, 2.99, 3, 3.05, 3.15, 3.25, 3.35, 7.45, 1e6],
                                                  dtype=np.float32), k)
    X[:, f["overdue_open_n"]] = rng.choice([0, 0.5, 1, 2, 17], k)
    overdue = rng.choice([-30, -1, 0, 1, 2, 45, 400], k)
    got = engine.reasons_json(X, overdue).tolist()
    assert got == _one_by_one(X, overdue)
    assert max(len(json.loads(t)) for t in got) == engine.REASONS_MAX
    assert engine.reasons_json(X[:0], overdue[:0]).tolist() == []
