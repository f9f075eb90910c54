"""Every credit write: policy, profiles, holds, orders and their credit check, the hold queue, requests.

Each public service is one durable transaction. Anything about one customer takes that customer's
row lock first (``ledger.locks.customer``, the project-wide order), then the credit rows; an audit
event with ``customer_id`` is recorded in the same transaction, so it appears on the customer
timeline. Amounts are Decimal at two places (``InvalidAmount`` otherwise); dates are business dates
passed in by the caller (``as_of``/``on``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.common import audit
from huikuan.common.errors import NotAllowed
from huikuan.common.money import ZERO, has_valid_scale, round_money, to_decimal
from huikuan.common.texts import Text
from huikuan.customers import services as customer_services
from huikuan.customers.models import Customer, PaymentTerm
from huikuan.customers.services import check_upload
from huikuan.ledger import locks

from . import calculations as calc
from . import selectors
from .errors import (
    AboveGradeMaximum,
    CreditError,
    OrderNotOpen,
    OrderOnHold,
    PolicyInvalid,
    SelfApproval,
    UnknownCustomer,
)
from .models import (
    CreditPolicy,
    CreditProfile,
    CreditRequest,
    Grade,
    HoldSource,
    Mode,
    Notification,
    OrderStatus,
    ReportSource,
    RequestChannel,
    RequestKind,
    RequestStatus,
    SalesOrder,
    ScorecardVersion,
    ThirdPartyReport,
    VersionStatus,
)

DEFAULT_THRESHOLD = Decimal("500000.00")
# code, min, max, max limit, months of sales, max terms, prepayment, review days, hold days, hold amount
DEFAULT_GRADES = (
    ("AAA", 90, 100, "5000000.00", "3", 90, False, 365, 60, None),
    ("AA", 80, 89, "2000000.00", "2", 60, False, 365, 45, None),
    ("A", 70, 79, "1000000.00", "1.5", 45, False, 180, 30, None),
    ("B", 60, 69, "500000.00", "1", 30, False, 180, 15, None),
    ("C", 45, 59, "200000.00", "0.5", 15, False, 90, 7, None),
    ("D", 0, 44, "0.00", None, 0, True, 90, 0, None),
)


def _require(actor, perm: str) -> None:
    if actor is None or not actor.can(perm):
        raise NotAllowed(_("You do not have permission to do this."))


def _amount(value, *, field_name: str = "amount", allow_zero: bool = False) -> Decimal:
    try:
        d = to_decimal(value)
    except (ValueError, TypeError) as exc:
        raise CreditError(_("Enter a valid amount."), field=field_name) from exc
    # the magnitude first: has_valid_scale() quantizes, which fails on an amount like 1e30
    if not d.is_finite() or d < 0 or (d == 0 and not allow_zero) or d > Decimal("999999999999.99") or not has_valid_scale(d):
        raise CreditError(_("Enter a positive amount with at most two decimals."), field=field_name)
    return d.quantize(Decimal("0.01"))


def _lock_customer(company, customer_id, actor=None) -> Customer:
    try:
        customer = locks.customer(int(customer_id), company_id=company.pk)
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise UnknownCustomer(_("Unknown customer."), field="customer") from exc
    if actor is not None and getattr(actor, "pk", None) and not Customer.objects.filter(
            pk=customer.pk).filter(owner_q(actor)).exists():
        raise UnknownCustomer(_("Unknown customer."), field="customer")
    return customer


def _profile_locked(company, customer: Customer) -> CreditProfile:
    profile, _created = CreditProfile.objects.get_or_create(company=company, customer=customer)
    return CreditProfile.objects.select_for_update().get(pk=profile.pk)


def _notify(*, company, user, customer, order=None, message: Text) -> None:
    """Store a message for ``user`` (a Text: rendered in the language they read it in)."""
    if user is None:
        return
    Notification.objects.create(company=company, user=user, customer=customer, order=order, message=message)


# ---------------------------------------------------------------- policy


def _seed_policy(company) -> CreditPolicy:
    policy, created = CreditPolicy.objects.get_or_create(
        company=company, defaults={"approval_threshold_amount": DEFAULT_THRESHOLD})
    if created or not policy.grades.exists():
        Grade.objects.bulk_create([
            Grade(policy=policy, code=c, min_score=lo, max_score=hi, max_limit_amount=Decimal(lim),
                  max_limit_months=Decimal(m) if m else None, max_terms_days=t, prepayment_required=pre,
                  review_interval_days=rev, hold_days_overdue=hd, hold_overdue_amount=ha)
            for c, lo, hi, lim, m, t, pre, rev, hd, ha in DEFAULT_GRADES
        ])
    if not ScorecardVersion.objects.filter(company=company).exists():
        ScorecardVersion.objects.create(company=company, number=1, config=calc.DEFAULT_SCORECARD,
                                        status=VersionStatus.ACTIVE, note="default")
    return policy


def policy_of(company) -> CreditPolicy:
    """The company's policy, created with the default grades (AAA…D) and scorecard on first use."""
    policy = CreditPolicy.objects.filter(company=company).first()
    if policy is not None and policy.grades.exists():
        return policy
    with transaction.atomic():
        return _seed_policy(company)


def active_scorecard(company) -> ScorecardVersion:
    policy_of(company)
    return ScorecardVersion.objects.get(company=company, status=VersionStatus.ACTIVE)


@dataclass(frozen=True)
class GradeInput:
    code: str
    min_score: int
    max_score: int
    max_limit_amount: Decimal | None = None
    max_limit_months: Decimal | None = None
    max_terms_days: int | None = None
    prepayment_required: bool = False
    review_interval_days: int = 365
    hold_days_overdue: int | None = None
    hold_overdue_amount: Decimal | None = None


