"""Reasons and labels rendered in the reader's language (stored as codes + parameters)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

LIVE_LABELS = {
    "model": gettext_lazy("Gradient-boosting model"),
    "on_time": gettext_lazy("Baseline: everyone pays on time"),
    "customer_rate": gettext_lazy("Baseline: the customer's own late rate"),
    "customer_disputed": gettext_lazy("Baseline: customer × disputed"),
    "customer_median": gettext_lazy("Baseline: the customer's median days late"),
    "terms": gettext_lazy("Baseline: payment terms only"),
}


def reason(code: str, params: dict) -> str:
    if code == "overdue":
        return ngettext("Already %(days)d day past due.", "Already %(days)d days past due.", params["days"]) % params
    if code == "no_history":
        return _("No payment history for this customer yet.")
    if code == "usually_late":
        return _("This customer paid %(late)d of its last %(n)d invoices late, %(days)d days late on average.") % params
    if code == "usually_on_time":
        return _("This customer paid %(late)d of its last %(n)d invoices late.") % params
    if code == "recent_late":
        return _("This customer's last %(k)d invoices were paid %(days)d days late on average.") % params
    if code == "disputed":
        return _("Disputed.")
    if code == "large_amount":
        return _("Amount %(times)s× the customer's usual.") % params
    if code == "other_overdue":
        return ngettext("%(n)d other invoice of this customer is overdue.",
                        "%(n)d other invoices of this customer are overdue.", params["n"]) % params
    return code


def reasons_text(items: list) -> str:
    return " ".join(reason(code, params) for code, params in items)
