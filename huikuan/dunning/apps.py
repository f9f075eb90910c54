"""Dunning: policies and steps, templates, channels (email, SMS, WeCom/DingTalk, tasks, letters), the exactly-once dunning run."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _daily(company, day):
    def job():
        from .services import run_dunning

        run = run_dunning(company=company, as_of=day, trigger="daily")
        return f"notices={run.notices} items={run.items}"

    return job


class DunningConfig(AppConfig):
    name = "huikuan.dunning"
    label = "dunning"
    verbose_name = _("Dunning")

    def ready(self):
        from huikuan.common.audit import register_verb_labels
        from huikuan.common.jobs import register_daily

        from . import texts  # noqa: F401 - stored-text codes and audit labels

        register_daily("dunning-run", _daily)
        register_verb_labels({
            "dunning.notice.created": _("Dunning notice created"),
            "dunning.customer.paused": _("Dunning paused"),
            "dunning.customer.settings": _("Dunning settings changed"),
            "dunning.delivery.retry": _("Dunning delivery retried"),
            "dunning.action.approved": _("Proposed dunning action approved"),
            "dunning.action.rejected": _("Proposed dunning action rejected"),
            "dunning.run.interrupted": _("Dunning run interrupted"),
        })
