from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "huikuan.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self):
        from . import texts  # noqa: F401 - stored-text codes and audit labels
