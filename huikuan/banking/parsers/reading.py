"""Rows of an uploaded CSV / XLSX / XLS statement, hostile input refused first.

The size limit, the zip-bomb check of XLSX before calamine opens it and the CSV encoding check
(UTF-8 with or without BOM, else GB18030) are the shared ones of ``huikuan.common.uploads``, also
used by the import pipeline; what differs here is which file types a bank statement may be.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.utils.translation import gettext as _

from huikuan.common import uploads

from .base import StatementError


def _rejected(fn, *args):
    """Run a shared upload check, re-raising its refusal as this app's error (same message)."""
    try:
        return fn(*args)
    except uploads.FileRejected as exc:
        raise StatementError(exc.message) from exc


def check_size(size: int) -> None:
    _rejected(uploads.check_size, size)


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


def read_rows(path: Path, name: str) -> list[tuple[int, list]]:
    """Every non-blank row as (line number the user sees, cells)."""
    path = Path(path)
    check_size(path.stat().st_size)
    data = path.read_bytes()
    fmt = _format(name, data[:8])
    rows: list[tuple[int, list]] = []
    if fmt == "csv":
        text = data.decode(_rejected(uploads.detect_encoding, path))
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        for n, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if any(c.strip() for c in cells):
                rows.append((n, cells))
        return rows
    if fmt == "xlsx":
        _rejected(uploads.check_zip, path)
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
