"""Pure ledger arithmetic: schedules from terms and allocation plans. No ORM, no clock."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from huikuan.common.money import ZERO, round_money


@dataclass(frozen=True)
class TermSpec:
    kind: str  # "net" | "eom" | "split"
    days: int = 30
    split: tuple[tuple[Decimal, int], ...] = ()  # (percent, days after document date)
    discount_percent: Decimal = ZERO
    discount_days: int = 0


@dataclass(frozen=True)
class ScheduleLine:
    seq: int
    due_date: dt.date
    amount: Decimal
    discount_amount: Decimal = ZERO
    discount_date: dt.date | None = None


def end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def split_amount(total: Decimal, percents: Sequence[Decimal], currency: str = "CNY") -> list[Decimal]:
    """Split ``total`` by percentages; each part rounded half-up, the remainder on the last part."""
    if not percents:
        raise ValueError("no parts")
    if sum(percents) != Decimal(100):
        raise ValueError("percentages must sum to 100")
    parts = [round_money(total * p / Decimal(100), currency) for p in percents[:-1]]
    parts.append(total - sum(parts, ZERO))
    return parts


def build_schedule(
    *,
    total: Decimal,
    document_date: dt.date,
    terms: TermSpec,
    currency: str = "CNY",
    roll: Callable[[dt.date], dt.date] | None = None,
) -> list[ScheduleLine]:
    """Derive the instalments of a document from its terms. Parts sum exactly to ``total``.

    ``roll`` (optional) moves a due date to the next working day.
    """
    if total <= 0:
        raise ValueError("total must be positive")
    adjust = roll or (lambda d: d)
    if terms.kind == "split":
        percents = [p for p, _ in terms.split]
        parts = split_amount(total, percents, currency)
        # a total too small to split (e.g. 0.01 by 30/30/40) leaves zero parts: they are dropped,
        # an instalment of 0 is not a receivable (and the database refuses it)
        kept = [(amt, days) for amt, (_, days) in zip(parts, terms.split, strict=True) if amt != 0]
        return [
            ScheduleLine(seq=i + 1, due_date=adjust(document_date + dt.timedelta(days=days)), amount=amt)
            for i, (amt, days) in enumerate(kept)
        ]
    if terms.kind == "eom":
        due = end_of_month(document_date) + dt.timedelta(days=terms.days)
    else:
        due = document_date + dt.timedelta(days=terms.days)
    discount = ZERO
    discount_date = None
    if terms.discount_percent > 0 and terms.discount_days > 0:
        discount = round_money(total * terms.discount_percent / Decimal(100), currency)
        discount_date = document_date + dt.timedelta(days=terms.discount_days)
    return [ScheduleLine(seq=1, due_date=adjust(due), amount=total, discount_amount=discount, discount_date=discount_date)]


@dataclass(frozen=True)
class OpenItem:
    instalment_id: int
    due_date: dt.date
    open_amount: Decimal
    amount: Decimal
    discount_amount: Decimal = ZERO
    discount_date: dt.date | None = None


@dataclass(frozen=True)
class PlanLine:
    instalment_id: int
    amount: Decimal  # taken from the credit
    discount: Decimal = ZERO  # settled by an early-payment discount credit


def discount_available(item: OpenItem, on: dt.date) -> Decimal:
    """The discount may be taken only while the instalment is untouched and inside its window."""
    if item.discount_amount > 0 and item.discount_date is not None and on <= item.discount_date:
        if item.open_amount == item.amount:
            return item.discount_amount
    return ZERO


def plan_oldest_first(*, available: Decimal, items: Sequence[OpenItem], on: dt.date) -> list[PlanLine]:
    """Apply ``available`` to open items by due date then id. Never exceeds either side.

    When what remains of the credit settles an instalment net of its early-payment discount, the
    discount settles the rest (a discount credit, not an open remainder).
    """
    plan: list[PlanLine] = []
    left = available
    for item in sorted(items, key=lambda i: (i.due_date, i.instalment_id)):
        if left <= 0:
            break
        if item.open_amount <= 0:
            continue
        disc = discount_available(item, on)
        need = item.open_amount - disc
        if disc > 0 and left >= need:
            plan.append(PlanLine(item.instalment_id, need, disc))
            left -= need
            continue
        take = min(left, item.open_amount)
        plan.append(PlanLine(item.instalment_id, take))
        left -= take
    return plan


class PlanError(ValueError):
    def __init__(self, code: str, instalment_id: int | None = None):
        super().__init__(code)
        self.code = code
        self.instalment_id = instalment_id


def check_plan(*, available: Decimal, items: Sequence[OpenItem], plan: Sequence[PlanLine]) -> None:
    """Raise PlanError if a manual plan over-applies the credit or any instalment."""
    by_id = {i.instalment_id: i for i in items}
    seen: set[int] = set()
    total = ZERO
    for line in plan:
        if line.amount <= 0 or line.discount < 0:
            raise PlanError("non_positive", line.instalment_id)
        if line.instalment_id in seen:
            raise PlanError("duplicate", line.instalment_id)
        seen.add(line.instalment_id)
        item = by_id.get(line.instalment_id)
        if item is None:
            raise PlanError("unknown_instalment", line.instalment_id)
        if line.amount + line.discount > item.open_amount:
            raise PlanError("over_instalment", line.instalment_id)
        total += line.amount
    if total > available:
        raise PlanError("over_credit")
