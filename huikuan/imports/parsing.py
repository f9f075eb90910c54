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


_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
)
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def parse_date(value) -> dt.date:
    """2026-01-05, 2026/1/5, 2026.1.5, 2026年1月5日, 20260105, Excel serials (46027) and date cells."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _serial(value)
    return _parse_date_text(str(value or ""))


@functools.lru_cache(maxsize=8192)
def _parse_date_text(value: str) -> dt.date:
    """Cached: a file of 100,000 rows holds a few hundred distinct dates, each read once."""
    text = normalise(value)
    if not text:
        raise CellError(_("Enter a date."))
    text = _TIME_TAIL.sub("", text).strip()
    if re.fullmatch(r"\d{1,7}(\.0+)?", text) and len(text.split(".")[0]) != 8:
        return _serial(float(text.split(".")[0]))
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            try:
                return dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError as exc:
                raise CellError(_("No such date.")) from exc
    raise CellError(_("Not a date: write it as 2026-01-05, 2026/1/5 or 2026年1月5日."))


def _serial(number) -> dt.date:
    whole = int(number)
    if whole != number or not (_SERIAL_MIN <= whole <= _SERIAL_MAX):
        raise CellError(_("Not a date: write it as 2026-01-05, 2026/1/5 or 2026年1月5日."))
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
