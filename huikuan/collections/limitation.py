"""诉讼时效 per item: the date each open instalment's 3-year limitation period ends, computed in SQL from events.

Rule (Civil Code arts. 188, 189, 195; docs/ARCHITECTURE.md "Limitation date per item"):

    limitation date = (latest of the events below, each dated on or before ``as_of``) + 3 years
    base            the due date of the document's last instalment (art. 189: a debt agreed to be paid in
                    instalments — a split schedule or a payment plan's new lines — runs from the last one;
                    for a single-instalment invoice that is its own due date)
    per item        a payment applied to it (partial payment: the payment's date; reversed allocations and
                    reversed payments do not count), a promise to pay naming it (made on; cancelled promises
                    do not count), the approval of a payment plan that created it (``plan_from``)
    per customer    a confirmed statement reply whose period covers the item (period end on or after the
                    item's document date), a written demand (dunning send or recorded by hand with its proof)
                    and a promise on the whole account, dated on or after the item's document date

Nothing is stored: the date is always what the events say (a reversed payment stops counting at once). The
watch window is ``WATCH_DAYS``: an item whose date is within it (or has passed) is on the legal queue and
flagged/boosted on the worklist. Filters on the window compare the *start* column against ``window_start``
(the window's end minus 3 years), so they run in SQL; the +3 years is applied to the rows read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DateField, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.ledger.models import Allocation, CreditKind, Instalment, Status
from huikuan.statements.models import ReplyStatus, StatementReply

from .models import Case, CaseStatus, Promise, PromiseStatus, WrittenDemand

YEARS = 3
WATCH_DAYS = 180

# the event that set an item's date, in the order used to break ties (the first wins)
EVENTS = {
    "lim_confirmation": _("Statement confirmed"),
    "lim_demand": _("Written demand"),
    "lim_payment": _("Partial payment"),
    "lim_promise": _("Promise to pay"),
    "lim_account_promise": _("Promise to pay"),
    "lim_plan": _("Payment plan approved"),
    "lim_due": _("Due date"),
}


def plus_years(day: dt.date, years: int = YEARS) -> dt.date:
    """``day`` + ``years`` calendar years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def window_start(day: dt.date, years: int = YEARS) -> dt.date:
    """The latest start whose ``plus_years`` is on or before ``day`` (the inverse used to filter in SQL)."""
    try:
        start = day.replace(year=day.year - years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year - years, day=28)
    if day.month == 2 and day.day == 28:
        try:  # 29 February of a leap year also ends on 28 February
            return start.replace(day=29)
        except ValueError:
            pass
    return start


def _latest(qs: QuerySet, field: str) -> Subquery:
    return Subquery(qs.order_by(f"-{field}").values(field)[:1], output_field=DateField())


def with_limitation(qs: QuerySet[Instalment], *, as_of: dt.date | None = None) -> QuerySet[Instalment]:
    """Annotate instalments with each event's latest date (``lim_*``) and ``limitation_from`` (the latest of
    them): the limitation date is ``plus_years(limitation_from)``. Events after ``as_of`` are ignored."""
    def upto(field: str) -> Q:
        return Q(**{f"{field}__lte": as_of}) if as_of else Q()

    doc_last_due = Subquery(
        Instalment.objects.filter(document_id=OuterRef("document_id"), replaced_on__isnull=True).order_by()
        .values("document_id").annotate(m=Max("due_date")).values("m")[:1], output_field=DateField())
    payment = _latest(
        Allocation.objects.filter(upto("credit__date"), instalment_id=OuterRef("pk"), reverses__isnull=True,
                                  reversed_by__isnull=True, credit__kind=CreditKind.PAYMENT, credit__status=Status.POSTED),
        "credit__date")
    live = ~Q(status=PromiseStatus.CANCELLED)
    promise = _latest(Promise.objects.filter(live, upto("made_on"), instalments=OuterRef("pk")), "made_on")
    account_promise = _latest(
        Promise.objects.filter(live, upto("made_on"), customer_id=OuterRef("customer_id"), instalments__isnull=True,
                               made_on__gte=OuterRef("document_date")), "made_on")
    confirmation = _latest(
        StatementReply.objects.filter(upto("replied_on"), statement__customer_id=OuterRef("customer_id"),
                                      status=ReplyStatus.CONFIRMED, statement__period_to__gte=OuterRef("document_date")),
        "replied_on")
    demand = _latest(WrittenDemand.objects.filter(upto("date"), customer_id=OuterRef("customer_id"),
                                                  date__gte=OuterRef("document_date")), "date")
    qs = qs.annotate(lim_due=Coalesce(doc_last_due, F("due_date")), lim_payment=payment, lim_promise=promise,
                     lim_account_promise=account_promise, lim_confirmation=confirmation, lim_demand=demand,
                     lim_plan=F("plan_from"))
    # Greatest is NULL on SQLite when any argument is: a missing event counts as a date before any due date
    # (a constant, not the base date again, so the base subquery is compiled once per reference)
    never = Value(dt.date(1900, 1, 1), output_field=DateField())
    return qs.annotate(limitation_from=Greatest(
        F("lim_due"), *(Coalesce(F(name), never) for name in EVENTS if name != "lim_due"),
        output_field=DateField()))


