"""Customers' own bank accounts (开户行, 账号, 户名): the accounts they pay from.

Writes follow the customer master's rules (``customers.services``): one durable transaction, the
customer row locked first, the actor's permission (``customer.edit``) and visibility checked, an
audit event on the customer's timeline in the same transaction. An account number is stored
normalised and is unique within the company: a number recorded for one customer is refused for
another, naming the other customer only when the actor may see it.

Removing an account deletes the row (it is reference data, not history: no ledger row points at it);
the audit event keeps what was removed. Cash application reads these accounts as known payer
accounts (``banking.matching``) so the first statement already recognises the customer.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.common import audit

from .errors import DuplicateBankAccount, InvalidField, NotAllowed
from .models import Customer, CustomerBankAccount
from .services import _lock_customer, _require

BANK_ACCOUNT_FIELDS = ("bank_name", "account_number", "account_name", "note")
_SEPARATORS = re.compile(r"[\s\-_.·/]+")
_VALID = re.compile(r"[0-9A-Z]{6,34}")


def normalise_account_number(value) -> str:
    """'6222 0212-3456 7890' → '6222021234567890'; full-width digits folded, letters upper-case
    (IBAN-style numbers keep their letters). Returns '' for blank input; does not validate."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    return _SEPARATORS.sub("", text).upper()


def _text(value, *, field: str, max_length: int) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidField(_("Control characters are not allowed."), field=field)
    text = re.sub(r"\s+", " ", text)
    if len(text) > max_length:
        raise InvalidField(_("Ensure this value has at most %(max)d characters.") % {"max": max_length}, field=field)
    return text


def validate_bank_account(values: dict) -> dict:
    """Cleaned field values (only those given), or InvalidField naming the field at fault.

    Usable row by row by an import before anything is written.
    """
    out = {}
    if "account_number" in values:
        number = normalise_account_number(values["account_number"])
        if not number:
            raise InvalidField(_("Enter the account number."), field="account_number")
        if not _VALID.fullmatch(number):
            raise InvalidField(
                _("“%(value)s” is not a bank account number (6 to 34 digits or letters).")
                % {"value": str(values["account_number"])[:60]}, field="account_number")
        out["account_number"] = number
    if "bank_name" in values:
        out["bank_name"] = _text(values["bank_name"], field="bank_name", max_length=100)
    if "account_name" in values:
        out["account_name"] = _text(values["account_name"], field="account_name", max_length=200)
    if "note" in values:
        out["note"] = _text(values["note"], field="note", max_length=200)
    return out


def _refuse_duplicate(*, company_id: int, number: str, actor, exclude_pk: int | None = None) -> None:
    qs = CustomerBankAccount.objects.filter(company_id=company_id, account_number=number)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    holder_id = qs.values_list("customer_id", flat=True).first()
    if holder_id is None:
        return
    raise _duplicate(number=number, holder_id=holder_id, actor=actor)


def _duplicate(*, number: str, holder_id: int | None, actor) -> DuplicateBankAccount:
    holder = None
    if holder_id is not None:
        holder = Customer.objects.filter(owner_q(actor, "owner"), pk=holder_id).only("code", "name").first()
    if holder is not None:
        message = _("Account %(number)s is already recorded for customer %(code)s %(name)s.") % {
            "number": number, "code": holder.code, "name": holder.name}
    else:
        message = _("Account %(number)s is already recorded for another customer.") % {"number": number}
    return DuplicateBankAccount(message, field="account_number")


@transaction.atomic(durable=True)
def add_bank_account(*, customer_id: int, actor, account_number: str, bank_name: str = "", account_name: str = "",
                     note: str = "") -> CustomerBankAccount:
    """Record an account the customer pays from.

    Locks the customer. Raises NotAllowed (no permission / customer not visible), InvalidField (a bad
    value, with its field) or DuplicateBankAccount (the number is recorded for a customer already).
    """
    _require(actor, "customer.edit")
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    values = validate_bank_account({"account_number": account_number, "bank_name": bank_name,
                                    "account_name": account_name, "note": note})
    _refuse_duplicate(company_id=customer.company_id, number=values["account_number"], actor=actor)
    try:
        with transaction.atomic():
            acct = CustomerBankAccount.objects.create(company_id=customer.company_id, customer=customer,
                                                      created_by=actor, **values)
    except IntegrityError as exc:  # the same number recorded at the same moment by someone else
        raise _duplicate(number=values["account_number"], holder_id=None, actor=actor) from exc
    audit.record(actor=actor, verb="customers.bank_account.added", target=acct, company_id=customer.company_id,
                 customer_id=customer.pk, summary=str(acct)[:300], data=values)
    return acct


def _lock_bank_account(*, bank_account_id: int, actor) -> tuple[Customer, CustomerBankAccount]:
    customer_id = (CustomerBankAccount.objects.filter(pk=bank_account_id)
                   .values_list("customer_id", flat=True).first())
    if customer_id is None:
        raise NotAllowed(_("This bank account does not exist or is not visible to you."))
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    acct = CustomerBankAccount.objects.select_for_update().filter(pk=bank_account_id, customer=customer).first()
    if acct is None:  # removed while we waited for the customer's lock
        raise NotAllowed(_("This bank account does not exist or is not visible to you."))
    return customer, acct


@transaction.atomic(durable=True)
def update_bank_account(*, bank_account_id: int, actor, **changes) -> CustomerBankAccount:
    """Change an account's fields (same validation as ``add_bank_account``); the audit event keeps
    before → after."""
    _require(actor, "customer.edit")
    unknown = set(changes) - set(BANK_ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    customer, acct = _lock_bank_account(bank_account_id=bank_account_id, actor=actor)
    values = validate_bank_account(changes)
    if "account_number" in values and values["account_number"] != acct.account_number:
        _refuse_duplicate(company_id=customer.company_id, number=values["account_number"], actor=actor,
                          exclude_pk=acct.pk)
    before, after = {}, {}
    for name, new in values.items():
        old = getattr(acct, name)
        if old != new:
            before[name], after[name] = old, new
            setattr(acct, name, new)
    if not after:
        return acct
    try:
        with transaction.atomic():
            acct.save(update_fields=[*after, "updated_at"])
    except IntegrityError as exc:
        raise _duplicate(number=acct.account_number, holder_id=None, actor=actor) from exc
    audit.record(actor=actor, verb="customers.bank_account.updated", target=acct, company_id=customer.company_id,
                 customer_id=customer.pk, summary=str(acct)[:300], data={"before": before, "after": after})
    return acct


@transaction.atomic(durable=True)
def remove_bank_account(*, bank_account_id: int, actor) -> None:
    """Delete an account record; lines already matched keep their payments, later lines from this
    number are no longer recognised through it."""
    _require(actor, "customer.edit")
    customer, acct = _lock_bank_account(bank_account_id=bank_account_id, actor=actor)
    data = {name: getattr(acct, name) for name in BANK_ACCOUNT_FIELDS}
    audit.record(actor=actor, verb="customers.bank_account.removed", target=acct, company_id=customer.company_id,
                 customer_id=customer.pk, summary=str(acct)[:300], data=data)
    acct.delete()
