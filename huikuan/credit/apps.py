"""Credit management: policy and grades, profiles, scoring, exposure, credit checks, holds, approvals."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "huikuan.credit"
    label = "credit"
    verbose_name = _("Credit management")

    def ready(self):
        from huikuan.common.audit import register_verb_labels
        from huikuan.common.jobs import register_daily

        from . import jobs, texts  # noqa: F401 - texts registers the stored-text codes

        register_daily("credit-daily", jobs.daily)
        from huikuan.customers.services import register_terms_control
        from huikuan.ledger.services import register_document_terms_check

        from .services import document_terms_check, terms_control

        register_terms_control(terms_control)
        register_document_terms_check(document_terms_check)
        register_verb_labels({
            "credit.hold.placed": _("Credit hold placed"),
            "credit.hold.released": _("Credit hold released"),
            "credit.order.held": _("Order held by the credit check"),
            "credit.order.approved": _("Order approved by the credit check"),
            "credit.order.released": _("Held order released"),
            "credit.order.partly_released": _("Held order partly released"),
            "credit.order.remainder_held": _("Unreleased remainder of an order kept on hold"),
            "credit.order.prepayment_requested": _("Prepayment requested for a held order"),
            "credit.order.rejected": _("Order rejected"),
            "credit.order.invoiced": _("Order invoiced"),
            "credit.order.cancelled": _("Order cancelled"),
            "credit.profile.updated": _("Credit profile updated"),
            "credit.request.created": _("Credit request made"),
            "credit.request.first_approved": _("Credit request approved (first of two)"),
            "credit.request.approved": _("Credit request approved"),
            "credit.request.rejected": _("Credit request rejected"),
            "credit.limit.changed": _("Credit limit changed"),
            "credit.terms.changed": _("Terms changed"),
            "credit.grade.changed": _("Grade changed"),
            "credit.grade.overridden": _("Grade overridden"),
            "credit.report.added": _("Third-party credit report added"),
        })
