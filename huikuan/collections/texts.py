"""Codes of the texts collections stores (task and case notes it writes, its timeline lines) and how its
audit events read — also those recorded before texts were stored as codes, from their data. Registered at
import (``CollectionsConfig.ready``); see ``common.texts``."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, texts
from huikuan.common.texts import Text

from .models import (
    ActivityKind,
    CapKind,
    CaseKind,
    CaseStatus,
    ClaimStatus,
    DisputeReason,
    InterestBasis,
    Outcome,
    Resolution,
    TaskKind,
    TaskStatus,
)

for _prefix, _choices in (("task_kind", TaskKind), ("task_status", TaskStatus), ("activity_kind", ActivityKind),
                          ("outcome", Outcome), ("dispute_reason", DisputeReason), ("resolution", Resolution),
                          ("case_kind", CaseKind), ("case_status", CaseStatus), ("interest_basis", InterestBasis),
                          ("cap_kind", CapKind), ("claim_status", ClaimStatus)):
    texts.register_choices(f"collections.{_prefix}", _choices)

texts.register({
    "collections.note.promise_broken": _("Promise broken: %(amount)s promised by %(date)s, %(paid)s paid"),
    "collections.note.plan_broken": _("Payment plan broken: %(amount)s due %(date)s is unpaid"),
    "collections.note.bill_maturing": _("Acceptance bill %(number)s (%(acceptor)s), %(amount)s, matures %(date)s: "
                                        "present it for payment (提示付款)"),
    "collections.event.task": _("%(kind)s, due %(due)s %(note)s"),
    "collections.event.activity": _("%(kind)s %(note)s"),
    "collections.event.activity_outcome": _("%(kind)s · %(outcome)s %(note)s"),
    "collections.event.dispute": _("%(reason)s %(amount)s"),
    "collections.event.resolution": _("%(resolution)s %(note)s"),
    "collections.event.case": _("%(number)s %(kind)s"),
    "collections.event.case_status": _("%(number)s %(old)s → %(new)s"),
    "collections.event.interest_rule": _("%(basis)s %(rate)s"),
    "collections.event.claim": _("%(number)s: claim %(principal)s + interest %(interest)s (%(status)s)"),
})


def choice(prefix: str, value) -> Text | str:
    """The label of a stored choice value as a Text (``""`` when empty or unknown)."""
    code = f"collections.{prefix}.{value}"
    return Text(code) if value and texts.is_registered(code) else ""


# What an old task note written by the system was (sentences in their writer's language).
OLD_NOTES = {
    "collections.playbook.reason_note": {"title": "choice:collections.playbook"},
    "collections.playbook.reason": {"title": "choice:collections.playbook"},
    "collections.note.promise_broken": {},
    "collections.note.plan_broken": {},
}


def old_note(value: str):
    return texts.recognise(value, OLD_NOTES) or value if value else value


def _labels(prefix: str, value) -> list[str]:
    """The label of ``value`` in each language (to strip it from an old summary)."""
    code = f"collections.{prefix}.{value}"
    if not value or not texts.is_registered(code):
        return []
    out = []
    for lang in texts.LANGUAGES:
        with translation.override(lang):
            out.append(str(Text(code)))
    return out


def _rest(summary: str, *labels_or_values) -> str:
    """An old summary without its leading labels/values (what is left is the user's note)."""
    rest = (summary or "").strip()
    for item in labels_or_values:
        for candidate in item if isinstance(item, list) else [item]:
            if candidate and rest.startswith(str(candidate)):
                rest = rest[len(str(candidate)):].lstrip(" ·")
                break
    return rest.strip()


def _task(ev):
    d = ev.data or {}
    note = _rest(ev.summary, _labels("task_kind", d.get("kind")), d.get("due") or "")
    return Text("collections.event.task", kind=choice("task_kind", d.get("kind")), due=d.get("due") or "",
                note=old_note(note) or "")


def _activity(ev):
    d = ev.data or {}
    note = _rest(ev.summary, _labels("activity_kind", d.get("kind")), _labels("outcome", d.get("outcome")))
    kind = choice("activity_kind", d.get("kind"))
    if d.get("outcome"):
        return Text("collections.event.activity_outcome", kind=kind, outcome=choice("outcome", d["outcome"]), note=note)
    return Text("collections.event.activity", kind=kind, note=note)


def _case(ev):
    d = ev.data or {}
    return Text("collections.event.case", number=(ev.summary or "").split(" ")[0], kind=choice("case_kind", d.get("kind")))


def _case_status(ev):
    d = ev.data or {}
    if not isinstance(d.get("before"), str):
        return None
    return Text("collections.event.case_status", number=(ev.summary or "").split(" ")[0],
                old=choice("case_status", d.get("before")), new=choice("case_status", d.get("after")))


def _money(value, summary: str = ""):
    from decimal import Decimal, InvalidOperation

    raw = value if value not in (None, "") else ((summary or "").rsplit(" ", 1) or [""])[-1]
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return str(raw)


audit.register_verb_details({
    "collections.task.created": _task,
    "collections.task.closed": lambda ev: choice("task_status", (ev.data or {}).get("status")),
    "collections.activity.logged": _activity,
    "collections.dispute.opened": lambda ev: Text(
        "collections.event.dispute", reason=choice("dispute_reason", (ev.data or {}).get("reason")),
        amount=_money((ev.data or {}).get("amount"), ev.summary)),
    "collections.dispute.resolved": lambda ev: Text(
        "collections.event.resolution", resolution=choice("resolution", (ev.data or {}).get("resolution")),
        note=_rest(ev.summary, _labels("resolution", (ev.data or {}).get("resolution")))),
    "collections.case.opened": _case,
    "collections.case.updated": _case_status,
    "collections.interest_rule.saved": lambda ev: Text(
        "collections.event.interest_rule", basis=choice("interest_basis", (ev.data or {}).get("basis")),
        rate=str((ev.data or {}).get("rate") or "")),
})
