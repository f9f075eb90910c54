"""The customer picker used by every staff form that names a customer (payment, invoice, credit note,
fapiao, credit check, order, third-party report): a text box with server-side autocomplete
(``web:customer-pick``, see ``selectors.customer_pick``) instead of a list capped at a few hundred rows.
The box holds the customer's code; the code (or a pk, from a ``?customer=`` link) is resolved among the
customers the user may see, so an out-of-scope code is simply "unknown"."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .models import Customer


class CustomerPickerInput(forms.TextInput):
    def __init__(self, attrs=None):
        base = {"autocomplete": "off", "spellcheck": "false", "data-customer-picker": "",
                "placeholder": _("Code, name, pinyin or phone"),
                "data-none": _("No customer matches. Keep typing, or check the code.")}
        super().__init__({**base, **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        try:
            context["widget"]["attrs"]["data-pick-url"] = reverse("web:customer-pick")
        except NoReverseMatch:  # a project without the staff UI: plain text box
            pass
        return context


class CustomerPickerField(forms.CharField):
    """Cleans to a ``Customer`` of ``queryset`` (set it to the user's scope), found by code, else by pk."""

    widget = CustomerPickerInput

    def __init__(self, *args, queryset=None, **kwargs):
        self.queryset = queryset if queryset is not None else Customer.objects.none()
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        value = value.strip().split(" ", 1)[0]
        found = self.queryset.filter(code=value).first()
        if found is None and value.isdigit():
            found = self.queryset.filter(pk=int(value)).first()
        if found is None:
            raise ValidationError(_("Unknown customer."), code="invalid")
        return found

    def prepare_value(self, value):
        if isinstance(value, Customer):
            return value.code
        if isinstance(value, int):  # a pk from ?customer=<pk>: show its code (if the user may see it)
            return self.queryset.filter(pk=value).values_list("code", flat=True).first() or ""
        return value