def _band_message(problems: list[str]) -> str:
    parts = []
    for p in problems:
        kind, _sep, rest = p.partition(":")
        if kind == "overlap":
            parts.append(gettext("the bands of %(grades)s overlap") % {"grades": rest})
        elif kind == "gap":
            parts.append(gettext("no grade covers scores %(range)s") % {"range": rest})
        elif kind == "duplicate":
            parts.append(gettext("a grade code is used twice"))
        elif kind == "invalid":
            parts.append(gettext("the band of %(grade)s is not within 0–100 or runs backwards") % {"grade": rest})
        else:
            parts.append(gettext("there are no grades"))
    return "; ".join(parts)


@transaction.atomic(durable=True)
def save_policy(*, company, actor, mode: str, approval_threshold_amount, grades: list[GradeInput]) -> CreditPolicy:
    """Replace the grades and settings. Bands must cover 0–100 without overlap or gap (PolicyInvalid)."""
    _require(actor, "credit.policy")
    if mode not in Mode.values:
        raise PolicyInvalid(_("Choose a limit mode."), field="mode")
    threshold = _amount(approval_threshold_amount, field_name="approval_threshold_amount", allow_zero=True)
    bands = [calc.Band(g.code.strip(), int(g.min_score), int(g.max_score)) for g in grades]
    if any(not b.code for b in bands):
        raise PolicyInvalid(_("Every grade needs a code."), field="grades")
    problems = calc.validate_bands(bands)
    if problems:
        raise PolicyInvalid(_("Score bands are invalid: %(problems)s.") % {"problems": _band_message(problems)},
                            field="grades")
    for g in grades:
        if g.max_limit_amount is not None:
            _amount(g.max_limit_amount, field_name="grades", allow_zero=True)
        if g.hold_overdue_amount is not None:
            _amount(g.hold_overdue_amount, field_name="grades", allow_zero=True)
    policy = _seed_policy(company)
    policy = CreditPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {"mode": policy.mode, "threshold": policy.approval_threshold_amount,
              "grades": list(policy.grades.values_list("code", "min_score", "max_score"))}
    policy.mode = mode
    policy.approval_threshold_amount = threshold
    policy.save(update_fields=["mode", "approval_threshold_amount", "updated_at"])
    policy.grades.all().delete()
    Grade.objects.bulk_create([
        Grade(policy=policy, code=g.code.strip(), min_score=g.min_score, max_score=g.max_score,
              max_limit_amount=g.max_limit_amount, max_limit_months=g.max_limit_months, max_terms_days=g.max_terms_days,
              prepayment_required=g.prepayment_required, review_interval_days=g.review_interval_days,
              hold_days_overdue=g.hold_days_overdue, hold_overdue_amount=g.hold_overdue_amount)
        for g in grades
    ])
    audit.record(actor=actor, verb="credit.policy.updated", target=policy, company_id=company.pk,
                 data={"before": before, "mode": mode, "threshold": threshold,
                       "grades": [[g.code, g.min_score, g.max_score] for g in grades]})
    return policy


def grade_row(company, code: str) -> Grade | None:
    if not code:
        return None
    return policy_of(company).grades.filter(code=code).first()


def grade_maximum_limit(grade: Grade | None, *, customer_id: int, as_of: dt.date) -> Decimal | None:
    """The grade's ceiling for a limit: the lower of the absolute maximum and months × average monthly
    sales (rounded half-up to the fen; ignored without sales in the last 12 months); None when the
    grade sets neither."""
    if grade is None:
        return None
    caps = []
    if grade.max_limit_amount is not None:
        caps.append(grade.max_limit_amount)
    if grade.max_limit_months is not None:
        # without sales history (a new customer) only the absolute maximum applies
        monthly = selectors.average_monthly_sales(customer_id=customer_id, as_of=as_of)
        if monthly > 0:
            caps.append(round_money(grade.max_limit_months * monthly))
    return min(caps) if caps else None


# ---------------------------------------------------------------- holds


def _hold_event(source: str, reason: str | Text) -> Text:
    return Text("credit.hold.event", source=Text(f"credit.hold_source.{source}"), reason=reason)


def _place_hold(*, company, customer: Customer, reason: str | Text, source: str, actor) -> CreditProfile:
    profile = _profile_locked(company, customer)
    if profile.on_hold and profile.hold_source == source and profile.hold_reason == reason:
        return profile
    profile.on_hold = True
    profile.hold_reason = reason
    profile.hold_source = source
    profile.hold_since = profile.hold_since or timezone.now()
    profile.save(update_fields=["on_hold", "hold_reason", "hold_source", "hold_since", "updated_at"])
    audit.record(actor=actor, verb="credit.hold.placed", target=profile, customer_id=customer.pk,
                 summary=_hold_event(source, reason), data={"reason": reason, "source": source})
    return profile


def _release_hold(*, company, customer: Customer, reason: str | Text, source: str, actor) -> CreditProfile:
    profile = _profile_locked(company, customer)
    if not profile.on_hold:
        return profile
    previous = profile.hold_source
    profile.on_hold = False
    profile.hold_reason = None
    profile.hold_source = ""
    profile.hold_since = None
    profile.save(update_fields=["on_hold", "hold_reason", "hold_source", "hold_since", "updated_at"])
    audit.record(actor=actor, verb="credit.hold.released", target=profile, customer_id=customer.pk,
                 summary=_hold_event(source, reason), data={"reason": reason, "source": source, "was": previous})
    return profile


def _check_source(source: str, actor) -> None:
    if source not in HoldSource.values:
        raise CreditError(_("Unknown hold source."), field="source")
    if source == HoldSource.MANUAL:
        _require(actor, "credit.hold")


@transaction.atomic(durable=True)
def place_hold(*, company, customer_id: int, reason: str | Text, source: str, actor) -> CreditProfile:
    """Put the customer on credit hold (new orders are held). ``source``: manual | automatic | dunning |
    playbook; a manual hold needs ``credit.hold``. Placing the same hold again changes nothing.

    ``reason``: a ``Text`` when the system composes it (rendered in each reader's language), the user's
    own words (≤ 300 characters) otherwise."""
    _check_source(source, actor)
    if isinstance(reason, str) or reason is None:
        reason = (reason or "").strip()[:300]
        if not reason:
            raise CreditError(_("A hold needs a reason."), field="reason")
    customer = _lock_customer(company, customer_id)
    return _place_hold(company=company, customer=customer, reason=reason, source=source, actor=actor)


