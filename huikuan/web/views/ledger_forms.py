"""Plain forms for the ledger screens. They parse and check shapes only; business rules live in
``ledger.services`` and come back as DomainError, which ``attach_error`` puts on the right field."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role, User
from huikuan.common.errors import DomainError
from huikuan.common.money import CURRENCY_CHOICES, to_decimal
from huikuan.customers.models import PaymentTerm
from huikuan.customers.picker import CustomerPickerField
from huikuan.ledger.models import DocumentKind, FapiaoType, Method

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AmountField(forms.CharField):
    """A money amount typed by a person: accepts "1,234.50", "￥1234.5" and full-width digits; never float."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            d = to_decimal(value)
        except (ValueError, TypeError) as exc:
            raise ValidationError(_("Enter a valid amount."), code="invalid") from exc
        if not d.is_finite():
            raise ValidationError(_("Enter a valid amount."), code="invalid")
        return d


class CustomerField(CustomerPickerField):
    """A customer picked by code (or pk) among the customers the user may see (the autocomplete picker)."""


def attach_error(form: forms.Form, exc: DomainError) -> None:
    """Show a refused request on the form: on its field when the form has it, else on the form."""
    field = exc.field if exc.field and exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def new_request_key() -> str:
    return uuid.uuid4().hex


class ScopedForm(forms.Form):
    """A form whose choices are limited to the active company and the user's scope."""

    request_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, company, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        if "customer" in self.fields and customers is not None:
            self.fields["customer"].queryset = customers
        if not self.is_bound and "request_key" in self.fields:
            self.initial.setdefault("request_key", new_request_key())

    def clean_request_key(self):
        key = (self.cleaned_data.get("request_key") or "").strip()
        return key[:64] or None


class DocumentForm(ScopedForm):
    customer = CustomerField(label=_("Customer"))
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices, initial=DocumentKind.INVOICE)
    number = forms.CharField(label=_("Number"), max_length=40, required=False,
                             help_text=_("Leave blank to number automatically."))
    document_date = forms.DateField(label=_("Document date"), widget=DATE)
    currency = forms.ChoiceField(label=_("Currency"), choices=[("", _("Customer's currency"))] + CURRENCY_CHOICES,
                                 required=False)
    salesperson = forms.ModelChoiceField(label=_("Salesperson"), queryset=User.objects.none(), required=False,
                                         empty_label=_("Customer's owner"))
    payment_term = forms.ModelChoiceField(label=_("Payment terms"), queryset=PaymentTerm.objects.none(),
                                          required=False, empty_label=_("Customer's default terms"))
    reference = forms.CharField(label=_("Contract / order reference"), max_length=100, required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    total = AmountField(label=_("Total"), required=False, help_text=_("Or enter lines below."))
    # error slots for the repeated rows (rendered by hand in the template)
    lines = forms.CharField(required=False, widget=forms.HiddenInput)
    schedule = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = User.objects.filter(
            companies=self.company, role__in=[Role.SALESPERSON, Role.SALES_MANAGER], is_active=True
        ).order_by("username")
        self.fields["payment_term"].queryset = PaymentTerm.objects.filter(company=self.company, active=True)


class PaymentForm(ScopedForm):
    customer = CustomerField(label=_("Customer"))
    amount = AmountField(label=_("Amount"))
    date = forms.DateField(label=_("Date received"), widget=DATE)
    method = forms.ChoiceField(label=_("Method"), choices=[c for c in Method.choices if c[0]], initial=Method.TRANSFER)
    number = forms.CharField(label=_("Receipt number"), max_length=40, required=False,
                             help_text=_("Leave blank to number automatically."))
    reference = forms.CharField(label=_("Bank reference"), max_length=100, required=False)
    memo = forms.CharField(label=_("Memo"), max_length=300, required=False)
    bill_number = forms.CharField(label=_("Bill number"), max_length=40, required=False)
    bill_acceptor = forms.CharField(label=_("Acceptor"), max_length=200, required=False)
    bill_maturity_date = forms.DateField(label=_("Bill maturity"), required=False, widget=DATE)
    cheque_number = forms.CharField(label=_("Cheque number"), max_length=40, required=False)
    auto_allocate = forms.BooleanField(label=_("Apply to the oldest open items now"), required=False, initial=True)
    post_dated = forms.BooleanField(label=_("Post-dated payment: the money arrives on this later date"), required=False)


class CreditNoteForm(ScopedForm):
    customer = CustomerField(label=_("Customer"))
    document = forms.CharField(label=_("Related document number"), max_length=40, required=False)
    amount = AmountField(label=_("Amount"))
    date = forms.DateField(label=_("Date"), widget=DATE)
    number = forms.CharField(label=_("Credit note number"), max_length=40, required=False,
                             help_text=_("Leave blank to number automatically."))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    apply = forms.BooleanField(label=_("Apply now"), required=False, initial=True)
    keep_rest_as_credit = forms.BooleanField(
        label=_("Keep any amount above the document's open amount as credit on the customer's account"),
        required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class WriteOffForm(forms.Form):
    amount = AmountField(label=_("Amount"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class FapiaoForm(ScopedForm):
    customer = CustomerField(label=_("Customer"))
    document = forms.CharField(label=_("Related document number"), max_length=40, required=False)
    number = forms.CharField(label=_("Fapiao number"), max_length=40)
    fapiao_type = forms.ChoiceField(label=_("Type"), choices=FapiaoType.choices)
    issue_date = forms.DateField(label=_("Issue date"), widget=DATE)
    amount = AmountField(label=_("Amount incl. tax"))


class RedFapiaoForm(forms.Form):
    red_number = forms.CharField(label=_("Red fapiao number"), max_length=40)
    issue_date = forms.DateField(label=_("Issue date"), widget=DATE)
    amount = AmountField(label=_("Amount to reverse"), required=False,
                         help_text=_("Leave blank to reverse all that is left (a partial 红冲 reverses part of it)."))


class ApplyForm(forms.Form):
    """Manual application: one amount input per open instalment (named ``amt_<instalment pk>``)."""

    plan = forms.CharField(required=False, widget=forms.HiddenInput)  # error slot
