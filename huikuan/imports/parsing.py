"""Pure cell parsers: text from a CSV or a spreadsheet cell to a typed value, or a ``CellError``.

No ORM, no clock. Money never passes through ``float``: a numeric spreadsheet cell is turned into
its shortest decimal text (what Excel shows) and parsed exactly from there.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from huikuan.common import datetext
from huikuan.common.cleantext import first_control
from huikuan.common.money import MINOR_UNITS

from .problems import msg as _  # problems are stored as msgid + params (problems.py)


class CellError(ValueError):
    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_MIN, _SERIAL_MAX = 1, 2958465  # 1900-01-01 … 9999-12-31


def cell_text(value) -> str:
    """A cell as trimmed text; numbers from spreadsheets without a trailing '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_text(value, *, max_length: int | None = None, allow_formula_prefix: str = "") -> str:
    text = cell_text(value)
    text = text.replace("\u00a0", " ").strip()
    control = first_control(text)
    if control:
        raise CellError(_("Contains a control character (%(char)s): remove it.") % {"char": control})
    if text and text.startswith(FORMULA_PREFIXES) and not (
        allow_formula_prefix and re.fullmatch(allow_formula_prefix, text)
    ):
        raise CellError(
            _("Text starting with %(char)s could run as a spreadsheet formula; remove the leading character.")
            % {"char": repr(text[0])}
        )
    if max_length is not None and len(text) > max_length:
        raise CellError(_("Too long: at most %(max)d characters.") % {"max": max_length})
    return text


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_CURRENCY_MARKS = ("人民币", "¥", "￥", "RMB", "CNY", "元", "US$", "$", "USD")


def parse_money(value, *, currency: str = "CNY", allow_negative: bool = False, allow_zero: bool = False) -> Decimal:
    """'1,234.50', '１２３４', '¥1234', '1,234.00元', 'RMB 1,234', '(12.00)', '−1,234.00' → Decimal;
    letters, too many decimals refused (negatives only where ``allow_negative``)."""
    if isinstance(value, bool):
        raise CellError(_("Not an amount."))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = cell_text(value)
        if "e" in text or "E" in text:
            text = format(Decimal(repr(value)), "f")
    else:
        text = str(value or "").strip()
        if not (_PLAIN_NUMBER.fullmatch(text) or _GROUPED_NUMBER.fullmatch(text)):  # fast path: plain ASCII
            text = normalise(text)
    text = text.replace(" ", "").replace("\u00a0", "").replace("\u2212", "-")  # U+2212 minus sign
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if not text[-1:].isdigit() or not text[:1].isdigit():
        for mark in _CURRENCY_MARKS:
            if text.upper().startswith(mark):
                text = text[len(mark):]
            if text.upper().endswith(mark):
                text = text[: -len(mark)]
    if text.startswith("-") and text[1:2] in ("¥", "$"):
        text = "-" + text[2:]
    if not text:
        raise CellError(_("Enter an amount."))
    if _GROUPED_NUMBER.fullmatch(text):
        text = text.replace(",", "")
    elif not _PLAIN_NUMBER.fullmatch(text):
        raise CellError(_("Not an amount: use digits, an optional decimal point and thousands separators."))
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regexes above admit only valid text
        raise CellError(_("Not an amount.")) from exc
    if negative:
        amount = -amount
    minor = MINOR_UNITS.get(currency, 2)
    if amount != amount.quantize(Decimal(1).scaleb(-minor)):
        raise CellError(
            _("Too many decimals: %(currency)s amounts have at most %(n)d.") % {"currency": currency, "n": minor}
        )
    if amount < 0 and not allow_negative:
        raise CellError(_("The amount cannot be negative."))
    if amount == 0 and not allow_zero:
        raise CellError(_("The amount must not be zero."))
    return amount.quantize(Decimal("0.01"))


