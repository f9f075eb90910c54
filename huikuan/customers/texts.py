"""How the customers app's audit events read on the timeline (registered by ``CustomersConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit

audit.register_verb_labels({
    "customers.customer.created": _("Customer created"),
    "customers.customer.updated": _("Customer details changed"),
    "customers.contact.added": _("Contact added"),
    "customers.contact.updated": _("Contact changed"),
    "customers.contact.deactivated": _("Contact deactivated"),
    "customers.bank_account.added": _("Bank account added"),
    "customers.bank_account.updated": _("Bank account changed"),
    "customers.bank_account.removed": _("Bank account removed"),
    "customers.file.uploaded": _("File uploaded"),
    "customers.group.created": _("Customer group created"),
    "customers.terms.created": _("Payment terms created"),
    "customers.terms.updated": _("Payment terms changed"),
})
