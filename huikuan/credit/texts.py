"""Codes of the texts the credit app stores (hold reasons, check reasons, decisions, notifications)
and how its audit events read; registered at import (``CreditConfig.ready``). See ``common.texts``."""

from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, texts

from .models import HoldSource, OrderStatus, RequestKind

texts.register_choices("credit.hold_source", HoldSource)
texts.register_choices("credit.order_status", OrderStatus)
texts.register_choices("credit.request_kind", RequestKind)
texts.register({
    # hold reasons written by the system (a manual reason is the user's own text)
    "credit.hold.overdue_rule": _("%(days)s days overdue, %(amount)s overdue (grade %(grade)s rule)"),
    "credit.hold.overdue_cleared": _("Overdue cleared"),
    "credit.hold.dunning_notice": _("Dunning notice %(number)s"),
    "credit.hold.event": _("%(source)s: %(reason)s"),
    # credit check reasons (stored on the order)
    "credit.check.limit_expired": _("The credit limit expired on %(date)s."),
    "credit.check.limit_not_yet_valid": _("The credit limit is valid only from %(date)s."),
    "credit.check.no_limit": _("No credit limit is set; over by %(over)s."),
    "credit.check.over_limit": _("Over the credit limit by %(over)s."),
    "credit.check.on_hold": _("The customer is on credit hold (%(source)s): %(reason)s"),
    "credit.check.prepayment_required": _("Grade %(grade)s requires prepayment."),
    "credit.check.overdue": _("%(days)s days overdue (%(amount)s overdue)."),
    "credit.check.review_overdue": _("The credit review was due on %(date)s."),
    # decisions and notifications
    "credit.order.decision": _("%(reference)s %(amount)s: %(note)s"),
    "credit.notify.order_released": _("Order %(ref)s was released: %(note)s"),
    "credit.notify.order_partly_released": _("Order %(ref)s was released for %(amount)s of %(requested)s: %(note)s"),
    "credit.notify.order_partly_released_rest": _(
        "Order %(ref)s was released for %(amount)s of %(requested)s; the other %(rest)s stays on credit hold as "
        "order %(rest_ref)s: %(note)s"),
    "credit.notify.order_rejected": _("Order %(ref)s was rejected: %(note)s"),
    "credit.notify.order_prepayment": _("Order %(ref)s needs prepayment before release: %(note)s"),
    "credit.notify.request_rejected": _("Your request (%(kind)s) for %(customer)s was rejected: %(note)s"),
    "credit.notify.request_approved": _("Your request (%(kind)s) for %(customer)s was approved."),
    "credit.request.summary": _("%(kind)s: %(reason)s"),
    # credit check outcomes
    "credit.outcome.approve": _("Approve"),
    "credit.outcome.warn": _("Approve with warning"),
    "credit.outcome.hold": _("Hold"),
})

# what an old check reason (a sentence in its writer's language) was, by its stored code
CHECK_REASONS = {
    "limit_expired": ("credit.check.limit_expired", {}),
    "limit_not_yet_valid": ("credit.check.limit_not_yet_valid", {}),
    "no_limit": ("credit.check.no_limit", {"over": "money"}),
    "over_limit": ("credit.check.over_limit", {"over": "money"}),
    "prepayment_required": ("credit.check.prepayment_required", {}),
    "overdue": ("credit.check.overdue", {"days": "int", "amount": "money"}),
    "review_overdue": ("credit.check.review_overdue", {}),
}
NOTIFICATIONS = {
    "credit.notify.order_released": {}, "credit.notify.order_partly_released": {"amount": "money", "requested": "money"},
    "credit.notify.order_rejected": {}, "credit.notify.order_prepayment": {},
    "credit.notify.request_rejected": {"kind": "choice:credit.request_kind"},
    "credit.notify.request_approved": {"kind": "choice:credit.request_kind"},
}


def outcome_label(outcome: str) -> str:
    """approve / warn / hold as the reader sees it (never the code)."""
    return str(texts.Text(f"credit.outcome.{outcome}")) if texts.is_registered(f"credit.outcome.{outcome}") else ""


def check_reason(stored: dict) -> dict:
    """A reason stored on an order → {severity, code, message} with the message rendered when shown.
    Old rows carry ``message`` (a sentence): recognised as its code where it fits."""
    if isinstance(stored.get("text"), dict):
        message = texts.load(stored["text"])
    else:
        message = stored.get("message") or ""
        code, kinds = CHECK_REASONS.get(stored.get("code", ""), (None, None))
        if code and message:
            message = texts.recognise(message, {code: kinds}) or message
    return {"severity": stored.get("severity", ""), "code": stored.get("code", ""), "message": message}


# old hold reasons (stored as sentences in their writer's language) that can be read back as codes
HOLD_REASONS = {
    "credit.hold.overdue_rule": {"days": "int", "amount": "money"},
    "credit.hold.overdue_cleared": {},
}


def hold_reason(value, source: str = ""):
    """A stored hold reason as Text where an old sentence can be recognised (dunning holds stored the
    notice number alone)."""
    if not isinstance(value, str) or not value:
        return value
    if source == "dunning" and " " not in value.strip():
        return texts.Text("credit.hold.dunning_notice", number=value.strip())
    return texts.recognise(value, HOLD_REASONS) or value


def _hold_detail(event):
    data = event.data or {}
    source = data.get("source") or ""
    reason = texts.load(data.get("reason")) if isinstance(data.get("reason"), dict) else hold_reason(data.get("reason"), source)
    if source in HoldSource.values:
        return texts.Text("credit.hold.event", source=texts.Text(f"credit.hold_source.{source}"), reason=reason or "—")
    return reason


audit.register_verb_labels({
    "credit.policy.updated": _("Credit policy changed"),
    "credit.scorecard.proposed": _("Scorecard version proposed"),
    "credit.scorecard.accepted": _("Scorecard version accepted"),
    "credit.scorecard.declined": _("Scorecard version declined"),
})

audit.register_verb_details({
    "credit.hold.placed": _hold_detail,
    "credit.hold.released": _hold_detail,
})
