"""Control characters: refused at the edge, stripped where a file format cannot hold them.

Text from outside (web forms, query strings, API bodies, imported files) may carry C0 control characters
(U+0000–U+001F) and DEL (U+007F) copied from other systems. Only tab, line feed and carriage return have a
meaning in typed text; every other one is refused where the text enters (``common.middleware``, the API's
JSON parser, ``imports.parsing``), with the character named so the user can find it.

Text already stored (from before this rule, or written by code) can still hold them, so every writer of a
format that cannot — XML 1.0, and so XLSX — drops them (``for_xml``); CSV can carry anything and is left as
it is.
"""

from __future__ import annotations

import re

# C0 controls other than tab, line feed and carriage return, and DEL.
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What XML 1.0 cannot hold: C0 controls other than tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def first_control(text: str) -> str | None:
    """The first refused control character in ``text`` as ``U+0007``, or None when there is none."""
    m = _REFUSED.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def for_xml(text: str) -> str:
    """``text`` without the characters an XML document (XLSX, ODS, DOCX) cannot contain."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def find_control(data, *, path: str = "") -> tuple[str, str] | None:
    """The first refused control character anywhere in parsed JSON ``data`` (keys and string values), as
    ``(field path, "U+0007")``, or None."""
    if isinstance(data, str):
        found = first_control(data)
        return (path, found) if found else None
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            found = find_control(key, path=where) or find_control(value, path=where)
            if found:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = find_control(value, path=f"{path}[{index}]" if path else str(index))
            if found:
                return found
    return None
