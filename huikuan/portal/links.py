"""The personal portal link a reminder carries (registered with ``dunning.hooks`` in ``PortalConfig.ready``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from huikuan.common import clock

from .models import PortalAccess


def public_base_url(company=None) -> str:
    """Where customers reach this installation: ``HUIKUAN_PUBLIC_URL``, else the origin of the portal
    address set under reminder settings, else "" (no personal link can be made)."""
    base = getattr(settings, "HUIKUAN_PUBLIC_URL", "")
    if base:
        return base.rstrip("/")
    if company is not None:
        from huikuan.dunning.context import settings_of

        parts = urlsplit(settings_of(company).portal_url or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def reminder_link(*, customer, contact=None) -> str:
    """A one-time sign-in link for ``contact`` (or the customer's primary contact with portal access);
    "" when nobody of this customer has access or no public address is known."""
    from .services import reminder_link as mint

    qs = PortalAccess.objects.filter(customer=customer, is_active=True, contact__is_active=True).select_related("contact")
    if contact is not None:
        qs = qs.filter(contact=contact)
    access = qs.order_by("-contact__is_primary", "pk").first()
    base = public_base_url(customer.company)
    if access is None or not base:
        return ""
    return mint(access=access, base_url=base, now=clock.now())
