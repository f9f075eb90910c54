"""The test run's memo of ``model.train`` (tests/training_memo.py) gives what a second fit gives, and fits again
whenever an input or the model module's state differs."""

import datetime as dt

import numpy as np
import pytest

from huikuan.prediction import engine, model, synthetic
from huikuan.prediction.features import features
from tests import training_memo


@pytest.fixture(scope="module")
def training_set():
    settled, still_open = synthetic.rows(n_invoices=300, n_customers=10, start=dt.date(2023, 1, 1),
                                         end=dt.date(2025, 6, 30), seed=21)
    items = synthetic.items_from(settled, still_open)
    X = features(items, items.document_date)
    Xt, dl, known = engine.training_set(items, X, dt.date(2025, 6, 30).toordinal(), with_known=True)
    return X, Xt, dl, known


@pytest.fixture
def memo():
    training_memo.install()  # as the root conftest does (a no-op when it did)
    assert getattr(model.train, "_memo", False)
    return training_memo.stats


def _same_model(a, b, X) -> None:
    np.testing.assert_array_equal(model.late_probability(a, X), model.late_probability(b, X))
    np.testing.assert_array_equal(model.class_probabilities(a, X), model.class_probabilities(b, X))
    pa, pb = model.predict(a, X), model.predict(b, X)
    for name in ("p_late", "dl_p10", "dl_p50", "dl_p90"):
        np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name))


def test_the_same_inputs_fit_once_and_get_what_a_second_fit_gives(memo, training_set):
    X, Xt, dl, known = training_set
    fits, reused = memo["fits"], memo["reused"]
    first = model.train(Xt, dl, seed=4, known=known)
    again = model.train(Xt.copy(), dl.copy(), seed=4, known=known.copy())
    assert (memo["fits"] - fits, memo["reused"] - reused) == (1, 1)
    assert again is not first  # a copy of its own: a caller changing it changes nobody else's
    fresh = model.train.__wrapped__(Xt, dl, seed=4, known=known)  # a real second fit, past the memo
    _same_model(again, fresh, X)
    _same_model(first, fresh, X)


def test_another_input_or_a_changed_constant_fits_again(memo, training_set, monkeypatch):
    X, Xt, dl, known = training_set
    model.train(Xt, dl, seed=4, known=known)
    fits = memo["fits"]
    model.train(Xt, dl, seed=5, known=known)  # another seed
    model.train(Xt, dl, seed=4)  # every row known
    shifted = dl.copy()
    shifted[::5] += 1
    model.train(Xt, shifted, seed=4, known=known)  # other labels
    monkeypatch.setattr(model, "CLASSES_MAX_ITER", 20)  # a test changing the model's constants
    model.train(Xt, dl, seed=4, known=known)
    monkeypatch.setattr(model, "_late_classifier", lambda X, days_late, hgb: (None, 0.5, {}, {}))  # … or a helper
    patched = model.train(Xt, dl, seed=4, known=known)
    assert memo["fits"] - fits == 5
    assert patched.late_classifier is None
