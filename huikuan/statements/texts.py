"""How the statements app's audit events read (registered by ``StatementsConfig.ready``)."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit

audit.register_verb_labels({
    "statement.issued": _("Statement issued"),
    "statement.confirmed": _("Statement confirmed by the customer"),
    "statement.disputed": _("Statement disputed by the customer"),
    "statement.batch.started": _("Statement batch started"),
    "statement.batch.resumed": _("Statement batch resumed"),
})