@transaction.atomic(durable=True)
def release_hold(*, company, customer_id: int, reason: str | Text, source: str, actor) -> CreditProfile:
    """Lift the customer's hold. Automatic sources (automatic, dunning, playbook) only lift a hold they
    placed themselves; a manual release (``credit.hold``) lifts any hold. No hold: nothing changes."""
    _check_source(source, actor)
    customer = _lock_customer(company, customer_id)
    profile = CreditProfile.objects.filter(company=company, customer=customer).first()
    if profile is None or not profile.on_hold:
        return profile or _profile_locked(company, customer)
    if source != HoldSource.MANUAL and profile.hold_source != source:
        return profile
    return _release_hold(company=company, customer=customer, reason=reason or "", source=source, actor=actor)


@transaction.atomic(durable=True)
def reject_open_orders(*, company, customer_id: int, reason: str | Text, actor) -> int:
    """Reject every open or held order of the customer (e.g. a collections escalation); returns how many."""
    customer = _lock_customer(company, customer_id)
    orders = list(SalesOrder.objects.select_for_update().filter(
        customer=customer, status__in=[OrderStatus.OPEN, OrderStatus.HELD]).order_by("pk"))
    for order in orders:
        _decide(order, status=OrderStatus.REJECTED, note=reason, actor=actor, verb="credit.order.rejected")
    return len(orders)


# ---------------------------------------------------------------- credit check and orders


@dataclass(frozen=True)
class Reason:
    severity: str  # "hold" | "warn"
    code: str
    message: Text  # str() renders it in the reader's language

    def as_data(self) -> dict:
        """As stored on the order (``SalesOrder.check_reasons``)."""
        return {"severity": self.severity, "code": self.code, "text": self.message.as_data()}


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    amount: Decimal
    limit_amount: Decimal
    exposure_amount: Decimal
    available_amount: Decimal
    grade: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    order: SalesOrder | None = None
    unmatured_bills_amount: Decimal = ZERO  # part of the exposure: commercial bills not yet honoured

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome, "amount": str(self.amount), "limit": str(self.limit_amount),
            "exposure": str(self.exposure_amount), "unmatured_bills": str(self.unmatured_bills_amount),
            "available": str(self.available_amount), "grade": self.grade,
            "reasons": [{"severity": r.severity, "code": r.code, "message": str(r.message)} for r in self.reasons],
            "order": self.order.reference if self.order else None,
            "order_status": self.order.status if self.order else None,
        }


def evaluate(*, company, customer: Customer, amount: Decimal, as_of: dt.date,
             exclude_order_id: int | None = None) -> CheckResult:
    """The credit check's answer for ``amount`` more on top of the current exposure (no writes).

    Hold reasons: over the limit (hard mode; a warning in soft mode), on hold, grade requires
    prepayment, limit expired, overdue beyond the grade's hold rule. Warnings: anything overdue,
    review overdue, over the limit in soft mode.
    """
    policy = policy_of(company)
    profile = CreditProfile.objects.filter(company=company, customer=customer).first()
    grade = policy.grades.filter(code=profile.grade).first() if profile and profile.grade else None
    limit = profile.limit_amount if profile else ZERO
    expo = selectors.exposure(customer=customer, exclude_order_id=exclude_order_id)
    reasons: list[Reason] = []
    expired = bool(profile and profile.valid_to and profile.valid_to < as_of and limit > 0)
    if expired:
        reasons.append(Reason("hold", "limit_expired", Text("credit.check.limit_expired", date=profile.valid_to)))
        limit = ZERO
    if profile and profile.valid_from and profile.valid_from > as_of:
        reasons.append(Reason("hold", "limit_not_yet_valid", Text("credit.check.limit_not_yet_valid", date=profile.valid_from)))
        limit = ZERO
    available = limit - expo.total
    over = amount - available
    if over > 0:
        sev = "hold" if policy.mode == Mode.HARD else "warn"
        if limit == 0 and not expired:
            reasons.append(Reason(sev, "no_limit", Text("credit.check.no_limit", over=over)))
        else:
            reasons.append(Reason(sev, "over_limit", Text("credit.check.over_limit", over=over)))
    if profile and profile.on_hold:
        reasons.append(Reason("hold", f"on_hold_{profile.hold_source or 'manual'}", Text(
            "credit.check.on_hold", source=Text(f"credit.hold_source.{profile.hold_source or 'manual'}"),
            reason=profile.hold_reason or "—")))
    if grade and grade.prepayment_required:
        reasons.append(Reason("hold", "prepayment_required", Text("credit.check.prepayment_required", grade=grade.code)))
    od = selectors.overdue(customer_id=customer.pk, as_of=as_of)
    if od.max_days > 0:
        rule = grade and calc.hold_rule_triggered(
            max_days_overdue=od.max_days, overdue_amount=od.amount, hold_days=grade.hold_days_overdue,
            hold_amount=grade.hold_overdue_amount)
        reasons.append(Reason("hold" if rule else "warn", "overdue",
                              Text("credit.check.overdue", days=od.max_days, amount=od.amount)))
    if profile and profile.next_review_date and profile.next_review_date < as_of:
        reasons.append(Reason("warn", "review_overdue", Text("credit.check.review_overdue", date=profile.next_review_date)))
    return CheckResult(outcome=calc.outcome([(r.severity, r.code) for r in reasons]), amount=amount,
                       limit_amount=limit, exposure_amount=expo.total, available_amount=available,
                       grade=profile.grade if profile else "", reasons=tuple(reasons),
                       unmatured_bills_amount=expo.unmatured_bills)


