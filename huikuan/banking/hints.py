"""Remittance advices (水单) as hints for the review queue: recorded (portal or staff) and looked up per line."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError
from huikuan.common.money import to_decimal
from huikuan.customers.models import Customer

from .models import HintStatus, RemittanceHint

DAYS_BEFORE, DAYS_AFTER = 3, 10  # a line may be booked a few days before the stated date, or well after


class HintError(DomainError):
    code = "remittance_hint"


@transaction.atomic(durable=True)
def record_hint(*, company, customer_id: int, amount, paid_on: dt.date | None, today: dt.date, actor, payer_name: str = "",
                payer_account: str = "", memo: str = "", upload=None, content_type: str = "", submitted_by: str = "",
                source: str = "portal") -> RemittanceHint:
    """Keep a remittance advice for the review queue. ``upload`` must already be checked by the caller
    (type and size); the amount is positive with at most two decimals, the date not in the future.
    Audit event on the customer's timeline."""
    customer = Customer.objects.filter(pk=customer_id, company=company).first()
    if customer is None:
        raise HintError(_("Unknown customer."), field="customer")
    try:
        value = to_decimal(str(amount or "").replace(",", ""))
    except (ValueError, TypeError) as exc:
        raise HintError(_("Enter a valid amount."), field="amount") from exc
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > Decimal("999999999999.99"):
        raise HintError(_("Enter a valid amount."), field="amount")
    if paid_on is None:
        raise HintError(_("Enter the date you paid."), field="paid_on")
    if paid_on > today:
        raise HintError(_("The payment date cannot be in the future."), field="paid_on")
    hint = RemittanceHint(company=company, customer=customer, amount=value.quantize(Decimal("0.01")), paid_on=paid_on,
                          payer_name=payer_name[:200], payer_account=payer_account[:60], memo=memo[:300],
                          content_type=content_type[:100], submitted_by=submitted_by[:100], source=source,
                          created_by=actor if getattr(actor, "pk", None) else None)
    if upload is not None:
        hint.file.save(upload.name[-80:], upload, save=False)
    try:
        hint.save()
    except Exception:
        if hint.file:
            hint.file.delete(save=False)
        raise
    audit.record(actor=actor, verb="banking.hint.received", target=hint, customer_id=customer.pk,
                 summary=f"{hint.amount} {paid_on.isoformat()}",
                 data={"amount": hint.amount, "paid_on": paid_on, "source": source, "submitted_by": hint.submitted_by})
    return hint


def hints_for_lines(*, company, lines: Iterable) -> dict[int, list[RemittanceHint]]:
    """Open hints whose amount equals an incoming line's and whose stated date is within the window of
    the line's date, by line id (one query for the whole page)."""
    lines = [ln for ln in lines if ln.amount > 0]
    if not lines:
        return {}
    first = min(ln.date for ln in lines) - dt.timedelta(days=DAYS_AFTER)
    last = max(ln.date for ln in lines) + dt.timedelta(days=DAYS_BEFORE)
    by_amount = defaultdict(list)
    for h in (RemittanceHint.objects.filter(company=company, status=HintStatus.OPEN, amount__in={ln.amount for ln in lines},
                                            paid_on__range=(first, last)).select_related("customer")):
        by_amount[h.amount].append(h)
    out = {}
    for ln in lines:
        found = [h for h in by_amount.get(ln.amount, [])
                 if ln.date - dt.timedelta(days=DAYS_AFTER) <= h.paid_on <= ln.date + dt.timedelta(days=DAYS_BEFORE)]
        if found:
            out[ln.pk] = found
    return out


def use_for_line(*, line, customer_ids, actor) -> list[RemittanceHint]:
    """Mark as used the remittance advices that announced ``line``, now applied to ``customer_ids``: per
    customer, the open hint of the line's amount whose stated date is in the window of the line's date —
    the closest date first, then the oldest advice. Called inside the applying transaction (locks the hints,
    so a concurrent application cannot use the same advice twice); audited on the customer's timeline."""
    from django.db.models import Q
    from django.utils import timezone

    used = []
    window = (line.date - dt.timedelta(days=DAYS_AFTER), line.date + dt.timedelta(days=DAYS_BEFORE))
    found = list(RemittanceHint.objects.select_for_update().filter(
        Q(company_id=line.company_id, status=HintStatus.OPEN, amount=line.amount, paid_on__range=window),
        customer_id__in=list(customer_ids)).order_by("pk"))
    for cid in sorted(set(customer_ids)):
        mine = sorted((h for h in found if h.customer_id == cid), key=lambda h: (abs((h.paid_on - line.date).days), h.pk))
        if not mine:
            continue
        hint = mine[0]
        hint.status, hint.line, hint.used_at = HintStatus.USED, line, timezone.now()
        hint.save(update_fields=["status", "line", "used_at"])
        audit.record(actor=actor, verb="banking.hint.used", target=hint, customer_id=cid,
                     summary=f"{hint.amount} {hint.paid_on.isoformat()} → {line.date.isoformat()}",
                     data={"line_id": line.pk, "amount": hint.amount, "paid_on": hint.paid_on, "line_date": line.date})
        used.append(hint)
    return used


def reopen_for_line(*, line, actor) -> list[RemittanceHint]:
    """The line's application was undone: the advices it used wait for a bank line again (audited)."""
    hints = list(RemittanceHint.objects.select_for_update().filter(line=line, status=HintStatus.USED).order_by("pk"))
    for hint in hints:
        hint.status, hint.line, hint.used_at = HintStatus.OPEN, None, None
        hint.save(update_fields=["status", "line", "used_at"])
        audit.record(actor=actor, verb="banking.hint.reopened", target=hint, customer_id=hint.customer_id,
                     summary=f"{hint.amount} {hint.paid_on.isoformat()}", data={"line_id": line.pk})
    return hints
