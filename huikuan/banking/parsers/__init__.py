"""Statement parsers: one entry point that recognises the format (or takes the one asked for)."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from . import camt053, mt940, tables
from .base import ParsedLine, ParsedStatement, StatementError, dedupe_keys  # noqa: F401

FORMATS = ("camt053", "mt940", *tables.PROFILES)


def parse_file(path, name: str, *, profile: str = "") -> ParsedStatement:
    """Parse a stored upload. ``profile`` forces a layout (a code of FORMATS); empty = recognise it.

    Raises StatementError (translated, listing what is missing or which lines are bad).
    """
    path = Path(path)
    if profile and profile not in FORMATS:
        raise StatementError(_("Unknown statement layout “%(profile)s”. Known: %(known)s.")
                             % {"profile": profile, "known": ", ".join(FORMATS)})
    suffix = path.suffix.lower() if path.suffix else Path(name).suffix.lower()
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if profile == "camt053" or (not profile and (suffix == ".xml" or camt053.looks_like(head))):
        tables.check_size(path.stat().st_size)
        return camt053.parse(path.read_bytes())
    if profile == "mt940" or (not profile and suffix in (".sta", ".mt940", ".940", ".txt")
                              and mt940.looks_like(head.decode("utf-8", errors="ignore"))):
        tables.check_size(path.stat().st_size)
        return mt940.parse(path.read_bytes())
    if suffix in (".sta", ".mt940", ".940"):
        raise StatementError(_("This is not an MT940 statement (no :20: and :61: fields)."))
    _fmt, rows = tables.open_rows(path, name if Path(name).suffix else path.name)
    if profile:
        return tables.parse_rows(rows, tables.PROFILES[profile])
    found = tables.detect_profile(rows)
    if found is None:
        raise StatementError(
            _("The layout of this file was not recognised. A bank export needs the columns %(a)s, or %(b)s.")
            % {"a": "交易日期、借方发生额、贷方发生额、对方户名", "b": "交易日期、交易金额、收/支、对方户名"}
        )
    return tables.parse_rows(rows, found)
