"""The prediction model trained once per test process for each distinct training set.

``huikuan.prediction.model.train`` is a pure function: numpy arrays in, a ``Trained`` out, no ORM, no clock, its
random state fixed by ``seed`` and its OpenMP threads by ``HUIKUAN_ML_THREADS`` (1). Many database tests train on
the same fixture data as of the same day (``services.train_model`` fits the backtest's model and the final one,
``engine.backtest`` fits one) and were paying the same fits again and again — about a quarter of the database
tests' time (docs/PERFORMANCE.md "Test suite").

In the test run ``model.train`` is wrapped: the first call with given inputs fits for real (the code under test)
and keeps the pickled result; a later call with the very same inputs — the arrays' bytes, shapes and dtypes,
``seed``, ``classifier``, ``known`` — and the same state of the ``model`` module (its constants and the identity
of its functions, so a test that monkeypatches a constant or a helper gets a fit of its own) gets a fresh
unpickled copy of that result, as a second fit would give it. Everything around the fit — reading the items,
the features, the backtest's scoring and metrics, storing the version, predicting and writing the open items —
runs as before on every call. Tests that check training on data of their own (``prediction/tests/test_model.py``)
fit as before: their inputs are their own.
"""

from __future__ import annotations

import hashlib
import pickle
import types
from collections import OrderedDict

KEEP = 24  # fitted models kept per process (each a few MB pickled), least recently used dropped first

stats = {"fits": 0, "reused": 0}


def _feed(h, value) -> None:
    import numpy as np

    if value is None:
        h.update(b"N")
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(f"A{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(value, (bool, int, float, str, bytes)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}{len(value)}(".encode())
        for v in value:
            _feed(h, v)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}(".encode())
        for k in sorted(value, key=repr):
            _feed(h, k)
            _feed(h, value[k])
        h.update(b")")
    else:  # functions, classes, anything else: the object itself (a monkeypatched one is another object)
        h.update(f"O{type(value).__qualname__}@{id(value)};".encode())


def _module_state(module) -> list:
    return [(name, value) for name, value in sorted(vars(module).items())
            if not name.startswith("__") and not isinstance(value, types.ModuleType)]


def install() -> None:
    """Wrap ``model.train`` in this process (idempotent)."""
    from huikuan.prediction import model

    if getattr(model.train, "_memo", False):
        return
    fit = model.train
    kept: OrderedDict[bytes, bytes] = OrderedDict()

    def train(X, days_late, *, seed=0, classifier=True, known=None):
        h = hashlib.blake2b(digest_size=32)
        for part in (X, days_late, seed, classifier, known):
            _feed(h, part)
        for name, value in _module_state(model):
            if value is train:  # the wrapper itself stands where the original was
                value = fit
            _feed(h, name)
            _feed(h, value)
        key = h.digest()
        blob = kept.get(key)
        if blob is not None:
            kept.move_to_end(key)
            stats["reused"] += 1
            return pickle.loads(blob)  # noqa: S301 - our own bytes, pickled just above in this process
        trained = fit(X, days_late, seed=seed, classifier=classifier, known=known)
        stats["fits"] += 1
        kept[key] = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
        while len(kept) > KEEP:
            kept.popitem(last=False)
        return trained

    train._memo = True
    train.__wrapped__ = fit
    train.__doc__ = fit.__doc__
    model.train = train
