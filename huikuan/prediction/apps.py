from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PredictionConfig(AppConfig):
    name = "huikuan.prediction"
    label = "prediction"
    verbose_name = _("Payment prediction")

    def ready(self):
        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "prediction.facts.recorded": _("Invoice history facts recorded"),
            "prediction.model.trained": _("Prediction model trained"),
            "prediction.model.activated": _("Prediction model activated"),
        })
