"""Reading uploaded CSV / XLSX / XLS files as a stream of rows, refusing hostile input first.

- Size: anything above ``settings.HUIKUAN_IMPORT_MAX_BYTES`` (default 50 MB) is refused from the
  file's size before a byte is parsed.
- XLSX: the zip directory is inspected with ``zipfile`` (declared uncompressed sizes and the
  compression ratio of every member) before calamine sees the file, so a zip bomb never inflates.
- CSV encodings: UTF-8 (with or without BOM) is tried first, then GB18030 (a superset of GBK and
  GB2312); the check is a streaming decode of the whole file, so a file that is neither is refused
  up front with a clear message instead of half-imported garbage. A file whose lines are partly
  UTF-8 and partly GBK (two exports pasted together) would decode as GB18030 into mojibake: it is
  refused with the line numbers of each kind.
- The header row is found below title rows (``common.headers.find_header``).
- CSV rows are streamed (``csv.reader`` over an incremental decoder); spreadsheets are read sheet
  by sheet by calamine (its range is held in Rust memory, bounded by the zip check above).

Every row comes out as ``(line, [cells])`` where ``line`` is the line or row number the user sees
in Excel or a text editor (header = line 1 for a plain file).
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from huikuan.common.errors import DomainError
from huikuan.common.headers import find_header

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# A member of a real spreadsheet rarely inflates more than ~20×; bombs go to thousands.
MAX_RATIO = 200
MAX_UNCOMPRESSED = 1024 * 1024 * 1024  # 1 GB across all members
CHUNK = 1024 * 1024
EXTENSIONS = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")


class FileRejected(DomainError):
    """The whole file is refused (encoding, size, format, missing columns); nothing was read into the DB."""

    code = "file_rejected"


def max_bytes() -> int:
    return int(getattr(settings, "HUIKUAN_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def check_size(size: int) -> None:
    limit = max_bytes()
    if size > limit:
        raise FileRejected(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": round(size / 1024 / 1024, 1), "limit": round(limit / 1024 / 1024, 1)}
        )


def file_format(name: str, head: bytes) -> str:
    """'csv', 'xlsx' or 'xls' from the extension, cross-checked against the file's first bytes."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise FileRejected(_("Upload a CSV, XLSX or XLS file."))
    is_zip = head.startswith(b"PK\x03\x04")
    is_ole = head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if suffix in (".xlsx", ".xlsm"):
        if not is_zip:
            raise FileRejected(_("This file is not a valid XLSX workbook."))
        return "xlsx"
    if suffix == ".xls":
        if is_ole:
            return "xls"
        if is_zip:  # an XLSX saved with the old extension; calamine reads it by content
            return "xlsx"
        raise FileRejected(_("This file is not a valid XLS workbook."))
    if is_zip or is_ole:
        raise FileRejected(_("This is a spreadsheet, not a CSV file: save it as .xlsx or .csv."))
    return "csv"


