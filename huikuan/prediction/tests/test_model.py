"""Features without leakage, the backtest against baselines, model versions and open-item predictions."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from huikuan.customers.models import Customer
from huikuan.ledger import bulk
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Instalment
from huikuan.ledger.services import ScheduleInput
from huikuan.prediction import engine, model, services, synthetic
from huikuan.prediction.features import features, load_items
from huikuan.prediction.models import ModelVersion

from .conftest import END


def _append_later_events(company, actor, after: dt.date):
    """New invoices dated after ``after`` and payments (dated after it) of every open invoice."""
    ids = list(Customer.objects.filter(company=company).values_list("pk", flat=True))
    day = after + dt.timedelta(days=3)
    bulk.post_documents(company=company, actor=actor, documents=[
        bulk.DocumentInput(customer_id=cid, document_date=day, total=Decimal("999.00"), number=f"LATER-{cid}",
                           schedule=[ScheduleInput(day + dt.timedelta(days=30), Decimal("999.00"))]) for cid in ids[:10]])
    open_items = Instalment.objects.filter(company=company, open_amount__gt=0, document_date__lte=after)
    bulk.record_payments(company=company, actor=actor, today=dt.date(2026, 12, 1), payments=[
        bulk.PaymentInput(customer_id=i.customer_id, amount=i.open_amount, date=day + dt.timedelta(days=5),
                          document_id=i.document_id) for i in open_items])
    assert not Instalment.objects.filter(company=company, open_amount__gt=0, document_date__lte=after).exists()


def test_features_never_change_when_later_events_are_appended(company, finance):
    from .conftest import load_synthetic

    load_synthetic(company, finance, n_invoices=500, n_customers=15, seed=9)
    before = load_items(company=company)
    X_before = features(before, before.document_date)
    as_of = dt.date(2025, 6, 30)
    live_before = engine.predict_open(company=company, as_of=as_of, trained=_trained(before, X_before))
    _append_later_events(company, finance, after=END)
    after = load_items(company=company)
    keep = np.isin(after.id, before.id)
    assert keep.sum() == len(before) and len(after) > len(before)
    X_after = features(after, after.document_date)[keep]
    order = np.argsort(after.id[keep])
    np.testing.assert_array_equal(X_after[order], X_before[np.argsort(before.id)])
    # a prediction as of a past day reads the books as they were that day
    live_after = engine.predict_open(company=company, as_of=as_of, trained=_trained(before, X_before))
    np.testing.assert_array_equal(live_after.items.id, live_before.items.id)
    np.testing.assert_array_equal(live_after.X, live_before.X)
    np.testing.assert_array_equal(live_after.p_late, live_before.p_late)
    assert check_ledger() == []


def _trained(items, X):
    Xt, dl = engine.training_set(items, X, dt.date(2025, 1, 1).toordinal())
    return model.train(Xt, dl)


def test_model_beats_every_baseline_on_a_synthetic_company(synthetic_company):
    bt = engine.backtest(company=synthetic_company, cutoff=dt.date(2025, 1, 1), with_rows=True)
    acc = {k: v["accuracy"] for k, v in bt.figures.items()}
    assert set(acc) == {"model", *model.BASELINES}
    assert all(acc["model"] > acc[b] for b in model.BASELINES), acc
    assert bt.live == "model"
    assert bt.figures["model"]["auc"] > bt.figures["customer_rate"]["auc"]
    assert bt.figures["model"]["mae_days_late"] < bt.figures["on_time"]["mae_days_late"]
    assert sum(b["n"] for b in bt.figures["model"]["calibration"]) == bt.figures["model"]["n"]
    row = bt.rows[0]
    assert row["low"] <= row["predicted_date"] <= row["high"] and row["document_date"] >= dt.date(2025, 1, 1)


def test_backtest_cutoff_outside_the_data_is_a_clear_error(synthetic_company):
    from django.utils import translation

    with pytest.raises(engine.BacktestError) as exc, translation.override("en"):
        engine.backtest(company=synthetic_company, cutoff=dt.date(2019, 1, 1))
    assert "outside the data" in str(exc.value)
    with pytest.raises(engine.BacktestError):
        engine.backtest(company=synthetic_company, cutoff=dt.date(2030, 1, 1))


def test_versions_train_activate_rollback_and_predict(synthetic_company, finance):
    v1 = services.train_model(company=synthetic_company, as_of=dt.date(2026, 1, 5), actor=finance)
    v2 = services.train_model(company=synthetic_company, as_of=dt.date(2026, 1, 5), actor=finance)
    assert (v1.version, v2.version) == (1, 2)
    assert list(ModelVersion.objects.filter(is_active=True).values_list("version", flat=True)) == [2]
    assert v2.backtest["model"]["accuracy"] and v2.live in ("model", *model.BASELINES)
    assert v2.features and v2.items > 1000 and v2.window_end == dt.date(2026, 1, 5)
    services.activate_version(company=synthetic_company, version=1, actor=finance)  # rollback
    version, trained = services.active_model(synthetic_company)
    assert version.version == 1
    as_of = dt.date(2026, 1, 5)
    pred = engine.predict_open(company=synthetic_company, as_of=as_of, trained=trained, live=version.live)
    assert len(pred.items) > 0
    assert ((pred.p_late >= 0) & (pred.p_late <= 1)).all()
    assert (pred.p_late_30 <= pred.p_late + 1e-9).all() and (pred.p_late_90 <= pred.p_late_30 + 1e-9).all()
    assert (pred.low <= pred.predicted).all() and (pred.predicted <= pred.high).all()
    assert (pred.low >= as_of.toordinal()).all()
    overdue = pred.items.due_date < as_of.toordinal()
    assert (pred.p_late[overdue] > 0.999).all()  # already past due: late for certain
    assert pred.reasons(0)


def test_predict_command_train_backtest_export(synthetic_company, tmp_path):
    import csv
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("predict", "train", "--as-of", "2026-01-05", stdout=out)
    assert "v1:" in out.getvalue() and "customer_rate" in out.getvalue()
    items = tmp_path / "items.csv"
    out = io.StringIO()
    call_command("predict", "backtest", "--cutoff", "2025-01-01", "--items", str(items), stdout=out)
    rows = list(csv.reader(items.open(encoding="utf-8")))
    assert rows[0][0] == "document_number" and rows[0][-1] == "actual_payment_date" and len(rows) > 100
    with pytest.raises(CommandError, match="outside the data"):
        call_command("predict", "backtest", "--cutoff", "2019-01-01", "--language", "en", stdout=io.StringIO())
    export = tmp_path / "p.csv"
    call_command("predict", "export", "--as-of", "2026-01-05", "--output", str(export), stdout=io.StringIO())
    rows = list(csv.reader(export.open(encoding="utf-8")))
    assert rows[0][:3] == ["document_number", "instalment", "customer"] and len(rows) > 1
    xlsx = tmp_path / "p.xlsx"
    call_command("predict", "export", "--as-of", "2026-01-05", "--format", "xlsx", "--output", str(xlsx),
                 stdout=io.StringIO())
    assert xlsx.stat().st_size > 1000


def test_training_when_a_feature_is_never_known():
    """A company without history facts has no delivery channel at all: an all-missing column must not stop
    the training (scikit-learn's binning fails on it) nor the prediction."""
    from huikuan.prediction import model as m
    from huikuan.prediction.features import FEATURES

    rng = np.random.default_rng(3)
    n = 3000
    X = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    X[:, FEATURES.index("electronic")] = np.nan
    days_late = np.round(X[:, FEATURES.index("late_rate")] * 20 + rng.normal(size=n) * 5)
    trained = m.train(X, days_late)
    assert trained.late_classifier is not None and 0.3 <= trained.threshold <= 0.7
    pred = m.predict(trained, X[:100])
    assert np.isfinite(pred.p_late).all()


def test_threshold_is_the_best_cut_on_validation_items_nearest_half_among_ties():
    from huikuan.prediction import model as m

    p = np.array([0.1, 0.3, 0.55, 0.58, 0.6, 0.65, 0.7, 0.9])
    late = np.array([0, 0, 0, 0, 0, 1, 1, 1], dtype=bool)  # every item below 0.61 on time: cut 0.61–0.65
    assert m.choose_threshold(p, late) == 0.61
    late = np.array([0, 0, 1, 1, 1, 1, 1, 1], dtype=bool)  # any cut in 0.31–0.55 is perfect: the nearest 0.5
    assert m.choose_threshold(p, late) == 0.5
    fig = m.metrics(y_dl=np.array([5.0, -3.0]), terms_days=np.array([30.0, 30.0]), p_late=np.array([0.6, 0.55]),
                    dl_pred=np.array([5.0, 0.0]), threshold=0.58)
    assert fig["accuracy"] == 1.0  # 0.55 is on time at this cut (it was late at 0.5)


def test_model_beats_customer_times_disputed_where_it_used_to_tie():
    """The synthetic company (seed 4) on which the model lost to "customer × disputed" on late / on-time
    accuracy (0.7728 / 0.7747 at the 0.5 cut, PERFORMANCE): with that baseline's figures among the features,
    a regularised late / on-time classifier and its cut chosen on the recent fifth of the training window,
    it beats every baseline."""

    settled, still_open = synthetic.rows(n_invoices=5000, n_customers=80, start=dt.date(2022, 1, 1), end=END, seed=4)
    items = synthetic.items_from(settled, still_open)
    bt = engine.backtest(company=None, cutoff=dt.date(2025, 1, 1), items=items)
    acc = {k: v["accuracy"] for k, v in bt.figures.items()}
    assert bt.live == "model", acc
    assert all(acc["model"] > acc[b] for b in model.BASELINES), acc


def test_training_when_a_lateness_class_holds_one_item():
    """A small company with a single item 30–59 days late (real histories are like that: days late mostly
    0–30): the nine-class classifier's early stopping holds out a stratified share, and scikit-learn refused a
    class of one item ("The least populated classes in y have only 1 member"), so training stopped."""
    from huikuan.prediction import model as m
    from huikuan.prediction.features import FEATURES

    rng = np.random.default_rng(5)
    n = 2500
    X = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    days_late = np.clip(np.round(X[:, FEATURES.index("late_rate")] * 8 + rng.normal(size=n) * 4), -20, 25)
    days_late[1234] = 40  # the only item of its class
    trained = m.train(X, days_late)
    assert trained.classifier is not None and trained.late_classifier is not None
    pred = m.predict(trained, X[:50])
    assert np.isfinite(pred.p_late).all() and (pred.p_late_30 <= pred.p_late + 1e-9).all()


def test_model_beats_every_baseline_on_an_ar_shaped_company():
    """A company shaped like the public accounts-receivable data sets (``synthetic.ar_rows``: 100 customers,
    2,500 invoices, 30-day terms, a fifth disputed, paper bills turning electronic): the trees alone lost to
    "customer × disputed" (0.8076 / 0.8165, seed 2): its cut was moved to 0.44 by a few items of the training
    window's recent fifth. With the cut kept at 0.5 unless a move wins there beyond chance (and the trees blended
    with the smooth model) the model beats every baseline; on those recent items its probabilities beat the best
    baseline's by log loss."""

    settled, still_open = synthetic.ar_rows(start=dt.date(2024, 1, 1), end=END, seed=2)
    items = synthetic.items_from(settled, still_open)
    bt = engine.backtest(company=None, cutoff=dt.date(2025, 7, 1), items=items)
    acc = {k: v["accuracy"] for k, v in bt.figures.items()}
    assert all(acc["model"] > acc[b] for b in model.BASELINES), acc
    assert bt.live == "model"
    X = features(items, items.document_date)
    Xt, dl = engine.training_set(items, X, dt.date(2025, 7, 1).toordinal())
    v = model.train(Xt, dl).validation
    assert v["log_loss"] < v["log_loss_baseline"], v


@pytest.mark.parametrize("seed", [4, 10])
def test_model_beats_every_baseline_on_ar_shaped_companies_it_lost(seed):
    """Two AR-shaped companies the model lost to "customer × disputed" (seed 4: 0.8265 against 0.8433, seed 10:
    0.8268 against 0.8361): the trees alone were kept (a blend had to win beyond chance to replace them) and the
    cut was moved to 0.35 / 0.54 by a 2σ sign test over the best of 41 cuts. With the trees and the smooth
    location-scale model half and half by default and the cut moved only beyond 3σ, the model beats them."""
    settled, still_open = synthetic.ar_rows(start=dt.date(2024, 1, 1), end=END, seed=seed)
    bt = engine.backtest(company=None, cutoff=dt.date(2025, 7, 1), items=synthetic.items_from(settled, still_open))
    acc = {k: v["accuracy"] for k, v in bt.figures.items()}
    assert all(acc["model"] > acc[b] for b in model.BASELINES), acc
    assert bt.live == "model"


def test_cut_needs_three_sigmas_to_move(monkeypatch):
    """The best of 41 cuts, tested on the items it was chosen on, wins by 2σ on noise too often: 36 items at 0.45,
    26 late — the cut 0.45 gains 16 more than it loses (2.7σ of a fair coin over 36): not enough."""
    from huikuan.prediction import model as m

    p = np.concatenate([np.full(200, 0.1), np.full(200, 0.9), np.full(36, 0.45)])
    late = np.concatenate([np.zeros(200, bool), np.ones(200, bool), np.arange(36) < 26])
    assert m.choose_threshold(p, late) == 0.45
    assert m.significant_threshold(p, late) == 0.5
    monkeypatch.setattr(m, "CUT_SIGMAS", 2.0)
    assert m.significant_threshold(p, late) == 0.45


def test_a_version_with_the_former_smooth_model_still_predicts():
    """Versions pickled before ``Smooth`` hold a scikit-learn pipeline on ``smooth_inputs`` in their blend: P(late)
    reads it as before; the new ``Smooth`` reads the location and scale columns and survives pickling."""
    import pickle

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    settled, still_open = synthetic.ar_rows(n_invoices=800, n_customers=30, start=dt.date(2024, 1, 1), end=END, seed=3)
    items = synthetic.items_from(settled, still_open)
    X = features(items, items.document_date)
    Xt, dl = engine.training_set(items, X, dt.date(2025, 7, 1).toordinal())
    trained = model.train(Xt, dl)
    late = dl >= 1
    old = make_pipeline(StandardScaler(), LogisticRegression()).fit(model.smooth_inputs(Xt, float(late.mean())), late)
    trained.blend = {"w_model": 0.5, "w_smooth": 0.5, "smooth": old, "baseline": ""}
    p_old = model.late_probability(trained, X)
    assert np.isfinite(p_old).all() and ((p_old >= 0) & (p_old <= 1)).all()
    trained.blend["smooth"] = model.Smooth(Xt, late, float(late.mean()))
    again = pickle.loads(pickle.dumps(trained))
    np.testing.assert_array_equal(model.late_probability(again, X), model.late_probability(trained, X))


def test_cut_moves_from_half_only_when_validation_says_so_beyond_chance():
    from huikuan.prediction import model as m

    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 400)
    late = rng.uniform(0, 1, 400) < p  # calibrated: 0.5 is the right cut; any other wins by chance only
    assert m.significant_threshold(p, late) == 0.5
    late = p >= 0.35  # every item between 0.35 and 0.5 is late: 0.35 wins by ~60 items
    assert m.significant_threshold(p, late) == m.choose_threshold(p, late) == 0.35


