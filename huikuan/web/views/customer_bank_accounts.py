"""A customer's bank accounts (开户行, 账号, 户名): list with XLSX, add, edit, remove.

Objects load through the scoped selectors (out of scope → 404); each POST calls one service of
``customers.bank_accounts`` and maps a DomainError onto the form (422 for htmx requests).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of as _company
from huikuan.common.listing import Sorting, date_range
from huikuan.customers import bank_accounts as services
from huikuan.customers import selectors

from .customers import _apply_error, _done, _render_form, _require


class BankAccountForm(forms.Form):
    bank_name = forms.CharField(label=gettext_lazy("Bank (开户行)"), max_length=100, required=False,
                                widget=forms.TextInput(attrs={"placeholder": "中国工商银行上海分行营业部"}))
    account_number = forms.CharField(label=gettext_lazy("Account number (账号)"), max_length=80,
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                                     help_text=gettext_lazy("Spaces and hyphens are removed."))
    account_name = forms.CharField(label=gettext_lazy("Account holder (户名)"), max_length=200, required=False,
                                   help_text=gettext_lazy("As printed on the bank's receipts; may differ from the customer's name."))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)


BANK_ACCOUNT_SORTS = Sorting({"bank": "bank_name", "number": "account_number", "holder": "account_name", "note": "note",
                              "added": "created_at"}, default="added")


@login_required
def customer_bank_accounts(request, pk):
    customer = selectors.get_customer(user=request.user, company=_company(request), pk=pk)
    accounts = BANK_ACCOUNT_SORTS.apply(
        date_range(selectors.customer_bank_accounts(customer=customer), "created_at__date", request.GET), request.GET)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"bank-accounts-{customer.code}.xlsx", sheet_title=_("Bank accounts"),
            columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Bank (开户行)"), "text"),
                     (_("Account number (账号)"), "text"), (_("Account holder (户名)"), "text"), (_("Note"), "text"),
                     (_("Added"), "date")],
            rows=((customer.code, customer.name, a.bank_name, a.account_number, a.account_name, a.note,
                   a.created_at.date()) for a in accounts),
        )
    can_edit = request.user.can("customer.edit")
    form = BankAccountForm(request.POST or None)
    if request.method == "POST":
        _require(request, "customer.edit")
        if form.is_valid():
            try:
                services.add_bank_account(customer_id=customer.pk, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Bank account added."))
                return _done(request, "web:customer-bank-accounts", pk=customer.pk)
    context = {"nav": "customers", "customer": customer, "accounts": accounts, "form": form, "can_edit": can_edit,
               **BANK_ACCOUNT_SORTS.context(request.GET)}
    return _render_form(request, "customers/bank_accounts.html", context, invalid=bool(form.errors))


@login_required
def bank_account_edit(request, account_pk):
    acct = selectors.get_bank_account(user=request.user, company=_company(request), pk=account_pk)
    _require(request, "customer.edit")
    initial = {name: getattr(acct, name) for name in services.BANK_ACCOUNT_FIELDS}
    form = BankAccountForm(request.POST or None, initial=initial)
    context = {"nav": "customers", "customer": acct.customer, "account": acct, "form": form}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_bank_account(bank_account_id=acct.pk, actor=request.user, **form.cleaned_data)
            except DomainError as error:
                _apply_error(form, error)
            else:
                messages.success(request, _("Bank account saved."))
                return _done(request, "web:customer-bank-accounts", pk=acct.customer_id)
        return _render_form(request, "customers/bank_account_form.html", context, invalid=True)
    return render(request, "customers/bank_account_form.html", context)


@require_POST
@login_required
def bank_account_remove(request, account_pk):
    acct = selectors.get_bank_account(user=request.user, company=_company(request), pk=account_pk)
    _require(request, "customer.edit")
    try:
        services.remove_bank_account(bank_account_id=acct.pk, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Bank account %(number)s removed.") % {"number": acct.account_number})
    return redirect("web:customer-bank-accounts", pk=acct.customer_id)