_NOT_A_DATE = _("Not a date: write it as 2026-01-05, 2026/1/5, 2026年1月5日, 1/26/2026 or 26 Jan 2026.")
# a date in words, in the reader's language (the day and year as numbers, the month a word in English)
_LONG_DATES = (
    _("%(day)d January %(year)d"), _("%(day)d February %(year)d"), _("%(day)d March %(year)d"),
    _("%(day)d April %(year)d"), _("%(day)d May %(year)d"), _("%(day)d June %(year)d"), _("%(day)d July %(year)d"),
    _("%(day)d August %(year)d"), _("%(day)d September %(year)d"), _("%(day)d October %(year)d"),
    _("%(day)d November %(year)d"), _("%(day)d December %(year)d"),
)
ORDER_NAMES = {
    datetext.MDY: _("month first (month/day/year)"),
    datetext.DMY: _("day first (day/month/year)"),
}


def long_date(day: dt.date):
    """``day`` in words for a problem message ("2 January 2013" / "2013年1月2日"), unambiguous in any locale."""
    return _LONG_DATES[day.month - 1] % {"day": day.day, "year": day.year}


def parse_date(value, *, order: str | None = None) -> dt.date:
    """2026-01-05, 2026/1/5, 2026.1.5, 2026年1月5日, 20260105, Excel serials (46027), date cells, and what
    other countries' exports write: 1/26/2026, 26.01.2026, 1/26/26, 26-Jan-2026, Jan 26, 2026.

    Year-last numeric dates are read in ``order`` (``datetext.MDY`` / ``DMY``), the order of the whole
    file (see ``pipeline.Importer.date_order``); with None, a value that could be two dates is an error
    naming both.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(value)
    return _parse_date_text(str(value or ""), order)


@functools.lru_cache(maxsize=8192)
def _parse_date_text(value: str, order: str | None) -> dt.date:
    """Cached: a file of 100,000 rows holds a few hundred distinct dates, each read once."""
    text = normalise(value)
    if not text:
        raise CellError(_("Enter a date."))
    bare = datetext.strip_time(text)
    if re.fullmatch(r"\d{1,7}(\.0+)?", bare) and len(bare.split(".")[0]) != 8:
        return _serial(float(bare.split(".")[0]))
    try:
        return datetext.read(text, order)
    except datetext.AmbiguousDate as exc:
        raise CellError(_("%(value)s could be %(month_first)s or %(day_first)s: choose the date order of this "
                          "file (month first or day first).")
                        % {"value": value.strip(), "month_first": long_date(exc.month_first),
                           "day_first": long_date(exc.day_first)}) from exc
    except datetext.NotInOrder as exc:
        if exc.reading is None:
            raise CellError(_("No such date.")) from exc
        raise CellError(_("%(value)s cannot be read %(order)s, the date order chosen for this file; read the other "
                          "way it is %(date)s.")
                        % {"value": value.strip(), "order": ORDER_NAMES[exc.order].text(),
                           "date": long_date(exc.reading)}) from exc
    except datetext.NoSuchDate as exc:
        raise CellError(_("No such date.")) from exc
    except datetext.NotADate as exc:
        raise CellError(_NOT_A_DATE) from exc


def _serial(number) -> dt.date:
    whole = int(number)
    if whole != number or not (_SERIAL_MIN <= whole <= _SERIAL_MAX):
        raise CellError(_NOT_A_DATE)
    return _EXCEL_EPOCH + dt.timedelta(days=whole)


def parse_int(value, *, minimum: int | None = 0) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = normalise(cell_text(value)).replace(",", "")
    if not re.fullmatch(r"[+-]?\d+", text):
        raise CellError(_("Enter a whole number."))
    number = int(text)
    if minimum is not None and number < minimum:
        raise CellError(_("The number must be at least %(min)d.") % {"min": minimum})
    return number


def choice_key(text: str) -> str:
    return re.sub(r"[\s_\-()（）]+", "", normalise(text).lower())


def parse_choice(value, synonyms: dict[str, str]) -> str:
    """Map a cell to a stable code through ``synonyms`` ({choice_key(label): code})."""
    text = cell_text(value)
    code = synonyms.get(choice_key(text))
    if code is None:
        raise CellError(_("Unknown value; choose one of the listed options."))
    return code
