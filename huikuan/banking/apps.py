from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "huikuan.banking"
    label = "banking"
    verbose_name = _("Cash application")

    def ready(self):
        # register daily jobs (huikuan.common.jobs.register_daily) and timeline verb labels
        # (huikuan.common.audit.register_verb_labels) here
        pass
