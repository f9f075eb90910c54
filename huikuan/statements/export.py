"""The statement of account as XLSX (staff statement page and the customer portal)."""

from django.utils.translation import gettext as _

from huikuan.common.export import xlsx_response


def statement_xlsx_response(data, *, filename: str):
    """``data``: a ``selectors.StatementData``. Opening balance, every movement with its running balance,
    and the closing balance (in figures and, for CNY, 大写) as the totals row."""
    rows = [(data.period_from, "", _("Opening balance"), None, None, data.opening)]
    rows += [(m.date, m.reference, m.summary, m.debit or None, m.credit or None, m.balance) for m in data.movements]
    return xlsx_response(
        filename=filename, sheet_title=_("Statement"),
        columns=[(_("Date"), "date"), (_("Document no."), "text"), (_("Summary"), "text"), (_("Debit (billed)"), "money"),
                 (_("Credit (received)"), "money"), (_("Balance"), "money")],
        rows=rows, totals=[_("Closing balance"), "", data.closing_words, data.total_debit, data.total_credit, data.closing],
    )
