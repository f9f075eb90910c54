"""How the customers app's audit events read on the timeline (registered by ``CustomersConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, texts

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
    "customers.customer.flagged": _("Marked “check this”"),
    "customers.customer.reviewed": _("“Check this” cleared"),
    "customers.collector.assigned": _("Collector assigned"),
})

# reasons of the "check this" flag (customers.review)
texts.register({
    "customers.review.uscc": _("The unified social credit code %(code)s in the imported file fails its check "
                               "character and was not saved: compare it with the business licence and enter it."),
    "customers.review.same_name": _("Another customer, %(other)s, has the same name: check whether they are the "
                                    "same company."),
    "customers.review.phone": _("The phone number %(phone)s of contact %(contact)s in the imported file is not in "
                                "a usual format and was not saved."),
})

