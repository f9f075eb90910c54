"""Dates written the way exports and spreadsheets write them. Pure: no ORM, no clock, no locale.

One reading only, whatever the file:
- year first: ``2026-01-05``, ``2026/1/5``, ``2026.1.5``, ``2026年1月5日``, ``20260105``;
- English month names: ``26-Jan-2013``, ``26 Jan 2013``, ``Jan 26, 2013``, ``January 26 2013``.

Two readings: year last with numbers only (``1/26/2013``, ``26/01/2013``, ``1-26-2013``, ``26.01.2013``,
``1/26/13``) is month first in US exports and day first in most others. A value whose first part is
above 12 can only be day first, one whose second part is above 12 only month first; ``1/2/2013`` could
be either. The order is a property of a whole file (one export, one locale), so callers decide it
once per file — ``OrderVote`` counts the values that prove an order — and pass it to ``read``; a
value that the chosen order cannot read raises ``NotInOrder``, an undecided ambiguous one
``AmbiguousDate`` with both readings.

Two-digit years use Excel's window (what the spreadsheet showed the user when the value was typed):
00–29 are 2000–2029, 30–99 are 1930–1999.

A trailing time (``10:11``, ``10:11:12``, ``12:00:00 AM``) is ignored. Callers normalise the text
(NFKC, trimmed) first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

MDY = "mdy"
DMY = "dmy"
ORDERS = (MDY, DMY)
TWO_DIGIT_PIVOT = 30  # yy < 30 → 20yy, else 19yy (Excel)

_YEAR_FIRST = (
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
)
_YEAR_LAST = re.compile(r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})")
_MONTH_WORD = r"(?P<mon>[A-Za-z]{3,9})\.?"
_NAMED = (
    # 26-Jan-2013, 26 Jan 2013, 26.Jan.13, 26 January 2013
    re.compile(r"(?P<d>\d{1,2})[-\s./]*" + _MONTH_WORD + r"[-\s./,]*(?P<y>\d{4}|\d{2})"),
    # Jan 26, 2013, January 26 2013, Jan-26-2013, Jan 26th, 2013
    re.compile(_MONTH_WORD + r"[-\s./]*(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,\s*|[-\s./]+)(?P<y>\d{4}|\d{2})"),
)
_MONTHS = {
    name: n
    for n, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")),
        start=1,
    )
    for name in names
}
_TIME_TAIL = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?)$")


class DateTextError(ValueError):
    """The text is not a date this module reads."""


class NotADate(DateTextError):
    pass


class NoSuchDate(DateTextError):
    """The form is right but the calendar has no such day (2026-02-30)."""


@dataclass
class AmbiguousDate(DateTextError):
    """Year last, both parts ≤ 12 and different, and no order given: both readings."""

    month_first: dt.date
    day_first: dt.date

    def __str__(self) -> str:
        return f"{self.month_first} or {self.day_first}"


@dataclass
class NotInOrder(DateTextError):
    """The value cannot be read in the order given (its month part is above 12); ``reading`` is the
    only date it can be, in the other order (None when that is no date either)."""

    order: str
    reading: dt.date | None

    def __str__(self) -> str:
        return f"not in {self.order} order"


def strip_time(text: str) -> str:
    return _TIME_TAIL.sub("", text).strip()


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        return 2000 + y if y < TWO_DIGIT_PIVOT else 1900 + y
    return y


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def year_last_parts(text: str) -> tuple[int, int, int] | None:
    """(first part, second part, year) of a numeric year-last date, else None."""
    m = _YEAR_LAST.fullmatch(strip_time(text))
    if m is None:
        return None
    return int(m["a"]), int(m["b"]), _year(m["y"])


def proven_order(text: str) -> str | None:
    """MDY or DMY when a year-last value can only be read one way (a part above 12), else None."""
    parts = year_last_parts(text)
    if parts is None:
        return None
    a, b, _y = parts
    if a > 12 >= b:
        return DMY
    if b > 12 >= a:
        return MDY
    return None


def is_ambiguous(text: str) -> bool:
    """A year-last value that both orders read, as two different dates."""
    parts = year_last_parts(text)
    if parts is None:
        return False
    a, b, _y = parts
    return a != b and 1 <= a <= 12 and 1 <= b <= 12


def read(text: str, order: str | None = None) -> dt.date:
    """The date ``text`` writes; year-last numeric values in ``order`` (MDY, DMY or None: only when
    the value itself shows its order). Raises NotADate, NoSuchDate, AmbiguousDate or NotInOrder."""
    text = strip_time(text)
    for pattern in _YEAR_FIRST:
        m = pattern.fullmatch(text)
        if m:
            found = _date(int(m["y"]), int(m["m"]), int(m["d"]))
            if found is None:
                raise NoSuchDate(text)
            return found
    m = _YEAR_LAST.fullmatch(text)
    if m:
        return _year_last(int(m["a"]), int(m["b"]), _year(m["y"]), order)
    for pattern in _NAMED:
        m = pattern.fullmatch(text)
        if m:
            month = _MONTHS.get(m["mon"].lower())
            if month is None:
                raise NotADate(text)
            found = _date(_year(m["y"]), month, int(m["d"]))
            if found is None:
                raise NoSuchDate(text)
            return found
    raise NotADate(text)


def _year_last(a: int, b: int, y: int, order: str | None) -> dt.date:
    month_first, day_first = _date(y, a, b), _date(y, b, a)
    if order == MDY:
        if month_first is not None:
            return month_first
        raise NotInOrder(MDY, day_first) if a > 12 else NoSuchDate(f"{a}/{b}/{y}")
    if order == DMY:
        if day_first is not None:
            return day_first
        raise NotInOrder(DMY, month_first) if b > 12 else NoSuchDate(f"{a}/{b}/{y}")
    if a > 12 or b > 12 or a == b:  # the value itself shows the order (or both orders agree)
        found = day_first if a > 12 else month_first
        if found is None:
            raise NoSuchDate(f"{a}/{b}/{y}")
        return found
    if month_first is None or day_first is None:  # a zero part (0/5/2013)
        raise NoSuchDate(f"{a}/{b}/{y}")
    raise AmbiguousDate(month_first, day_first)


@dataclass
class OrderVote:
    """What the year-last values of one file show: how many prove each order, the first of each
    (line, column, value), and how many could be read either way."""

    proofs: dict = field(default_factory=lambda: {MDY: 0, DMY: 0})
    first: dict = field(default_factory=dict)  # order → (line, column, value)
    ambiguous: int = 0
    first_ambiguous: tuple | None = None
    _memo: dict = field(default_factory=dict, repr=False)  # text → MDY | DMY | "either" | ""

    def kind(self, text: str) -> str:
        """MDY / DMY (the value proves it), "either" (ambiguous) or "" (not a year-last value)."""
        found = self._memo.get(text)
        if found is None:
            order = proven_order(text)
            found = self._memo[text] = order or ("either" if is_ambiguous(text) else "")
        return found

    def add(self, line: int, column: str, text: str) -> None:
        kind = self.kind(text)
        if kind in ORDERS:
            self.proofs[kind] += 1
            self.first.setdefault(kind, (line, column, text))
        elif kind == "either":
            self.ambiguous += 1
            if self.first_ambiguous is None:
                self.first_ambiguous = (line, column, text)

    @property
    def conflict(self) -> bool:
        return all(self.proofs.values())

    @property
    def order(self) -> str | None:
        """The order the file shows: the one with more proofs (None: no proof, or a tie)."""
        mdy, dmy = self.proofs[MDY], self.proofs[DMY]
        if mdy == dmy:
            return None
        return MDY if mdy > dmy else DMY

    def outvoted(self, order: str) -> bool:
        """Values proving ``order`` are errors: the file shows the other order at least as often."""
        other = DMY if order == MDY else MDY
        return self.proofs[order] > 0 and self.proofs[other] >= self.proofs[order]


__all__ = ["DMY", "MDY", "ORDERS", "AmbiguousDate", "DateTextError", "NoSuchDate", "NotADate", "NotInOrder",
           "OrderVote", "is_ambiguous", "proven_order", "read", "strip_time", "year_last_parts"]
