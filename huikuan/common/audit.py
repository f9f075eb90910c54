"""Record audit events inside the caller's transaction."""

from __future__ import annotations

from decimal import Decimal

from .models import AuditEvent

# verb → human label (lazy translation), shown on the customer timeline. Each app registers its own
# verbs in its AppConfig.ready(), so the timeline never needs to import a higher layer.
VERB_LABELS: dict[str, object] = {}


def register_verb_labels(labels: dict[str, object]) -> None:
    VERB_LABELS.update(labels)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(*, actor, verb: str, target=None, company_id=None, customer_id=None, summary: str = "", data=None):
    """Append one audit event. Call inside the service's transaction so it commits with the change."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        verb=verb,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=target.pk if target is not None else None,
        company_id=company_id if company_id is not None else getattr(target, "company_id", None),
        customer_id=customer_id if customer_id is not None else getattr(target, "customer_id", None),
        summary=str(summary)[:300],
        data=_plain(data or {}),
    )
