"""Finding and normalising the header row of an exported table (CSV / XLSX / XLS).

金蝶, 用友 and bank exports put title rows above the header — the company name, the report's name,
the period, "单位：元", the printing date — and users should not have to delete them before an
import. ``find_header`` looks at the first rows and picks the header:

1. the row whose cells name the most known columns (at least two), comparing ``header_key``s;
2. else (a layout none of the known names describe, mapped by hand afterwards) the first row that is
   nearly as wide as the table and holds only labels — title rows fill one or two cells, data rows
   hold numbers and dates;
3. else the first non-blank row.

``header_key`` is the one normalisation of a header for matching: full-width → half-width (NFKC),
lower case, spaces, underscores, '*', colons and dashes removed, and bracketed notes dropped —
"借方发生额(支取)", "金额（元）" and "客户 编码*" match "借方发生额", "金额" and "客户编码".
Pure functions: no ORM, no Django settings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

HEADER_SCAN_ROWS = 30
_BRACKETED = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")
_NOISE = re.compile(r"[\s_*:\-]+")
# a cell made of digits, separators, currency marks and date words is a value, never a label
_VALUE_LIKE = re.compile(r"[\d\s,.:/\-+()%¥$年月日时分秒]*\d[\d\s,.:/\-+()%¥$年月日时分秒元]*")


def header_key(text) -> str:
    """Normalise a header for matching (see the module docstring)."""
    text = unicodedata.normalize("NFKC", str(text or "")).strip()
    text = _BRACKETED.sub("", text)
    return _NOISE.sub("", text.lower())


def _filled(cells) -> list:
    return [c for c in cells if c is not None and not (isinstance(c, str) and not c.strip())]


def _is_label(cell) -> bool:
    if not isinstance(cell, str):  # numbers, dates and booleans from a spreadsheet are values
        return False
    return not _VALUE_LIKE.fullmatch(unicodedata.normalize("NFKC", cell).strip())


def find_header(rows: Iterable[tuple[int, list]], known: frozenset[str] | set[str] = frozenset(),
                *, scan: int = HEADER_SCAN_ROWS) -> tuple[int, list] | None:
    """The ``(line, cells)`` of the header among the first ``scan`` non-blank rows, or None if there are none.

    ``known`` holds the ``header_key`` of every column name the caller recognises.
    """
    sample: list[tuple[int, list]] = []
    for line, cells in rows:
        if _filled(cells):
            sample.append((line, cells))
            if len(sample) >= scan:
                break
    if not sample:
        return None
    best, best_hits = None, 1
    for line, cells in sample:
        hits = len({header_key(c) for c in _filled(cells) if isinstance(c, str)} & known) if known else 0
        if hits > best_hits:
            best, best_hits = (line, cells), hits
    if best is not None:
        return best
    widest = max(len(_filled(cells)) for _line, cells in sample)
    for line, cells in sample:
        filled = _filled(cells)
        if len(filled) >= 2 and len(filled) * 2 >= widest and all(_is_label(c) for c in filled):
            return line, cells
    return sample[0]


__all__ = ["HEADER_SCAN_ROWS", "find_header", "header_key"]
