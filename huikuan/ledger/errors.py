from django.utils.translation import gettext_lazy as _

from huikuan.common.errors import ConcurrentChange, DomainError, NotAllowed


class LedgerError(DomainError):
    code = "ledger_error"


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class OverAllocation(LedgerError):
    code = "over_allocation"


class WrongCustomer(LedgerError):
    code = "wrong_customer"


class DuplicateNumber(LedgerError):
    code = "duplicate_number"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class InvalidSchedule(LedgerError):
    code = "invalid_schedule"


class SelfApproval(NotAllowed):
    code = "self_approval"


class DuplicateSubmission(ConcurrentChange):
    code = "duplicate_submission"

    def __init__(self, message=None, **kw):
        super().__init__(message or _("This form was already submitted."), **kw)


class TermsBeyondGrade(LedgerError):
    """A document's own terms (or hand-made schedule) give longer credit than the customer's grade allows."""

    code = "terms_beyond_grade"


class FutureDate(LedgerError):
    """A business date after today (payments may be post-dated only when the user confirms it)."""

    code = "future_date"


class OverFapiao(LedgerError):
    """Fapiao (net of red reversals) would exceed the document's amount, or a red fapiao its original."""

    code = "over_fapiao"


class PeriodClosed(LedgerError):
    """A business date on or before the company's lock date (a closed month)."""

    code = "period_closed"