def check_credit(*, company, customer_id: int, amount, as_of: dt.date, actor=None) -> CheckResult:
    """A credit check that reserves nothing (web form, CLI, API without an order reference)."""
    amount = _amount(amount)
    try:
        qs = Customer.objects.filter(company=company)
        if actor is not None:
            qs = qs.filter(owner_q(actor))
        customer = qs.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise UnknownCustomer(_("Unknown customer."), field="customer") from exc
    return evaluate(company=company, customer=customer, amount=amount, as_of=as_of)


@transaction.atomic(durable=True)
def submit_order(*, company, customer_id: int, reference: str, amount, as_of: dt.date, actor) -> CheckResult:
    """Check an order and reserve it: approve/warn → open (counts towards exposure), hold → the queue.

    Runs under the customer's row lock, so two orders racing for the last available credit are
    checked one after the other and never both approved. An existing open or held order with the
    same reference is re-checked with its new amount (its old amount no longer counts).
    """
    _require(actor, "credit.order")
    amount = _amount(amount)
    reference = (reference or "").strip()
    if not reference:
        raise CreditError(_("An order needs a reference."), field="reference")
    customer = _lock_customer(company, customer_id, actor)
    existing = SalesOrder.objects.select_for_update().filter(company=company, reference=reference).first()
    if existing is not None and (existing.customer_id != customer.pk or existing.status not in (OrderStatus.OPEN, OrderStatus.HELD)):
        raise OrderNotOpen(_("Order %(ref)s already exists and can no longer be changed.") % {"ref": reference},
                           field="reference")
    result = evaluate(company=company, customer=customer, amount=amount, as_of=as_of,
                      exclude_order_id=existing.pk if existing else None)
    status = OrderStatus.HELD if result.outcome == "hold" else OrderStatus.OPEN
    reasons = [r.as_data() for r in result.reasons]
    if existing is None:
        order = SalesOrder.objects.create(
            company=company, customer=customer, reference=reference, amount=amount, requested_amount=amount,
            status=status, check_outcome=result.outcome, check_reasons=reasons, requested_by=actor)
    else:
        order = existing
        order.amount = order.requested_amount = amount
        order.status, order.check_outcome, order.check_reasons = status, result.outcome, reasons
        order.save(update_fields=["amount", "requested_amount", "status", "check_outcome", "check_reasons", "updated_at"])
    audit.record(actor=actor, verb="credit.order.held" if status == OrderStatus.HELD else "credit.order.approved",
                 target=order, summary=f"{reference} {amount}",
                 data={"amount": amount, "outcome": result.outcome, "reasons": [r.code for r in result.reasons],
                       "available": result.available_amount})
    return CheckResult(**{**result.__dict__, "order": order})


_DECISION_TEXTS = {
    "credit.order.released": "credit.notify.order_released",
    "credit.order.partly_released": "credit.notify.order_partly_released",
    "credit.order.rejected": "credit.notify.order_rejected",
    "credit.order.prepayment_requested": "credit.notify.order_prepayment",
}


def _decide(order: SalesOrder, *, status: str, note: str | Text, actor, verb: str, amount: Decimal | None = None,
            remainder: SalesOrder | None = None) -> None:
    order.status = status
    order.decision_note = note[:300] if isinstance(note, str) else note
    order.decided_by = actor if getattr(actor, "pk", None) else None
    order.decided_at = timezone.now()
    fields = ["status", "decision_note", "decided_by", "decided_at", "updated_at"]
    if amount is not None:
        order.amount = amount
        fields.append("amount")
    order.save(update_fields=fields)
    audit.record(actor=actor, verb=verb, target=order,
                 summary=Text("credit.order.decision", reference=order.reference, amount=order.amount, note=note),
                 data={"reference": order.reference, "amount": order.amount, "requested": order.requested_amount,
                       "note": note})
    if remainder is not None:
        message = Text("credit.notify.order_partly_released_rest", ref=order.reference, note=note, amount=order.amount,
                       requested=order.requested_amount, rest=remainder.amount, rest_ref=remainder.reference)
    else:
        message = Text(_DECISION_TEXTS[verb], ref=order.reference, note=note, amount=order.amount,
                       requested=order.requested_amount)
    _notify(company=order.company, user=order.requested_by, customer=order.customer, order=order, message=message)


def _remainder_reference(order: SalesOrder) -> str:
    """``<reference>-R<n>``, the first n not used in the company (references are unique)."""
    n = 1
    while True:
        suffix = f"-R{n}"
        reference = order.reference[: 60 - len(suffix)] + suffix
        if not SalesOrder.objects.filter(company_id=order.company_id, reference=reference).exists():
            return reference
        n += 1


def _hold_remainder(order: SalesOrder, *, rest: Decimal, actor) -> SalesOrder:
    """The unreleased part of a partly released order, as a new order still on hold (same requester,
    same check reasons), so it stays in the queue and out of exposure until decided."""
    remainder = SalesOrder.objects.create(
        company=order.company, customer=order.customer, reference=_remainder_reference(order), amount=rest,
        requested_amount=rest, status=OrderStatus.HELD, check_outcome=order.check_outcome or "hold",
        check_reasons=order.check_reasons, prepayment_requested=order.prepayment_requested,
        requested_by=order.requested_by, split_from=order)
    audit.record(actor=actor, verb="credit.order.remainder_held", target=remainder, customer_id=order.customer_id,
                 summary=f"{remainder.reference} {rest}",
                 data={"reference": remainder.reference, "amount": rest, "split_from": order.reference})
    return remainder


QUEUE_ACTIONS = ("release", "partial", "prepayment", "reject")


