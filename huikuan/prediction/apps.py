import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _weekly_training(company, day: dt.date):
    """Mondays (and the first run for a company with history but no model): train a new version."""

    def run():
        from .models import ModelVersion
        from .services import NothingToTrain, train_model

        has_model = ModelVersion.objects.filter(company=company).exists()
        if day.weekday() != 0 and has_model:
            return "not Monday"
        try:
            v = train_model(company=company, as_of=day)
        except NothingToTrain:
            return "too little history"
        return f"v{v.version} live={v.live} {v.seconds} s"

    return run


def _daily_refresh(company, day: dt.date):
    """Every day: the stored predictions of the open items as of the business date (skipped when the
    training of the day already refreshed them, or when there is no model)."""

    def run():
        from .models import ItemPrediction, ModelVersion
        from .services import refresh_predictions

        if not ModelVersion.objects.filter(company=company, is_active=True).exists():
            return "no model"
        if ItemPrediction.objects.filter(company=company, as_of=day).exists():
            return "already refreshed"
        return f"{refresh_predictions(company=company, as_of=day)} items"

    return run


def _daily_forecast(company, day: dt.date):
    """Every day (after the training job on Mondays): the cash-in forecast as of the day."""

    def run():
        from .forecast_jobs import ForecastBusy, compute_forecast_now

        try:
            r = compute_forecast_now(company=company, as_of=day)
        except ForecastBusy:
            return "already being computed"
        return f"{r.items} items {r.source} {r.seconds} s"

    return run


def _forecast_items_export(**kwargs):
    """The forecast drill-down's XLSX, for ``common.export_jobs`` (the view module is read when first asked)."""
    from .views_forecast import items_export

    return items_export(**kwargs)


class PredictionConfig(AppConfig):
    name = "huikuan.prediction"
    label = "prediction"
    verbose_name = _("Payment prediction")

    def ready(self):
        from huikuan.common.jobs import register_daily

        from . import forecast_jobs  # noqa: F401 - its task and text codes

        register_daily("prediction-training", _weekly_training)
        register_daily("prediction-refresh", _daily_refresh)
        register_daily("cash-forecast", _daily_forecast)
        from huikuan.common.export_jobs import register_exporter

        register_exporter("prediction.forecast_items", _forecast_items_export)
        register_exporter("prediction.customer_items", "huikuan.prediction.views:customer_items_export")
        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "prediction.facts.recorded": _("Invoice history facts recorded"),
            "prediction.model.trained": _("Prediction model trained"),
            "prediction.model.activated": _("Prediction model activated"),
            "prediction.predictions.refreshed": _("Payment predictions refreshed"),
            "prediction.forecast.built": _("Cash-in forecast computed"),
            "prediction.forecast.queued": _("Cash-in forecast requested"),
        })
