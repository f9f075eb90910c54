"""Reads the inputs of the promise consumption rule (``calculations.consume_promises``) for some customers.

Money is payments (not credit notes, discounts or write-offs) that stand (reversed payments are gone),
dated by the day they were received; each payment is split into what is applied to each instalment as of
the review date (net of reversed allocations) and what is still unapplied. A promise's instalments are
followed through approved payment plans: an instalment replaced by a plan stands for the plan's new
instalments (repeatedly, if a plan instalment was itself replaced).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q, Sum

from huikuan.common.money import ZERO
from huikuan.ledger.models import Credit, CreditKind, Instalment
from huikuan.ledger.models import Status as LedgerStatus

from . import calculations as calc
from .models import PaymentPlan, PlanStatus, Promise, PromiseStatus

APPROVED_PLANS = (PlanStatus.ACTIVE, PlanStatus.COMPLETED, PlanStatus.BROKEN)


def follow_plans(ids: set[int]) -> set[int]:
    """``ids`` plus the instalments that approved payment plans put in place of any of them (to a fixed point)."""
    out = set(ids)
    frontier = set(ids)
    through = PaymentPlan.instalments.through
    while frontier:
        plans = set(through.objects.filter(instalment_id__in=frontier, paymentplan__status__in=APPROVED_PLANS)
                    .values_list("paymentplan_id", flat=True))
        if not plans:
            break
        new = set(Instalment.objects.filter(plan_id__in=plans).values_list("pk", flat=True)) - out
        out |= new
        frontier = new
    return out


def consumption(*, customer_ids: Iterable[int], as_of: dt.date) -> dict[int, Decimal]:
    """{promise id: money counted towards it as of ``as_of``} for every promise (cancelled ones aside) of the
    customers. Settled promises take part too, so money that kept one promise never keeps another."""
    cids = sorted(set(customer_ids))
    if not cids:
        return {}
    # one row per (promise, instalment) — a promise on the account comes once with no instalment
    rows: dict[int, tuple] = {}
    links: dict[int, set[int]] = defaultdict(set)
    replaced = False
    for pk, customer_id, amount, made_on, promised_date, iid, replaced_on in (
            Promise.objects.filter(customer_id__in=cids).exclude(status=PromiseStatus.CANCELLED)
            .values_list("pk", "customer_id", "amount", "made_on", "promised_date", "instalments__id",
                         "instalments__replaced_on")):
        rows[pk] = (pk, customer_id, amount, made_on, promised_date)
        if iid is not None:
            links[pk].add(iid)
            replaced = replaced or replaced_on is not None
    if not rows:
        return {}
    followed = {pid: frozenset(follow_plans(ids) if replaced else ids) for pid, ids in links.items()}
    since = min(r[3] for r in rows.values())
    # one row per (payment, instalment applied as of the date), or (payment, None) for one never applied
    money: dict[int, list[calc.MoneyIn]] = defaultdict(list)
    applied: dict[int, Decimal] = defaultdict(lambda: ZERO)
    heads: dict[int, tuple] = {}
    for pk, customer_id, date, amount, iid, s in (
            Credit.objects.filter(customer_id__in=cids, kind=CreditKind.PAYMENT, status=LedgerStatus.POSTED,
                                  date__gte=since, date__lte=as_of)
            .values("pk", "customer_id", "date", "amount", "allocations__instalment_id")
            .annotate(s=Sum("allocations__amount", filter=Q(allocations__date__lte=as_of)))
            .values_list("pk", "customer_id", "date", "amount", "allocations__instalment_id", "s")
            .order_by("pk", "allocations__instalment_id")):
        heads[pk] = (customer_id, date, amount)
        if iid is not None and s and s > 0:
            money[customer_id].append(calc.MoneyIn(date=date, amount=s, instalment=iid, key=(pk, iid)))
            applied[pk] += s
    for pk, (customer_id, date, amount) in heads.items():
        rest = amount - applied[pk]
        if rest > 0:
            money[customer_id].append(calc.MoneyIn(date=date, amount=rest, instalment=None, key=(pk, 0)))
    by_customer: dict[int, list[calc.PromiseTerms]] = defaultdict(list)
    for pk, customer_id, amount, made_on, promised_date in rows.values():
        by_customer[customer_id].append(calc.PromiseTerms(key=pk, amount=amount, made_on=made_on,
                                                          promised_date=promised_date, scope=followed.get(pk)))
    out: dict[int, Decimal] = {}
    for customer_id, terms in by_customer.items():
        out.update(calc.consume_promises(terms, money.get(customer_id, []), as_of=as_of))
    return {k: v or ZERO for k, v in out.items()}
