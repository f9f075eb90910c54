"""Receivables financing list (应收账款融资 / 保理): open items a bank would take, and marking them financed.

Eligible: open, not under dispute, not financed yet, due within the chosen days, of a customer in the chosen
credit grades and — when asked — whose latest statement reply is a confirmation (对账确认) covering the
item's document date. One query (``eligible``); marking locks the instalments by pk and records an audit
event; an instalment is financed once (unique), for at most its open amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed

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
          .exclude(Exists(FinancedItem.objects.filter(instalment_id=OuterRef("pk"))))
          .annotate(grade=Subquery(grade))
          .select_related("customer", "document").order_by("due_date", "pk"))
    if criteria.grades:
        qs = qs.filter(grade__in=criteria.grades)
    if criteria.confirmed_only:
        confirmed = Statement.objects.filter(customer_id=OuterRef("customer_id"), status=ReplyStatus.CONFIRMED,
                                             period_to__gte=OuterRef("document_date"))
        qs = qs.filter(Exists(confirmed))
    return qs


@transaction.atomic(durable=True)
def mark_financed(*, actor, company, instalment_ids, bank: str, financed_on: dt.date) -> list[FinancedItem]:
    """Record the items as financed with ``bank`` on ``financed_on`` for their open amounts."""
    from huikuan.ledger.models import Instalment

    if not actor.can(PERM) or actor.is_read_only:
        raise NotAllowed(_("Only finance can mark items as financed."))
    bank = str(bank or "").strip()[:100]
    if not bank:
        raise FinancingError(_("Enter the bank."), field="bank")
    if financed_on is None:
        raise FinancingError(_("Enter a valid date."), field="financed_on")
    ids = sorted({int(i) for i in instalment_ids})
    if not ids:
        raise FinancingError(_("Select at least one item."), field="items")
    items = list(Instalment.objects.select_for_update().filter(company=company, pk__in=ids).order_by("pk"))
    if len(items) != len(ids):
        raise FinancingError(_("Unknown item."), field="items")
    done = set(FinancedItem.objects.filter(instalment_id__in=ids).values_list("instalment_id", flat=True))
    for inst in items:
        if inst.pk in done:
            raise FinancingError(_("Item %(doc)s is financed already.") % {"doc": inst.document.number}, field="items")
        if inst.open_amount <= 0:
            raise FinancingError(_("Item %(doc)s is no longer open.") % {"doc": inst.document.number}, field="items")
    rows = FinancedItem.objects.bulk_create([
        FinancedItem(company=company, instalment=inst, bank=bank, financed_on=financed_on, amount=inst.open_amount,
                     created_by=actor) for inst in items])
    for inst, row in zip(items, rows, strict=True):
        audit.record(actor=actor, verb="integrations.financing.marked", target=inst, company_id=company.pk,
                     customer_id=inst.customer_id, summary=f"{inst.document.number} {row.amount} {bank}",
                     data={"bank": bank, "financed_on": financed_on, "amount": row.amount})
    return rows
