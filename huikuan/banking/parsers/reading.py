"""Rows of an uploaded CSV / XLSX / XLS statement, hostile input refused first.

The same rules as ``huikuan.imports.reading`` (which this app may not import: imports sits above
banking in the layers): size limit, zip-bomb check of XLSX before calamine opens it, CSV text
decoded as UTF-8 (with or without BOM) or else GB18030 (a superset of GBK/GB2312) after a full
streaming check, so a file in any other encoding is refused instead of half-read.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from .base import StatementError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_RATIO = 200
MAX_UNCOMPRESSED = 512 * 1024 * 1024


def check_size(size: int) -> None:
    limit = int(getattr(settings, "HUIKUAN_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))
    if size > limit:
        raise StatementError(_("The file is %(size)s MB; the limit is %(limit)s MB.")
                             % {"size": round(size / 1048576, 1), "limit": round(limit / 1048576, 1)})


def _format(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    is_zip, is_ole = head.startswith(b"PK\x03\x04"), head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if suffix in (".xlsx", ".xlsm", ".xls"):
        if is_zip:
            return "xlsx"
        if is_ole and suffix == ".xls":
            return "xls"
        raise StatementError(_("This file is not a valid Excel workbook."))
    if suffix not in (".csv", ".txt", ""):
        raise StatementError(_("Upload a CSV, XLSX or XLS file, a CAMT.053 XML or an MT940 file."))
    if is_zip or is_ole:
        raise StatementError(_("This is a spreadsheet, not a CSV file: save it as .xlsx or .csv."))
    return "csv"


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                if (info.file_size / max(info.compress_size, 1) > MAX_RATIO and info.file_size > 10485760) \
                        or total > MAX_UNCOMPRESSED:
                    raise StatementError(_("The workbook is refused: it expands too much (a zip bomb?)."))
    except zipfile.BadZipFile as exc:
        raise StatementError(_("This file is not a valid Excel workbook.")) from exc


def decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return codecs.decode(data, encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError(_("The file's text encoding is not UTF-8 or GBK/GB18030."))


def read_rows(path: Path, name: str) -> list[tuple[int, list]]:
    """Every non-blank row as (line number the user sees, cells)."""
    path = Path(path)
    check_size(path.stat().st_size)
    data = path.read_bytes()
    fmt = _format(name, data[:8])
    rows: list[tuple[int, list]] = []
    if fmt == "csv":
        text = decode_text(data)
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        for n, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if any(c.strip() for c in cells):
                rows.append((n, cells))
        return rows
    if fmt == "xlsx":
        _check_zip(path)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with open(path, "rb") as fh:
            sheet = CalamineWorkbook.from_filelike(fh).get_sheet_by_index(0)
        for n, cells in enumerate(sheet.iter_rows(), start=1):
            if any(c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in cells):
                rows.append((n, ["" if c is None else c for c in cells]))
    except (CalamineError, ValueError, OSError) as exc:
        raise StatementError(_("The workbook could not be read: %(error)s") % {"error": exc}) from exc
    return rows
