"""Statement parsers: one entry point that recognises the format (or takes the one asked for).

Tabular exports are read through the column profiles of ``tables``; a layout none of them knows is
read through a mapping the user made once for the bank account (``SavedLayout``) or gives now
(``mapping``: (column, field) pairs); otherwise ``LayoutUnknown`` carries a preview of the file for
the mapping step. Pure: no ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from . import camt053, mt940, tables
from .base import ParsedLine, ParsedStatement, StatementError, dedupe_keys  # noqa: F401
from .tables import MAP_FIELDS, MappingError, Preview  # noqa: F401

FORMATS = ("camt053", "mt940", *tables.PROFILES)


@dataclass(frozen=True)
class SavedLayout:
    """A mapping the user made for one of the company's bank accounts."""

    id: int
    account_id: int
    account_number: str
    fields: dict = field(default_factory=dict)  # field → column header


class LayoutUnknown(StatementError):
    """No profile and no saved mapping reads this file: the user maps its columns (``preview``)."""

    code = "statement_layout_unknown"

    def __init__(self, message, *, preview: Preview):
        super().__init__(message)
        self.preview = preview


def _digits(text: str) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def parse_file(path, name: str, *, profile: str = "", mapping=None, layouts=(),
               account_number: str = "") -> ParsedStatement:
    """Parse a stored upload. ``profile`` forces a layout (a code of FORMATS); empty = recognise it.

    ``mapping``: (column, field) pairs the user gives for this file (checked by ``tables.check_mapping``);
    ``layouts``: the saved mappings that may apply (of the chosen account, or of every account);
    ``account_number``: the account the user chose (its layouts are preferred). The result's
    ``layout_id`` names the saved layout used and ``mapping`` the user's fields.

    Raises StatementError (translated, listing what is missing or which lines are bad), MappingError
    for a bad mapping, LayoutUnknown when the file must be mapped first.
    """
    path = Path(path)
    if profile and profile not in FORMATS:
        raise StatementError(_("Unknown statement layout “%(profile)s”. Known: %(known)s.")
                             % {"profile": profile, "known": ", ".join(FORMATS)})
    suffix = path.suffix.lower() if path.suffix else Path(name).suffix.lower()
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if profile == "camt053" or (not profile and not mapping and (suffix == ".xml" or camt053.looks_like(head))):
        tables.check_size(path.stat().st_size)
        return camt053.parse(path.read_bytes())
    if profile == "mt940" or (not profile and not mapping and suffix in (".sta", ".mt940", ".940", ".txt")
                              and mt940.looks_like(head.decode("utf-8", errors="ignore"))):
        tables.check_size(path.stat().st_size)
        return mt940.parse(path.read_bytes())
    if suffix in (".sta", ".mt940", ".940"):
        raise StatementError(_("This is not an MT940 statement (no :20: and :61: fields)."))
    _fmt, rows = tables.open_rows(path, name if Path(name).suffix else path.name)
    if profile:
        return tables.parse_rows(rows, tables.PROFILES[profile])
    if mapping:
        view = tables.preview(rows)
        fields = tables.check_mapping(mapping, view.headers)
        parsed = tables.parse_rows(rows, tables.mapped_profile(fields))
        parsed.mapping = fields
        return parsed
    title = tables.title_account_number(rows[:tables.HEADER_SCAN_ROWS])
    wanted = _digits(account_number) or title
    candidates = [lay for lay in layouts if not wanted or lay.account_number == wanted]
    for lay in candidates:
        prof = tables.mapped_profile(lay.fields)
        idx, _where, _missing = tables.find_header(rows, prof)
        if idx is not None:
            parsed = tables.parse_rows(rows, prof)
            parsed.layout_id = lay.id
            parsed.account_number = parsed.account_number or lay.account_number
            return parsed
    found = tables.detect_profile(rows)
    if found is None:
        raise LayoutUnknown(
            _("The layout of this file was not recognised: map its columns once and it will be read the same way "
              "next time. (A bank export is read by itself when it has the columns %(a)s, or %(b)s.)")
            % {"a": "交易日期、借方发生额、贷方发生额、对方户名", "b": "交易日期、交易金额、收/支、对方户名"},
            preview=tables.preview(rows),
        )
    return tables.parse_rows(rows, found)
