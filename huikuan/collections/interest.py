"""Penalty interest to date (违约金/逾期利息): rules resolved per document → customer → company, computed by
``calculations.interest_for`` on each overdue instalment's outstanding principal, day by day.

A demand figure: shown on the customer page, in dunning notices and on statements (statements.hooks);
it becomes a receivable only when someone posts it (``services.post_interest_charge``). Interest on
charge documents themselves is never computed (no interest on interest); the disputed part of an
instalment earns none (the rest still accrues). Four queries per customer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Q

from huikuan.common.money import ZERO
from huikuan.ledger.models import Allocation, DocumentKind, Instalment, Status

from . import calculations as calc
from .models import InterestCharge, InterestRule


@dataclass(frozen=True)
class InstalmentInterest:
    instalment_id: int
    document_number: str
    due_date: dt.date
    principal: Decimal
    days: int
    amount: Decimal
    capped: bool
    rule: calc.Rule


def _rule(r: InterestRule) -> calc.Rule:
    return calc.Rule(basis=r.basis, rate=r.rate, lpr_percent=r.lpr_percent, grace_days=r.grace_days,
                     cap_kind=r.cap_kind, cap_value=r.cap_value)


def rules_for(*, customer) -> tuple[calc.Rule | None, dict[int, calc.Rule]]:
    """(the customer's rule or else the company's, {document id: contract rule})."""
    rows = list(InterestRule.objects.filter(company_id=customer.company_id).filter(
        Q(customer_id=customer.pk) | Q(customer__isnull=True, document__isnull=True)))
    by_doc = {r.document_id: _rule(r) for r in rows if r.document_id}
    cust = next((r for r in rows if r.customer_id == customer.pk and not r.document_id), None)
    comp = next((r for r in rows if r.customer_id is None and not r.document_id), None)
    base = cust or comp
    return (_rule(base) if base else None), by_doc


def instalment_interest(*, customer, as_of: dt.date) -> list[InstalmentInterest]:
    """Interest per instalment overdue as of ``as_of`` (a business date, inclusive), rounded half-up per instalment."""
    default, by_doc = rules_for(customer=customer)
    if default is None and not by_doc:
        return []
    charged = InterestCharge.objects.filter(customer=customer, up_to__lte=as_of).aggregate(m=Max("up_to"))["m"]
    items = list(
        Instalment.objects.filter(customer=customer, due_date__lt=as_of, replaced_on__isnull=True,
                                  document__status=Status.POSTED, document_date__lte=as_of)
        .exclude(document__kind=DocumentKind.CHARGE)
        .filter(Q(open_amount__gt=0) | Q(allocations__date__gt=as_of))
        .distinct().select_related("document").order_by("due_date", "pk")
    )
    if not items:
        return []
    pays: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for iid, d, a in Allocation.objects.filter(instalment_id__in=[i.pk for i in items], date__lte=as_of).values_list(
            "instalment_id", "date", "amount"):
        pays[iid].append((d, a))
    out = []
    for i in items:
        rule = by_doc.get(i.document_id, default)
        if rule is None or rule.basis == "none":
            continue
        r = calc.interest_for(principal=i.amount, due_date=i.due_date, payments=pays[i.pk], as_of=as_of, rule=rule,
                              start_after=charged, excluded=i.disputed_amount)
        if r.amount > 0:
            out.append(InstalmentInterest(i.pk, i.document.number, i.due_date, i.amount, r.days, r.amount, r.capped, rule))
    return out


def interest_to_date(*, customer, as_of: dt.date) -> Decimal:
    """Σ penalty interest of the customer's overdue instalments as of ``as_of`` (CNY/fen, each rounded half-up)."""
    return sum((x.amount for x in instalment_interest(customer=customer, as_of=as_of)), ZERO)
