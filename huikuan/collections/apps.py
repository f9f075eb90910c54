from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    name = "huikuan.collections"
    label = "collections"
    verbose_name = _("Collections")

    def ready(self):
        # register daily jobs (huikuan.common.jobs.register_daily) and timeline verb labels
        # (huikuan.common.audit.register_verb_labels) here
        pass
