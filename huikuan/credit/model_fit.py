"""Fit scorecard weights from the company's own history (logistic regression), proposed, never applied.

Target: "became 60+ days overdue within 6 months" after a reference date T — some instalment due in
(T − 60, T + 122] was still unpaid 60 days after its due date. Features are the scorecard factors as
of T (``scoring.compute_factors`` with ``as_of=T``). Training uses T = as_of − 365 days; the held-out
period is T = as_of − 182 days (a later period, whose outcome window ends at ``as_of``). The AUC on
the held-out period is reported for the fitted model and for the active scorecard's score.

The fitted coefficients become a *proposed* scorecard version: each factor keeps its band shape, and
its maximum points are re-weighted in proportion to |coefficient × standard deviation| (summing to
100). A user must accept it (``services.decide_scorecard``). Floats are used for statistics only.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Q
from django.utils.translation import gettext as _

from huikuan.ledger.models import Instalment, Status

from . import calculations as calc
from . import services
from .errors import CreditError
from .scoring import DaysBetween, compute_factors

HORIZON = 182
LATE = 60


def became_late(*, company, start: dt.date) -> set[int]:
    """Customers with an instalment that reached 60 days overdue within (start, start + 182]."""
    lo, hi = start - dt.timedelta(days=LATE), start + dt.timedelta(days=HORIZON - LATE)
    qs = (Instalment.objects.filter(company=company, due_date__gt=lo, due_date__lte=hi, amount__gt=0,
                                    document__status=Status.POSTED)
          .annotate(last=Max("allocations__date"))
          .annotate(days=DaysBetween("last", "due_date"))
          .filter(Q(open_amount__gt=0) | Q(days__gt=LATE))
          .values_list("customer_id", flat=True).distinct())
    # still open (and due by start + 122, so 60 days late by start + 182 ≤ today) or paid off more than
    # 60 days after its due date
    return set(qs)


def _matrix(factors: dict[int, dict]):
    import numpy as np

    ids = sorted(factors)
    cols = list(calc.FACTORS)
    raw = np.array([[float(factors[c][f]) if factors[c].get(f) is not None else np.nan for f in cols] for c in ids])
    return ids, cols, raw


def _prepare(raw, medians=None):
    import numpy as np

    if medians is None:
        medians = np.nanmedian(np.where(np.isnan(raw).all(axis=0), 0.0, raw), axis=0)
        medians = np.where(np.isnan(medians), 0.0, medians)
    filled = np.where(np.isnan(raw), medians, raw)
    return filled, medians


def fit(*, company, as_of: dt.date) -> dict:
    """Fit on the earlier period, evaluate on the later one. Returns coefficients, AUCs and counts."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    train_t, test_t = as_of - dt.timedelta(days=365), as_of - dt.timedelta(days=HORIZON)
    out = {}
    data = {}
    for name, t in (("train", train_t), ("test", test_t)):
        factors = compute_factors(company=company, as_of=t)
        late = became_late(company=company, start=t)
        ids, cols, raw = _matrix(factors)
        y = np.array([1 if c in late else 0 for c in ids])
        data[name] = (ids, raw, y, factors)
        out[f"{name}_customers"], out[f"{name}_late"] = len(ids), int(y.sum())
    ids, raw, y, _f = data["train"]
    if y.sum() < 5 or (len(y) - y.sum()) < 5:
        raise CreditError(_("Not enough history to fit a model (at least 5 customers who became 60+ days late and 5 "
                            "who did not are needed in the training period)."))
    x, medians = _prepare(raw)
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(x), y)
    t_ids, t_raw, t_y, t_factors = data["test"]
    out["coefficients"] = dict(zip(calc.FACTORS, (round(float(c), 4) for c in model.coef_[0]), strict=True))
    out["scale"] = dict(zip(calc.FACTORS, (round(float(s), 4) for s in scaler.scale_), strict=True))
    if 0 < t_y.sum() < len(t_y):
        prob = model.predict_proba(scaler.transform(_prepare(t_raw, medians)[0]))[:, 1]
        out["auc"] = round(float(roc_auc_score(t_y, prob)), 3)
        config = services.active_scorecard(company).config
        scores = np.array([calc.score(config, t_factors[c])[0] for c in t_ids])
        out["baseline_auc"] = round(float(roc_auc_score(t_y, -scores)), 3)
    else:
        out["auc"] = out["baseline_auc"] = None
    out["train_as_of"], out["test_as_of"] = train_t.isoformat(), test_t.isoformat()
    return out


def weights_to_config(base: dict, coefficients: dict[str, float]) -> dict:
    """Re-weight each factor's points in proportion to |coefficient| (standardised), total max 100."""
    strength = {f: abs(coefficients.get(f, 0.0)) for f in base["factors"]}
    total = sum(strength.values()) or 1.0
    factors = {}
    for name, spec in base["factors"].items():
        old_max = max([int(b[1]) for b in spec["bands"]] + [int(spec.get("missing", 0))]) or 1
        new_max = int(100 * strength[name] / total)
        factors[name] = {
            "direction": spec["direction"],
            "bands": [[b[0], int(round(int(b[1]) * new_max / old_max))] for b in spec["bands"]],
            "missing": int(round(int(spec.get("missing", 0)) * new_max / old_max)),
        }
    config = {"factors": factors}
    calc.validate_scorecard(config)
    return config


def propose_fitted_version(*, company, as_of: dt.date, actor):
    result = fit(company=company, as_of=as_of)
    config = weights_to_config(services.active_scorecard(company).config, result["coefficients"])
    return services.propose_scorecard(company=company, config=config, actor=actor, metrics=result,
                                      note=f"logistic regression, train {result['train_as_of']}, test {result['test_as_of']}")
