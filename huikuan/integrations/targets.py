"""Which URLs a webhook may be sent to: http(s) only, and never this server's own network when forbidden.

``HUIKUAN_WEBHOOK_ALLOW_PRIVATE`` (default off) decides whether loopback, private, link-local and other
non-public addresses are allowed. The host is resolved and *every* address it resolves to is checked, at
subscription and again before each delivery (a DNS answer can change). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from huikuan.common.errors import DomainError


class RefusedTarget(DomainError):
    pass


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def check_url(url: str) -> str:
    """The URL, stripped, or RefusedTarget naming what is wrong (field ``url``)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget(_("The URL must start with http:// or https:// and name a host."), field="url")
    if parts.username or parts.password:
        raise RefusedTarget(_("Put no user name or password in the URL; the signature authenticates us."), field="url")
    if getattr(settings, "HUIKUAN_WEBHOOK_ALLOW_PRIVATE", False):
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise RefusedTarget(_("The host of this URL cannot be resolved."), field="url") from exc
    if not infos or not all(_public(info[4][0]) for info in infos):
        raise RefusedTarget(_("This URL points to a loopback or private address, which this installation forbids."),
                            field="url")
    return url