@dataclass(frozen=True)
class ItemLimitation:
    instalment: Instalment
    limitation_from: dt.date
    limitation_date: dt.date
    event: str  # the label of the event that set it
    days_left: int


def _item(row: Instalment, as_of: dt.date) -> ItemLimitation:
    start = row.limitation_from
    event = next((label for name, label in EVENTS.items() if getattr(row, name) == start), EVENTS["lim_due"])
    date = plus_years(start)
    return ItemLimitation(instalment=row, limitation_from=start, limitation_date=date, event=str(event),
                          days_left=(date - as_of).days)


def open_items_qs(*, customer=None, company=None) -> QuerySet[Instalment]:
    qs = Instalment.objects.filter(open_amount__gt=0, replaced_on__isnull=True)
    if customer is not None:
        qs = qs.filter(customer=customer)
    if company is not None:
        qs = qs.filter(company=company)
    return qs


def customer_items(*, customer, as_of: dt.date) -> list[ItemLimitation]:
    """Every open item of one customer (already loaded in scope) with its limitation date, earliest first."""
    rows = with_limitation(open_items_qs(customer=customer).select_related("document"), as_of=as_of)
    return [_item(r, as_of) for r in rows.order_by("limitation_from", "due_date", "pk")]


def earliest(*, customer, as_of: dt.date | None = None) -> dt.date | None:
    """The earliest limitation date among the customer's open items (None when nothing is open)."""
    start = (with_limitation(open_items_qs(customer=customer), as_of=as_of).order_by()
             .aggregate(m=Min("limitation_from"))["m"])
    return plus_years(start) if start else None


def earliest_by_customer(*, company, as_of: dt.date, customer_ids=None) -> dict[int, dt.date]:
    """{customer id: earliest limitation date} for customers with an item inside the watch window (or past it).

    Only items whose *base* date could fall in the window are read (an event only moves a date later), so the
    daily worklist refresh touches the few items due more than ``YEARS`` − ``WATCH_DAYS`` ago."""
    cutoff = window_start(as_of + dt.timedelta(days=WATCH_DAYS))
    qs = open_items_qs(company=company).filter(due_date__lte=cutoff)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=list(customer_ids))
    rows = (with_limitation(qs, as_of=as_of).filter(limitation_from__lte=cutoff).order_by().values("customer_id")
            .annotate(m=Min("limitation_from")).values_list("customer_id", "m"))
    return {cid: plus_years(start) for cid, start in rows}


def watch_list(*, user, company, as_of: dt.date, q: str = "") -> QuerySet[Instalment]:
    """The legal queue's items: open items whose limitation date is within ``WATCH_DAYS`` of ``as_of`` or has
    passed, earliest first, in the user's scope. Read rows through ``item_of`` for the dates."""
    cutoff = window_start(as_of + dt.timedelta(days=WATCH_DAYS))
    qs = (open_items_qs(company=company).filter(due_date__lte=cutoff).filter(owner_q(user, "customer__owner"))
          .select_related("customer", "customer__owner", "document"))
    if q:
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__code__icontains=q) | Q(document__number__icontains=q))
    cases = Case.objects.filter(customer_id=OuterRef("customer_id")).exclude(status=CaseStatus.CLOSED)
    return (with_limitation(qs, as_of=as_of).filter(limitation_from__lte=cutoff)
            .annotate(case_id=Subquery(cases.values("pk")[:1]), case_number=Subquery(cases.values("number")[:1]))
            .order_by("limitation_from", "customer_id", "due_date", "pk"))


def item_of(row: Instalment, *, as_of: dt.date) -> ItemLimitation:
    return _item(row, as_of)
