"""Record audit events inside the caller's transaction, and describe them in the reader's language.

An event's ``verb`` is its code and ``data`` its parameters; what a person reads (the customer
timeline, the evidence pack) is rendered from those when shown:

- the title is the verb's label, registered by the app that owns the verb
  (``register_verb_labels`` in its ``AppConfig.ready()``, so this module never imports a higher layer);
- the detail is, in this order: the ``Text`` passed as ``summary`` (stored in ``data["_text"]``), the
  app's detail function for the verb (``register_verb_details``: it renders the event's ``data``, which
  is how events recorded before texts were stored as codes are shown in the reader's language), the
  field changes (``data["before"]`` / ``data["after"]``) as "field: old → new", else the stored
  ``summary`` — which services keep to language-neutral data (numbers, amounts, names).

Audit events are append-only (a trigger refuses UPDATE), so old rows are never rewritten: what they
need for rendering is already in their ``data``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import DecimalField
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from . import texts
from .models import AuditEvent
from .money import MoneyField

# verb → human label (lazy translation), shown on the customer timeline. Each app registers its own
# verbs in its AppConfig.ready(), so the timeline never needs to import a higher layer.
VERB_LABELS: dict[str, object] = {}
# verb → function(event) returning the detail (str, Text or None) from the event's data
VERB_DETAILS: dict[str, Callable[[AuditEvent], object]] = {}
# functions called with every recorded event, inside the recording transaction (integrations turns some
# into webhook messages there: a transactional outbox). Registered in AppConfig.ready().
TAPS: list[Callable[[AuditEvent], None]] = []
# functions called with rows a set-wise job created in bulk (the early warnings' daily run raises thousands in
# one INSERT … SELECT, with one audit event for the run): ``tap(verb=, model=, ids=, company_id=)``. ``ids`` is
# a lazy queryset of primary keys, read only by a tap that needs it (integrations: endpoints subscribed).
BULK_TAPS: list[Callable[..., None]] = []
# data keys of field changes that are bookkeeping, not fields a person changed
_NOT_FIELDS = {"version", "updated_at"}


def register_verb_labels(labels: dict[str, object]) -> None:
    VERB_LABELS.update(labels)


def register_verb_details(details: dict[str, Callable[[AuditEvent], object]]) -> None:
    VERB_DETAILS.update(details)


def register_tap(tap: Callable[[AuditEvent], None]) -> None:
    if tap not in TAPS:
        TAPS.append(tap)


def register_bulk_tap(tap: Callable[..., None]) -> None:
    if tap not in BULK_TAPS:
        BULK_TAPS.append(tap)


def announce(*, verb: str, model, ids, company_id: int) -> None:
    """Tell the bulk taps that a set-wise write created rows of ``model`` (``ids``: primary keys, may be a lazy
    queryset) — inside the writing transaction, like ``record``; no audit event per row."""
    for tap in BULK_TAPS:
        tap(verb=verb, model=model, ids=ids, company_id=company_id)


def verb_label(verb: str) -> str:
    """The verb's label in the active language; never the raw code."""
    label = VERB_LABELS.get(verb)
    return str(label) if label is not None else gettext("Other change")


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, texts.Text):
        return value.as_data()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(*, actor, verb: str, target=None, company_id=None, customer_id=None, summary="", data=None,
           business_date=None):
    """Append one audit event. Call inside the service's transaction so it commits with the change.

    ``business_date``: a posting's document or credit date (the audit report tells back-dated entries by it).

    ``summary`` is either language-neutral data (numbers, amounts, names) or a ``texts.Text``; a Text
    is stored in ``data["_text"]`` and rendered for each reader (the ``summary`` column then keeps its
    English rendering for people reading the table directly).
    """
    data = _plain(data or {})
    if isinstance(summary, texts.Text):
        data["_text"] = summary.as_data()
        with translation.override("en"):
            summary = str(summary)
    event = AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        verb=verb,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=target.pk if target is not None else None,
        company_id=company_id if company_id is not None else getattr(target, "company_id", None),
        customer_id=customer_id if customer_id is not None else getattr(target, "customer_id", None),
        summary=str(summary)[:300],
        data=data,
        business_date=business_date,
    )
    for tap in TAPS:
        tap(event)
    return event


# ---------------------------------------------------------------- describing events


@dataclass(frozen=True)
class Described:
    title: str
    detail: str


def _model(target_type: str):
    from django.apps import apps

    try:
        return apps.get_model(target_type) if target_type else None
    except (LookupError, ValueError):
        return None


def _field(model, name: str):
    try:
        return model._meta.get_field(name) if model is not None else None
    except Exception:  # noqa: BLE001 - FieldDoesNotExist, a removed field
        return None


def _related_names(events: Sequence[AuditEvent]) -> dict[tuple[str, object], str]:
    """str() of every related object named by a field change of ``events``: one query per model."""
    wanted: dict[object, set] = {}
    for ev in events:
        model = _model(ev.target_type)
        for side in ("before", "after"):
            values = (ev.data or {}).get(side)
            if not isinstance(values, dict):
                continue
            for name, value in values.items():
                field = _field(model, name)
                if field is not None and getattr(field, "many_to_one", False) and value not in (None, ""):
                    wanted.setdefault(field.related_model, set()).add(value)
    names = {}
    for related, pks in wanted.items():
        for pk, obj in related._default_manager.in_bulk([pk for pk in pks if isinstance(pk, int)]).items():
            names[(related._meta.label_lower, pk)] = str(obj)
    return names


def _value(field, value, names) -> str:
    if value is None or value == "":
        return "—"
    if field is None:
        return str(value)
    if getattr(field, "many_to_one", False):
        return names.get((field.related_model._meta.label_lower, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(field, MoneyField | DecimalField) and isinstance(value, str | int):
        from django.template.defaultfilters import floatformat

        try:
            return floatformat(Decimal(value), "2g")
        except InvalidOperation:
            return value
    return str(value)


def field_changes(event: AuditEvent, names: dict | None = None) -> str:
    """``data["before"]`` / ``data["after"]`` as "Field: old → new · …" in the reader's language."""
    data = event.data or {}
    before, after = data.get("before"), data.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    model = _model(event.target_type)
    names = names if names is not None else _related_names([event])
    parts = []
    for name in after:
        if name in _NOT_FIELDS:
            continue
        field = _field(model, name)
        if field is None:  # a field we cannot label would show a raw name
            continue
        parts.append(gettext("%(field)s: %(old)s → %(new)s") % {
            "field": capfirst(str(field.verbose_name)), "old": _value(field, before.get(name), names),
            "new": _value(field, after.get(name), names)})
    return " · ".join(parts)


def describe(events: Iterable[AuditEvent]) -> list[Described]:
    """Title and detail of each event in the active language (one extra query per related model)."""
    events = list(events)
    names = _related_names(events)
    out = []
    for ev in events:
        data = ev.data or {}
        detail = None
        if isinstance(data.get("_text"), dict):
            detail = texts.render(data["_text"])
        elif ev.verb in VERB_DETAILS:
            detail = texts.render(VERB_DETAILS[ev.verb](ev))
        if detail is None or detail == "":
            detail = field_changes(ev, names) or (detail if detail is not None else ev.summary)
        out.append(Described(verb_label(ev.verb), str(detail or "")))
    return out
