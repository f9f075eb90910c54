"""Codes of the texts the dunning app stores, and how its audit events read (``DunningConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit

audit.register_verb_labels({
    "dunning.policy.saved": _("Dunning policy saved"),
    "dunning.template.saved": _("Dunning template saved"),
    "dunning.customer.paused": _("Dunning paused"),
})
