"""Collections casework: activities and worklist, promises to pay, disputes, payment plans, penalty interest, escalation cases, playbooks."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _latest_demand(customer):
    from .models import WrittenDemand

    return WrittenDemand.objects.filter(customer_id=customer.pk).order_by("-date").values_list("date", flat=True).first()


def _earliest_limitation(customer, as_of):
    from .limitation import earliest

    return earliest(customer=customer, as_of=as_of)


def _interest_line(customer, as_of):
    from django.utils.translation import gettext

    from huikuan.statements.hooks import ExtraLine

    from .interest import interest_to_date

    amount = interest_to_date(customer=customer, as_of=as_of)
    if not amount:
        return []
    return [ExtraLine(label=gettext("Penalty interest to %(date)s (not included in the balance)") % {"date": as_of},
                      amount=amount)]


def _daily(company, day):
    def run():
        from . import services
        from .worklist import refresh_queue

        promises = services.review_promises(company=company, as_of=day)
        plans = services.review_plans(company=company, as_of=day)
        synced = services.sync_all_disputed(company=company)
        rows = refresh_queue(company=company, as_of=day)
        return (f"promises kept {promises['kept']} broken {promises['broken']}; plans completed {plans['completed']} "
                f"broken {plans['broken']}; disputes re-synced {synced}; worklist rows {rows}")
    return run


def _bill_reminders(company, day):
    def run():
        from .bills import remind_bills

        return f"bill reminders {remind_bills(company=company, as_of=day)}"
    return run


class CollectionsConfig(AppConfig):
    name = "huikuan.collections"
    label = "collections"
    verbose_name = _("Collections")

    def ready(self):
        from huikuan.common.audit import register_verb_labels
        from huikuan.common.jobs import register_daily
        from huikuan.statements import hooks

        from . import playbooks, texts  # noqa: F401 - register the stored-text codes and timeline details
        hooks.register_demand_source(_latest_demand)
        hooks.register_extra_lines(_interest_line)
        hooks.register_limitation_source(_earliest_limitation)
        register_daily("collections", _daily)
        register_daily("bill-reminders", _bill_reminders)
        from huikuan.common.export_jobs import register_exporter

        register_exporter("collections.worklist", "huikuan.collections.views:worklist_export")
        register_verb_labels({
            "collections.task.created": _("Task created"),
            "collections.task.closed": _("Task closed"),
            "collections.activity.logged": _("Contact logged"),
            "collections.next_action.set": _("Next action date set"),
            "collections.promise.made": _("Promise to pay recorded"),
            "collections.promise.kept": _("Promise kept"),
            "collections.promise.broken": _("Promise broken"),
            "collections.promise.cancelled": _("Promise cancelled"),
            "collections.dispute.opened": _("Dispute opened"),
            "collections.dispute.resolved": _("Dispute resolved"),
            "collections.demand.recorded": _("Written demand recorded"),
            "collections.case.opened": _("Escalation case opened"),
            "collections.case.items_added": _("Items added to the case"),
            "collections.case.claim": _("Bankruptcy claim (债权申报)"),
            "collections.case.updated": _("Escalation case updated"),
            "collections.plan.requested": _("Payment plan proposed"),
            "collections.plan.approved": _("Payment plan approved"),
            "collections.plan.rejected": _("Payment plan rejected"),
            "collections.plan.completed": _("Payment plan completed"),
            "collections.plan.broken": _("Payment plan broken"),
            "collections.interest_rule.saved": _("Interest rule saved"),
            "collections.interest.posted": _("Penalty interest posted as a charge"),
            "collections.playbook.run": _("Playbook run"),
            "ledger.instalments.replaced": _("Instalments replaced by a payment plan"),
        })
        try:  # the credit app owns scoring; register when its registry exists
            from huikuan.credit.signals import register_behaviour_source
        except ImportError:
            pass
        else:
            from .services import behaviour_counts

            register_behaviour_source(behaviour_counts)