@transaction.atomic(durable=True)
def decide_held_order(*, company, order_id: int, action: str, reason: str, actor, amount=None) -> SalesOrder:
    """Credit manager's decision on a held order: release, release part (``amount`` < the order: the
    order is released for that amount and the rest becomes a new held order ``<reference>-R<n>`` in the
    queue), request prepayment (stays held), or reject. The requester is notified."""
    _require(actor, "credit.hold")
    if action not in QUEUE_ACTIONS:
        raise CreditError(_("Unknown action."), field="action")
    if not (reason or "").strip():
        raise CreditError(_("Give a reason for the decision."), field="reason")
    try:
        head = SalesOrder.objects.only("customer_id").get(pk=order_id, company=company)
    except (SalesOrder.DoesNotExist, ValueError, TypeError) as exc:
        raise CreditError(_("Unknown order.")) from exc
    _lock_customer(company, head.customer_id)
    order = SalesOrder.objects.select_for_update(of=("self",)).select_related("customer", "requested_by", "company").get(pk=order_id)
    if order.status != OrderStatus.HELD:
        raise OrderNotOpen(_("This order is not on credit hold any more."))
    reason = reason.strip()
    if action == "release":
        _decide(order, status=OrderStatus.OPEN, note=reason, actor=actor, verb="credit.order.released")
    elif action == "partial":
        part = _amount(amount)
        if part >= order.amount:
            raise CreditError(_("A partial release must be less than the order (%(amount)s).")
                              % {"amount": f"{order.amount:,.2f}"}, field="amount")
        remainder = _hold_remainder(order, rest=order.amount - part, actor=actor)
        _decide(order, status=OrderStatus.OPEN, note=reason, actor=actor, verb="credit.order.partly_released", amount=part,
                remainder=remainder)
    elif action == "prepayment":
        order.prepayment_requested = True
        order.save(update_fields=["prepayment_requested", "updated_at"])
        _decide(order, status=OrderStatus.HELD, note=reason, actor=actor, verb="credit.order.prepayment_requested")
    else:
        _decide(order, status=OrderStatus.REJECTED, note=reason, actor=actor, verb="credit.order.rejected")
    return order


@transaction.atomic(durable=True)
def set_order_status(*, company, order_id: int, status: str, actor) -> SalesOrder:
    """Mark an open order invoiced or cancelled (it stops counting towards exposure); a held order may
    only be cancelled (OrderOnHold: it must be released before it is invoiced)."""
    _require(actor, "credit.order")
    if status not in (OrderStatus.INVOICED, OrderStatus.CANCELLED):
        raise CreditError(_("Unknown status."), field="status")
    try:
        head = SalesOrder.objects.only("customer_id").get(pk=order_id, company=company)
    except (SalesOrder.DoesNotExist, ValueError, TypeError) as exc:
        raise CreditError(_("Unknown order.")) from exc
    _lock_customer(company, head.customer_id, actor)
    order = SalesOrder.objects.select_for_update().get(pk=order_id)
    if order.status not in (OrderStatus.OPEN, OrderStatus.HELD):
        raise OrderNotOpen(_("This order is already closed."))
    if order.status == OrderStatus.HELD and status == OrderStatus.INVOICED:
        raise OrderOnHold(_("This order is on credit hold: release it before marking it invoiced."), field="status")
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    audit.record(actor=actor, verb=f"credit.order.{status}", target=order, summary=order.reference)
    return order


# ---------------------------------------------------------------- profile


@transaction.atomic(durable=True)
def update_profile(*, company, customer_id: int, actor, next_review_date: dt.date | None, guarantees: str,
                   guarantee_amount, collateral: str, collateral_amount, limit_amount=None,
                   valid_from: dt.date | None = None, valid_to: dt.date | None = None) -> CreditProfile:
    """Edit the profile's review date, guarantees and collateral (``credit.profile.edit``).

    The limit may only be *lowered* here (and its validity set); raising it, or changing terms, is a
    ``CreditRequest`` for someone else to approve.
    """
    _require(actor, "credit.profile.edit")
    customer = _lock_customer(company, customer_id)
    profile = _profile_locked(company, customer)
    before = {"limit": profile.limit_amount, "valid_to": profile.valid_to, "review": profile.next_review_date}
    changes = {}
    if limit_amount not in (None, ""):
        new_limit = _amount(limit_amount, field_name="limit_amount", allow_zero=True)
        if new_limit > profile.limit_amount:
            raise NotAllowed(_("Raising a limit needs an approved request."), field="limit_amount")
        changes["limit_amount"] = new_limit
    if valid_to and valid_from and valid_to < valid_from:
        raise CreditError(_("The validity ends before it starts."), field="valid_to")
    profile.next_review_date = next_review_date
    profile.guarantees = guarantees or ""
    profile.guarantee_amount = _amount(guarantee_amount or 0, field_name="guarantee_amount", allow_zero=True)
    profile.collateral = collateral or ""
    profile.collateral_amount = _amount(collateral_amount or 0, field_name="collateral_amount", allow_zero=True)
    if valid_from is not None:
        profile.valid_from = valid_from
    if valid_to is not None:
        profile.valid_to = valid_to
    for k, v in changes.items():
        setattr(profile, k, v)
    profile.save()
    audit.record(actor=actor, verb="credit.profile.updated", target=profile, customer_id=customer.pk,
                 data={"before": before, "limit": profile.limit_amount, "valid_to": profile.valid_to,
                       "review": profile.next_review_date})
    return profile


# ---------------------------------------------------------------- requests (maker-checker)


def _grade_checks(company, customer_id: int, *, grade_code: str, limit: Decimal | None, terms: int | None,
                  as_of: dt.date) -> bool:
    """True when the limit or terms exceed the grade's maximum (an exception)."""
    grade = grade_row(company, grade_code)
    if grade is None:
        return False
    if limit is not None:
        cap = grade_maximum_limit(grade, customer_id=customer_id, as_of=as_of)
        if cap is not None and limit > cap:
            return True
    return terms is not None and grade.max_terms_days is not None and terms > grade.max_terms_days


