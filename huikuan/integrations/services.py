"""Webhook subscriptions: create, change, rotate the secret, enable, redeliver. Administrators only.

Each write is one durable transaction that locks the endpoint row and records an audit event. The secret
is stored as is (it must sign), shown to administrators only, and never logged in the audit trail.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed

from . import signing
from .events import EVENT_TYPES
from .models import Delivery, DeliveryStatus, Endpoint
from .targets import check_url

PERM = "admin.users"
MAX_OVERLAP_HOURS = 7 * 24


class WebhookError(DomainError):
    pass


def _check_actor(actor) -> None:
    if not actor.can(PERM) or actor.is_read_only:
        raise NotAllowed(_("Only administrators can manage webhooks."))


def _clean_events(events) -> list[str]:
    chosen = sorted({str(e).strip() for e in (events or []) if str(e).strip()})
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(_("Unknown event: %(event)s") % {"event": unknown[0]}, field="events")
    if not chosen:
        raise WebhookError(_("Choose at least one event."), field="events")
    return chosen


def _locked(company, endpoint_id) -> Endpoint:
    try:
        return Endpoint.objects.select_for_update().get(pk=int(endpoint_id), company=company)
    except (Endpoint.DoesNotExist, TypeError, ValueError) as exc:
        raise WebhookError(_("Unknown webhook endpoint."), field="endpoint") from exc


@transaction.atomic(durable=True)
def create_endpoint(*, actor, company, url: str, events, description: str = "") -> Endpoint:
    """Subscribe ``url`` to ``events``; a new ``whsec_`` secret is generated. Raises RefusedTarget, WebhookError."""
    _check_actor(actor)
    url = check_url(url)
    endpoint = Endpoint.objects.create(company=company, url=url, events=_clean_events(events),
                                       description=str(description).strip()[:200], secret=signing.new_secret(),
                                       created_by=actor)
    audit.record(actor=actor, verb="integrations.endpoint.created", target=endpoint, company_id=company.pk,
                 summary=url[:300], data={"events": endpoint.events})
    return endpoint


@transaction.atomic(durable=True)
def update_endpoint(*, actor, company, endpoint_id, url: str | None = None, events=None,
                    description: str | None = None) -> Endpoint:
    _check_actor(actor)
    endpoint = _locked(company, endpoint_id)
    before = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    if url is not None:
        endpoint.url = check_url(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = str(description).strip()[:200]
    endpoint.save()
    after = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    audit.record(actor=actor, verb="integrations.endpoint.updated", target=endpoint, company_id=company.pk,
                 summary=endpoint.url[:300], data={"before": before, "after": after})
    return endpoint


@transaction.atomic(durable=True)
def set_active(*, actor, company, endpoint_id, active: bool) -> Endpoint:
    """Enable (failures counted from zero again) or disable an endpoint. Waiting deliveries stay waiting
    while it is disabled and go out when it is enabled, within their 24-hour window."""
    _check_actor(actor)
    endpoint = _locked(company, endpoint_id)
    if endpoint.is_active != active:
        endpoint.is_active = active
        endpoint.consecutive_failures = 0 if active else endpoint.consecutive_failures
        endpoint.disabled_at = None if active else timezone.now()
        endpoint.disabled_reason = "" if active else "disabled by an administrator"
        endpoint.save()
        audit.record(actor=actor, verb="integrations.endpoint.enabled" if active else "integrations.endpoint.disabled",
                     target=endpoint, company_id=company.pk, summary=endpoint.url[:300])
        if active:
            transaction.on_commit(_kick, robust=True)
    return endpoint


@transaction.atomic(durable=True)
def rotate_secret(*, actor, company, endpoint_id, overlap_hours: int = 24, now: dt.datetime | None = None) -> Endpoint:
    """A new secret signs from now on; the old one keeps signing too (two signatures per message) for
    ``overlap_hours`` (0–168), so receivers can switch without losing a message."""
    _check_actor(actor)
    try:
        overlap_hours = int(overlap_hours)
    except (TypeError, ValueError) as exc:
        raise WebhookError(_("Enter the overlap in whole hours (0 to 168)."), field="overlap_hours") from exc
    if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
        raise WebhookError(_("Enter the overlap in whole hours (0 to 168)."), field="overlap_hours")
    endpoint = _locked(company, endpoint_id)
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret if overlap_hours else ""
    endpoint.previous_secret_expires_at = now + dt.timedelta(hours=overlap_hours) if overlap_hours else None
    endpoint.secret = signing.new_secret()
    endpoint.save()
    audit.record(actor=actor, verb="integrations.endpoint.secret_rotated", target=endpoint, company_id=company.pk,
                 summary=endpoint.url[:300], data={"overlap_hours": overlap_hours})
    return endpoint


@transaction.atomic(durable=True)
def redeliver(*, actor, company, delivery_id, now: dt.datetime | None = None) -> Delivery:
    """Send a delivery again (same ``webhook-id`` and body), with a fresh 24-hour retry window."""
    _check_actor(actor)
    try:
        d = (Delivery.objects.select_for_update().select_related("endpoint")
             .get(pk=int(delivery_id), endpoint__company=company))
    except (Delivery.DoesNotExist, TypeError, ValueError) as exc:
        raise WebhookError(_("Unknown delivery."), field="delivery") from exc
    if d.status == DeliveryStatus.SENDING:
        raise WebhookError(_("This delivery is being sent right now."), field="delivery")
    now = now or timezone.now()
    d.status, d.next_attempt_at, d.window_start, d.manual = DeliveryStatus.PENDING, now, now, True
    d.save(update_fields=["status", "next_attempt_at", "window_start", "manual"])
    audit.record(actor=actor, verb="integrations.delivery.redelivered", target=d.endpoint, company_id=company.pk,
                 summary=d.message.msg_id, data={"delivery": d.pk, "msg_id": d.message.msg_id})
    transaction.on_commit(_kick, robust=True)
    return d


@transaction.atomic(durable=True)
def send_test(*, actor, company, endpoint_id) -> Delivery:
    """Queue a ``webhook.test`` message to one endpoint (whatever it subscribes to)."""
    from .events import body_for, new_msg_id
    from .models import Message

    _check_actor(actor)
    endpoint = _locked(company, endpoint_id)
    now = timezone.now()
    message = Message.objects.create(company=company, msg_id=new_msg_id(), event_type="webhook.test",
                                     body=body_for(event_type="webhook.test", at=now,
                                                   data={"endpoint": endpoint.pk, "company_id": company.pk}))
    d = Delivery.objects.create(message=message, endpoint=endpoint, next_attempt_at=now, window_start=now)
    audit.record(actor=actor, verb="integrations.endpoint.tested", target=endpoint, company_id=company.pk,
                 summary=message.msg_id)
    transaction.on_commit(_kick, robust=True)
    return d


def _kick() -> None:
    from .tasks import deliver_webhooks

    deliver_webhooks.enqueue()
