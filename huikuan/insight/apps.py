import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _snapshot_job(company, day: dt.date):
    from .services import take_snapshot

    return lambda: f"{take_snapshot(company=company, as_of=day - dt.timedelta(days=1))} rows"


class InsightConfig(AppConfig):
    name = "huikuan.insight"
    label = "insight"
    verbose_name = _("Insight")

    def ready(self):
        from huikuan.common.jobs import register_daily

        register_daily("snapshot", _snapshot_job)
