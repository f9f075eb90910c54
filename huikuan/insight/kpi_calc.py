"""Receivables KPIs from aggregated figures — pure arithmetic, Decimal in and out, no ORM, no clock.

The SQL in ``insight.kpis`` sums the ledger (exact integer fen); these functions turn one group's sums
into the figures shown, with the definitions pinned in shared/DOMAIN.md:

* DSO (simple) = ending AR ÷ credit sales in the period × days in the period.
* Best possible DSO = current (not yet due) AR ÷ credit sales × days.
* ADD (average days delinquent) = DSO − best possible DSO.
* DSO countback: ending AR less the latest month's credit sales (counting its days), then the month
  before, …, the last month prorated.
* CEI = (beginning AR + credit sales ÷ N − ending total AR) ÷ (beginning AR + credit sales ÷ N − ending
  current AR) × 100, N = months in the period.
* Collection rate (回款率) in two labelled variants: collected ÷ (opening AR + billed), collected ÷ due.
* Overdue rate (逾期率) = overdue AR ÷ total AR; bad-debt rate (坏账率) = written off ÷ billed.
* AR turnover = credit sales ÷ average AR, annualised on a 360-day year (a month is 1/12, a custom
  period days/360); turnover days = 360 ÷ turnover.

Days are rounded half-up to 0.01 day, percentages to 0.01 %, turnover to 0.01. A figure whose
denominator is zero is ``None`` (shown as "—"), never 0 or infinity.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
DAYS_YEAR = Decimal(360)
_Q = Decimal("0.01")


def q2(value: Decimal | None) -> Decimal | None:
    """Round a ratio half-up to two decimals (days, percent, turnover); ``None`` stays ``None``."""
    return None if value is None else value.quantize(_Q, rounding=ROUND_HALF_UP)


def _div(a: Decimal, b: Decimal) -> Decimal | None:
    return None if not b else a / b


def dso(ar: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """Simple DSO = ending AR ÷ credit sales × days in the period."""
    r = _div(Decimal(ar), Decimal(sales))
    return None if r is None else q2(r * days)


def best_possible_dso(current: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """Best possible DSO = current (not yet due) AR ÷ credit sales × days."""
    return dso(current, sales, days)


def add(dso_days: Decimal | None, best_days: Decimal | None) -> Decimal | None:
    """Average days delinquent = DSO − best possible DSO."""
    return None if dso_days is None or best_days is None else q2(dso_days - best_days)


@dataclass(frozen=True)
class Countback:
    days: Decimal | None
    complete: bool  # False: the AR is larger than all the months given (days is then a lower bound)


def dso_countback(ar: Decimal, months: Sequence[tuple[Decimal, int]]) -> Countback:
    """Countback DSO. ``months``: (credit sales, days) latest month first; the latest may be partial.

    Whole months are counted while the AR left covers their sales; the month where it runs out counts
    the share of its days that the remaining AR is of its sales."""
    left = Decimal(ar)
    if left <= 0:
        return Countback(ZERO if months else None, True)
    total = Decimal(0)
    for sales, days in months:
        sales = Decimal(sales)
        if sales <= 0:
            total += days
            continue
        if left <= sales:
            return Countback(q2(total + left / sales * days), True)
        left -= sales
        total += days
    return Countback(q2(total) if months else None, False)


def cei(beginning: Decimal, sales: Decimal, months: Decimal, ending_total: Decimal,
        ending_current: Decimal) -> Decimal | None:
    """Collection effectiveness index in percent; ``months`` = N, the period's length in months."""
    if not months:
        return None
    base = Decimal(beginning) + Decimal(sales) / Decimal(months)
    r = _div(base - Decimal(ending_total), base - Decimal(ending_current))
    return None if r is None else q2(r * HUNDRED)


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    r = _div(Decimal(part), Decimal(whole))
    return None if r is None else q2(r * HUNDRED)


