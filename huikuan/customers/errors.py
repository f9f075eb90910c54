"""Refusals raised by customer-master services (all DomainError, messages translated lazily)."""

from huikuan.common.errors import ConcurrentChange, DomainError, NotAllowed


class CustomerError(DomainError):
    code = "customer_error"


class DuplicateCode(CustomerError):
    code = "duplicate_code"


class InvalidField(CustomerError):
    """One input field is wrong; ``field`` names it so the form can show the message beside it."""

    code = "invalid_field"


class CurrencyLocked(CustomerError):
    code = "currency_locked"


class InvalidUpload(CustomerError):
    code = "invalid_upload"


class InvalidTerms(CustomerError):
    code = "invalid_terms"


__all__ = [
    "ConcurrentChange",
    "CurrencyLocked",
    "CustomerError",
    "DuplicateBankAccount",
    "DuplicateCode",
    "InvalidField",
    "InvalidTerms",
    "InvalidUpload",
    "NotAllowed",
]


class DuplicateBankAccount(CustomerError):
    """The account number is already recorded for a customer of the company (one number, one customer)."""

    code = "duplicate_bank_account"
    status = 409