@transaction.atomic(durable=True)
def request_change(*, company, customer_id: int, kind: str, reason: str, actor, as_of: dt.date,
                   limit_amount=None, valid_to: dt.date | None = None, terms_days: int | None = None,
                   payment_term: PaymentTerm | None = None, grade: str = "", exception: bool = False,
                   channel: str = RequestChannel.CREDIT) -> CreditRequest:
    """Ask for a limit, terms, hold release or grade change; someone else approves it.

    A terms request names payment terms (``payment_term``, its longest days are the terms) or a
    number of days (the customer then gets plain net N days on approval).
    A limit or terms above the grade's maximum is refused (AboveGradeMaximum) unless ``exception`` is
    asked for; an exception, or a limit above the policy's threshold, needs a second approver.
    """
    _require(actor, "credit.request")
    if kind not in RequestKind.values:
        raise CreditError(_("Unknown request."), field="kind")
    if not (reason or "").strip():
        raise CreditError(_("A request needs a reason."), field="reason")
    customer = _lock_customer(company, customer_id, actor)
    profile = _profile_locked(company, customer)
    policy = policy_of(company)
    limit = None
    if kind == RequestKind.LIMIT:
        limit = _amount(limit_amount, field_name="limit_amount", allow_zero=True)
    elif kind == RequestKind.TERMS:
        if payment_term is not None:
            if payment_term.company_id != company.pk or not payment_term.active:
                raise CreditError(_("Choose payment terms of this company."), field="payment_term")
            terms_days = payment_term.longest_days()
        if terms_days is None or int(terms_days) < 0 or int(terms_days) > 3650:
            raise CreditError(_("Enter the terms in days."), field="terms_days")
        terms_days = int(terms_days)
    elif kind == RequestKind.GRADE:
        if grade and grade_row(company, grade) is None:
            raise CreditError(_("Unknown grade."), field="grade")
    elif kind == RequestKind.HOLD_RELEASE and not profile.on_hold:
        raise CreditError(_("The customer is not on hold."))
    above = _grade_checks(company, customer.pk, grade_code=profile.grade, limit=limit,
                          terms=terms_days if kind == RequestKind.TERMS else None, as_of=as_of)
    if above and not exception:
        raise AboveGradeMaximum(
            _("This is above the maximum for grade %(grade)s; ask for an exception.") % {"grade": profile.grade},
            field="limit_amount" if kind == RequestKind.LIMIT else "terms_days")
    needs_second = above or (limit is not None and limit > policy.approval_threshold_amount)
    return _record_request(company=company, customer=customer, kind=kind, limit=limit, valid_to=valid_to,
                           terms_days=terms_days if kind == RequestKind.TERMS else None,
                           payment_term=payment_term if kind == RequestKind.TERMS else None,
                           grade=grade if kind == RequestKind.GRADE else "", reason=reason.strip(),
                           exception=above, needs_second=needs_second, actor=actor, channel=channel)


def _record_request(*, company, customer: Customer, kind: str, limit, valid_to, terms_days, payment_term, grade: str,
                    reason: str, exception: bool, needs_second: bool, actor, channel: str) -> CreditRequest:
    req = CreditRequest.objects.create(
        company=company, customer=customer, kind=kind, limit_amount=limit, valid_to=valid_to, terms_days=terms_days,
        payment_term=payment_term, grade=grade, reason=reason, exception=exception, needs_second=needs_second,
        requested_by=actor, channel=channel)
    audit.record(actor=actor, verb="credit.request.created", target=req, customer_id=customer.pk,
                 summary=Text("credit.request.summary", kind=Text(f"credit.request_kind.{kind}"), reason=reason),
                 data={"kind": kind, "limit": limit, "terms": terms_days,
                       "payment_term": payment_term.code if payment_term else None, "grade": grade,
                       "exception": exception, "needs_second": needs_second, "channel": channel})
    return req


def terms_control(*, customer: Customer, term: PaymentTerm, actor, channel: str) -> CreditRequest | None:
    """The customers app's terms control (registered in ``CreditConfig.ready``).

    Terms whose longest credit is within the customer's grade maximum (or within terms approved
    for this customer before) may be set directly: None. Beyond it, nobody sets them directly —
    whatever their role and whether from the customer form, the API or an import: a terms request
    (an exception, two approvers) is recorded and returned, and the customer keeps its terms until
    it is approved. An identical pending request is returned instead of a second one. Runs inside
    the caller's transaction with the customer locked.
    """
    profile = CreditProfile.objects.filter(company_id=customer.company_id, customer=customer).first()
    if profile is None or not profile.grade:
        return None  # not graded yet: no grade maximum applies
    grade = grade_row(customer.company, profile.grade)
    if grade is None or grade.max_terms_days is None:
        return None
    days = term.longest_days()
    if days <= grade.max_terms_days or (profile.terms_days is not None and days <= profile.terms_days):
        return None
    pending = CreditRequest.objects.filter(
        customer=customer, kind=RequestKind.TERMS, payment_term=term,
        status__in=(RequestStatus.PENDING, RequestStatus.PARTLY)).first()
    if pending is not None:
        return pending
    channel = channel if channel in RequestChannel.values else RequestChannel.WEB
    return _record_request(company=customer.company, customer=customer, kind=RequestKind.TERMS, limit=None,
                           valid_to=None, terms_days=days, payment_term=term, grade="", reason="",
                           exception=True, needs_second=True, actor=actor, channel=channel)


def _terms_limit(customer: Customer) -> tuple[str, int] | None:
    """(grade, most days of credit a document may give) for a graded customer, else None."""
    profile = CreditProfile.objects.filter(company_id=customer.company_id, customer=customer).first()
    if profile is None or not profile.grade:
        return None  # not graded yet: no grade maximum applies
    grade = grade_row(customer.company, profile.grade)
    if grade is None or grade.max_terms_days is None:
        return None
    own = customer.payment_term.longest_days() if customer.payment_term_id else 0
    return profile.grade, max(grade.max_terms_days, profile.terms_days or 0, own)


