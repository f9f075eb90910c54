"""The statement of account for one customer and period, from the append-only ledger entries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from huikuan.common.money import ZERO
from huikuan.common.words import rmb_upper
from huikuan.ledger.aging import aging_report
from huikuan.ledger.models import EntryKind, LedgerEntry

from . import hooks
from .models import ReplyStatus, Statement, StatementReply

LIMITATION_YEARS = 3


@dataclass(frozen=True)
class Movement:
    date: dt.date
    reference: str
    summary: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass(frozen=True)
class StatementData:
    company: object
    customer: object
    period_from: dt.date
    period_to: dt.date
    opening: Decimal
    movements: list[Movement]
    total_debit: Decimal
    total_credit: Decimal
    closing: Decimal
    closing_words: str
    aging_labels: list[str]
    aging_values: tuple[Decimal, ...]
    currency: str
    extra_lines: tuple = ()  # hooks.ExtraLine: demand figures (e.g. interest to date), not movements


def statement_data(*, user, customer, period_from: dt.date, period_to: dt.date) -> StatementData:
    """Opening balance before ``period_from``, every movement in the period with a running balance,
    closing balance in figures and 大写, and the aging strip as of ``period_to``.

    ``customer`` must already be loaded through a scoped selector. Two queries plus the aging query.
    """
    if period_from > period_to:
        raise ValueError("period_from after period_to")
    base = LedgerEntry.objects.filter(customer=customer)
    agg = base.filter(date__lt=period_from).aggregate(d=Sum("debit_amount"), c=Sum("credit_amount"))
    opening = (agg["d"] or ZERO) - (agg["c"] or ZERO)
    running = opening
    movements = []
    total_d = total_c = ZERO
    rows = (
        base.filter(date__gte=period_from, date__lte=period_to)
        .select_related("document", "credit")
        .order_by("date", "id")
    )
    for e in rows:
        running += e.debit_amount - e.credit_amount
        total_d += e.debit_amount
        total_c += e.credit_amount
        ref = e.document.number if e.document_id else (e.credit.number if e.credit_id else "")
        movements.append(Movement(e.date, ref, _summary(e), e.debit_amount, e.credit_amount, running))
    aging = aging_report(user=user, company=customer.company, as_of=period_to, group_by="none", customer_id=customer.pk)
    values = aging.rows[0].buckets if aging.rows else tuple(ZERO for _b in aging.buckets)
    return StatementData(
        company=customer.company, customer=customer, period_from=period_from, period_to=period_to, opening=opening,
        movements=movements, total_debit=total_d, total_credit=total_c, closing=running,
        closing_words=rmb_upper(running) if customer.currency == "CNY" else "", aging_labels=[b.label for b in aging.buckets],
        aging_values=values, currency=customer.currency, extra_lines=hooks.extra_lines(customer, period_to),
    )


def _summary(entry: LedgerEntry) -> str:
    labels = {
        EntryKind.DOCUMENT: _("Sales"),
        EntryKind.PAYMENT: _("Payment received"),
        EntryKind.CREDIT_NOTE: _("Credit note"),
        EntryKind.DISCOUNT: _("Early-payment discount"),
        EntryKind.WRITE_OFF: _("Write-off"),
        EntryKind.BANK_CHARGE: _("Bank charge"),
        EntryKind.REVERSAL: _("Reversal"),
    }
    head = str(labels.get(entry.kind, entry.kind))
    return f"{head} · {entry.summary}" if entry.summary and entry.summary != head else head


@dataclass(frozen=True)
class Limitation:
    last_confirmed: dt.date | None
    last_confirmed_amount: Decimal | None
    last_event: dt.date | None
    limitation_date: dt.date | None


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def limitation(*, customer, as_of: dt.date | None = None, extra_events: tuple[dt.date | None, ...] = ()) -> Limitation:
    """诉讼时效: the last confirmation and the latest confirmation/demand, and the limitation date — the earliest
    among the customer's open items (per item, from the registered source: collections.limitation), or without
    a source 3 years from the latest confirmation or written demand (``extra_events`` join them)."""
    # every confirmation counts (a later disagreement on another statement does not undo it), not only the
    # reply each statement shows
    last = (
        StatementReply.objects.filter(statement__customer=customer, status=ReplyStatus.CONFIRMED)
        .order_by("-replied_on", "-id")
        .values("replied_on", "confirmed_amount")
        .first()
    )
    events = [d for d in (last["replied_on"] if last else None, *extra_events, *hooks.demand_dates(customer)) if d]
    latest = max(events) if events else None
    if hooks.LIMITATION_SOURCES:
        dates = [d for d in (fn(customer, as_of) for fn in hooks.LIMITATION_SOURCES) if d]
        date = min(dates) if dates else None
    else:
        date = _plus_years(latest, LIMITATION_YEARS) if latest else None
    return Limitation(
        last_confirmed=last["replied_on"] if last else None,
        last_confirmed_amount=last["confirmed_amount"] if last else None,
        last_event=latest,
        limitation_date=date,
    )


def statements_of(*, customer):
    return Statement.objects.filter(customer=customer).order_by("-period_to", "-id")


def statement_list(*, company, customer_qs, status: str = ""):
    qs = Statement.objects.filter(company=company, customer__in=customer_qs).select_related("customer")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


