"""API keys (stored hashed) and idempotency records for POSTs."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A revocable, expiring credential that acts for ``user``.

    ``role`` optionally narrows what the key may do to that role's permissions; ``customer`` optionally
    narrows what it may see to one customer (e.g. a key handed to that customer's ERP).
    Only ``prefix`` and the SHA-256 of the full key are stored; the key is shown once at creation.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    hashed_key = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("limit to role"), max_length=20, choices=Role.choices, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("limit to customer"),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"hk_{prefix}_{secrets.token_urlsafe(32)}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, perm: str) -> bool:
        from huikuan.accounts.models import PERMISSIONS

        if not self.user.can(perm):
            return False
        return not self.role or self.role in PERMISSIONS.get(perm, set())


class IdempotencyRecord(models.Model):
    """The stored outcome of a POST made with an ``Idempotency-Key`` header."""

    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    in_progress = models.BooleanField(default=True)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]
        verbose_name = _("idempotency record")

    def __str__(self) -> str:
        return self.key


__all__ = ["ApiKey", "IdempotencyRecord", "hash_secret", "Q"]
