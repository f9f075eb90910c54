"""Receivables financing list (应收账款融资 / 保理): open items a bank would take, and marking them financed.

Eligible: open, not under dispute, not financed yet, due within the chosen days, of a customer in the chosen
credit grades and — when asked — whose latest statement reply is a confirmation (对账确认) covering the
item's document date. One query (``eligible``); marking locks the instalments by pk and records an audit
event; an instalment is financed at most once at a time (partial unique constraint), for at most its open
amount; ``release`` undoes a mark and keeps the row. The evidence pack for a selection is ``evidence.py``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.money import has_valid_scale, to_decimal

from .models import FinancedItem

PERM = "ledger.post"


class FinancingError(DomainError):
    pass


@dataclass(frozen=True)
class Criteria:
    as_of: dt.date
    min_days: int = 0
    max_days: int = 180
    grades: tuple[str, ...] = ()
    confirmed_only: bool = False


def eligible(*, company, criteria: Criteria) -> QuerySet:
    """Instalments meeting ``criteria`` as of ``criteria.as_of``, with ``grade`` annotated; due-date order."""
    from huikuan.credit.models import CreditProfile
    from huikuan.ledger.models import Instalment
    from huikuan.statements.models import ReplyStatus, Statement

    grade = CreditProfile.objects.filter(company=company, customer_id=OuterRef("customer_id")).values("grade")[:1]
    qs = (Instalment.objects.filter(company=company, open_amount__gt=0, disputed_amount=0,
                                    due_date__gte=criteria.as_of + dt.timedelta(days=criteria.min_days),
                                    due_date__lte=criteria.as_of + dt.timedelta(days=criteria.max_days))
          .exclude(document__status="reversed")
          .exclude(Exists(FinancedItem.objects.filter(instalment_id=OuterRef("pk"), released_on__isnull=True)))
          .annotate(grade=Subquery(grade))
          .select_related("customer", "document").order_by("due_date", "pk"))
    if criteria.grades:
        qs = qs.filter(grade__in=criteria.grades)
    if criteria.confirmed_only:
        confirmed = Statement.objects.filter(customer_id=OuterRef("customer_id"), status=ReplyStatus.CONFIRMED,
                                             period_to__gte=OuterRef("document_date"))
        qs = qs.filter(Exists(confirmed))
    return qs


def _amount(value, *, limit: Decimal, number: str) -> Decimal:
    if value in (None, ""):
        return limit
    try:
        amount = to_decimal(str(value).replace(",", ""))
    except (ValueError, TypeError) as exc:
        raise FinancingError(_("Enter a valid amount."), field="amount") from exc
    if not amount.is_finite() or amount <= 0 or not has_valid_scale(amount):
        raise FinancingError(_("Enter a valid amount."), field="amount")
    if amount > limit:
        raise FinancingError(_("Item %(doc)s: the financed amount %(amount)s exceeds its open amount %(open)s.")
                             % {"doc": number, "amount": amount, "open": limit}, field="amount")
    return amount


@transaction.atomic(durable=True)
def mark_financed(*, actor, company, instalment_ids=(), bank: str, financed_on: dt.date | None, reference: str = "",
                  amounts: dict | None = None, today: dt.date | None = None) -> list[FinancedItem]:
    """Record the items as financed with ``bank`` on ``financed_on``: each for ``amounts[id]`` when given
    (at most its open amount), otherwise for its whole open amount. All or nothing; instalments locked by
    pk so two clerks cannot finance the same item twice (the partial unique constraint backs it up)."""
    from huikuan.ledger.models import Instalment

    if not actor.can(PERM) or actor.is_read_only:
        raise NotAllowed(_("Only finance can mark items as financed."))
    bank = _text(bank, 100)
    reference = _text(reference, 100)
    if not bank:
        raise FinancingError(_("Enter the bank."), field="bank")
    if financed_on is None:
        raise FinancingError(_("Enter a valid date."), field="financed_on")
    if today is not None and financed_on > today:
        raise FinancingError(_("The financing date cannot be in the future."), field="financed_on")
    amounts = {int(k): v for k, v in (amounts or {}).items()}
    ids = sorted({int(i) for i in instalment_ids} | set(amounts))
    if not ids:
        raise FinancingError(_("Select at least one item."), field="items")
    items = list(Instalment.objects.select_for_update().filter(company=company, pk__in=ids).select_related("document")
                 .order_by("pk"))
    if len(items) != len(ids):
        raise FinancingError(_("Unknown item."), field="items")
    done = set(FinancedItem.objects.filter(instalment_id__in=ids, released_on__isnull=True)
               .values_list("instalment_id", flat=True))
    rows = []
    for inst in items:
        number = inst.document.number
        if inst.pk in done:
            raise FinancingError(_("Item %(doc)s is financed already.") % {"doc": number}, field="items")
        if inst.open_amount <= 0 or inst.document.status == "reversed":
            raise FinancingError(_("Item %(doc)s is no longer open.") % {"doc": number}, field="items")
        if inst.disputed_amount > 0:
            raise FinancingError(_("Item %(doc)s is under dispute.") % {"doc": number}, field="items")
        rows.append(FinancedItem(company=company, instalment=inst, bank=bank, reference=reference,
                                 financed_on=financed_on, created_by=actor,
                                 amount=_amount(amounts.get(inst.pk), limit=inst.open_amount, number=number)))
    rows = FinancedItem.objects.bulk_create(rows)
    for inst, row in zip(items, rows, strict=True):
        audit.record(actor=actor, verb="integrations.financing.marked", target=inst, company_id=company.pk,
                     customer_id=inst.customer_id, summary=f"{inst.document.number} {row.amount} {bank}",
                     data={"bank": bank, "reference": reference, "financed_on": financed_on, "amount": row.amount,
                           "financed_item_id": row.pk})
    return rows


@transaction.atomic(durable=True)
def release(*, actor, company, financed_id: int, reason: str, today: dt.date) -> FinancedItem:
    """Undo a financing mark (the bank released the item, or it was marked by mistake): the row stays with
    the release date, reason and who did it; the item is eligible again. Audited."""
    if not actor.can(PERM) or actor.is_read_only:
        raise NotAllowed(_("Only finance can mark items as financed."))
    row = (FinancedItem.objects.select_for_update().filter(company=company, pk=financed_id)
           .select_related("instalment__document").first())
    if row is None:
        raise FinancingError(_("Unknown item."), field="items")
    if row.released_on is not None:
        raise FinancingError(_("Item %(doc)s was released already.") % {"doc": row.instalment.document.number})
    reason = _text(reason, 200)
    if not reason:
        raise FinancingError(_("Give a reason."), field="reason")
    row.released_on = max(today, row.financed_on)
    row.release_reason = reason
    row.released_by = actor
    row.save(update_fields=["released_on", "release_reason", "released_by"])
    inst = row.instalment
    audit.record(actor=actor, verb="integrations.financing.released", target=inst, company_id=company.pk,
                 customer_id=inst.customer_id, summary=f"{inst.document.number} {row.amount} {row.bank}",
                 data={"bank": row.bank, "amount": row.amount, "reason": reason, "financed_item_id": row.pk})
    return row


def live(*, company) -> QuerySet:
    """Items financed and not released (what is with a bank now)."""
    return FinancedItem.objects.filter(company=company, released_on__isnull=True)


def _text(value, limit: int) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise FinancingError(_("Control characters are not allowed."))
    return text[:limit]


def as_of(*, company, day: dt.date) -> QuerySet:
    """Items with a bank on ``day``: financed on or before it and not released by then."""
    return FinancedItem.objects.filter(company=company, financed_on__lte=day).filter(
        Q(released_on__isnull=True) | Q(released_on__gt=day))


def instalments_sql(*, company, day: dt.date) -> tuple[str, list]:
    """``as_of`` as a sub-SELECT of instalment ids (for the aging report's financed column and filter)."""
    sql, params = as_of(company=company, day=day).order_by().values("instalment_id").query.sql_with_params()
    return sql, list(params)


def customers_sql(*, company, day: dt.date) -> tuple[str, list]:
    """The customers of ``as_of`` as a sub-SELECT of customer ids."""
    sql, params = as_of(company=company, day=day).order_by().values("instalment__customer_id").query.sql_with_params()
    return sql, list(params)
