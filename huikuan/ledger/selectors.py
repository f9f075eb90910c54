"""Reads for the ledger screens: lists, detail loaders, the customer 360 summary and fapiao views.

Every loader is keyword-only and scoped: rows are limited to the active company and to what the
user may see (``accounts.scoping.owner_q`` on the customer's owner), so an out-of-scope object is
simply not found and the view answers 404. Totals are aggregated in SQL (exact: money columns are
integer minor units). ``as_of`` is a business date in the company's time zone, passed in by the
caller; nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.common import audit
from huikuan.common.models import AuditEvent
from huikuan.common.money import ZERO, MoneyField
from huikuan.customers.models import Customer

from .models import (
    Allocation,
    BillStatus,
    Credit,
    CreditKind,
    EntryKind,
    Fapiao,
    FapiaoStatus,
    Instalment,
    LedgerEntry,
    Method,
    ReceivableDocument,
    Status,
    WriteOffRequest,
    WriteOffStatus,
)

# Collections aging buckets by days past due: (key, label, lowest day, highest day or None).
AGING_BUCKETS: tuple[tuple[str, object, int | None, int | None], ...] = (
    ("current", _("Current"), None, 0),
    ("d1_30", _("1–30 days"), 1, 30),
    ("d31_60", _("31–60 days"), 31, 60),
    ("d61_90", _("61–90 days"), 61, 90),
    ("d91_120", _("91–120 days"), 91, 120),
    ("d120_plus", _("120+ days"), 121, None),
)


def _zero() -> Value:
    return Value(ZERO, output_field=MoneyField())


def _sum_sub(queryset: QuerySet, group_field: str, value_field: str):
    """Correlated ``SUM(value_field)`` of ``queryset`` rows whose ``group_field`` is the outer pk (0 if none)."""
    return Coalesce(
        Subquery(
            queryset.filter(**{group_field: OuterRef("pk")})
            .order_by()
            .values(group_field)
            .annotate(s=Sum(value_field))
            .values("s"),
            output_field=MoneyField(),
        ),
        _zero(),
    )


# ---------------------------------------------------------------- customers


def customers_in_scope(*, user, company) -> QuerySet[Customer]:
    return Customer.objects.filter(company=company).filter(owner_q(user, "owner"))


def get_customer(*, user, company, pk: int) -> Customer:
    """The customer with its owner and terms, or Http404 when unknown or out of the user's scope."""
    try:
        return customers_in_scope(user=user, company=company).select_related("owner", "payment_term", "group").get(pk=pk)
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# ---------------------------------------------------------------- documents


