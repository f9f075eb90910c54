"""The webhook worker: send due deliveries after commit, log every attempt, retry, disable failing endpoints.

Claiming: a short transaction takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and marks them
``sending`` (attempts + 1) before any network call, so two workers never send the same row at once. A row
still ``sending`` after ``STALE`` (the worker died mid-call) is claimed again: delivery is *at least once*
and the receiver de-duplicates by ``webhook-id``, which is the same on every attempt.

Outcome: a 2xx response delivers. Anything else (status, timeout, refused target, redirect) is logged and
retried with exponential backoff (``calculations.next_attempt``) for 24 hours, then the delivery fails.
Every failed attempt counts towards the endpoint's consecutive failures; a success resets them. At
``HUIKUAN_WEBHOOK_DISABLE_AFTER`` failures in a row the endpoint is disabled and the company's
administrators are told (e-mail and the audit trail). Its waiting deliveries wait; when an administrator
enables it again they go out (those past their 24-hour window get one more try), and failed ones can be
redelivered from the log.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huikuan.common import audit

from . import signing
from .calculations import next_attempt
from .models import Attempt, Delivery, DeliveryStatus, Endpoint
from .targets import RefusedTarget, check_url

STALE = dt.timedelta(minutes=5)
TIMEOUT = 10
BATCH = 100
USER_AGENT = "Huikuan-Webhooks/1"


def disable_after() -> int:
    return int(getattr(settings, "HUIKUAN_WEBHOOK_DISABLE_AFTER", 15))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is a failure: following it could reach a forbidden address


_opener = urllib.request.build_opener(_NoRedirect)


def _claim(now: dt.datetime, limit: int, endpoint_id=None) -> list[int]:
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(status=DeliveryStatus.SENDING,
                                                                       claimed_at__lte=now - STALE)
    with transaction.atomic():
        qs = Delivery.objects.filter(due, endpoint__is_active=True)
        if endpoint_id is not None:
            qs = qs.filter(endpoint_id=endpoint_id)
        ids = list(qs.select_for_update(skip_locked=True, of=("self",)).order_by("next_attempt_at", "pk")
                   .values_list("pk", flat=True)[:limit])
        Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.SENDING, claimed_at=now,
                                                   attempts=F("attempts") + 1)
    return ids


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """(status code or None, response text (start), error) of one POST; never raises."""
    check_url(url)
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        **headers, "content-type": "application/json", "user-agent": USER_AGENT})
    try:
        with _opener.open(req, timeout=TIMEOUT) as resp:  # noqa: S310 - http(s) checked by check_url
            return resp.status, resp.read(2000).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, (exc.read(2000) or b"").decode("utf-8", "replace"), ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, "", str(getattr(exc, "reason", exc))[:300]


def send(delivery: Delivery, *, now: dt.datetime, manual: bool = False) -> Attempt:
    """Make one attempt of ``delivery`` (already claimed) and record its outcome."""
    endpoint, message = delivery.endpoint, delivery.message
    stamp = int(now.timestamp())
    hdrs = signing.headers(endpoint.signing_secrets(now), message.msg_id, stamp, message.body)
    started = time.monotonic()
    try:
        code, text, error = post(endpoint.url, message.body, hdrs)
    except RefusedTarget as exc:  # stored in English: the log is read by whoever debugs the receiver
        with translation.override("en"):
            code, text, error = None, "", f"refused: {exc.message}"
    elapsed = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    if code is not None and not ok and not error:
        error = f"HTTP {code}"
    return _record(delivery.pk, now=now, ok=ok, code=code, text=text, error=error, elapsed=elapsed, manual=manual)


@transaction.atomic
def _record(delivery_id: int, *, now, ok, code, text, error, elapsed, manual) -> Attempt:
    d = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
    attempt = Attempt.objects.create(delivery=d, at=now, status_code=code, error=error[:300],
                                     response_body=text[:500], duration_ms=elapsed, manual=manual or d.manual)
    d.last_status_code, d.last_error, d.claimed_at, d.manual = code, error[:300], None, False
    if ok:
        d.status, d.delivered_at, d.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        Endpoint.objects.filter(pk=d.endpoint_id).update(consecutive_failures=0)
    else:
        nxt = next_attempt(attempts=d.attempts, window_start=d.window_start, now=now)
        d.status = DeliveryStatus.PENDING if nxt else DeliveryStatus.FAILED
        d.next_attempt_at = nxt
        Endpoint.objects.filter(pk=d.endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    d.save(update_fields=["status", "delivered_at", "next_attempt_at", "last_status_code", "last_error", "claimed_at",
                          "manual"])
    if not ok:
        endpoint = Endpoint.objects.select_for_update().get(pk=d.endpoint_id)
        if endpoint.is_active and endpoint.consecutive_failures >= disable_after():
            _disable(endpoint, now=now)
    return attempt


def _disable(endpoint: Endpoint, *, now) -> None:
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = f"{endpoint.consecutive_failures} failed attempts in a row"
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    audit.record(actor=None, verb="integrations.endpoint.disabled", target=endpoint, company_id=endpoint.company_id,
                 summary=endpoint.url[:300], data={"failures": endpoint.consecutive_failures})
    pk = endpoint.pk
    transaction.on_commit(lambda: notify_disabled(pk), robust=True)


def notify_disabled(endpoint_id: int) -> int:
    """E-mail the company's active administrators that the endpoint was disabled; returns how many."""
    from huikuan.accounts.models import Role, User

    endpoint = Endpoint.objects.select_related("company").get(pk=endpoint_id)
    admins = User.objects.filter(companies=endpoint.company, role=Role.ADMIN, is_active=True).exclude(email="")
    sent = 0
    for user in admins:
        with translation.override(getattr(user, "language", "") or "zh-hans"):
            subject = _("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url}
            text = _("After %(n)s failed attempts in a row, Huikuan stopped sending webhooks to %(url)s "
                     "(%(company)s). Fix the receiver, enable the endpoint again and redeliver the failed "
                     "messages from its delivery log.") % {"n": endpoint.consecutive_failures, "url": endpoint.url,
                                                           "company": endpoint.company.name}
        sent += send_mail(subject, text, None, [user.email], fail_silently=True)
    return sent


def process(*, now: dt.datetime | None = None, limit: int = BATCH, rounds: int = 20, endpoint_id=None) -> dict:
    """Send every due delivery; returns counts by outcome."""
    counts = {"delivered": 0, "failed": 0}
    for _round in range(rounds):
        at = now or timezone.now()
        ids = _claim(at, limit, endpoint_id)
        if not ids:
            break
        for d in Delivery.objects.filter(pk__in=ids).select_related("endpoint", "message").order_by("pk"):
            attempt = send(d, now=now or timezone.now())
            ok = attempt.status_code is not None and 200 <= attempt.status_code < 300
            counts["delivered" if ok else "failed"] += 1
        if len(ids) < limit:
            break
    return counts