def test_items_past_the_last_class_skip_the_classifiers_with_the_same_distribution():
    """An open item ≥ ``DEEP`` days past due: its distribution conditioned on DL ≥ d is the last class's tail
    whatever its class probabilities, so ``predict`` reads it without the classifiers — the same probabilities
    (1) and quantiles as the classifiers' path gives, wherever that path had mass beyond d (where it had none, both
    spread over the next 60 days: the classifiers' path because P(DL ≥ d) ≤ 1e-4, this one only when the last
    class's own days end before d)."""
    from huikuan.prediction import model as m

    settled, still_open = synthetic.rows(n_invoices=3000, n_customers=60, start=dt.date(2022, 1, 1), end=END, seed=5)
    items = synthetic.items_from(settled, still_open)
    X = features(items, items.document_date)
    Xt, dlt, known = engine.training_set(items, X, END.toordinal(), with_known=True)
    dlt[::7] += 200  # a populated last class (≥ 180 days late) with a tail well past it
    trained = m.train(Xt, dlt, known=known)
    assert trained.median_regressor is not None
    rng = np.random.default_rng(1)
    n = 3000
    Xo = X[rng.integers(0, len(X), n)]
    overdue = rng.integers(-30, 800, n)
    overdue[:200] = m.DEEP  # the boundary itself
    pred = m.predict(trained, Xo, overdue_days=overdue, chunk=700)
    deep = overdue >= m.DEEP
    assert 1000 < deep.sum() < n
    # the classifiers' path on the same rows
    parts = {k: np.zeros(n) for k in ("p_late", "p_late_30", "p_late_90", "dl_p10", "dl_p50", "dl_p90")}
    d = np.clip(overdue, m.GRID[0], m.GRID[-1]).astype(np.int32)
    bin_cdf = trained.bin_cdf.astype(np.float32)
    m._predict_rows(trained, Xo.astype(np.float32), d, np.arange(n), parts, bin_cdf, m.GRID.astype(np.int32),
                    {v: v - m.GRID[0] for v in (0, 29, 89)}, trained.median_regressor)
    for k in ("p_late", "p_late_30", "p_late_90"):
        assert (pred.__dict__[k][deep] == 1).all() and (np.abs(parts[k][deep] - 1) < 1e-6).all()
        # the other rows: the same path (a chunk's matrix product sums in another order: float32 noise)
        assert np.allclose(pred.__dict__[k][~deep], parts[k][~deep], atol=1e-5)
    for k in ("dl_p10", "dl_p50", "dl_p90"):  # the other rows: the same path
        assert (np.abs(pred.__dict__[k][~deep] - parts[k][~deep]) <= 1).all()
        assert (pred.__dict__[k][~deep] == parts[k][~deep]).mean() > 0.99
    # the deep rows' distribution: the classifiers' mixture conditioned on DL ≥ d, in float64 (the float32 path
    # subtracts nearly equal sums when the last class is unlikely), wherever it had mass beyond d
    i = np.flatnonzero(deep)
    mix = m.class_probabilities(trained, Xo[i].astype(np.float32)) @ trained.bin_cdf
    below = mix[np.arange(len(i)), d[i] - m.GRID[0] - 1]
    cond = np.clip((mix - below[:, None]) / (1 - below)[:, None], 0, 1)
    cond[m.GRID[None, :] < d[i, None]] = 0
    got = m.deep_cdf(bin_cdf, d[i])
    likely = (1 - below) > 1e-3
    assert likely.sum() > 500 and np.abs(got[likely] - cond[likely]).max() < 1e-3
    # the stored figures are read from that distribution, the median regressor's estimate as on every open item
    est = np.clip(np.rint(trained.median_regressor.predict(Xo[i].astype(np.float32))), m.GRID[0], m.GRID[-1])
    p50 = np.where(est >= d[i], est, m._quantile(got, 0.5))
    assert (pred.dl_p50[i] == p50).all()
    assert (pred.dl_p10[i] == np.minimum(m._quantile(got, 0.1), p50)).all()
    assert (pred.dl_p90[i] == np.maximum(m._quantile(got, 0.9), p50)).all()
    tail = 1 - bin_cdf[-1][d[i] - m.GRID[0] - 1]
    nothing = tail <= 1e-4  # beyond every training item of the last class: spread over the next 60 days
    assert (got[nothing][:, m.GRID >= d[i][nothing].max() + 60] == 1).all()