def documents_in_scope(*, user, company) -> QuerySet[ReceivableDocument]:
    return ReceivableDocument.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def document_list(
    *,
    user,
    company,
    q: str = "",
    kind: str = "",
    status: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    open_only: bool = False,
    customer_id: int | None = None,
    due_from: dt.date | None = None,
    due_to: dt.date | None = None,
    overdue_on: dt.date | None = None,
    owner_id: int | None = None,
) -> QuerySet[ReceivableDocument]:
    """Documents newest first, each annotated with ``open_sum`` (Σ instalment open amounts) and
    ``next_due`` (the earliest due date of an open instalment; none once settled).

    ``due_from`` / ``due_to``: documents with an instalment due in that range (open or not);
    ``overdue_on``: documents with an open instalment due before that date (overdue on it)."""
    qs = documents_in_scope(user=user, company=company).select_related("customer", "salesperson").annotate(
        open_sum=_sum_sub(Instalment.objects.all(), "document", "open_amount"),
        next_due=Subquery(
            Instalment.objects.filter(document=OuterRef("pk"), open_amount__gt=0)
            .order_by("due_date").values("due_date")[:1]
        ),
    )
    if due_from or due_to:
        due = Instalment.objects.filter(document=OuterRef("pk"))
        if due_from:
            due = due.filter(due_date__gte=due_from)
        if due_to:
            due = due.filter(due_date__lte=due_to)
        qs = qs.filter(Exists(due))
    if owner_id:
        qs = qs.filter(customer__owner_id=owner_id)
    if overdue_on:
        qs = qs.filter(Exists(Instalment.objects.filter(document=OuterRef("pk"), open_amount__gt=0,
                                                        due_date__lt=overdue_on)))
    if q:
        qs = qs.filter(
            Q(number__icontains=q) | Q(customer__name__icontains=q) | Q(customer__code__icontains=q)
            | Q(customer__name_initials__icontains=q.lower()) | Q(reference__icontains=q)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(document_date__gte=date_from)
    if date_to:
        qs = qs.filter(document_date__lte=date_to)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if open_only:
        qs = qs.filter(open_sum__gt=0)
    return qs.order_by("-document_date", "-id")


def list_totals(qs: QuerySet, **fields: str) -> dict[str, Decimal]:
    """Σ of each named column over a filtered list (one query), e.g. ``list_totals(qs, total="total_amount")``."""
    agg = qs.order_by().aggregate(**{name: Sum(col) for name, col in fields.items()})
    return {k: (v if v is not None else ZERO) for k, v in agg.items()}


def get_document(*, user, company, pk: int) -> ReceivableDocument:
    try:
        return (
            documents_in_scope(user=user, company=company)
            .select_related("customer", "salesperson", "payment_term", "created_by", "reversed_by")
            .get(pk=pk)
        )
    except ReceivableDocument.DoesNotExist as exc:
        raise Http404 from exc


def document_instalments(*, document: ReceivableDocument) -> list[Instalment]:
    """A document's instalments with their allocations (credit and reversal links prefetched)."""
    allocs = Allocation.objects.select_related("credit", "reverses").order_by("id")
    return list(
        document.instalments.order_by("seq").prefetch_related(Prefetch("allocations", queryset=allocs))
    )


# ---------------------------------------------------------------- credits (payments, credit notes, …)


def credits_in_scope(*, user, company) -> QuerySet[Credit]:
    return Credit.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def credit_list(
    *,
    user,
    company,
    q: str = "",
    kind: str = "",
    method: str = "",
    status: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    unapplied_only: bool = False,
    customer_id: int | None = None,
) -> QuerySet[Credit]:
    qs = credits_in_scope(user=user, company=company).select_related("customer")
    if q:
        qs = qs.filter(
            Q(number__icontains=q) | Q(customer__name__icontains=q) | Q(customer__code__icontains=q)
            | Q(reference__icontains=q) | Q(bill_number__icontains=q)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if method:
        qs = qs.filter(method=method)
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if unapplied_only:
        qs = qs.filter(unapplied_amount__gt=0)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-date", "-id")


def get_credit(*, user, company, pk: int) -> Credit:
    try:
        return (
            credits_in_scope(user=user, company=company)
            .select_related("customer", "document", "parent", "created_by", "reversed_by")
            .get(pk=pk)
        )
    except Credit.DoesNotExist as exc:
        raise Http404 from exc


def credit_allocations(*, credit: Credit) -> list[Allocation]:
    """A credit's allocations (incl. reversal rows) with instalment and document, oldest first."""
    return list(
        Allocation.objects.filter(credit=credit)
        .select_related("instalment__document", "reverses", "created_by")
        .annotate(is_reversed=Q(reversed_by__isnull=False))
        .order_by("id")
    )


# ---------------------------------------------------------------- instalments


def instalments_in_scope(*, user, company) -> QuerySet[Instalment]:
    return Instalment.objects.filter(company=company).filter(owner_q(user, "customer__owner"))


def open_instalments(*, user, company, customer: Customer, limit: int | None = None,
                     ids: list[int] | None = None) -> list[Instalment]:
    """A customer's open instalments, oldest due first (the order cash is applied in); only ``ids`` if given."""
    qs = (
        instalments_in_scope(user=user, company=company)
        .filter(customer=customer, open_amount__gt=0)
        .select_related("document")
        .order_by("due_date", "id")
    )
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs[:limit] if limit else qs)


def get_instalment(*, user, company, pk: int) -> Instalment:
    try:
        return instalments_in_scope(user=user, company=company).select_related("document", "customer").get(pk=pk)
    except Instalment.DoesNotExist as exc:
        raise Http404 from exc


# ---------------------------------------------------------------- customer 360


@dataclass(frozen=True)
class AgingBucket:
    key: str
    label: str
    amount: Decimal


@dataclass(frozen=True)
class OpenInstalmentRow:
    instalment: Instalment
    open_amount: Decimal  # as of the summary's date
    days_overdue: int


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    date: dt.date | None
    kind: str  # "entry" | "event"
    title: str
    summary: str
    debit: Decimal | None = None
    credit: Decimal | None = None
    actor: str = ""
    document_id: int | None = None
    credit_id: int | None = None


@dataclass(frozen=True)
class CustomerSummary:
    as_of: dt.date
    open_amount: Decimal
    overdue_amount: Decimal
    unapplied_amount: Decimal
    net_balance: Decimal
    aging: tuple[AgingBucket, ...]
    open_instalments: tuple[OpenInstalmentRow, ...]
    open_instalment_count: int
    recent_payments: tuple[Credit, ...]
    timeline: tuple[TimelineItem, ...]


def _reversal_date(**outer):
    """Business date of the reversal entry of the outer row's document or credit (NULL if never reversed)."""
    return Subquery(
        LedgerEntry.objects.filter(kind=EntryKind.REVERSAL, **outer).order_by("date").values("date")[:1]
    )


def instalments_as_of(*, instalments: QuerySet[Instalment], as_of: dt.date) -> QuerySet[Instalment]:
    """Instalments as they stood at the end of ``as_of``, annotated with ``open_as_of``.

    Only documents dated on or before ``as_of`` count, a document reversed on or before ``as_of``
    is gone, and ``open_as_of = amount − Σ allocations dated ≤ as_of`` (reversal allocations are
    negative rows dated on their reversal day, so a later undo does not leak backwards). For any
    ``as_of`` on or after the last posting this equals today's ``open_amount``.
    """
    allocated = Coalesce(
        Subquery(
            Allocation.objects.filter(instalment=OuterRef("pk"), date__lte=as_of)
            .order_by().values("instalment").annotate(s=Sum("amount")).values("s"),
            output_field=MoneyField(),
        ),
        _zero(),
    )
    return (
        instalments.filter(document_date__lte=as_of)
        .filter(Q(reversed_on__isnull=True) | Q(reversed_on__gt=as_of))  # kept by reverse_document
        .annotate(open_as_of=ExpressionWrapper(F("amount") - allocated, output_field=MoneyField()))
    )


def credits_as_of(*, credits: QuerySet[Credit], as_of: dt.date) -> QuerySet[Credit]:
    """Credits dated on or before ``as_of`` and not reversed by then, with ``unapplied_as_of``."""
    allocated = Coalesce(
        Subquery(
            Allocation.objects.filter(credit=OuterRef("pk"), date__lte=as_of)
            .order_by().values("credit").annotate(s=Sum("amount")).values("s"),
            output_field=MoneyField(),
        ),
        _zero(),
    )
    return (
        credits.filter(date__lte=as_of)
        .annotate(reversed_on=_reversal_date(credit=OuterRef("pk")))
        .filter(Q(reversed_on__isnull=True) | Q(reversed_on__gt=as_of))
        .annotate(unapplied_as_of=ExpressionWrapper(F("amount") - allocated, output_field=MoneyField()))
    )


def aging_strip(*, instalments: QuerySet[Instalment], as_of: dt.date) -> tuple[Decimal, tuple[AgingBucket, ...], int]:
    """Open amount as of ``as_of`` by days past due, in ONE query: (total open, buckets, open count).

    Buckets are disjoint due-date ranges covering every date, each a ``Sum(filter=Q(...))``, so they
    add up exactly to the total (integer minor units). Days past due = ``as_of − due_date``;
    "current" is not yet past due (due on or after ``as_of``).
    """
    is_open = Q(open_as_of__gt=0)
    aggregates = {"total": Sum("open_as_of", filter=is_open), "count": Count("id", filter=is_open)}
    for key, _label, low, high in AGING_BUCKETS:
        cond = is_open
        if low is not None:  # days ≥ low  ⇔  due ≤ as_of − low
            cond &= Q(due_date__lte=as_of - dt.timedelta(days=low))
        if high is not None:  # days ≤ high  ⇔  due ≥ as_of − high
            cond &= Q(due_date__gte=as_of - dt.timedelta(days=high))
        aggregates[key] = Sum("open_as_of", filter=cond)
    row = instalments_as_of(instalments=instalments, as_of=as_of).order_by().aggregate(**aggregates)
    buckets = tuple(AgingBucket(key, str(label), row[key] or ZERO) for key, label, _l, _h in AGING_BUCKETS)
    return row["total"] or ZERO, buckets, int(row["count"] or 0)


# Audit verbs that always come with a ledger entry: the entry already tells that story.
_VERBS_WITH_ENTRY = {
    "ledger.document.posted", "ledger.payment.recorded", "ledger.credit_note.issued",
    "ledger.credit.reversed", "ledger.document.reversed", "ledger.bank_charge.recorded",
}

audit.register_verb_labels({
    "ledger.document.posted": _("Document posted"),
    "ledger.document.reversed": _("Document reversed"),
    "ledger.payment.recorded": _("Payment recorded"),
    "ledger.credit.allocated": _("Payment applied"),
    "ledger.allocation.reversed": _("Allocation reversed"),
    "ledger.bank_charge.recorded": _("Bank charge recorded"),
    "ledger.credit_note.issued": _("Credit note issued"),
    "ledger.credit.reversed": _("Payment or credit reversed"),
    "ledger.write_off.requested": _("Write-off requested"),
    "ledger.write_off.approved": _("Write-off approved"),
    "ledger.period.closed": _("Month closed"),
    "ledger.period.reopened": _("Month reopened"),
    "ledger.write_off.rejected": _("Write-off rejected"),
    "ledger.fapiao.recorded": _("Fapiao recorded"),
    "ledger.fapiao.red_reversed": _("Fapiao red-reversed"),
    "ledger.instalment.disputed": _("Instalment disputed"),
    "ledger.instalment.dispute_cleared": _("Dispute cleared"),
    "ledger.instalment.dunning_paused": _("Reminders paused"),
    "ledger.instalment.dunning_resumed": _("Reminders resumed"),
    "ledger.instrument.status": _("Bill or cheque status changed"),
})


def customer_timeline(*, customer: Customer, limit: int = 30) -> tuple[TimelineItem, ...]:
    """Ledger entries and audit events of one customer, newest first, at most ``limit`` (two queries)."""
    entries = list(
        LedgerEntry.objects.filter(customer=customer).select_related("document", "credit").order_by("-created_at", "-id")[:limit]
    )
    events = list(
        AuditEvent.objects.filter(customer_id=customer.pk, company_id=customer.company_id)
        .exclude(verb__in=_VERBS_WITH_ENTRY)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    items = [
        TimelineItem(
            at=e.created_at, date=e.date, kind="entry", title=str(e.get_kind_display()),
            summary=(e.document.number if e.document_id else e.credit.number if e.credit_id else "") + (
                f" · {e.summary}" if e.summary else ""),
            debit=e.debit_amount or None, credit=e.credit_amount or None,
            document_id=e.document_id, credit_id=e.credit_id,
        )
        for e in entries
    ] + [
        TimelineItem(at=ev.at, date=None, kind="event", title=d.title, summary=d.detail,
                     actor=str(ev.actor) if ev.actor_id else "")
        for ev, d in zip(events, audit.describe(events), strict=True)
    ]
    items.sort(key=lambda i: i.at, reverse=True)
    return tuple(items[:limit])


def customer_summary(
    *, customer: Customer, as_of: dt.date, instalment_limit: int = 50, payment_limit: int = 10, timeline_limit: int = 30
) -> CustomerSummary:
    """Everything the customer 360 page shows, in a constant number of queries.

    Balances are recomputed as of ``as_of`` (a business date in the company's time zone) from the
    instalments, credits and allocations dated on or before it — not from the denormalised customer
    columns — and aged by days past due as of that date. Recent payments and the timeline are the
    latest records whatever their date.
    """
    open_total, buckets, open_count = aging_strip(instalments=Instalment.objects.filter(customer=customer), as_of=as_of)
    unapplied = (
        credits_as_of(credits=Credit.objects.filter(customer=customer), as_of=as_of)
        .filter(unapplied_as_of__gt=0).order_by().aggregate(s=Sum("unapplied_as_of"))["s"]
        or ZERO
    )
    current = next(b.amount for b in buckets if b.key == "current")
    rows = [
        OpenInstalmentRow(i, i.open_as_of, max(0, (as_of - i.due_date).days))
        for i in instalments_as_of(instalments=Instalment.objects.filter(customer=customer), as_of=as_of)
        .filter(open_as_of__gt=0).select_related("document").order_by("due_date", "id")[:instalment_limit]
    ]
    payments = tuple(
        Credit.objects.filter(customer=customer, kind=CreditKind.PAYMENT).order_by("-date", "-id")[:payment_limit]
    )
    return CustomerSummary(
        as_of=as_of,
        open_amount=open_total,
        overdue_amount=open_total - current,
        unapplied_amount=unapplied,
        net_balance=open_total - unapplied,
        aging=buckets,
        open_instalments=tuple(rows),
        open_instalment_count=open_count,
        recent_payments=payments,
        timeline=customer_timeline(customer=customer, limit=timeline_limit),
    )


# ---------------------------------------------------------------- write-offs


def write_off_requests(*, user, company, status: str = "") -> QuerySet[WriteOffRequest]:
    qs = (
        WriteOffRequest.objects.filter(company=company)
        .filter(owner_q(user, "customer__owner"))
        .select_related("customer", "instalment__document", "requested_by", "decided_by", "credit")
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


def pending_write_offs(*, user, company) -> QuerySet[WriteOffRequest]:
    return write_off_requests(user=user, company=company, status=WriteOffStatus.PENDING)


def get_write_off(*, user, company, pk: int) -> WriteOffRequest:
    try:
        return write_off_requests(user=user, company=company).get(pk=pk)
    except WriteOffRequest.DoesNotExist as exc:
        raise Http404 from exc


# ---------------------------------------------------------------- fapiao


def fapiao_list(*, user, company, q: str = "", status: str = "", customer_id: int | None = None) -> QuerySet[Fapiao]:
    qs = (
        Fapiao.objects.filter(company=company)
        .filter(owner_q(user, "customer__owner"))
        .select_related("customer", "document", "red_of")
    )
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(customer__name__icontains=q) | Q(document__number__icontains=q))
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-issue_date", "-id")


def get_fapiao(*, user, company, pk: int) -> Fapiao:
    try:
        return fapiao_list(user=user, company=company).get(pk=pk)
    except Fapiao.DoesNotExist as exc:
        raise Http404 from exc


def _fapiao_annotated(*, user, company) -> QuerySet[ReceivableDocument]:
    """Posted documents with ``open_sum``, ``paid_sum`` (net payments applied) and ``fapiao_net``
    (Σ fapiao amounts: issued positive, red-letter negative; void ones ignored)."""
    return (
        documents_in_scope(user=user, company=company)
        .filter(status=Status.POSTED)
        .select_related("customer")
        .annotate(
            open_sum=_sum_sub(Instalment.objects.all(), "document", "open_amount"),
            fapiao_net=_sum_sub(Fapiao.objects.exclude(status=FapiaoStatus.VOID), "document", "amount"),
            paid_sum=_sum_sub(
                Allocation.objects.filter(credit__kind=CreditKind.PAYMENT), "instalment__document", "amount"
            ),
        )
    )


def invoiced_unpaid(*, user, company) -> QuerySet[ReceivableDocument]:
    """Documents with a net issued fapiao amount and something still open (开票未回款)."""
    return (
        _fapiao_annotated(user=user, company=company)
        .filter(fapiao_net__gt=0, open_sum__gt=0)
        .order_by("document_date", "id")
    )


def paid_not_invoiced(*, user, company) -> QuerySet[ReceivableDocument]:
    """Documents whose payments applied exceed the net fapiao amount (回款未开票); ``uninvoiced`` is the gap."""
    return (
        _fapiao_annotated(user=user, company=company)
        .filter(paid_sum__gt=F("fapiao_net"))
        .annotate(uninvoiced=ExpressionWrapper(F("paid_sum") - F("fapiao_net"), output_field=MoneyField()))
        .order_by("document_date", "id")
    )


# ---------------------------------------------------------------- acceptance bills

OPEN_BILL_STATUSES = (BillStatus.RECEIVED, BillStatus.ENDORSED, BillStatus.DISCOUNTED)
BILL_METHODS = (Method.BANK_ACCEPTANCE, Method.COMMERCIAL_ACCEPTANCE)


def unmatured_commercial_bills(*, customer_id: int) -> Decimal:
    """Commercial acceptance bills (商业承兑汇票) taken in payment and not yet honoured: held, endorsed
    on or discounted (both with recourse until the acceptor pays at maturity). A bill is not cash until
    it is honoured, so the credit exposure counts them apart. One aggregate query."""
    return Credit.objects.filter(
        customer_id=customer_id, kind=CreditKind.PAYMENT, status=Status.POSTED, method=Method.COMMERCIAL_ACCEPTANCE,
        bill_status__in=OPEN_BILL_STATUSES,
    ).aggregate(s=Coalesce(Sum("amount"), ZERO, output_field=MoneyField()))["s"]


def bill_register(*, user, company, status: str = "open", method: str = "", matures_by: dt.date | None = None,
                  q: str = "") -> QuerySet[Credit]:
    """Acceptance bills taken in payment, by maturity (then number): ``status`` "open" (not yet
    honoured or dishonoured), "all", or one bill status; ``method`` bank or commercial; ``matures_by``
    a last maturity date. Scoped to the user's customers."""
    qs = credits_in_scope(user=user, company=company).filter(kind=CreditKind.PAYMENT, method__in=BILL_METHODS)
    qs = qs.exclude(bill_number="").exclude(status=Status.REVERSED, bill_status__in=OPEN_BILL_STATUSES)
    if status == "open":
        qs = qs.filter(bill_status__in=OPEN_BILL_STATUSES)
    elif status in BillStatus.values:
        qs = qs.filter(bill_status=status)
    if method in BILL_METHODS:
        qs = qs.filter(method=method)
    if matures_by is not None:
        qs = qs.filter(bill_maturity_date__lte=matures_by)
    if q:
        qs = qs.filter(Q(bill_number__icontains=q) | Q(bill_acceptor__icontains=q) | Q(customer__name__icontains=q)
                       | Q(customer__code__icontains=q))
    return qs.select_related("customer").order_by("bill_maturity_date", "bill_number", "pk")
