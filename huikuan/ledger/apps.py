from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "huikuan.ledger"
    label = "ledger"
    verbose_name = _("Receivables ledger")

    def ready(self):
        from . import selectors  # noqa: F401 - registers the timeline labels of ledger verbs
