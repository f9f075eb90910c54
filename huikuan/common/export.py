"""XLSX and CSV exports for every list and report.

One column spec for both formats: ``columns`` is a sequence of ``(header, kind)`` pairs where kind is
one of ``text``, ``money``, ``date``, ``int`` or ``percent``. ``rows`` is any iterable of sequences
aligned with the columns; it is consumed once, lazily, so a QuerySet ``.iterator()`` or a generator
streams large lists without holding them in memory (XLSX rows go to the writer's constant-memory temp
file — except with a totals row, see ``build_xlsx`` —, CSV rows straight to the client).

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
import csv
import datetime as dt
import itertools
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
XLSX_MAX_TEXT = 32_767
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
    # rather than failing the whole export (common.cleantext). Excel holds at most 32,767 characters a cell.
    # A carriage return becomes a line feed, as an XML parser reads a bare CR (the writer would keep it as
    # "_x000D_", which not every reader decodes).
    if value is None:
        return ""
    text = neutralise(for_xml(str(value)))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:XLSX_MAX_TEXT]


def _money_cell(value):
    # Exact Decimal in, an Excel number (a double) out, shown with two decimals: an amount of up to 15
    # significant digits reads back as the same two-decimal value.
    return None if value is None or value == "" else float(to_decimal(value))


def _int_cell(value):
    return None if value is None or value == "" else int(value)


def _percent_cell(value):
    return None if value is None or value == "" else float(to_decimal(value) / Decimal(100))


def _date_cell(value):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return value
    return _xlsx_text(value)


def _text_cell(value):
    return None if value is None or value == "" else _xlsx_text(value)


_CELL = {
    "money": _money_cell,
    "int": _int_cell,
    "percent": _percent_cell,
    "date": _date_cell,
    "text": _text_cell,
}


# Values a kind's cell takes as they are (by exact type): the writer stores a Decimal as the same double that
# float() gives (tested), so amounts need no conversion in Python — a call per cell was most of the export's
# own time at 100,000 rows (bench/xlsx_bench.py). A datetime (a date subclass) is not in the set: its time
# zone is converted.
_AS_IS = {
    "money": frozenset({Decimal, type(None)}),
    "int": frozenset({int, type(None)}),
    "date": frozenset({dt.date, type(None)}),
    "percent": frozenset({type(None)}),
    "text": frozenset({type(None)}),
}


def _cell_value(value, kind: str):
    """Python value written to XLSX for one cell (None → empty)."""
    return _CELL[kind](value)


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default fonts.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _check_width(row: Sequence, width: int, what: str) -> None:
    if len(row) != width:
        raise ValueError(f"{what} has {len(row)} values for {width} columns")


def _sheet_name(sheet_title) -> str:
    # Excel limits sheet names to 31 characters, forbids a few characters and a leading or trailing quote.
    title = "".join(ch for ch in for_xml(str(sheet_title)) if ch not in "[]:*?/\\")[:31].strip("'")
    return title or "Sheet1"


def _unique(headers: list[str]) -> list[str]:
    """The writer keys its rows by header: a repeated header gets " (2)", " (3)"… so no column is lost."""
    out: list[str] = []
    for header in headers:
        key, n = header, 1
        while key in out:
            n += 1
            key = f"{header} ({n})"
        out.append(key)
    return out


def build_xlsx(
    *, sheet_title: str, columns, rows: Iterable[Sequence], totals: Sequence | None = None, fileobj
):
    """Write the workbook into ``fileobj`` (a binary file). Separated from the response for reuse.

    The writer is rustpy-xlsxwriter (Rust's rust_xlsxwriter under a Python API) in its constant-memory mode:
    a row is converted to plain Python values here and written by the Rust side, about ten times faster
    than openpyxl's write-only mode (100,000 rows × 9 columns: see bench/xlsx_bench.py and
    docs/PERFORMANCE.md). Rows stream from ``rows``; with ``totals`` they are held (converted) and the sheet
    is built in memory, because the bold totals row's position must be known before writing (and the
    writer's constant-memory mode writes a formatted row's element twice).
    """
    import rustpy_xlsxwriter as rx

    columns = _check_columns(columns)
    width = len(columns)
    keys = _unique([neutralise(for_xml(header)) for header, _kind in columns])
    kinds = [kind for _header, kind in columns]
    number_formats = {
        "money": MONEY_FORMAT,
        "int": INT_FORMAT,
        "percent": PERCENT_FORMAT,
        "date": DATE_FORMAT,
    }
    cells = [(key, _AS_IS[kind], _CELL[kind]) for key, kind in zip(keys, kinds, strict=True)]
    datetime_columns: set[int] = set()

    def record(values, what) -> dict:
        if type(values) is not tuple and type(values) is not list:
            values = tuple(values)
        _check_width(values, width, what)
        return {key: value if type(value) in as_is else fn(value)
                for (key, as_is, fn), value in zip(cells, values)}  # noqa: B905 (checked above)

    converted = (record(row, "row") for row in rows)
    # A date column shows the time when its values are datetimes: the column's format is chosen before the
    # first row is written, so rows are read ahead until each date column has shown a value (at most 1,000).
    date_columns = {i for i, kind in enumerate(kinds) if kind == "date"}
    ahead: list[dict] = []
    while (date_columns or not ahead) and len(ahead) < 1000:
        row = next(converted, None)
        if row is None:
            break
        ahead.append(row)
        datetime_columns |= {i for i in date_columns if isinstance(row[keys[i]], dt.datetime)}
        date_columns = {i for i in date_columns if row[keys[i]] is None}
    # the writer takes its header from the first row: an empty list still gets its header
    data: Iterable[dict] = itertools.chain(ahead, converted)
    if not ahead and totals is None:
        data = [dict.fromkeys(keys)]
    row_formats = None
    if totals is not None:
        data = list(data)
        data.append(record(totals, "totals"))
        row_formats = {len(data): rx.Format().set_bold()}  # row 0 is the header
    # A row format in the writer's constant-memory mode writes that row's element twice (an invalid sheet):
    # with a totals row the sheet is built in memory (shared strings), as the rows are held anyway.
    in_memory = totals is not None
    formats = []
    for index, kind in enumerate(kinds):
        fmt = rx.Format()
        if kind in number_formats:
            fmt = fmt.set_num_format(DATETIME_FORMAT if index in datetime_columns else number_formats[kind])
        formats.append(fmt)
    widths = [
        min(_MAX_WIDTH, max(_MIN_WIDTH[kind], _display_width(key) + 4))
        for key, kind in zip(keys, kinds, strict=True)
    ]
    rx.write_worksheet(
        data,
        fileobj,
        sheet_name=_sheet_name(sheet_title),
        freeze_row=1,
        bold_headers=True,
        column_formats=formats,
        column_widths=widths,
        row_formats=row_formats,
        dedupe_strings=in_memory,
    )


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
