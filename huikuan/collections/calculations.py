"""Pure collections arithmetic: penalty interest, promise and plan checks. No ORM, no clock.

Interest (DOMAIN.md "Penalty interest and late fees") runs on the outstanding principal day by day:
interest for day d = principal still unpaid at the end of day d−1 × daily rate, from the first day
after ``due_date + grace_days`` up to and including ``as_of``. A payment dated P reduces the base from
P+1. Daily rates are exact fractions (annual ÷ 365, monthly × 12 ÷ 365), summed at full precision and
rounded once per instalment with ``round_money`` (half-up, fen). The cap (an amount, or a percentage of
the instalment's principal) applies per instalment. A disputed part earns no interest while disputed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from huikuan.common.money import ZERO, round_money

DAYS_PER_YEAR = Decimal(365)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Rule:
    basis: str  # none | daily | monthly | annual | lpr
    rate: Decimal  # percent per day / month / year; for lpr the multiple
    lpr_percent: Decimal = ZERO
    grace_days: int = 0
    cap_kind: str = ""  # "" | absolute | percent
    cap_value: Decimal = ZERO

    def daily_rate(self) -> Decimal:
        """The daily rate as a fraction (0.0005 for 日万分之五)."""
        if self.basis == "daily":
            return self.rate / HUNDRED
        if self.basis == "monthly":
            return self.rate * 12 / HUNDRED / DAYS_PER_YEAR
        if self.basis == "annual":
            return self.rate / HUNDRED / DAYS_PER_YEAR
        if self.basis == "lpr":
            return self.rate * self.lpr_percent / HUNDRED / DAYS_PER_YEAR
        return Decimal(0)


# The presets of DOMAIN.md: code → (label key, rule).
PRESETS: dict[str, Rule] = {
    "statutory": Rule(basis="daily", rate=Decimal("0.05")),  # 日万分之五
    "lpr15": Rule(basis="lpr", rate=Decimal("1.5"), lpr_percent=Decimal("3.0")),
    "monthly1": Rule(basis="monthly", rate=Decimal("1")),
    "none": Rule(basis="none", rate=ZERO),
}


@dataclass(frozen=True)
class Interest:
    principal: Decimal
    days: int  # days on which interest ran (base > 0)
    raw: Decimal  # before rounding and cap
    amount: Decimal  # rounded, capped
    capped: bool


def interest_for(
    *,
    principal: Decimal,
    due_date: dt.date,
    payments: Sequence[tuple[dt.date, Decimal]],
    as_of: dt.date,
    rule: Rule,
    start_after: dt.date | None = None,
    excluded: Decimal = ZERO,
) -> Interest:
    """Interest on one instalment of ``principal`` due on ``due_date`` as of ``as_of`` (inclusive).

    ``payments`` are (date, amount) reductions of the base (allocations; a reversal is negative).
    ``start_after``: interest already charged up to that date is not counted again.
    ``excluded``: the disputed part, on which no interest runs; each day's base is the unpaid principal less
    it (never below zero) — payments reduce the undisputed part first.
    """
    rate = rule.daily_rate()
    first = due_date + dt.timedelta(days=rule.grace_days + 1)
    if start_after is not None and start_after + dt.timedelta(days=1) > first:
        first = start_after + dt.timedelta(days=1)
    if rate <= 0 or first > as_of:
        return Interest(principal, 0, ZERO, ZERO, False)
    # base on day d = principal − Σ payments dated < d
    paid_before_first = sum((a for d, a in payments if d < first), ZERO)
    changes: dict[dt.date, Decimal] = {}
    for d, a in payments:
        if first <= d < as_of:
            nxt = d + dt.timedelta(days=1)
            changes[nxt] = changes.get(nxt, ZERO) + a
    base = principal - paid_before_first
    total = Decimal(0)
    days = 0
    cursor = first
    excluded = max(excluded, ZERO)
    for change_day in sorted(changes):
        span = (change_day - cursor).days
        if base - excluded > 0 and span > 0:
            total += (base - excluded) * rate * span
            days += span
        base -= changes[change_day]
        cursor = change_day
    span = (as_of - cursor).days + 1
    if base - excluded > 0 and span > 0:
        total += (base - excluded) * rate * span
        days += span
    amount = round_money(total)
    capped = False
    cap = cap_amount(rule, principal)
    if cap is not None and amount > cap:
        amount, capped = cap, True
    return Interest(principal, days, total, amount, capped)


def cap_amount(rule: Rule, principal: Decimal) -> Decimal | None:
    if rule.cap_kind == "absolute":
        return round_money(rule.cap_value)
    if rule.cap_kind == "percent":
        return round_money(principal * rule.cap_value / HUNDRED)
    return None


def business_date(at: dt.datetime, tz: str = "Asia/Shanghai") -> dt.date:
    """The business date of an aware moment in the company's time zone (midnight belongs to the new day)."""
    if at.tzinfo is None:
        raise ValueError("aware datetime required")
    return at.astimezone(ZoneInfo(tz)).date()


# ---------------------------------------------------------------- plans


