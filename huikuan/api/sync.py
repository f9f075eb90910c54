"""Sync for integrators: ``updated_since``, keyset (cursor) pages and ``external_key`` (issue 18).

A list called with ``updated_since`` or ``cursor`` is read in change order — ``(updated_at, id)``
ascending — and paged by position, not by page number: ``next_cursor`` names the last row handed
out, and the next page starts strictly after it. Rows inserted or changed while a client pages on
land after every cursor already handed out, so nothing is skipped and nothing shifts (a row changed
mid-sync is simply met again at the end, which an upsert by id absorbs).

``external_key`` lookups filter on the caller's own key; a POST whose ``external_key`` is already
recorded answers 409 ``duplicate_external_key`` with the existing object's id (when the caller may
see it) instead of posting a second time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .errors import ApiError

SYNC_PARAMETERS = [
    OpenApiParameter(
        "updated_since", OpenApiTypes.DATETIME,
        description="Only objects created or changed at or after this instant (ISO 8601, e.g. "
                    "`2026-11-02T08:00:00+08:00`; a date means its midnight in the company's time zone). "
                    "The list is then in change order (`updated_at`, then `id`) and paged with `cursor`.",
    ),
    OpenApiParameter(
        "cursor", str,
        description="The `next_cursor` of the previous page: the next page of a change-ordered list. "
                    "Stable while other clients write (new and changed rows come after every cursor handed out).",
    ),
]
EXTERNAL_KEY_PARAMETERS = [
    OpenApiParameter("external_key", str, description="Only the object recorded with this external key "
                                                      "(your system's id for it)."),
    OpenApiParameter("external_source", str, description="With `external_key`: the source that recorded it "
                                                         "(`api` for objects posted through this API)."),
]


def parse_since(raw: str) -> dt.datetime:
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError(raw)
        value = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return _utc(value)


def _utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC. ISO 8601 admits offsets up to ±23:59, PostgreSQL only up to ±15:59, so an offset is
    never sent to the database as given; a time that leaves the calendar in UTC is a ``ValueError``."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(str(value)) from exc


def _invalid(name: str, message) -> ApiError:
    return ApiError(422, "invalid", message, {name: [message]})


def encode_cursor(at: dt.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[dt.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        at, pk = text.split("|")
        value = parse_datetime(at)
        if value is None or timezone.is_naive(value):
            raise ValueError(text)
        pk = int(pk)
        if not 0 <= pk < 2**63:
            raise ValueError(text)
        return _utc(value), pk
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("cursor", _("This cursor is not valid; start again from the first page.")) from exc


def sync_field(view, model) -> str:
    """The view's change-order field (``sync_field``, default ``updated_at``); a list without one refuses
    ``updated_since``/``cursor`` with 422 rather than failing on a missing column."""
    field = getattr(view, "sync_field", "updated_at")
    if not field or field not in {f.name for f in model._meta.get_fields()}:
        msg = _("This list cannot be read by change (no updated_since or cursor).")
        raise ApiError(422, "invalid", msg, {"updated_since": [msg]})
    return field


def sync_mode(request) -> bool:
    p = request.query_params
    return bool(p.get("updated_since") or p.get("cursor"))


def keyset_page(queryset, request, *, size: int, field: str = "updated_at"):
    """One page of ``queryset`` in change order: ``(rows, next_cursor, rest)`` where ``rest`` is the
    queryset of the rows from this page on (for the capped ``count``)."""
    p = request.query_params
    qs = queryset
    if p.get("updated_since"):
        try:
            since = parse_since(p["updated_since"])
        except ValueError as exc:
            raise _invalid("updated_since", _("Enter a valid date and time (ISO 8601).")) from exc
        qs = qs.filter(**{f"{field}__gte": since})
    if p.get("cursor"):
        at, pk = decode_cursor(p["cursor"])
        from django.db.models import Q

        qs = qs.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at, "pk__gt": pk}))
    qs = qs.order_by(field, "pk")
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        last_pk = last if isinstance(last, int) else last.pk
        at = queryset.model._default_manager.filter(pk=last_pk).values_list(field, flat=True).first()
        next_cursor = encode_cursor(at, last_pk)
    return rows, next_cursor, qs


def next_link(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    url = remove_query_param(request.build_absolute_uri(), "page")
    return replace_query_param(url, "cursor", cursor)


def filter_external_key(qs, request):
    p = request.query_params
    if "external_key" in p:
        key = p["external_key"]
        if not key:
            return qs.none()
        qs = qs.filter(external_key=key)
        if p.get("external_source"):
            qs = qs.filter(external_source=p["external_source"])
    return qs


def refuse_known_key(*, model, company, source: str, key: str, visible) -> None:
    """409 ``duplicate_external_key`` when ``key`` is already recorded for ``source`` in ``company``.

    ``visible`` is the caller's scoped queryset of ``model``: the existing id is named only when the
    caller may read that object (else ``existing_id`` is null — the key is taken all the same).
    """
    if not key:
        return
    existing = model._default_manager.filter(company=company, external_source=source, external_key=key) \
        .values_list("pk", flat=True).first()
    if existing is None:
        return
    shown = existing if visible.filter(pk=existing).exists() else None
    msg = _("An object with external key %(key)s already exists.") % {"key": key}
    raise ApiError(409, "duplicate_external_key", msg, {"external_key": [msg]}, existing_id=shown)
