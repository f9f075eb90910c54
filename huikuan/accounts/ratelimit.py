"""Password spraying: a limit on failed sign-ins from one address, whatever the usernames.

django-axes locks a username at one address after ``HUIKUAN_LOGIN_FAILURES`` failures; an attacker who tries
one common password against many usernames never reaches that. Here every failed sign-in from an address
counts towards ``HUIKUAN_LOGIN_FAILURES_PER_ADDRESS`` (default 20) within ``AXES_COOLOFF_TIME``; past it, every
sign-in from that address — even with a right password — is refused with the lock-out page until the window
ends. The counter lives in the cache, so with ``REDIS_URL`` the limit holds across processes and machines.
The address is the one django-axes sees (the client address behind the configured proxies).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied


def client_address(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``HUIKUAN_PROXY_COUNT`` reverse proxies the address
    the outermost of them saw (that many places from the right of X-Forwarded-For). Used by django-axes
    (``AXES_CLIENT_IP_CALLABLE``) and this module; DRF's throttles use the same count (``NUM_PROXIES``)."""
    count = int(getattr(settings, "HUIKUAN_PROXY_COUNT", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(count, len(hops))]
    return request.META.get("REMOTE_ADDR") or None


def _key(request) -> str | None:
    address = client_address(request) if request is not None else None
    return f"huikuan:login-failures:{address}" if address else None


def _window_seconds() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    if isinstance(cooloff, dt.timedelta):
        return int(cooloff.total_seconds())
    return int(float(cooloff) * 3600)


def limit() -> int:
    return int(getattr(settings, "HUIKUAN_LOGIN_FAILURES_PER_ADDRESS", 20))


def failures(request) -> int:
    key = _key(request)
    return int(cache.get(key, 0)) if key else 0


def record_failure(sender, credentials=None, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: one more failure for the request's address (the window starts with the
    first failure and is not extended by later ones)."""
    key = _key(request)
    if key is None:
        return
    cache.add(key, 0, timeout=_window_seconds())
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_window_seconds())


class AddressLimitBackend:
    """First authentication backend: refuses every sign-in from an address past its failure limit."""

    def authenticate(self, request, **credentials):
        if request is not None and failures(request) >= limit():
            request.axes_locked_out = True  # AxesMiddleware answers with the lock-out page
            raise PermissionDenied
        return None
    # no get_user(): it signs nobody in, so Django never picks it to load a session's user
