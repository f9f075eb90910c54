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


class PredictionConfig(AppConfig):
    name = "huikuan.prediction"
    label = "prediction"
    verbose_name = _("Payment prediction")

    def ready(self):
        from huikuan.common.jobs import register_daily

        register_daily("prediction-training", _weekly_training)
        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "prediction.facts.recorded": _("Invoice history facts recorded"),
            "prediction.model.trained": _("Prediction model trained"),
            "prediction.model.activated": _("Prediction model activated"),
        })