def document_terms_check(*, customer: Customer, days: int, memo: dict | None = None) -> str | None:
    """The ledger's per-document terms check (registered in ``CreditConfig.ready``): a document that gives
    ``days`` of credit (its last due date − its date) on terms other than the customer's own is refused when
    that is longer than the grade's maximum, the terms approved for the customer and the customer's own terms —
    the same limit the terms control applies to the customer's terms (longer terms go through a terms request).
    ``memo``: a dict kept for one batch (the bulk path), so a customer's limit is read once, not per document."""
    if memo is not None and customer.pk in memo:
        limit = memo[customer.pk]
    else:
        limit = _terms_limit(customer)
        if memo is not None:
            memo[customer.pk] = limit
    if limit is None or days <= limit[1]:
        return None
    grade, allowed = limit
    return str(_("This document gives %(days)s days of credit; grade %(grade)s allows at most %(allowed)s days for this "
                 "customer. Use the customer's own terms or shorter ones, or request longer terms for approval.")
               % {"days": days, "grade": grade, "allowed": allowed})


def _apply_request(req: CreditRequest, customer: Customer, *, actor, as_of: dt.date) -> None:
    company = req.company
    profile = _profile_locked(company, customer)
    if req.kind in (RequestKind.LIMIT, RequestKind.TERMS) and not req.exception:
        # the grade may have changed since the request was made
        if _grade_checks(company, customer.pk, grade_code=profile.grade, limit=req.limit_amount,
                         terms=req.terms_days, as_of=as_of):
            raise AboveGradeMaximum(_("The grade changed: this is now above its maximum. Ask again as an exception."))
    if req.kind == RequestKind.LIMIT:
        before = profile.limit_amount
        profile.limit_amount = req.limit_amount
        profile.valid_from = as_of
        profile.valid_to = req.valid_to
        profile.limit_exception = req.exception
        profile.save()
        audit.record(actor=actor, verb="credit.limit.changed", target=profile, customer_id=customer.pk,
                     summary=f"{before} → {req.limit_amount}", data={"before": before, "after": req.limit_amount,
                                                                     "request": req.pk, "exception": req.exception})
    elif req.kind == RequestKind.TERMS:
        # the terms new invoices use are the customer's default payment terms: set them too
        term = req.payment_term or customer_services.net_terms(company=company, days=req.terms_days, actor=actor)
        if term.longest_days() != req.terms_days:
            raise CreditError(_("These payment terms were changed after the request; ask again."))
        before = profile.terms_days
        profile.terms_days = req.terms_days
        profile.save()
        customer_services.set_approved_terms(customer=customer, term=term, actor=actor, request_id=req.pk)
        audit.record(actor=actor, verb="credit.terms.changed", target=profile, customer_id=customer.pk,
                     summary=f"{before} → {req.terms_days}",
                     data={"before": before, "after": req.terms_days, "payment_term": term.code, "request": req.pk})
    elif req.kind == RequestKind.GRADE:
        before = profile.grade
        if req.grade:
            profile.grade, profile.grade_override = req.grade, True
        else:
            profile.grade_override = False
        profile.save()
        audit.record(actor=actor, verb="credit.grade.overridden", target=profile, customer_id=customer.pk,
                     summary=f"{before} → {req.grade or '—'}", data={"before": before, "after": req.grade, "request": req.pk})
    else:
        _release_hold(company=company, customer=customer, reason=req.reason, source=HoldSource.MANUAL, actor=actor)


