"""Values written the way finance staff write them: currencies and payment terms.

Pure functions (no ORM): ``parse_currency`` turns 人民币 / RMB / ¥ / 元 / 美元 / $ / 港币 / 欧元 into an
ISO code; ``guess_terms`` reads the usual spellings of payment terms ("月结30天", "30天", "Net 30",
"2/10 N30", "款到发货") into a ``TermGuess`` that can be compared with the install's terms or
proposed as new terms. Dates, amounts and yes/no are in ``parsing``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.common.money import MINOR_UNITS

from .parsing import CellError

_CURRENCY_WORDS = {
    "CNY": ("CNY", "RMB", "人民币", "人民币元", "¥", "元", "CN¥", "RMB¥"),
    "USD": ("USD", "美元", "美金", "$", "US$", "USD$"),
    "HKD": ("HKD", "港币", "港元", "HK$"),
    "EUR": ("EUR", "欧元", "€"),
    "GBP": ("GBP", "英镑", "£"),
    "JPY": ("JPY", "日元", "円"),
    "KRW": ("KRW", "韩元", "₩"),
    "SGD": ("SGD", "新加坡元", "新元", "S$"),
    "TWD": ("TWD", "新台币", "NT$"),
}
CURRENCY_SYNONYMS = {
    unicodedata.normalize("NFKC", word).upper(): code
    for code, words in _CURRENCY_WORDS.items() if code in MINOR_UNITS for word in words
}


def parse_currency(value) -> str:
    """'人民币', 'RMB', '¥', '￥', '元', 'cny' → 'CNY'; '美元', '$' → 'USD'; unknown → CellError."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip().replace(" ", "").upper()
    code = CURRENCY_SYNONYMS.get(text)
    if code is None:
        raise CellError(gettext_lazy("Unsupported currency."))
    return code


@dataclass(frozen=True)
class TermGuess:
    """What a spelling of payment terms means, in the fields of ``customers.PaymentTerm``."""

    kind: str  # net | eom
    days: int
    discount_percent: Decimal = Decimal(0)
    discount_days: int = 0

    def code(self) -> str:
        base = ("EOM" if self.kind == "eom" else "N") + str(self.days)
        if self.discount_percent:
            return f"{self.discount_percent.normalize():f}/{self.discount_days}{base}"
        return base

    def meaning(self) -> str:
        """The definition in the reader's language (shown before the user creates the terms)."""
        if self.kind == "eom":
            text = _("End of month + %(days)d days") % {"days": self.days}
        elif self.days == 0:
            text = _("Due on the document date (payment before delivery)")
        else:
            text = _("Net %(days)d days from the document date") % {"days": self.days}
        if self.discount_percent:
            text += "; " + _("%(percent)s%% discount if paid within %(days)d days") % {
                "percent": f"{self.discount_percent.normalize():f}", "days": self.discount_days}
        return text

    def same_as(self, term) -> bool:
        """True when an existing PaymentTerm (model or dict of its fields) means the same."""
        get = term.get if isinstance(term, dict) else (lambda k: getattr(term, k))
        if get("kind") == "split":
            return False
        return (get("kind"), int(get("days")), Decimal(get("discount_percent") or 0), int(get("discount_days") or 0)) == (
            self.kind, self.days, self.discount_percent, self.discount_days if self.discount_percent else 0)


_IMMEDIATE = ("款到发货", "先款后货", "预付款", "预付", "现款", "现结", "现金结算", "货到付款", "即付", "立即付款",
              "cashinadvance", "cia", "cod", "prepaid", "prepayment", "dueonreceipt", "immediate")
_DAYS = r"(\d{1,3})(?:天|日|days?|d)?"
_TERM_PATTERNS = (
    # 2/10 N30, 2/10 net 30, 2/10,n/30, 2%10天净30天
    (re.compile(r"(\d{1,2}(?:\.\d{1,2})?)%?/(\d{1,3})(?:天|日|days?)?[,;，]?(?:n|net|净|n/)/?" + _DAYS), "discount"),
    (re.compile(r"(?:月结|月底结|月末结|次月结|eom|endofmonth\+?)(?:" + _DAYS + r")?"), "eom"),
    (re.compile(_DAYS + r"(?:月结)"), "eom"),
    (re.compile(r"(?:net|n|账期|信用期|付款期|收款期)?" + _DAYS + r"(?:net|账期|内付款|内付清|付款)?"), "net"),
)


def guess_terms(text: str) -> TermGuess | None:
    """Read a spelling of payment terms; None when it is not one of the usual forms."""
    key = re.sub(r"[\s_\-:：()（）]+", "", unicodedata.normalize("NFKC", str(text or "")).lower())
    if not key:
        return None
    if key in _IMMEDIATE:
        return TermGuess("net", 0)
    for pattern, kind in _TERM_PATTERNS:
        m = pattern.fullmatch(key)
        if m is None:
            continue
        if kind == "discount":
            percent, disc_days, days = Decimal(m[1]), int(m[2]), int(m[3])
            if not (0 < percent < 100) or disc_days >= days:
                return None
            return TermGuess("net", days, percent, disc_days)
        if kind == "eom":
            return TermGuess("eom", int(m[1]) if m[1] else 0)
        return TermGuess("net", int(m[1]))
    return None


__all__ = ["CURRENCY_SYNONYMS", "TermGuess", "guess_terms", "parse_currency"]