def check_zip(path: Path) -> None:
    """Refuse an XLSX whose declared uncompressed size or ratio is that of a zip bomb."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > MAX_RATIO and info.file_size > 10 * 1024 * 1024:
                    raise FileRejected(
                        _("The workbook is refused: one of its parts expands %(ratio)d times (a zip bomb?).")
                        % {"ratio": int(ratio)}
                    )
                if total > MAX_UNCOMPRESSED:
                    raise FileRejected(_("The workbook is refused: it expands to more than 1 GB."))
    except zipfile.BadZipFile as exc:
        raise FileRejected(_("This file is not a valid XLSX workbook.")) from exc


def _ranges(lines: list[int], limit: int = 8) -> str:
    """[2, 3, 4, 9] → '2–4, 9' (at most ``limit`` ranges, then '…')."""
    out: list[list[int]] = []
    for n in lines:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in out[:limit])
    return text + (", …" if len(out) > limit else "")


def check_mixed_encoding(path: Path) -> None:
    """Refuse a file whose non-ASCII lines are partly valid UTF-8 and partly not (GBK pasted into UTF-8).

    Only called once the file failed to decode as UTF-8 as a whole. A line counts as UTF-8 when it
    decodes as UTF-8 and holds a CJK character (a GBK line almost never does both).
    """
    utf8_lines: list[int] = []
    other_lines: list[int] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            if raw.isascii():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                other_lines.append(n)
                continue
            if any("\u3400" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text):
                utf8_lines.append(n)
            else:
                other_lines.append(n)
    if utf8_lines and other_lines:
        raise FileRejected(
            _("The file mixes two text encodings: lines %(utf8)s are UTF-8 and lines %(gbk)s are GBK/GB18030, "
              "so part of it would be read as garbled text. Nothing was imported. Save the whole file in one "
              "encoding (e.g. \"CSV UTF-8\") and upload it again.")
            % {"utf8": _ranges(utf8_lines), "gbk": _ranges(other_lines)}
        )


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' or 'gb18030', checked by decoding the whole file in chunks; else FileRejected.

    A file that is UTF-8 in some lines and GBK in others is refused with the line numbers.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        if encoding == "gb18030":
            check_mixed_encoding(path)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRejected(
        _("The file's text encoding is not UTF-8 or GBK/GB18030. Save it as \"CSV UTF-8\" and upload it again.")
    )


@dataclass
class Table:
    """An opened file: its header cells and a function yielding the data rows."""

    format: str
    encoding: str
    header_line: int
    headers: list[str]
    path: Path

    def rows(self) -> Iterator[tuple[int, list]]:
        if self.format == "csv":
            yield from _csv_rows(self.path, self.encoding, skip_to=self.header_line)
        else:
            yield from _sheet_rows(self.path, skip_to=self.header_line)


def _blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _csv_rows(path: Path, encoding: str, *, skip_to: int = 0) -> Iterator[tuple[int, list]]:
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(64 * 1024)
        fh.seek(0)
        delimiter = ","
        # sniffed on the first line that has a separator at all (title rows above the header have none)
        first = next((ln for ln in sample.split("\n") if any(d in ln for d in ",;\t")), "")
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
        except csv.Error:
            pass
        reader = csv.reader(fh, delimiter=delimiter)
        line = 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if start <= skip_to or _blank(cells):
                continue
            yield start, cells


def _sheet_rows(path: Path, *, skip_to: int = 0) -> Iterator[tuple[int, list]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        # from_filelike detects the format by content (an XLSX named .xls still opens)
        with open(path, "rb") as fh:
            wb = CalamineWorkbook.from_filelike(fh)
            sheet = wb.get_sheet_by_index(0)
        # iter_rows() starts at the sheet's first row (leading empty rows included), so the
        # position is Excel's row number; leading empty columns are dropped, which is harmless.
        for offset, cells in enumerate(sheet.iter_rows()):
            line = offset + 1
            if line <= skip_to or _blank(cells):
                continue
            yield line, ["" if c is None else c for c in cells]
    except CalamineError as exc:
        raise FileRejected(_("The workbook could not be read: %(error)s") % {"error": exc}) from exc
    except (ValueError, OSError) as exc:
        raise FileRejected(_("The workbook could not be read: %(error)s") % {"error": exc}) from exc


def open_table(path: Path, name: str, known: frozenset[str] = frozenset()) -> Table:
    """Check and open a stored upload and find its header row below any title rows.

    ``known`` holds the ``header_key`` of the column names the caller recognises (see ``find_header``).
    """
    path = Path(path)
    check_size(path.stat().st_size)
    with open(path, "rb") as fh:
        head = fh.read(8)
    fmt = file_format(name, head)
    encoding = ""
    if fmt == "xlsx":
        check_zip(path)
    if fmt == "csv":
        encoding = detect_encoding(path)
        rows = _csv_rows(path, encoding)
    else:
        rows = _sheet_rows(path)
    found = find_header(rows, known)
    if found is None:
        raise FileRejected(_("The file is empty."))
    line, cells = found
    headers = [cell_label(c) for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    return Table(format=fmt, encoding=encoding, header_line=line, headers=headers, path=path)


def cell_label(cell) -> str:
    """A header cell as the text the user sees (a numeric header such as 2026 without '.0')."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).replace("\u3000", " ").strip()
