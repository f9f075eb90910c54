"""Standard Webhooks signatures (https://www.standardwebhooks.com): pure, no Django.

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>`` over
``f"{webhook-id}.{webhook-timestamp}.{body}"``, keyed with the base64-decoded part of a ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    pass


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers; several secrets (a rotation's overlap) give several signatures."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }


def verify(secret: str, headers_: dict[str, str], body: str, *, now: int) -> None:
    """Raise InvalidSignature unless one ``v1`` signature matches and the timestamp is within tolerance."""
    h = {k.lower(): v for k, v in headers_.items()}
    try:
        msg_id, timestamp = h["webhook-id"], int(h["webhook-timestamp"])
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("missing headers") from exc
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp outside tolerance")
    expected = sign(secret, msg_id, timestamp, body)
    for candidate in h.get("webhook-signature", "").split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate, expected):
            return
    raise InvalidSignature("no matching signature")
