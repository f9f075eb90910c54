"""Reads for the collections screens, scoped like the ledger's (``owner_q`` on the customer's owner → 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.http import Http404

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO, MoneyField
from huikuan.ledger.models import Instalment

from .interest import instalment_interest
from .models import (
    Activity,
    Case,
    CaseStatus,
    Dispute,
    DisputeStatus,
    PaymentPlan,
    Promise,
    PromiseStatus,
    Task,
    TaskStatus,
)


def _scoped(model, *, user, company) -> QuerySet:
    return model.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def get_scoped(model, *, user, company, pk) -> object:
    try:
        return _scoped(model, user=user, company=company).select_related("customer").get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def promises(*, user, company, status: str = "", customer_id: int | None = None) -> QuerySet[Promise]:
    qs = _scoped(Promise, user=user, company=company).select_related("customer", "created_by")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-promised_date", "-id")


def promise_progress(promise: Promise, *, as_of: dt.date) -> tuple[Decimal, str]:
    """(paid towards the promise so far, the state to show) for one promise; see ``promises_progress``."""
    return promises_progress([promise], as_of=as_of)[0][1:]


def promises_progress(promises: list[Promise], *, as_of: dt.date) -> list[tuple[Promise, Decimal, str]]:
    """[(promise, paid so far, state to show)]: an open promise shows as kept as soon as the money counted
    towards it (``promises.consumption``) is there and as broken once its date has passed without it — the
    daily job then records it. A constant number of queries for any number of promises."""
    from .calculations import promise_state
    from .promises import consumption

    open_ = [p for p in promises if p.status == PromiseStatus.OPEN]
    paid = consumption(customer_ids={p.customer_id for p in open_}, as_of=as_of) if open_ else {}
    out = []
    for p in promises:
        if p.status != PromiseStatus.OPEN:
            out.append((p, p.paid_amount, p.status))
        else:
            got = paid.get(p.pk, ZERO)
            out.append((p, got, promise_state(amount=p.amount, paid=got, promised_date=p.promised_date, as_of=as_of)))
    return out


def disputes(*, user, company, status: str = "", customer_id: int | None = None) -> QuerySet[Dispute]:
    qs = _scoped(Dispute, user=user, company=company).select_related("customer", "document", "instalment", "owner", "credit")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-opened_on", "-id")


def plans(*, user, company, status: str = "", customer_id: int | None = None) -> QuerySet[PaymentPlan]:
    qs = _scoped(PaymentPlan, user=user, company=company).select_related("customer", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-requested_at", "-id")


def cases(*, user, company, status: str = "") -> QuerySet[Case]:
    qs = _scoped(Case, user=user, company=company).select_related("customer", "owner")
    if status == "open":
        qs = qs.exclude(status=CaseStatus.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-opened_on", "-id")


def my_tasks(*, user, company, today: dt.date) -> QuerySet[Task]:
    return (_scoped(Task, user=user, company=company).filter(owner=user, status=TaskStatus.OPEN, due__lte=today)
            .select_related("customer").order_by("due", "id"))


def open_items(*, customer) -> QuerySet[Instalment]:
    """The customer's open instalments with their document, for the promise/dispute/plan forms."""
    return (Instalment.objects.filter(customer=customer, open_amount__gt=0).select_related("document")
            .order_by("due_date", "pk"))


@dataclass(frozen=True)
class Panel:
    promises: list
    disputes: list
    open_dispute_amount: Decimal
    case: Case | None
    interest: Decimal
    interest_rows: list
    activities: list
    plans: list
    tasks: list
    overdue: Decimal


def customer_panel(*, customer, as_of: dt.date) -> Panel:
    """Everything collections knows about one customer (already loaded in scope)."""
    prom = list(Promise.objects.filter(customer=customer).order_by("-promised_date", "-id")[:10])
    shown = promises_progress(prom, as_of=as_of)
    disp = list(Dispute.objects.filter(customer=customer).select_related("document", "owner").order_by("-opened_on", "-id")[:10])
    open_amt = sum((d.amount for d in disp if d.status == DisputeStatus.OPEN), ZERO)
    rows = instalment_interest(customer=customer, as_of=as_of)
    overdue = (Instalment.objects.filter(customer=customer, open_amount__gt=0, due_date__lt=as_of)
               .aggregate(s=Coalesce(Sum(F("open_amount") - Least(F("disputed_amount"), F("open_amount")),
                                         output_field=MoneyField()), Value(ZERO, output_field=MoneyField())))["s"])
    return Panel(
        promises=shown, disputes=disp, open_dispute_amount=open_amt,
        case=Case.objects.filter(customer=customer).exclude(status=CaseStatus.CLOSED).first(),
        interest=sum((r.amount for r in rows), ZERO), interest_rows=rows,
        activities=list(Activity.objects.filter(customer=customer).select_related("actor")[:8]),
        plans=list(PaymentPlan.objects.filter(customer=customer).select_related("requested_by", "decided_by")[:5]),
        tasks=list(Task.objects.filter(customer=customer, status=TaskStatus.OPEN).select_related("owner")[:10]),
        overdue=overdue,
    )


def last_outcomes(customer_ids) -> dict[int, Activity]:
    """{customer id: the latest contact with an outcome} — notes (which have none) never replace it."""
    latest = (Activity.objects.filter(customer_id=OuterRef("customer_id")).exclude(outcome="")
              .order_by("-occurred_at", "-id").values("pk")[:1])
    rows = Activity.objects.filter(customer_id__in=list(customer_ids)).filter(pk=Subquery(latest))
    return {a.customer_id: a for a in rows}
