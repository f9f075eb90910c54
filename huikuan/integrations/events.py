"""The event catalogue and the emit hook: audit events become webhook messages in the same transaction.

Every service already records an audit event inside its durable transaction. ``emit`` is registered as an
audit tap (``common.audit.register_tap``), so when a service records a verb listed in ``VERBS``, the
message and one delivery per subscribed, active endpoint are inserted in that same transaction: they
commit with the change or not at all (a transactional outbox), and the worker sends them after commit.
No service needs to know about webhooks, and a new service that records a mapped verb emits for free.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# event type → label shown when choosing what an endpoint receives
EVENT_TYPES: dict[str, object] = {
    "customer.created": _("Customer created"),
    "customer.updated": _("Customer updated"),
    "document.posted": _("Document posted"),
    "document.reversed": _("Document reversed"),
    "payment.recorded": _("Payment recorded"),
    "payment.applied": _("Payment applied"),
    "payment.reversed": _("Payment reversed"),
    "credit_hold.placed": _("Credit hold placed"),
    "credit_hold.released": _("Credit hold released"),
    "order.decided": _("Order decided"),
    "promise.made": _("Promise to pay made"),
    "promise.kept": _("Promise to pay kept"),
    "promise.broken": _("Promise to pay broken"),
    "dispute.opened": _("Dispute opened"),
    "dispute.resolved": _("Dispute resolved"),
    "statement.confirmed": _("Statement confirmed"),
    "statement.disputed": _("Statement disputed"),
    "warning.raised": _("Warning raised"),
}

# audit verb → event type
VERBS: dict[str, str] = {
    "customers.customer.created": "customer.created",
    "customers.customer.updated": "customer.updated",
    "ledger.document.posted": "document.posted",
    "ledger.document.reversed": "document.reversed",
    "ledger.payment.recorded": "payment.recorded",
    "ledger.credit.allocated": "payment.applied",
    "ledger.credit.reversed": "payment.reversed",
    "credit.hold.placed": "credit_hold.placed",
    "credit.hold.released": "credit_hold.released",
    "collections.promise.made": "promise.made",
    "collections.promise.kept": "promise.kept",
    "collections.promise.broken": "promise.broken",
    "collections.dispute.opened": "dispute.opened",
    "collections.dispute.resolved": "dispute.resolved",
    "statement.confirmed": "statement.confirmed",
    "statement.disputed": "statement.disputed",
}
# every decision on an order (held, approved, rejected, released, partly released, prepayment asked)
ORDER_PREFIX = "credit.order."
# warnings are raised by the early-warning app; any "<app>.warning.raised" verb is one
WARNING_SUFFIX = ".warning.raised"
# credits that are payments (a credit note, discount or write-off allocated is not "payment.applied")
PAYMENT_KINDS = {"payment"}


def event_type_for(verb: str) -> str | None:
    if verb in VERBS:
        return VERBS[verb]
    if verb.startswith(ORDER_PREFIX) and verb != "credit.order.remainder_held":
        return "order.decided"
    if verb.endswith(WARNING_SUFFIX):
        return "warning.raised"
    return None


def _value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def snapshot(obj) -> dict:
    """The object's fields as JSON values: money as decimal strings, dates ISO, foreign keys as ids."""
    out = {}
    for field in obj._meta.concrete_fields:
        if isinstance(field, models.BinaryField | models.FileField) or field.name in ("password", "secret"):
            continue
        out[field.attname] = _value(getattr(obj, field.attname))
    return out


def _target(event):
    from django.apps import apps

    if not event.target_type or event.target_id is None:
        return None
    try:
        model = apps.get_model(event.target_type)
    except (LookupError, ValueError):
        return None
    return model._default_manager.filter(pk=event.target_id).first()


def _customer(customer_id):
    from huikuan.customers.models import Customer

    if customer_id is None:
        return None
    c = Customer.objects.filter(pk=customer_id).values("id", "code", "name").first()
    return c


def new_msg_id() -> str:
    return "msg_" + secrets.token_hex(12)


def body_for(*, event_type: str, at: dt.datetime, data: dict) -> str:
    return json.dumps({"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def emit(event) -> None:
    """Audit tap: turn ``event`` into a message for each active endpoint of its company subscribed to it."""
    from .models import Delivery, Endpoint, Message

    event_type = event_type_for(event.verb)
    if event_type is None or event.company_id is None:
        return
    endpoints = [e for e in Endpoint.objects.filter(company_id=event.company_id, is_active=True)
                 if event_type in e.events]
    if not endpoints:
        return
    obj = _target(event)
    if event_type in ("payment.applied", "payment.reversed") and getattr(obj, "kind", None) not in PAYMENT_KINDS:
        return
    data = {
        "object": event.target_type,
        "id": event.target_id,
        "customer": _customer(event.customer_id),
        "company_id": event.company_id,
        "action": event.verb,
        "details": {k: v for k, v in (event.data or {}).items() if not k.startswith("_")},
        "current": snapshot(obj) if obj is not None else None,
    }
    now = timezone.now()
    message = Message.objects.create(company_id=event.company_id, msg_id=new_msg_id(), event_type=event_type,
                                     body=body_for(event_type=event_type, at=event.at or now, data=data),
                                     audit_event_id=event.pk)
    Delivery.objects.bulk_create([Delivery(message=message, endpoint=e, next_attempt_at=now, window_start=now)
                                  for e in endpoints])
    transaction.on_commit(_enqueue, robust=True)


def emit_many(*, verb: str, model, ids, company_id: int) -> None:
    """Bulk audit tap: rows a set-wise job created (early warnings) become one message each for every active
    endpoint of the company subscribed to the event — nothing is read when no endpoint wants it."""
    from .models import Delivery, Endpoint, Message

    event_type = event_type_for(verb)
    if event_type is None:
        return
    endpoints = [e for e in Endpoint.objects.filter(company_id=company_id, is_active=True) if event_type in e.events]
    if not endpoints:
        return
    from huikuan.customers.models import Customer

    now = timezone.now()
    customers: dict[int, dict] = {}
    rows = model._default_manager.filter(pk__in=ids).order_by("pk")
    last = 0
    while chunk := list(rows.filter(pk__gt=last)[:1000]):
        last = chunk[-1].pk
        wanted = {o.customer_id for o in chunk if getattr(o, "customer_id", None)} - set(customers)
        customers.update({c["id"]: c for c in Customer.objects.filter(pk__in=wanted).values("id", "code", "name")})
        messages = Message.objects.bulk_create([
            Message(company_id=company_id, msg_id=new_msg_id(), event_type=event_type,
                    body=body_for(event_type=event_type, at=now, data={
                        "object": model._meta.label_lower, "id": o.pk,
                        "customer": customers.get(getattr(o, "customer_id", None)), "company_id": company_id,
                        "action": verb, "details": {}, "current": snapshot(o)}))
            for o in chunk])
        if not all(m.pk for m in messages):  # a backend that does not return keys from bulk inserts
            messages = list(Message.objects.filter(msg_id__in=[m.msg_id for m in messages]))
        Delivery.objects.bulk_create([Delivery(message=m, endpoint=e, next_attempt_at=now, window_start=now)
                                      for m in messages for e in endpoints])
    transaction.on_commit(_enqueue, robust=True)


def _enqueue() -> None:
    from .tasks import deliver_webhooks

    deliver_webhooks.enqueue()
