"""Bearer authentication with hashed API keys."""

import hmac

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiKey, hash_secret

# A key found valid is remembered this long (seconds) in the cache, with its user and company: the look-up was
# about a tenth of an API list request's CPU (docs/PERFORMANCE.md, issue 19). A change made elsewhere — a key
# revoked in another process without a shared cache, its user deactivated or given another role — takes effect
# within this time; revoke_api_key forgets the key at once (everywhere when the cache is Redis).
KEY_CACHE_SECONDS = 5


def key_cache_key(hashed_key: str) -> str:
    """The cache key of a remembered API key: the SHA-256 of the secret, which only its holder can compute."""
    return f"api:key:{hashed_key}"


def forget_key(hashed_key: str) -> None:
    cache.delete(key_cache_key(hashed_key))


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer hk_<prefix>_<secret>`` (or ``X-Api-Key``). Invalid, expired or revoked → 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        raw = ""
        header = authentication.get_authorization_header(request).decode(errors="ignore")
        if header.startswith(self.keyword + " "):
            raw = header[len(self.keyword) + 1 :].strip()
        elif request.META.get("HTTP_X_API_KEY"):
            raw = request.META["HTTP_X_API_KEY"].strip()
        if not raw:
            return None
        parts = raw.split("_")
        if len(parts) < 3 or parts[0] != "hk":
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        hashed = hash_secret(raw)
        key = cache.get(key_cache_key(hashed))  # the cache key is the secret's hash: a hit is a match
        if key is None:
            # prefix is unique: no ORDER BY (first() would sort by the model's ordering — a third of this look-up's CPU)
            key = next(iter(ApiKey.objects.select_related("user", "company").filter(prefix=parts[1]).order_by()[:1]),
                       None)
            if key is None or not hmac.compare_digest(key.hashed_key, hashed):
                raise exceptions.AuthenticationFailed(_("Invalid API key."))
            cache.set(key_cache_key(hashed), key, KEY_CACHE_SECONDS)
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if not key.is_usable():
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed(_("The key's user is inactive."))
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now  # and remembered so, or every call until the entry expires would update again
            cache.set(key_cache_key(hashed), key, KEY_CACHE_SECONDS)
        return key.user, key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "huikuan.api.auth.ApiKeyAuthentication"
    name = ["ApiKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"ApiKeyHeader": []}]  # either one, not both

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "hk_<prefix>_<secret>",
             "description": "`Authorization: Bearer hk_<prefix>_<secret>`"},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key",
             "description": "The same key in an `X-Api-Key` header instead of `Authorization`."},
        ]
