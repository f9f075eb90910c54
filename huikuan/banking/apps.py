"""Cash application: company bank accounts, bank statement import and parsing, matching, review queue, reconciliation."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "huikuan.banking"
    label = "banking"
    verbose_name = _("Cash application")

    def ready(self):
        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "banking.line.applied": _("Bank receipt applied"),
            "banking.line.undone": _("Bank receipt reversed"),
            "banking.alias.learned": _("Payer alias learned"),
            "banking.alias.forgotten": _("Payer alias forgotten"),
            "banking.account.created": _("Bank account added"),
            "banking.settings.changed": _("Cash application settings changed"),
            "banking.statement.imported": _("Bank statement imported"),
            "banking.line.ignored": _("Bank line ignored"),
            "banking.line.restored": _("Bank line restored"),
        })
