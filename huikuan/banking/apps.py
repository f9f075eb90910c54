"""Cash application: company bank accounts, bank statement import and parsing, matching, review queue, reconciliation."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "huikuan.banking"
    label = "banking"
    verbose_name = _("Cash application")

    def ready(self):
        from huikuan.common.audit import register_verb_labels
        from huikuan.common.export_jobs import register_exporter

        register_exporter("banking.queue", "huikuan.banking.views:queue_lines_export")

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
            "banking.layout.saved": _("Statement layout mapped"),
            "banking.layout.forgotten": _("Statement layout forgotten"),
            "banking.hint.received": _("Remittance advice received (水单)"),
            "banking.hint.used": _("Remittance advice matched: the money arrived"),
            "banking.hint.reopened": _("Remittance advice waiting again (application undone)"),
        })

        from huikuan.common.jobs import register_daily

        register_daily("bank-uploads", _purge_uploads_job)


def _purge_uploads_job(company, day):
    """Statement files left at the mapping step for more than a day are deleted (they hold bank data)."""
    def run():
        from django.utils import timezone

        from .services import purge_abandoned_uploads

        return f"{purge_abandoned_uploads(company=company, now=timezone.now())} abandoned uploads deleted"
    return run