def turnover(sales: Decimal, ar_begin: Decimal, ar_end: Decimal, years: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """(AR turnover per year, turnover days) on a 360-day year; ``years`` = the period's length in years."""
    average = (Decimal(ar_begin) + Decimal(ar_end)) / 2
    if not average or not years:
        return None, None
    per_year = Decimal(sales) / average / Decimal(years)
    return q2(per_year), (q2(DAYS_YEAR / per_year) if per_year else None)


def weighted_days(weighted: int, amount: Decimal) -> Decimal | None:
    """Amount-weighted average days: Σ(amount in fen × days) ÷ Σ amount in fen."""
    cents = Decimal(amount) * 100
    return None if not cents else q2(Decimal(weighted) / cents)


@dataclass(frozen=True)
class Sums:
    """One group's ledger sums for a period [start, end] (money as Decimal, exact)."""

    ar_begin: Decimal = ZERO          # open AR at the end of the day before the period
    ar_end: Decimal = ZERO            # open AR at the end of the period
    current_end: Decimal = ZERO       # the part of ar_end not yet due (due on or after the end date)
    billed: Decimal = ZERO            # credit sales: invoices and charges dated in the period
    due: Decimal = ZERO               # instalments falling due in the period
    collected: Decimal = ZERO         # payments applied in the period (reversals net)
    written_off: Decimal = ZERO       # write-offs applied in the period
    on_time: Decimal = ZERO           # of ``collected``, applied on or before the instalment's due date
    days_to_pay_weighted: int = 0     # Σ fen × days from document date to payment
    days_late_weighted: int = 0       # Σ fen × days paid after the due date (0 when on time)
    months: tuple[tuple[Decimal, int], ...] = field(default=())  # credit sales per month, latest first


@dataclass(frozen=True)
class Kpis:
    dso: Decimal | None
    best_dso: Decimal | None
    add: Decimal | None
    dso_countback: Decimal | None
    countback_complete: bool
    cei: Decimal | None
    collection_rate_opening: Decimal | None  # collected ÷ (opening AR + billed)
    collection_rate_due: Decimal | None      # collected ÷ due in period
    overdue_rate: Decimal | None
    bad_debt_rate: Decimal | None
    turnover: Decimal | None
    turnover_days: Decimal | None
    days_to_pay: Decimal | None
    days_late: Decimal | None
    on_time_share: Decimal | None


def compute(s: Sums, *, days: int, months: Decimal, years: Decimal) -> Kpis:
    """Every KPI of one group from its sums; ``days``/``months``/``years`` are the period's length."""
    d = dso(s.ar_end, s.billed, days)
    b = best_possible_dso(s.current_end, s.billed, days)
    cb = dso_countback(s.ar_end, s.months)
    t, td = turnover(s.billed, s.ar_begin, s.ar_end, years)
    return Kpis(
        dso=d, best_dso=b, add=add(d, b), dso_countback=cb.days, countback_complete=cb.complete,
        cei=cei(s.ar_begin, s.billed, months, s.ar_end, s.current_end),
        collection_rate_opening=percent(s.collected, s.ar_begin + s.billed),
        collection_rate_due=percent(s.collected, s.due),
        overdue_rate=percent(s.ar_end - s.current_end, s.ar_end),
        bad_debt_rate=percent(s.written_off, s.billed),
        turnover=t, turnover_days=td,
        days_to_pay=weighted_days(s.days_to_pay_weighted, s.collected),
        days_late=weighted_days(s.days_late_weighted, s.collected),
        on_time_share=percent(s.on_time, s.collected),
    )


# ---------------------------------------------------------------- periods



class PeriodError(ValueError):
    """A period that cannot be read or whose end is before its start."""


@dataclass(frozen=True)
class Period:
    """An inclusive date range with its length: ``kind`` month | quarter | year | custom."""

    start: dt.date
    end: dt.date
    kind: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> Decimal:
        """N for the CEI: whole calendar months when the period is made of them, otherwise days ÷ 30."""
        whole = self.start.day == 1 and self.end == month_end(self.end)
        if whole:
            return Decimal((self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1)
        return Decimal(self.days) / 30

    @property
    def years(self) -> Decimal:
        return self.months / 12

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def shifted(self, months: int) -> Period:
        """The same kind of period ``months`` calendar months earlier (negative) or later."""
        start = add_months(self.start, months)
        if self.kind in ("month", "quarter", "year") or (self.start.day == 1 and self.end == month_end(self.end)):
            end = month_end(add_months(self.end.replace(day=1), months))
        else:
            end = start + (self.end - self.start)
        return Period(start, end, self.kind)

    @property
    def whole(self) -> bool:
        """Made of whole calendar months."""
        return self.start.day == 1 and self.end == month_end(self.end)

    def _back(self, months: int) -> Period:
        if self.whole:
            return self.shifted(-months)
        # a period cut at an as-of date compares with the same stretch of days earlier
        return Period(add_months(self.start, -months), add_months(self.end, -months), self.kind)

    def previous(self) -> Period:
        """The period before: the previous month / quarter / year (cut alike when this one is cut at an
        as-of date), or for a custom range the range of the same length just before it."""
        if self.kind == "custom" and not self.whole:
            return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1), "custom")
        span = {"month": 1, "quarter": 3, "year": 12}.get(self.kind) or int(self.months)
        return self._back(span)

    def year_before(self) -> Period:
        return self._back(12)

    def until(self, as_of: dt.date) -> Period:
        """The period cut at ``as_of`` (period to date); refused when ``as_of`` is before its start."""
        if as_of < self.start:
            raise PeriodError("as_of_before_start")
        return self if as_of >= self.end else Period(self.start, as_of, self.kind)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    m = day.year * 12 + day.month - 1 + months
    year, month = divmod(m, 12)
    month += 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


