"""Issuing and revoking API keys."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed

from .auth import forget_key
from .models import ApiKey, hash_secret


@transaction.atomic(durable=True)
def issue_api_key(*, actor, user, company, name: str, role: str = "", customer=None,
                  expires_in_days: int | None = 365) -> tuple[ApiKey, str]:
    """Create a key acting for ``user``; returns the key row and the secret (shown once, stored hashed)."""
    if not actor.can("admin.users"):
        raise NotAllowed(_("Only administrators can issue API keys."))
    if not name.strip():
        raise DomainError(_("Give the key a name."), field="name")
    if not user.companies.filter(pk=company.pk).exists():
        raise DomainError(_("The user does not belong to this company."), field="user")
    if customer is not None and customer.company_id != company.pk:
        raise DomainError(_("Unknown customer."), field="customer")
    if expires_in_days is not None and not 0 < expires_in_days <= 36_600:
        # a negative or zero validity would issue a key that is already expired (0 from the CLI means none)
        raise DomainError(_("The validity must be between 1 and 36,600 days (or none)."), field="expires_in_days")
    prefix, raw = ApiKey.generate()
    expires = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    key = ApiKey.objects.create(name=name.strip(), prefix=prefix, hashed_key=hash_secret(raw), user=user, company=company,
                                role=role, customer=customer, created_by=actor, expires_at=expires)
    audit.record(actor=actor, verb="api.key.issued", target=key, company_id=company.pk,
                 summary=f"{key.name} → {user.username}", data={"role": role, "customer": getattr(customer, "pk", None),
                                                               "expires_at": expires})
    return key, raw


@transaction.atomic(durable=True)
def revoke_api_key(*, actor, key_id: int) -> ApiKey:
    if not actor.can("admin.users"):
        raise NotAllowed(_("Only administrators can revoke API keys."))
    key = ApiKey.objects.select_for_update().get(pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor=actor, verb="api.key.revoked", target=key, company_id=key.company_id, summary=key.name)
        hashed = key.hashed_key
        transaction.on_commit(lambda: forget_key(hashed))  # not the few seconds a remembered key lives (api.auth)
    return key
