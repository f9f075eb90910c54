"""The customer portal: customer-facing pages with their own sign-in (issue 17 part 1)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "huikuan.portal"
    label = "portal"
    verbose_name = _("Customer portal")

    def ready(self):
        from huikuan.common import audit, texts
        from huikuan.dunning import hooks as dunning_hooks
        from huikuan.integrations import financing_evidence

        from . import links, services

        # the financing evidence pack takes statements confirmed here as stamped (integrations cannot import portal)
        financing_evidence.CONFIRMED_PDF_PROVIDERS.append(services.confirmed_copies)

        audit.register_verb_labels({
            "portal.access.invited": _("Invited to the customer portal"),
            "portal.access.revoked": _("Customer portal access revoked"),
            "portal.signed_in": _("Signed in to the customer portal"),
            "portal.statement.confirmed": _("Statement confirmed in the customer portal"),
            "portal.statement.disputed": _("Statement disputed in the customer portal"),
            "portal.dispute.raised": _("Dispute raised in the customer portal"),
            "portal.promise.made": _("Promise to pay made in the customer portal"),
            "portal.remittance.uploaded": _("Remittance advice uploaded in the customer portal"),
        })
        texts.register({
            "portal.event.by": _("%(name)s (%(address)s) in the customer portal"),
            "portal.event.confirmed": _("%(name)s (%(title)s) confirmed statement %(number)s: %(amount)s"),
            "portal.event.disputed": _("%(name)s disputed statement %(number)s: their balance %(amount)s"),
            "portal.event.dispute": _("%(name)s disputed %(amount)s of %(number)s"),
            "portal.event.promise": _("%(name)s promised to pay %(amount)s by %(date)s"),
            "portal.event.remittance": _("%(name)s uploaded a remittance advice: %(amount)s paid on %(date)s"),
            "portal.event.invited": _("%(name)s invited to the customer portal (%(address)s)"),
            "portal.event.revoked": _("%(name)s's customer portal access revoked"),
            "portal.event.signin": _("%(name)s signed in to the customer portal"),
        })
        dunning_hooks.register_portal_link(links.reminder_link)
