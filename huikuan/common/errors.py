"""One base for every business-rule refusal.

Interfaces map DomainError to a form error (web), a 4xx envelope (API) or a non-zero exit (CLI).
Messages are lazy translations so they reach the user in their language.
"""


class DomainError(Exception):
    """A request that breaks a business rule; nothing was changed."""

    code = "domain_error"
    status = 422

    def __init__(self, message, *, field: str | None = None, **params):
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403


class ConcurrentChange(DomainError):
    code = "conflict"
    status = 409
