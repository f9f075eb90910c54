"""Credit reads: profiles, exposure, overdue figures, lists for the credit screens.

Scoped like the ledger selectors: rows are limited to the company and to ``owner_q`` on the
customer's owner. ``as_of`` is a business date supplied by the caller; nothing here reads the clock.
Money is aggregated in SQL (integer fen) and returned as Decimal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO, MoneyField
from huikuan.customers.models import Customer
from huikuan.ledger.models import DocumentKind, Instalment, ReceivableDocument, Status
from huikuan.ledger.selectors import unmatured_commercial_bills

from .models import (
    CreditPolicy,
    CreditProfile,
    CreditRequest,
    Grade,
    Notification,
    OrderStatus,
    RequestStatus,
    SalesOrder,
    ScoreSnapshot,
    ThirdPartyReport,
)


def grade_of(customer) -> str | None:
    """The customer's current grade code (e.g. "AA"), or None when not graded yet."""
    code = (CreditProfile.objects.filter(customer_id=getattr(customer, "pk", customer))
            .values_list("grade", flat=True).first())
    return code or None


def profile_of(*, company, customer_id: int) -> CreditProfile | None:
    return CreditProfile.objects.filter(company=company, customer_id=customer_id).first()


def grades(*, policy: CreditPolicy) -> list[Grade]:
    return list(policy.grades.all().order_by("-max_score"))


def open_orders_amount(*, customer_id: int, exclude_order_id: int | None = None) -> Decimal:
    qs = SalesOrder.objects.filter(customer_id=customer_id, status=OrderStatus.OPEN)
    if exclude_order_id:
        qs = qs.exclude(pk=exclude_order_id)
    return qs.aggregate(s=Coalesce(Sum("amount"), ZERO, output_field=MoneyField()))["s"]


@dataclass(frozen=True)
class Exposure:
    open_receivables: Decimal
    open_orders: Decimal
    unapplied: Decimal
    unmatured_bills: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.open_receivables + self.open_orders - self.unapplied + self.unmatured_bills


def exposure(*, customer: Customer, exclude_order_id: int | None = None) -> Exposure:
    """Open AR (the customer's denormalised open amount) + open orders − unapplied cash + commercial
    acceptance bills taken in payment and not yet honoured (shown apart: the receivable they settled
    comes back if the acceptor does not pay at maturity)."""
    return Exposure(customer.open_amount, open_orders_amount(customer_id=customer.pk, exclude_order_id=exclude_order_id),
                    customer.unapplied_amount, unmatured_commercial_bills(customer_id=customer.pk))


@dataclass(frozen=True)
class Overdue:
    max_days: int
    amount: Decimal


def overdue(*, customer_id: int, as_of: dt.date) -> Overdue:
    """Days past due of the oldest overdue open instalment at ``as_of`` and the overdue open total."""
    agg = Instalment.objects.filter(customer_id=customer_id, open_amount__gt=0, due_date__lt=as_of).aggregate(
        oldest=Min("due_date"), amount=Coalesce(Sum("open_amount"), ZERO, output_field=MoneyField()))
    return Overdue((as_of - agg["oldest"]).days if agg["oldest"] else 0, agg["amount"])


def overdue_by_customer(*, company, as_of: dt.date) -> dict[int, Overdue]:
    """Overdue figures for every customer of the company with something overdue (one GROUP BY)."""
    rows = (Instalment.objects.filter(company=company, open_amount__gt=0, due_date__lt=as_of).order_by()
            .values("customer_id").annotate(oldest=Min("due_date"), amount=Sum("open_amount")))
    return {r["customer_id"]: Overdue((as_of - r["oldest"]).days, r["amount"]) for r in rows}


def average_monthly_sales(*, customer_id: int, as_of: dt.date) -> Decimal:
    """Invoiced in the 12 months up to ``as_of`` ÷ 12 (posted invoices and charges)."""
    total = ReceivableDocument.objects.filter(
        customer_id=customer_id, status=Status.POSTED, kind__in=[DocumentKind.INVOICE, DocumentKind.CHARGE],
        document_date__gt=as_of - dt.timedelta(days=365), document_date__lte=as_of,
    ).aggregate(s=Coalesce(Sum("total_amount"), ZERO, output_field=MoneyField()))["s"]
    return total / 12


