"""Stored per-item predictions: refreshed set-wise after training, on activation and by the daily job."""

import datetime as dt
from decimal import Decimal

import pytest

from huikuan.common.models import AuditEvent
from huikuan.ledger.models import Instalment
from huikuan.prediction import engine, services
from huikuan.prediction.models import ItemPrediction
from huikuan.prediction.texts import reason

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 1, 5)


def test_training_stores_one_prediction_per_open_instalment(synthetic_company, finance):
    v = services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance)
    version, trained = services.active_model(synthetic_company)
    live = engine.predict_open(company=synthetic_company, as_of=AS_OF, trained=trained, live=version.live)
    stored = ItemPrediction.objects.filter(company=synthetic_company)
    assert stored.count() == len(live.items) > 0
    open_ids = set(Instalment.objects.filter(company=synthetic_company, open_amount__gt=0, replaced_on__isnull=True)
                   .values_list("pk", flat=True))
    assert set(stored.values_list("instalment_id", flat=True)) == open_ids
    k = 0
    row = stored.get(instalment_id=int(live.items.id[k]))
    assert row.version_id == v.pk and row.as_of == AS_OF and row.source == version.live
    assert row.p_late == Decimal(str(round(float(live.p_late[k]), 4))).quantize(Decimal("0.0001"))
    assert row.predicted_date == dt.date.fromordinal(int(live.predicted[k]))
    assert row.low_date <= row.predicted_date <= row.high_date and row.low_date >= AS_OF
    assert row.p_late_90 <= row.p_late_30 <= row.p_late <= 1
    assert row.customer_id == live.items.customer[k] and row.document_id == live.items.document[k]
    assert row.reasons and all(isinstance(reason(code, params), str) for code, params in row.reasons)
    assert AuditEvent.objects.filter(verb="prediction.predictions.refreshed").count() == 1
    # every row as the former per-item path stored it: Decimal of the rounded ten-thousandths, ``reasons`` per item
    assert _stored(stored) == _expected(live)


def _expected(live) -> dict:
    overdue = live.as_of.toordinal() - live.items.due_date
    d = dt.date.fromordinal
    return {int(live.items.id[k]): (
        int(live.items.customer[k]), int(live.items.document[k]), d(int(live.items.due_date[k])),
        *(Decimal(int(round(float(p[k]) * 10000))) * Decimal("0.0001") for p in (live.p_late, live.p_late_30,
                                                                                  live.p_late_90)),
        d(int(live.predicted[k])), d(int(live.low[k])), d(int(live.high[k])),
        [[code, {key: (float(v) if isinstance(v, float) else int(v)) for key, v in params.items()}]
         for code, params in engine.reasons(live.X[k], overdue=int(overdue[k]))])
        for k in range(len(live.items))}


def _stored(stored) -> dict:
    return {r[0]: r[1:] for r in stored.values_list("instalment_id", "customer_id", "document_id", "due_date", "p_late",
                                                    "p_late_30", "p_late_90", "predicted_date", "low_date", "high_date",
                                                    "reasons")}


def test_model_predicted_chunk_by_chunk_while_written_stores_what_predict_open_gives(synthetic_company, finance):
    """``refresh_predictions`` predicts each chunk as it writes it (``engine.OpenItems``): with the model itself live,
    and chunks of 7 items, every stored row is what predicting every open item at once gives."""
    services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance, activate=False)
    version = services.activate_version(company=synthetic_company, version=1, actor=finance)
    version.live = "model"
    version.save(update_fields=["live"])
    version, trained = services.active_model(synthetic_company)
    assert trained.classifier is not None
    later = AS_OF + dt.timedelta(days=10)
    n = services.refresh_predictions(company=synthetic_company, as_of=later, chunk=7)
    live = engine.predict_open(company=synthetic_company, as_of=later, trained=trained, live="model")
    assert n == len(live.items) > 14
    stored = ItemPrediction.objects.filter(company=synthetic_company)
    assert set(stored.values_list("source", flat=True)) == {"model"}
    assert _stored(stored) == _expected(live)
    # the slices of a whole prediction are that prediction
    part = live.rows(7, 14)
    assert (part.items.id == live.items.id[7:14]).all() and (part.p_late == live.p_late[7:14]).all()


def test_refresh_replaces_the_rows_and_follows_the_active_version(synthetic_company, finance):
    v1 = services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance)
    n1 = ItemPrediction.objects.filter(company=synthetic_company).count()
    v2 = services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance)
    assert ItemPrediction.objects.filter(company=synthetic_company).count() == n1
    assert set(ItemPrediction.objects.values_list("version_id", flat=True)) == {v2.pk}
    services.activate(company=synthetic_company, version=1, actor=finance, as_of=AS_OF)  # rollback
    assert set(ItemPrediction.objects.values_list("version_id", flat=True)) == {v1.pk}
    # a later day: items paid in between drop out, the rest are re-predicted as of that day
    later = AS_OF + dt.timedelta(days=40)
    services.refresh_predictions(company=synthetic_company, as_of=later)
    assert set(ItemPrediction.objects.values_list("as_of", flat=True)) == {later}
    assert not ItemPrediction.objects.filter(low_date__lt=later).exists()


def test_daily_job_refreshes_once_and_skips_without_a_model(synthetic_company, finance):
    from huikuan.prediction.apps import _daily_refresh

    assert _daily_refresh(synthetic_company, AS_OF)() == "no model"
    services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance)
    assert _daily_refresh(synthetic_company, AS_OF)() == "already refreshed"
    day = AS_OF + dt.timedelta(days=1)
    assert _daily_refresh(synthetic_company, day)().endswith("items")
    assert set(ItemPrediction.objects.values_list("as_of", flat=True)) == {day}


def test_refresh_command(synthetic_company, finance):
    import io

    from django.core.management import call_command

    services.train_model(company=synthetic_company, as_of=AS_OF, actor=finance, activate=False)
    assert not ItemPrediction.objects.exists()
    call_command("predict", "activate", "--version", "1", stdout=io.StringIO())
    assert ItemPrediction.objects.exists()
    out = io.StringIO()
    call_command("predict", "refresh", "--as-of", "2026-02-01", stdout=out)
    assert "predictions stored as of 2026-02-01" in out.getvalue()
    assert set(ItemPrediction.objects.values_list("as_of", flat=True)) == {dt.date(2026, 2, 1)}
