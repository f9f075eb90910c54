"""The collector's queue: one ``QueueEntry`` per customer, ranked in SQL by a transparent priority.

priority = overdue amount (yuan, disputed parts excluded) × days overdue (oldest unpaid due date) × risk
risk     = 1 + 0.25 per broken promise in the last 365 days (≤ 4) + 0.5 per broken payment plan (≤ 2)
order    = tier, then priority descending, where tier is
           0 a promise falls due today or earlier / a promise was broken and not yet followed up,
           1 the next action date is today or earlier,
           2 everything else with money overdue,
           3 overdue but waiting: the next action date is later (the collector put it off) or a promise
             falls due later (no chasing before the promised date).

The money columns are a snapshot: ``refresh_queue`` computes them for a company (or some customers) in
one aggregate query per table and upserts them; the daily job runs it for the whole company and the
worklist actions for their customer. Follow-up columns (next action, promise date, broken promise) are
kept current by ``services``. Reading the page is therefore one indexed query on one table plus the
customers of the page, whatever the number of open instalments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Least

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO, MoneyField
from huikuan.ledger.models import Instalment

from . import calculations as calc
from .models import PaymentPlan, PlanStatus, Promise, PromiseStatus, QueueEntry

CHUNK = 2000


def refresh_queue(*, company, as_of: dt.date, customer_ids=None) -> int:
    """Recompute the snapshot columns for the company's customers (or only ``customer_ids``). Returns rows written."""
    base = Instalment.objects.filter(company=company, open_amount__gt=0, due_date__lt=as_of, replaced_on__isnull=True)
    if customer_ids is not None:
        customer_ids = list(customer_ids)
        base = base.filter(customer_id__in=customer_ids)
    disputed = Least(F("disputed_amount"), F("open_amount"))
    rows = (base.order_by().values("customer_id").annotate(
        overdue=Sum(F("open_amount") - disputed, output_field=MoneyField()),
        disputed=Sum(disputed, output_field=MoneyField()),
        oldest=Min("due_date"),
    ))
    since = as_of - dt.timedelta(days=365)
    promises = Promise.objects.filter(company=company, status=PromiseStatus.BROKEN, settled_on__gt=since)
    plans = PaymentPlan.objects.filter(company=company, status=PlanStatus.BROKEN, broken_on__gt=since)
    if customer_ids is not None:
        promises = promises.filter(customer_id__in=customer_ids)
        plans = plans.filter(customer_id__in=customer_ids)
    broken_p = dict(promises.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    broken_pl = dict(plans.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    entries = []
    for r in rows.iterator(chunk_size=CHUNK):
        risk = calc.risk_factor(broken_promises=broken_p.get(r["customer_id"], 0), broken_plans=broken_pl.get(r["customer_id"], 0))
        days = (as_of - r["oldest"]).days
        overdue = r["overdue"] or ZERO
        entries.append(QueueEntry(
            customer_id=r["customer_id"], company_id=company.pk, overdue_amount=overdue, disputed_amount=r["disputed"] or ZERO,
            oldest_due=r["oldest"], risk=risk, priority=priority(overdue, days, risk), snapshot_on=as_of,
        ))
    fields = ["overdue_amount", "disputed_amount", "oldest_due", "risk", "priority", "snapshot_on"]
    for i in range(0, len(entries), CHUNK):
        QueueEntry.objects.bulk_create(entries[i:i + CHUNK], update_conflicts=True, unique_fields=["customer"],
                                       update_fields=fields)
    # customers that no longer have anything overdue
    fresh = {e.customer_id for e in entries}
    stale = QueueEntry.objects.filter(company=company).filter(Q(overdue_amount__gt=0) | Q(disputed_amount__gt=0))
    if customer_ids is not None:
        stale = stale.filter(customer_id__in=customer_ids)
    gone = [cid for cid in stale.values_list("customer_id", flat=True) if cid not in fresh]
    for i in range(0, len(gone), CHUNK):
        QueueEntry.objects.filter(customer_id__in=gone[i:i + CHUNK]).update(
            overdue_amount=0, disputed_amount=0, oldest_due=None, priority=0, snapshot_on=as_of)
    return len(entries)


def priority(overdue: Decimal, days: int, risk: Decimal) -> int:
    """amount (whole yuan) × days overdue × risk, as an integer for SQL ordering."""
    return int(overdue.to_integral_value() * max(days, 0) * risk)


@dataclass(frozen=True)
class Filters:
    q: str = ""
    owner_id: int | None = None
    tier: int | None = None


def tier_expr(today: dt.date):
    return Case(
        When(Q(broken_promise_on__isnull=False) | Q(promise_date__lte=today), then=Value(0)),
        When(next_action_date__lte=today, then=Value(1)),
        When(Q(next_action_date__gt=today) | Q(promise_date__gt=today), then=Value(3)),
        default=Value(2),
        output_field=IntegerField(),
    )


def queue(*, user, company, today: dt.date, filters: Filters = Filters()) -> QuerySet[QueueEntry]:
    """Today's queue for ``user`` (a salesperson: own customers; a sales manager: the team), ranked."""
    qs = (QueueEntry.objects.filter(company=company).filter(owner_q(user, "customer__owner"))
          .filter(Q(overdue_amount__gt=0) | Q(next_action_date__lte=today) | Q(promise_date__lte=today)
                  | Q(broken_promise_on__isnull=False))
          .annotate(tier=tier_expr(today))
          .select_related("customer", "customer__owner"))
    if filters.q:
        q = filters.q
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__code__icontains=q)
                       | Q(customer__name_initials__icontains=q.lower()))
    if filters.owner_id:
        qs = qs.filter(customer__owner_id=filters.owner_id)
    if filters.tier is not None:
        qs = qs.filter(tier=filters.tier)
    return qs.order_by("tier", "-priority", "customer_id")
