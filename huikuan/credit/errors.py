from huikuan.common.errors import DomainError, NotAllowed


class CreditError(DomainError):
    code = "credit_error"


class PolicyInvalid(CreditError):
    code = "policy_invalid"


class AboveGradeMaximum(CreditError):
    code = "above_grade_maximum"


class UnknownCustomer(CreditError):
    code = "unknown_customer"


class OrderNotOpen(CreditError):
    code = "order_not_open"
    status = 409


class OrderOnHold(CreditError):
    """A held order cannot be invoiced: it must be released (or cancelled) first."""

    code = "order_on_hold"
    status = 409


class SelfApproval(NotAllowed):
    code = "self_approval"
