import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _aging_flow_job(company, day: dt.date):
    from .aging import compact_flow

    return lambda: f"{compact_flow(company=company)} rows"


class LedgerConfig(AppConfig):
    name = "huikuan.ledger"
    label = "ledger"
    verbose_name = _("Receivables ledger")

    def ready(self):
        from huikuan.common.jobs import register_daily

        from . import selectors  # noqa: F401 - registers the timeline labels of ledger verbs

        # the aging's running sums by due date merged (ledger.aging.compact_flow; PostgreSQL)
        register_daily("aging-flow", _aging_flow_job)
