"""What every statement parser returns, and the cell parsing they share. Pure: no ORM, no clock.

Amounts come out as signed ``Decimal`` (+ money received, − money paid out), rounded to fen by
refusal (a cell with more decimals than the currency allows is an error, never silently rounded).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from huikuan.common import datetext
from huikuan.common.errors import DomainError


class StatementError(DomainError):
    """The whole file is refused (unknown format, missing columns, a bad cell); nothing is saved."""

    code = "statement_rejected"


@dataclass
class ParsedLine:
    line: int  # line / row number the user sees in the file
    date: dt.date
    amount: Decimal  # signed
    currency: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    counterparty_bank: str = ""
    memo: str = ""
    serial: str = ""
    balance: Decimal | None = None


@dataclass
class ParsedStatement:
    format: str
    lines: list[ParsedLine] = field(default_factory=list)
    account_number: str = ""
    currency: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    layout_id: int | None = None  # the saved mapping (banking.StatementLayout) that read the file
    mapping: dict = field(default_factory=dict)  # field → column, when the user mapped this file now

    @property
    def period(self) -> tuple[dt.date | None, dt.date | None]:
        if not self.lines:
            return None, None
        days = [ln.date for ln in self.lines]
        return min(days), max(days)


_SPACES = re.compile(r"[\s\u3000]+")


def clean_text(value) -> str:
    """A cell as text: full-width forms folded (NFKC), WeChat's leading tab/backtick removed, spaces squeezed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().strip("`\t").strip()
    return _SPACES.sub(" ", text)


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", clean_text(value))


_AMOUNT_JUNK = re.compile(r"[,\s¥$€元]|RMB|CNY", re.IGNORECASE)


def parse_amount(value, *, what: str = "") -> Decimal | None:
    """'1,234.50', '１，２３４．５０', '¥1 234.5', '(12.00)', '-12', a number cell → Decimal; blank → None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(what)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # spreadsheet numbers: shortest repr is what the user typed (12.3 → '12.3'); then exact Decimal
        value = repr(value)
    text = clean_text(value)
    if text in ("", "-", "--", "—"):
        return None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = _AMOUNT_JUNK.sub("", text)
    if text.startswith("+"):
        text = text[1:]
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(what) from exc
    if not amount.is_finite():
        raise ValueError(what)
    if amount.as_tuple().exponent < -2:
        stripped = amount.normalize()
        if stripped.as_tuple().exponent < -2:
            raise ValueError(what)
        amount = stripped
    amount = amount.quantize(Decimal("0.01"))
    return -amount if negative else amount


def parse_day(value, order: str | None = None) -> dt.date | None:
    """A date cell (date, datetime, '2026-03-02', '2026/3/2 10:11:12', '20260302', '2026年3月2日', and
    what foreign banks export: '02/03/2026', '3/2/2026', '2 Mar 2026').

    Read by ``common.datetext``, the grammar the imports use: year-last numeric dates in ``order``
    (``datetext.MDY`` / ``DMY``, the statement's own, see ``date_order``); without one, a value that could
    be two dates raises ``datetext.AmbiguousDate``. Every failure is a ``ValueError``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value)
    if not text:
        return None
    try:
        return datetext.read(text, order)
    except datetext.NotADate:
        head = text.split(" ")[0].split("T")[0]  # a time or zone the grammar does not know
        if head == text:
            raise
        return datetext.read(head, order)


def date_order(values) -> str | None:
    """The order (MDY / DMY) a statement's year-last dates show, by majority; None when none shows one."""
    vote = datetext.OrderVote()
    for value in values:
        if isinstance(value, str) and value:
            vote.add(0, "", clean_text(value))
    return vote.order


def dedupe_keys(lines: list[ParsedLine]) -> list[tuple[str, int]]:
    """(key, occurrence) per line: the bank serial when there is one, else a hash of the row's facts;
    the n-th identical row of a file gets occurrence n (two equal legitimate transfers on one day)."""
    seen: Counter = Counter()
    out = []
    for ln in lines:
        if ln.serial:
            key = "s:" + ln.serial[:96]
        else:
            raw = "|".join([ln.date.isoformat(), str(ln.amount), ln.counterparty_name, ln.counterparty_account,
                            ln.memo, "" if ln.balance is None else str(ln.balance)])
            key = "h:" + hashlib.sha256(raw.encode()).hexdigest()[:40]
        seen[key] += 1
        out.append((key, seen[key]))
    return out


def refuse(message) -> StatementError:
    return StatementError(message)


BAD_CELL = _("Line %(line)s: %(column)s “%(value)s” is not a valid %(what)s.")
AMBIGUOUS_DATE = _("Line %(line)s: %(column)s “%(value)s” could be month first or day first, and no date of the "
                   "statement shows which.")