# ---------------------------------------------------------------- lists


def profiles_in_scope(*, user, company) -> QuerySet[CreditProfile]:
    return CreditProfile.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def profile_list(*, user, company, grade: str = "", hold: str = "", review_due: bool = False, as_of: dt.date,
                 q: str = "") -> QuerySet[CreditProfile]:
    qs = profiles_in_scope(user=user, company=company).select_related("customer", "customer__owner")
    if grade:
        qs = qs.filter(grade=grade)
    if hold == "1":
        qs = qs.filter(on_hold=True)
    elif hold == "0":
        qs = qs.filter(on_hold=False)
    if review_due:
        qs = qs.filter(next_review_date__lte=as_of)
    if q:
        qs = qs.filter(Q(customer__code__istartswith=q) | Q(customer__name__contains=q))
    return qs.order_by("customer__code")


def review_overdue(*, user, company, as_of: dt.date) -> QuerySet[CreditProfile]:
    return profiles_in_scope(user=user, company=company).filter(next_review_date__lt=as_of).select_related("customer")


def limits_expired(*, user, company, as_of: dt.date) -> QuerySet[CreditProfile]:
    return (profiles_in_scope(user=user, company=company).filter(valid_to__lt=as_of, limit_amount__gt=0)
            .select_related("customer"))


def orders_in_scope(*, user, company) -> QuerySet[SalesOrder]:
    return SalesOrder.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def order_list(*, user, company, status: str = "", customer_id: int | None = None) -> QuerySet[SalesOrder]:
    qs = orders_in_scope(user=user, company=company).select_related("customer", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs


def hold_queue(*, user, company, as_of: dt.date | None = None) -> QuerySet[SalesOrder]:
    """Held orders, oldest first, each with what the manager decides on without opening the profile: the
    customer's grade, score and limit (``q_grade``, ``q_score``, ``q_limit``) and, with ``as_of``, the
    overdue amount (``q_overdue``) — correlated subqueries, no query per row."""
    qs = order_list(user=user, company=company, status=OrderStatus.HELD).order_by("created_at", "id")
    profile = CreditProfile.objects.filter(company=company, customer_id=OuterRef("customer_id"))
    qs = qs.annotate(q_grade=Subquery(profile.values("grade")[:1]), q_score=Subquery(profile.values("score")[:1]),
                     q_limit=Subquery(profile.values("limit_amount")[:1], output_field=MoneyField()))
    if as_of is not None:
        overdue = (Instalment.objects.filter(customer_id=OuterRef("customer_id"), open_amount__gt=0, due_date__lt=as_of)
                   .order_by().values("customer_id").annotate(total=Sum("open_amount")).values("total")[:1])
        qs = qs.annotate(q_overdue=Coalesce(Subquery(overdue, output_field=MoneyField()), ZERO, output_field=MoneyField()))
    return qs


def requests_in_scope(*, user, company) -> QuerySet[CreditRequest]:
    return CreditRequest.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def request_list(*, user, company, status: str = "") -> QuerySet[CreditRequest]:
    qs = requests_in_scope(user=user, company=company).select_related(
        "customer", "requested_by", "first_approver", "decided_by", "payment_term")
    if status == "open":
        qs = qs.filter(status__in=[RequestStatus.PENDING, RequestStatus.PARTLY])
    elif status:
        qs = qs.filter(status=status)
    return qs


def reports_in_scope(*, user, company) -> QuerySet[ThirdPartyReport]:
    return (ThirdPartyReport.objects.filter(company=company).filter(owner_q(user, "customer__owner"))
            .select_related("customer", "created_by"))


def snapshots(*, customer_id: int, limit: int = 24) -> list[ScoreSnapshot]:
    return list(ScoreSnapshot.objects.filter(customer_id=customer_id).select_related("version").order_by("-as_of")[:limit])


def notifications_for(*, user, company, limit: int = 20) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, company=company).select_related("order", "customer")[:limit]