class PlanLinesError(ValueError):
    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def check_plan_lines(*, lines: Sequence[tuple[dt.date, Decimal]], replaced_open: Decimal, on: dt.date) -> None:
    """A plan's new schedule must be dated on or after ``on``, positive, and sum exactly to the open amount replaced."""
    if not lines:
        raise PlanLinesError("empty")
    for d, a in lines:
        if a <= 0:
            raise PlanLinesError("not_positive")
        if d < on:
            raise PlanLinesError("past_date", date=d)
    total = sum((a for _d, a in lines), ZERO)
    if total != replaced_open:
        raise PlanLinesError("sum", total=total, open=replaced_open)


# ---------------------------------------------------------------- worklist


def risk_factor(*, broken_promises: int, broken_plans: int) -> Decimal:
    """The worklist's risk multiplier: 1 + 0.25 per broken promise in the last year (at most 4) + 0.5 per broken plan (at most 2)."""
    return Decimal(1) + Decimal("0.25") * min(broken_promises, 4) + Decimal("0.5") * min(broken_plans, 2)


# the worklist's prediction factor: (days from today to the predicted payment of the overdue amount, at most) → ×
PREDICTION_STEPS = ((7, Decimal("0.5")), (30, Decimal(1)), (90, Decimal("1.5")))
PREDICTION_BEYOND = Decimal(2)


def prediction_factor(wait_days: int | None) -> Decimal:
    """The worklist's prediction multiplier from the days until the model expects the overdue amount to be paid
    (amount-weighted): × 0.5 within 7 days (it is coming anyway), × 1 within 30, × 1.5 within 90, × 2 beyond;
    × 1 when there is no prediction (no model live, or the items were posted after the last refresh)."""
    if wait_days is None:
        return Decimal(1)
    for limit, factor in PREDICTION_STEPS:
        if wait_days <= limit:
            return factor
    return PREDICTION_BEYOND


def predicted_wait(*, weight, wait_sum, p90_sum) -> tuple[int | None, Decimal | None]:
    """(days until the predicted payment, p(90+ days late)) of a customer's overdue amount from the worklist's
    sums (``worklist._prediction_sums``): amount-weighted means, days rounded half up, the probability to four
    places. (None, None) when no overdue item has a prediction."""
    if not weight:
        return None, None
    w = Decimal(int(weight))
    days = (Decimal(int(wait_sum or 0)) / w).to_integral_value(rounding=ROUND_HALF_UP)
    p90 = (Decimal(int(p90_sum or 0)) / w / 10000).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return int(days), min(p90, Decimal(1))


# ---------------------------------------------------------------- promises to pay


@dataclass(frozen=True)
class PromiseTerms:
    """A promise as the consumption rule sees it: ``scope`` is the set of instalments it covers (already
    followed through payment plans), ``None`` for a promise on the whole account."""

    key: int
    amount: Decimal
    made_on: dt.date
    promised_date: dt.date
    scope: frozenset[int] | None = None


@dataclass(frozen=True)
class MoneyIn:
    """A piece of money received on ``date``: the part of one payment applied to ``instalment`` (as of the
    review date), or its part still unapplied (``instalment=None``). ``key`` orders pieces of one day."""

    date: dt.date
    amount: Decimal
    instalment: int | None = None
    key: tuple = ()


def promise_order(p: PromiseTerms) -> tuple:
    """Promises consume money earliest promised date first, then earliest made, then first recorded."""
    return (p.promised_date, p.made_on, p.key)


def consume_promises(promises: Sequence[PromiseTerms], money: Sequence[MoneyIn], *, as_of: dt.date) -> dict[int, Decimal]:
    """How much of the money received counts towards each promise, as of ``as_of`` (ARCHITECTURE "Promises to pay").

    Promises are served in ``promise_order``; each takes, earliest money first, the pieces received in its
    window (``made_on`` … ``min(promised_date, as_of)``) that are in its scope — money applied to one of its
    instalments, or money still unapplied (a promise on the account takes any money) — up to its amount.
    A unit of money counts for one promise only: what a promise took is gone for the later ones.
    """
    left = [[m, m.amount] for m in sorted(money, key=lambda m: (m.date, m.key))]
    out: dict[int, Decimal] = {}
    for p in sorted(promises, key=promise_order):
        end = min(p.promised_date, as_of)
        need = p.amount
        took = ZERO
        for piece in left:
            if need <= 0:
                break
            m, avail = piece
            if avail <= 0 or m.date < p.made_on or m.date > end:
                continue
            if p.scope is not None and m.instalment is not None and m.instalment not in p.scope:
                continue
            take = min(avail, need)
            piece[1] = avail - take
            need -= take
            took += take
        out[p.key] = took
    return out


def promise_state(*, amount: Decimal, paid: Decimal, promised_date: dt.date, as_of: dt.date) -> str:
    """kept once the money counted reaches the amount; broken once the promised date has passed without it."""
    if paid >= amount:
        return "kept"
    if promised_date < as_of:
        return "broken"
    return "open"
