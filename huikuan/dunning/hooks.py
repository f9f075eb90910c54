"""What higher apps plug into reminders without dunning importing them (registered in their ``ready()``).

``portal_link(customer, contact, language)`` gives the personal customer-portal link a reminder carries
(``{{ portal_link }}``): the portal app mints a one-time sign-in link for the contact with portal access.
"""

from collections.abc import Callable

_portal_link: list[Callable] = []


def register_portal_link(fn: Callable) -> None:
    _portal_link[:] = [fn]


def portal_link(*, customer, contact=None) -> str:
    """A personal portal link for ``contact`` (else the customer's first contact with access), or ""."""
    return _portal_link[0](customer=customer, contact=contact) if _portal_link else ""
