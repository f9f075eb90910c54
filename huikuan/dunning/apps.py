from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DunningConfig(AppConfig):
    name = "huikuan.dunning"
    label = "dunning"
    verbose_name = _("Dunning")

    def ready(self):
        # register daily jobs (huikuan.common.jobs.register_daily) and timeline verb labels
        # (huikuan.common.audit.register_verb_labels) here
        pass