_FULLWIDTH = str.maketrans("０１２３４５６７８９－．／：～", "0123456789-./:~")


def parse_period(text: str) -> Period:
    """``2026-11`` / ``2026年11月``, ``2026-Q4`` / ``2026年第4季度``, ``2026`` / ``2026年``, or a custom range
    ``2026-11-01..2026-11-20`` (also ``~`` or ``/`` between the dates). Raises PeriodError."""
    t = (text or "").strip().translate(_FULLWIDTH).replace(" ", "")
    if not t:
        raise PeriodError("empty")
    try:
        if m := re.fullmatch(r"(\d{4})(?:-|年)(\d{1,2})月?", t):
            y, mo = int(m[1]), int(m[2])
            start = dt.date(y, mo, 1)
            return Period(start, month_end(start), "month")
        if m := re.fullmatch(r"(\d{4})(?:-?[Qq]|年第)([1-4])(?:季度)?", t):
            y, qn = int(m[1]), int(m[2])
            start = dt.date(y, 3 * qn - 2, 1)
            return Period(start, month_end(dt.date(y, 3 * qn, 1)), "quarter")
        if m := re.fullmatch(r"(\d{4})年?", t):
            y = int(m[1])
            return Period(dt.date(y, 1, 1), dt.date(y, 12, 31), "year")
        if m := re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2})(?:\.\.|~|/|至|到)(\d{4}-\d{1,2}-\d{1,2})", t):
            a, b = (dt.date(*map(int, x.split("-"))) for x in (m[1], m[2]))
            if b < a:
                raise PeriodError("end_before_start")
            return Period(a, b, "custom")
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError("invalid") from exc
    raise PeriodError("invalid")


def months_back(end: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """Calendar months ending at ``end``, latest first: (first day, last day counted); the latest is
    cut at ``end``."""
    out = []
    first = end.replace(day=1)
    last = end
    for _i in range(count):
        out.append((first, last))
        last = first - dt.timedelta(days=1)
        first = last.replace(day=1)
    return out
