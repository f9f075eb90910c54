"""Finding raw codes in what a reader sees (pages, PDF text, exports).

A raw code is a dotted identifier (``statement.issued``, ``customers.customer.updated``) anywhere, or — in
a Chinese page — an English lowercase word that is not data (``hold``, ``bankruptcy``, ``done``).
"""

import re
from html import unescape

DOTTED = re.compile(r"(?<![\w@/.-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+(?![\w@/.-])")
WORD = re.compile(r"(?<![\w@/.-])[a-z][a-z_]{2,}(?![\w@/.-])")


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|head)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<(option)\b[^>]*>.*?</\1>", " ", html, flags=re.S | re.I)  # a select's values are not shown
    return unescape(re.sub(r"<[^>]+>", " ", html))


def raw_codes(text: str, *, chinese: bool, data: tuple[str, ...] = ()) -> list[str]:
    """Codes found in ``text``; words in ``data`` (user names, codes of the fixtures) are allowed."""
    allowed = {w.lower() for d in data for w in re.findall(r"[A-Za-z_]+", d)}
    found = [m for m in DOTTED.findall(text) if m not in allowed]
    if chinese:
        found += [m for m in WORD.findall(text) if m not in allowed]
    return sorted(set(found))