def test_items_past_due_run_only_the_classes_they_can_still_fall_in():
    """An open item ``d`` ≥ 1 days past due: only the nine-class trees of the classes from the one holding ``d`` on
    are run (the classes before it, and the late / on-time rescaling, drop out of the conditioning on DL ≥ d) —
    the scores are the classifier's own, and ``predict`` gives what the full computation gives."""
    from huikuan.prediction import model as m

    settled, still_open = synthetic.rows(n_invoices=3000, n_customers=60, start=dt.date(2022, 1, 1), end=END, seed=5)
    items = synthetic.items_from(settled, still_open)
    X = features(items, items.document_date)
    Xt, dlt, known = engine.training_set(items, X, END.toordinal(), with_known=True)
    dlt[::7] += 200  # every class populated, the last with a tail
    trained = m.train(Xt, dlt, known=known)
    clf = trained.classifier
    assert len(clf.classes_) == m.N_CLASSES and trained.late_classifier is not None
    rng = np.random.default_rng(2)
    n = 3000
    Xo = X[rng.integers(0, len(X), n)].astype(np.float32)
    # the scores: over every class, the classifier's own probabilities; from class k on, those renormalised
    full = clf.predict_proba(Xo)
    np.testing.assert_allclose(m.past_due_probabilities(trained, Xo, np.zeros(n, dtype=np.int64)), full,
                               rtol=0, atol=1e-12)
    first = rng.integers(m.LATE, m.N_CLASSES, n)
    got = m.past_due_probabilities(trained, Xo, first)
    want = np.where(np.arange(m.N_CLASSES)[None, :] >= first[:, None], full, 0.0)
    np.testing.assert_allclose(got, want / want.sum(axis=1, keepdims=True), rtol=0, atol=1e-12)
    # predict: the same figures as the full computation (every class, the late / on-time rescaling)
    for median in (trained.median_regressor, None):
        trained.median_regressor = median
        overdue = rng.integers(-40, 200, n)
        pred = m.predict(trained, Xo, overdue_days=overdue, chunk=700)
        parts = {k: np.zeros(n) for k in ("p_late", "p_late_30", "p_late_90", "dl_p10", "dl_p50", "dl_p90")}
        d = np.clip(overdue, m.GRID[0], m.GRID[-1]).astype(np.int32)
        m._predict_rows(trained, Xo, d, np.arange(n), parts, trained.bin_cdf.astype(np.float32),
                        m.GRID.astype(np.int32), {v: v - m.GRID[0] for v in (0, 29, 89)}, median)
        past, due = (overdue >= 1) & (overdue < m.DEEP), overdue < 1  # (the deep rows: the test above)
        assert past.sum() > 2000 and due.sum() > 400
        # where the full computation had mass beyond d (else it spread the item over 60 days: float32 noise)
        mix = m.class_probabilities(trained, Xo) @ trained.bin_cdf
        surv = 1 - mix[np.arange(n), np.maximum(d - m.GRID[0] - 1, 0)]
        sure = past & (surv > 1e-3)
        assert sure.sum() > 1500
        for k in ("p_late", "p_late_30", "p_late_90"):
            np.testing.assert_array_equal(pred.__dict__[k][due], parts[k][due])  # not due yet: the same path
            assert np.abs(pred.__dict__[k][sure] - parts[k][sure]).max() < 1e-4
        for k in ("dl_p10", "dl_p50", "dl_p90"):
            np.testing.assert_array_equal(pred.__dict__[k][due], parts[k][due])
            assert np.abs(pred.__dict__[k][sure] - parts[k][sure]).max() <= 1
            assert (pred.__dict__[k][sure] == parts[k][sure]).mean() > 0.995
