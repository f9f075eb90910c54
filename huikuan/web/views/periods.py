"""Period close (关账): the lock date, close / reopen a month, and the history (XLSX)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of
from huikuan.common.listing import Sorting, date_range
from huikuan.ledger import periods

from .ledger import needs
from .ledger_forms import attach_error

MONTH_HELP = gettext_lazy("A month such as 2026-11.")


class CloseForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("Month"), max_length=7, help_text=MONTH_HELP,
                            widget=forms.TextInput(attrs={"type": "month", "required": True}))


class ReopenForm(CloseForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def _month(form) -> dt.date | None:
    try:
        return periods.parse_month(form.cleaned_data["month"])
    except DomainError as exc:
        attach_error(form, exc)
        return None


PERIOD_SORTS = Sorting({"at": "at", "action": "action", "month": "month", "before": "lock_date_before",
                       "after": "lock_date_after", "by": "actor__username", "reason": "reason"}, default="-at")


@login_required
@needs("ledger.period.view")
def period_page(request):
    company = company_of(request)
    today = clock.today(company)
    history = PERIOD_SORTS.apply(date_range(periods.period_history(company=company, limit=None), "at__date", request.GET),
                                 request.GET)[:200]
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename="period-close.xlsx", sheet_title=_("Period close"),
            columns=[(_("When"), "date"), (_("Action"), "text"), (_("Month"), "text"), (_("Lock date before"), "date"),
                     (_("Lock date after"), "date"), (_("By"), "text"), (_("Reason"), "text")],
            rows=((e.at, e.get_action_display(), f"{e.month:%Y-%m}", e.lock_date_before, e.lock_date_after, str(e.actor),
                   e.reason) for e in history),
        )
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    close_form = CloseForm(initial={"month": f"{last_month:%Y-%m}"})
    reopen_form = ReopenForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "close":
            if not request.user.can("ledger.period.close"):
                raise PermissionDenied
            close_form = CloseForm(request.POST)
            form, call = close_form, lambda m: periods.close_month(company=company, month=m, actor=request.user, today=today)
        elif action == "reopen":
            if not request.user.can("ledger.period.reopen"):
                raise PermissionDenied
            reopen_form = ReopenForm(request.POST)
            form = reopen_form
            call = lambda m: periods.reopen_month(company=company, month=m, actor=request.user,  # noqa: E731
                                                  reason=form.cleaned_data["reason"])
        else:
            raise PermissionDenied
        month = _month(form) if form.is_valid() else None
        if month is not None:
            try:
                event = call(month)
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("The books are now closed up to %(lock)s.") % {"lock": event.lock_date_after}
                                 if event.lock_date_after else _("No month is closed now."))
                return redirect("web:periods")
        status = 422
    return render(request, "ledger/periods.html", {
        "nav": "periods", "lock_date": periods.lock_date(company.pk), "history": history,
        **PERIOD_SORTS.context(request.GET),
        "close_form": close_form, "reopen_form": reopen_form,
        "can_close": request.user.can("ledger.period.close"), "can_reopen": request.user.can("ledger.period.reopen"),
    }, status=status)