@transaction.atomic(durable=True)
def decide_request(*, company, request_id: int, approve: bool, actor, note: str = "", as_of: dt.date) -> CreditRequest:
    """Approve or reject a request. Never by its requester (SelfApproval). Above the threshold or as an
    exception it needs a first approver (``credit.approve``) and then a different second approver
    (``credit.approve.high``)."""
    _require(actor, "credit.approve")
    try:
        head = CreditRequest.objects.only("customer_id").get(pk=request_id, company=company)
    except (CreditRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise CreditError(_("Unknown request.")) from exc
    customer = _lock_customer(company, head.customer_id)
    req = CreditRequest.objects.select_for_update(of=("self",)).select_related("company", "requested_by").get(pk=request_id)
    if req.status not in (RequestStatus.PENDING, RequestStatus.PARTLY):
        raise OrderNotOpen(_("This request has already been decided."))
    if req.requested_by_id == actor.pk:
        raise SelfApproval(_("You cannot approve or reject your own request."))
    now = timezone.now()
    if not approve:
        req.status, req.decided_by, req.decided_at, req.decision_note = RequestStatus.REJECTED, actor, now, note[:300]
        req.save()
        audit.record(actor=actor, verb="credit.request.rejected", target=req, summary=note[:300], data={"note": note})
        _notify(company=company, user=req.requested_by, customer=customer,
                message=Text("credit.notify.request_rejected", kind=Text(f"credit.request_kind.{req.kind}"),
                             customer=customer.name, note=note))
        return req
    if req.needs_second and req.status == RequestStatus.PENDING:
        req.status, req.first_approver, req.first_approved_at = RequestStatus.PARTLY, actor, now
        req.decision_note = note[:300]
        req.save()
        audit.record(actor=actor, verb="credit.request.first_approved", target=req, summary=note[:300], data={"note": note})
        return req
    if req.status == RequestStatus.PARTLY:
        if req.first_approver_id == actor.pk:
            raise SelfApproval(_("The second approval must come from a different person."))
        if not actor.can("credit.approve.high"):
            raise NotAllowed(_("Above the threshold, the second approval needs an administrator."))
    _apply_request(req, customer, actor=actor, as_of=as_of)
    req.status, req.decided_by, req.decided_at = RequestStatus.APPROVED, actor, now
    req.decision_note = note[:300]
    req.save()
    audit.record(actor=actor, verb="credit.request.approved", target=req, summary=note[:300],
                 data={"note": note, "first_approver": req.first_approver_id})
    _notify(company=company, user=req.requested_by, customer=customer,
            message=Text("credit.notify.request_approved", kind=Text(f"credit.request_kind.{req.kind}"),
                         customer=customer.name))
    return req


# ---------------------------------------------------------------- third-party reports


def _report_row(company, *, customer_code: str | None, customer_id: int | None, actor) -> Customer:
    qs = Customer.objects.filter(company=company)
    if actor is not None:
        qs = qs.filter(owner_q(actor))
    customer = None
    if customer_id:
        customer = qs.filter(pk=customer_id).first()
    elif customer_code:
        customer = qs.filter(code=customer_code.strip()).first()
    if customer is None:
        raise UnknownCustomer(_("Unknown customer %(customer)s.") % {"customer": customer_code or customer_id or ""},
                              field="customer")
    return customer


def _report_values(score, rating: str, provider: str, report_date):
    if not (provider or "").strip():
        raise CreditError(_("Name the provider."), field="provider")
    if report_date is None:
        raise CreditError(_("Enter the report date."), field="report_date")
    if score not in (None, ""):
        try:
            score = int(str(score).strip())
        except ValueError as exc:
            raise CreditError(_("The score must be a whole number from 0 to 100."), field="score") from exc
        if not 0 <= score <= 100:
            raise CreditError(_("The score must be a whole number from 0 to 100."), field="score")
    else:
        score = None
    return score, (rating or "").strip()[:20], provider.strip()[:100]


@transaction.atomic(durable=True)
def add_report(*, company, actor, provider: str, report_date: dt.date, score=None, rating: str = "", file=None,
               customer_id: int | None = None, customer_code: str | None = None,
               source: str = ReportSource.WEB) -> ThirdPartyReport:
    """Record a third-party credit report (score 0–100 and/or rating). Unknown customer: UnknownCustomer."""
    _require(actor, "credit.report")
    customer = _report_row(company, customer_code=customer_code, customer_id=customer_id, actor=actor)
    score, rating, provider = _report_values(score, rating, provider, report_date)
    locks.customer(customer.pk)
    report = ThirdPartyReport(company=company, customer=customer, provider=provider, report_date=report_date,
                              score=score, rating=rating, source=source, created_by=actor)
    if file is not None:
        check_upload(file)
        report.file.save(file.name, file, save=False)
    report.save()
    audit.record(actor=actor, verb="credit.report.added", target=report, customer_id=customer.pk,
                 summary=f"{provider} {report_date} {score if score is not None else ''} {rating}".strip())
    return report


@transaction.atomic(durable=True)
def import_reports(*, company, actor, rows: list[dict]) -> int:
    """All-or-nothing CSV import of reports: rows of {line, customer, provider, date, score, rating}.

    Every row is validated first; any problem raises CreditError naming the line, nothing is written.
    """
    _require(actor, "credit.report")
    prepared, problems = [], []
    for row in rows:
        try:
            customer = _report_row(company, customer_code=row.get("customer"), customer_id=None, actor=actor)
            score, rating, provider = _report_values(row.get("score"), row.get("rating", ""), row.get("provider", ""),
                                                      row.get("date"))
            prepared.append((customer, provider, row["date"], score, rating))
        except CreditError as exc:
            problems.append(gettext("line %(line)s: %(error)s") % {"line": row.get("line"), "error": exc.message})
    if problems:
        raise CreditError("; ".join(problems[:20]), field="file")
    for customer_id in sorted({c.pk for c, *_rest in prepared}):
        locks.customer(customer_id)
    for customer, provider, date, score, rating in prepared:
        report = ThirdPartyReport.objects.create(company=company, customer=customer, provider=provider, report_date=date,
                                                 score=score, rating=rating, source=ReportSource.CSV, created_by=actor)
        audit.record(actor=actor, verb="credit.report.added", target=report, customer_id=customer.pk,
                     summary=f"{provider} {date} {score if score is not None else ''} {rating}".strip())
    return len(prepared)


# ---------------------------------------------------------------- scorecard versions


@transaction.atomic(durable=True)
def propose_scorecard(*, company, config: dict, actor, note: str = "", metrics: dict | None = None) -> ScorecardVersion:
    """Store a new scorecard configuration as a *proposed* version (validated; never active by itself)."""
    _require(actor, "credit.policy")
    try:
        calc.validate_scorecard(config)
    except calc.ConfigError as exc:
        raise PolicyInvalid(_("The scorecard is invalid: %(error)s") % {"error": str(exc)}) from exc
    policy_of(company)
    last = ScorecardVersion.objects.select_for_update().filter(company=company).order_by("-number").first()
    version = ScorecardVersion.objects.create(company=company, number=(last.number if last else 0) + 1, config=config,
                                              status=VersionStatus.PROPOSED, note=note[:300], metrics=metrics or {},
                                              created_by=actor)
    audit.record(actor=actor, verb="credit.scorecard.proposed", target=version, company_id=company.pk,
                 data={"number": version.number, "metrics": metrics or {}})
    return version


@transaction.atomic(durable=True)
def decide_scorecard(*, company, version_id: int, accept: bool, actor) -> ScorecardVersion:
    """Accept a proposed version (the active one is retired; old snapshots keep their version) or decline it."""
    _require(actor, "credit.policy")
    version = ScorecardVersion.objects.select_for_update().filter(company=company, pk=version_id).first()
    if version is None or version.status != VersionStatus.PROPOSED:
        raise CreditError(_("Only a proposed scorecard version can be accepted or declined."))
    if accept:
        ScorecardVersion.objects.filter(company=company, status=VersionStatus.ACTIVE).update(status=VersionStatus.RETIRED)
        version.status, version.accepted_by, version.accepted_at = VersionStatus.ACTIVE, actor, timezone.now()
    else:
        version.status = VersionStatus.DECLINED
    version.save()
    audit.record(actor=actor, verb="credit.scorecard.accepted" if accept else "credit.scorecard.declined", target=version,
                 company_id=company.pk, data={"number": version.number})
    return version
