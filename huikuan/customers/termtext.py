"""Parse the short notations clerks type for payment terms (pure, no Django models).

- split lines: "30@0, 70@60" (30 % at 0 days, 70 % at 60 days); also one "percent days" pair per
  line, with "%", "@", spaces, tabs or full-width punctuation between.
- discount: "2/10 net 30" (2 % if paid within 10 days, otherwise net 30), or just "2/10".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，＠％／　；", "0123456789.,@%/ ;")
_SPLIT_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*(?:@|\s)\s*(\d+)\s*(?:d|days?|天)?\s*$", re.IGNORECASE)
_DISCOUNT = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*%?\s*/\s*(\d+)\s*(?:(?:,|\s)\s*(?:n|net)\s*/?\s*(\d+))?\s*$", re.IGNORECASE
)


class TermTextError(ValueError):
    pass


def parse_split(text: str) -> list[dict]:
    """'30@0, 70@60' → [{'percent': '30', 'days': 0}, {'percent': '70', 'days': 60}]."""
    text = (text or "").translate(_FULLWIDTH).strip()
    if not text:
        return []
    lines = []
    for item in re.split(r"[,;\n]+", text):
        if not item.strip():
            continue
        m = _SPLIT_ITEM.match(item)
        if not m:
            raise TermTextError(item.strip())
        try:
            percent = Decimal(m.group(1))
        except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits through
            raise TermTextError(item.strip()) from exc
        lines.append({"percent": format(percent.normalize(), "f"), "days": int(m.group(2))})
    return lines


def format_split(lines) -> str:
    return ", ".join(f"{line['percent']}@{line['days']}" for line in lines or ())


def parse_discount(text: str) -> tuple[Decimal, int, int | None]:
    """'2/10 net 30' → (Decimal('2'), 10, 30); '2/10' → (Decimal('2'), 10, None); '' → (0, 0, None)."""
    text = (text or "").translate(_FULLWIDTH).strip()
    if not text:
        return Decimal(0), 0, None
    m = _DISCOUNT.match(text)
    if not m:
        raise TermTextError(text)
    net = int(m.group(3)) if m.group(3) else None
    return Decimal(m.group(1)), int(m.group(2)), net


def format_discount(percent, days: int, net_days: int | None = None) -> str:
    if not percent:
        return ""
    text = f"{format(Decimal(percent).normalize(), 'f')}/{days}"
    return f"{text} net {net_days}" if net_days is not None else text
