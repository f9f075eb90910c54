"""The "check this" flag of a customer: why someone should look at it, in the reader's language.

An import keeps a row whose value it cannot keep (a registration code failing its check character,
a phone number in no usual format) or that looks like a duplicate, and flags the customer instead of
refusing the whole file. The reasons are stored as text codes (``common.texts``, registered in ``customers.texts``) on
``Customer.review_notes`` and shown on the customer page until someone marks them checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from huikuan.common import audit, texts

from .models import Customer


def note(kind: str, /, **params) -> dict:
    """A review note as stored (``{"code", "params"}``)."""
    return texts.Text(f"customers.review.{kind}", **params).as_data()


def _lock(customer_id: int, actor) -> Customer:
    from huikuan.accounts.scoping import owner_q

    from .errors import NotAllowed

    customer = (Customer.objects.select_for_update().filter(owner_q(actor, "owner"), pk=customer_id).first())
    if customer is None:
        raise NotAllowed(_("This customer does not exist or is not yours."))
    return customer


@transaction.atomic(durable=True)
def flag_for_review(*, customer_id: int, actor, notes: Sequence[dict]) -> Customer:
    """Add reasons to check a customer (``note(...)`` dicts; one already there is not repeated).

    Locks the customer; needs ``customer.edit``; audited as customers.customer.flagged.
    """
    if not actor.can("customer.edit"):
        from .errors import NotAllowed

        raise NotAllowed(_("You are not allowed to change customers."))
    customer = _lock(customer_id, actor)
    added = [n for n in notes if n not in customer.review_notes]
    if not added:
        return customer
    customer.review_notes = [*customer.review_notes, *added]
    customer.save(update_fields=["review_notes", "updated_at"])
    audit.record(actor=actor, verb="customers.customer.flagged", target=customer, customer_id=customer.pk,
                 summary=str(customer), data={"notes": added})
    return customer


@transaction.atomic(durable=True)
def mark_reviewed(*, customer_id: int, actor) -> Customer:
    """Clear a customer's "check this" reasons (someone looked). Audited as customers.customer.reviewed."""
    if not actor.can("customer.edit"):
        from .errors import NotAllowed

        raise NotAllowed(_("You are not allowed to change customers."))
    customer = _lock(customer_id, actor)
    if not customer.review_notes:
        return customer
    cleared = customer.review_notes
    customer.review_notes = []
    customer.save(update_fields=["review_notes", "updated_at"])
    audit.record(actor=actor, verb="customers.customer.reviewed", target=customer, customer_id=customer.pk,
                 summary=str(customer), data={"notes": cleared})
    return customer


__all__ = ["flag_for_review", "mark_reviewed", "note"]
