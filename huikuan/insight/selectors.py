"""Dashboard figures, filtered to what the user may see, aggregated in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO
from huikuan.customers.models import Customer
from huikuan.ledger.models import Instalment

from .aging import aging_report
from .models import ArSnapshot


@dataclass(frozen=True)
class TrendPoint:
    date: dt.date
    open_amount: Decimal
    overdue_amount: Decimal


@dataclass(frozen=True)
class Dashboard:
    as_of: dt.date
    open_amount: Decimal
    unapplied_amount: Decimal
    unapplied_customers: int
    overdue_amount: Decimal
    overdue_share: Decimal
    aging_labels: list[str]
    aging_values: tuple[Decimal, ...]
    trend: list[TrendPoint]
    top_debtors: list[Customer]
    due_week_amount: Decimal
    due_week: list[Instalment]


def dashboard(*, user, company, as_of: dt.date, months: int = 12) -> Dashboard:
    customers = Customer.objects.filter(company=company).filter(owner_q(user, "owner"))
    totals = customers.aggregate(
        open=Sum("open_amount"), unapplied=Sum("unapplied_amount"), unapplied_n=Count("pk", filter=Q(unapplied_amount__gt=0))
    )
    aging = aging_report(user=user, company=company, as_of=as_of, group_by="none")
    values = aging.rows[0].buckets if aging.rows else tuple(ZERO for _b in aging.buckets)
    open_amount = totals["open"] or ZERO
    overdue = sum(values[1:], ZERO)
    share = (overdue * 100 / open_amount).quantize(Decimal("0.1")) if open_amount else Decimal("0.0")

    snaps = (
        ArSnapshot.objects.filter(company=company, date__lte=as_of).filter(owner_q(user, "owner"))
        .values("date").annotate(o=Sum("open_amount"), d=Sum("overdue_amount")).order_by("-date")[:months]
    )
    trend = sorted((TrendPoint(s["date"], s["o"] or ZERO, s["d"] or ZERO) for s in snaps), key=lambda p: p.date)
    if not trend or trend[-1].date != as_of:
        trend.append(TrendPoint(as_of, open_amount, overdue))
    week_end = as_of + dt.timedelta(days=7)
    due = Instalment.objects.filter(company=company, open_amount__gt=0, due_date__gte=as_of, due_date__lte=week_end).filter(
        owner_q(user, "customer__owner")
    )
    return Dashboard(
        as_of=as_of, open_amount=open_amount, unapplied_amount=totals["unapplied"] or ZERO,
        unapplied_customers=totals["unapplied_n"] or 0, overdue_amount=overdue, overdue_share=share,
        aging_labels=[b.label for b in aging.buckets], aging_values=values, trend=trend[-months:],
        top_debtors=list(customers.filter(open_amount__gt=0).select_related("owner").order_by("-open_amount")[:10]),
        due_week_amount=due.aggregate(s=Sum("open_amount"))["s"] or ZERO,
        due_week=list(due.select_related("customer", "document").order_by("due_date", "pk")[:10]),
    )
