"""XLSX and CSV exports for every list and report.

One column spec for both formats: ``columns`` is a sequence of ``(header, kind)`` pairs where kind is
one of ``text``, ``money``, ``date``, ``int`` or ``percent``. ``rows`` is any iterable of sequences
aligned with the columns; it is consumed once, lazily, so a QuerySet ``.iterator()`` or a generator
streams large lists without holding them in memory (XLSX rows go to openpyxl's write-only temp
file, CSV rows straight to the client).

Values by kind:
- ``money``: Decimal (str and int are parsed exactly, float is refused); written as a number with
  format ``#,##0.00``. Rounding is the caller's job (``common.money.round_money``).
- ``date``: ``date`` or ``datetime``; aware datetimes are shown in the current time zone.
- ``int``: whole number.
- ``percent``: a percentage number, ``Decimal("12.5")`` meaning 12.5 %; written as the fraction 0.125
  with format ``0.00%`` so Excel computes with it.
- ``text``: anything, written as text.

Spreadsheet formula injection: any text cell beginning with ``= + - @``, a tab or a carriage return
gets a leading single quote, so neither Excel nor LibreOffice ever evaluates it (both formats).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from .cleantext import for_xml
from .money import to_decimal

KINDS = ("text", "money", "date", "int", "percent")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
INT_FORMAT = "#,##0"
PERCENT_FORMAT = "0.00%"
_DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Minimum column widths (in Excel character units) per kind; text grows with its header.
_MIN_WIDTH = {"text": 14, "money": 16, "date": 12, "int": 10, "percent": 10}
_MAX_WIDTH = 60


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would read as a formula."""
    if text and text.startswith(_DANGEROUS_PREFIXES):
        return "'" + text
    return text


def _check_columns(columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    checked = []
    for header, kind in columns:
        if kind not in KINDS:
            raise ValueError(f"unknown export column kind {kind!r}; use one of {KINDS}")
        checked.append((str(header), kind))
    return checked


def _as_text(value) -> str:
    if value is None:
        return ""
    return neutralise(str(value))


def _xlsx_text(value) -> str:
    # XLSX is XML: a control character stored before the edge refused them (or written by code) is dropped
    # rather than failing the whole export (common.cleantext).
    return "" if value is None else neutralise(for_xml(str(value)))


def _cell_value(value, kind: str):
    """Python value written to XLSX for one cell (None → empty)."""
    if value is None or value == "":
        return None
    if kind == "money":
        return to_decimal(value)
    if kind == "int":
        return int(value)
    if kind == "percent":
        return to_decimal(value) / Decimal(100)
    if kind == "date":
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.replace(tzinfo=None)
        if isinstance(value, dt.date):
            return value
        return _xlsx_text(value)
    return _xlsx_text(value)


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _check_width(row: Sequence, width: int, what: str) -> None:
    if len(row) != width:
        raise ValueError(f"{what} has {len(row)} values for {width} columns")


def build_xlsx(
    *, sheet_title: str, columns, rows: Iterable[Sequence], totals: Sequence | None = None, fileobj
):
    """Write the workbook into ``fileobj`` (a binary file). Separated from the response for reuse."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    columns = _check_columns(columns)
    width = len(columns)
    wb = Workbook(write_only=True)
    # Excel limits sheet names to 31 characters and forbids a few characters.
    title = "".join(ch for ch in for_xml(str(sheet_title)) if ch not in "[]:*?/\\")[:31] or "Sheet1"
    ws = wb.create_sheet(title=title)
    ws.freeze_panes = "A2"
    for index, (header, kind) in enumerate(columns, start=1):
        ws.column_dimensions[_column_letter(index)].width = min(
            _MAX_WIDTH, max(_MIN_WIDTH[kind], _display_width(header) + 4)
        )

    bold = Font(bold=True)
    formats = {"money": MONEY_FORMAT, "int": INT_FORMAT, "percent": PERCENT_FORMAT}

    def make_cell(value, kind, *, font=None):
        cell = WriteOnlyCell(ws, value=value)
        if font is not None:
            cell.font = font
        if value is not None:
            if kind == "date" and isinstance(value, dt.date):
                cell.number_format = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
            elif kind in formats and not isinstance(value, str):
                cell.number_format = formats[kind]
        return cell

    try:
        ws.append([make_cell(neutralise(for_xml(header)), "text", font=bold) for header, _kind in columns])
        for row in rows:
            row = list(row)
            _check_width(row, width, "row")
            ws.append(
                [make_cell(_cell_value(v, kind), kind) for v, (_h, kind) in zip(row, columns, strict=True)]
            )
        if totals is not None:
            totals = list(totals)
            _check_width(totals, width, "totals")
            ws.append(
                [
                    make_cell(_cell_value(v, kind), kind, font=bold)
                    for v, (_h, kind) in zip(totals, columns, strict=True)
                ]
            )
    except BaseException:
        # Finish openpyxl's row writer now so its temp file is not left to the garbage collector.
        with contextlib.suppress(Exception):
            ws.close()
        raise
    wb.save(fileobj)


def xlsx_response(*, filename: str, sheet_title: str, columns, rows, totals=None) -> FileResponse:
    """An attachment response with one worksheet: bold frozen header, typed cells, optional bold totals row.

    ``totals`` is a sequence aligned with ``columns`` (``None`` for blank cells, a label in the first).
    """
    if not filename.lower().endswith(".xlsx"):
        filename += ".xlsx"
    fileobj = tempfile.TemporaryFile()  # closed by FileResponse when the response is closed
    try:
        build_xlsx(sheet_title=sheet_title, columns=columns, rows=rows, totals=totals, fileobj=fileobj)
    except BaseException:
        fileobj.close()
        raise
    fileobj.seek(0)
    return FileResponse(fileobj, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


class _Echo:
    def write(self, value):
        return value


def _csv_value(value, kind: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return str(to_decimal(value))
    if kind == "int":
        return str(int(value))
    if kind == "percent":
        return str(to_decimal(value))
    if kind == "date" and isinstance(value, dt.date):
        if isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime("%Y-%m-%d %H:%M")
        return value.isoformat()
    return _as_text(value)


def iter_csv(*, columns, rows: Iterable[Sequence], totals: Sequence | None = None):
    """Yield CSV text chunks: a UTF-8 BOM (so Excel detects the encoding), the header, rows, totals."""
    columns = _check_columns(columns)
    width = len(columns)
    writer = csv.writer(_Echo())
    yield codecs.BOM_UTF8.decode("utf-8")
    yield writer.writerow([neutralise(header) for header, _kind in columns])
    for row in rows:
        row = list(row)
        _check_width(row, width, "row")
        yield writer.writerow([_csv_value(v, kind) for v, (_h, kind) in zip(row, columns, strict=True)])
    if totals is not None:
        totals = list(totals)
        _check_width(totals, width, "totals")
        yield writer.writerow([_csv_value(v, kind) for v, (_h, kind) in zip(totals, columns, strict=True)])


def csv_response(
    *, filename: str, sheet_title: str = "", columns, rows, totals=None
) -> StreamingHttpResponse:
    """A streamed UTF-8 (with BOM) CSV attachment; same arguments as ``xlsx_response``.

    Money is written as plain decimals ("1234.50"), percent as the percentage number, dates ISO 8601.
    """
    if not filename.lower().endswith(".csv"):
        filename += ".csv"
    chunks = (chunk.encode("utf-8") for chunk in iter_csv(columns=columns, rows=rows, totals=totals))
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
