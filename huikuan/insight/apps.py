import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _snapshot_job(company, day: dt.date):
    from .services import take_snapshot

    return lambda: f"{take_snapshot(company=company, as_of=day - dt.timedelta(days=1))} rows"


def _customer_aging_job(company, day: dt.date):
    from .services import refresh_customer_aging

    return lambda: f"{refresh_customer_aging(company=company, as_of=day)} customers"


def _aging_dates_job(company, day: dt.date):
    from .past import keep_dates

    return lambda: keep_dates(company=company, today=day)


def _warnings_job(company, day: dt.date):
    from .early_warnings import run_warnings, send_digests

    def job():
        raised = run_warnings(company=company, as_of=day)
        sent = send_digests(company=company, day=day)
        return f"{sum(raised.values())} warnings, digests {sent}"

    return job


class InsightConfig(AppConfig):
    name = "huikuan.insight"
    label = "insight"
    verbose_name = _("Insight")

    def ready(self):
        from huikuan.common.jobs import register_daily

        register_daily("snapshot", _snapshot_job)
        register_daily("customer-aging", _customer_aging_job)
        register_daily("aging-dates", _aging_dates_job)  # month ends stored for past-date aging (insight.past)
        register_daily("warnings", _warnings_job)  # early warnings and their digests (insight.early_warnings)
        from huikuan.common.export_jobs import register_exporter

        register_exporter("insight.audit_log", "huikuan.insight.views_audit:audit_log_export")
        register_exporter("insight.audit_events", "huikuan.insight.views_audit:audit_events_export")

        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "insight.commission.rule_saved": _("Commission rule saved"),
            "insight.commission.computed": _("Commission computed"),
            "insight.commission.approved": _("Commission statement approved"),
            "insight.provision.matrix_saved": _("Provision matrix saved"),
            "insight.provision.assessment_requested": _("Individual assessment requested"),
            "insight.provision.assessment_approved": _("Individual assessment approved"),
            "insight.provision.assessment_rejected": _("Individual assessment rejected"),
            "insight.provision.assessment_ended": _("Individual assessment ended"),
            "insight.warning.rules_saved": _("Warning rules saved"),
            "insight.warning.run": _("Warnings computed"),
            "insight.warning.raised": _("Warning raised"),  # announced in bulk (webhooks), not one event each
            "insight.warning.acknowledged": _("Warning acknowledged"),
            "insight.warning.resolved": _("Warning resolved"),
            "insight.warning.auto_resolved": _("Warnings resolved automatically (cause ended)"),
        })

        from huikuan.ledger.periods import register_period_hooks

        from .provision import drop_reopened_months, store_closed_months

        # a closed month's provision is stored in the close's transaction (stable figures), dropped on reopen
        register_period_hooks(on_close=store_closed_months, on_reopen=drop_reopened_months)
