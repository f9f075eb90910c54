import datetime as dt
import io
import re
import zipfile
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from huikuan.common.export import csv_response, neutralise, xlsx_response

COLUMNS = [
    ("编码", "text"),
    ("Name", "text"),
    ("Open amount", "money"),
    ("Due date", "date"),
    ("Days", "int"),
    ("Share", "percent"),
]


def _rows():
    yield ["C001", "上海华东机械有限公司", D("1234567.89"), dt.date(2026, 3, 31), 12, D("12.5")]
    yield ["C002", '=HYPERLINK("http://evil","x")', D("-0.01"), None, 0, D("100")]
    yield ["C003", "+cmd|' /C calc'!A0", D("0.00"), dt.date(2026, 1, 1), None, None]
    yield ["C004", "-2+3", D("5"), None, 1, D("0")]
    yield ["C005", "@SUM(A1)", None, None, 2, None]
    yield ["C006", "\tTAB", None, None, 3, None]
    yield ["C007", "\rCR", None, None, 4, None]


def _workbook(response):
    body = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(body))


def test_xlsx_types_header_frozen_and_totals():
    response = xlsx_response(
        filename="customers",
        sheet_title="客户",
        columns=COLUMNS,
        rows=_rows(),  # a generator: rows are streamed, never listed up front
        totals=["合计", None, D("1234572.88"), None, 22, None],
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="customers.xlsx"' in response["Content-Disposition"]
    wb = _workbook(response)
    ws = wb["客户"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == ["编码", "Name", "Open amount", "Due date", "Days", "Share"]
    assert all(c.font.bold for c in ws[1])

    first = ws[2]
    assert first[0].value == "C001"
    assert first[2].value == pytest.approx(1234567.89)  # a number, not text
    assert first[2].data_type == "n"
    assert first[2].number_format == "#,##0.00"
    assert isinstance(first[3].value, dt.datetime) and first[3].value.date() == dt.date(2026, 3, 31)
    assert first[3].is_date
    assert first[4].value == 12 and first[4].data_type == "n"
    assert first[5].value == pytest.approx(0.125)
    assert first[5].number_format == "0.00%"
    assert ws.cell(row=3, column=3).value == pytest.approx(-0.01)

    assert ws.column_dimensions["C"].width >= 16

    totals = ws[ws.max_row]
    assert totals[0].value == "合计"
    assert totals[0].font.bold
    assert totals[2].value == pytest.approx(1234572.88)
    assert totals[2].number_format == "#,##0.00"
    assert totals[4].value == 22
    assert ws.max_row == 1 + 7 + 1


def test_xlsx_formula_injection_is_neutralised():
    wb = _workbook(xlsx_response(filename="x.xlsx", sheet_title="s", columns=COLUMNS, rows=_rows()))
    ws = wb.active
    names = [ws.cell(row=r, column=2).value for r in range(3, 9)]
    assert names == [
        '\'=HYPERLINK("http://evil","x")',
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTAB",
        "'\nCR",  # XML normalises a bare CR to LF; the quote still leads
    ]
    for r in range(1, ws.max_row + 1):
        for cell in ws[r]:
            assert cell.data_type != "f"  # nothing is ever a formula


def test_xlsx_empty_rows_and_bad_kind():
    wb = _workbook(xlsx_response(filename="e", sheet_title="e", columns=COLUMNS, rows=iter(())))
    assert wb.active.max_row == 1
    assert [c.value for c in wb.active[1]] == [h for h, _k in COLUMNS]  # the header, even without rows
    with pytest.raises(ValueError):
        xlsx_response(filename="e", sheet_title="e", columns=[("a", "float")], rows=[])
    with pytest.raises(ValueError):
        xlsx_response(filename="e", sheet_title="e", columns=COLUMNS, rows=[["too short"]])


def test_xlsx_refuses_float_money():
    with pytest.raises(TypeError):
        xlsx_response(filename="e", sheet_title="e", columns=[("a", "money")], rows=[[1.1]])


def test_xlsx_aware_datetime_is_written_in_local_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    when = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)
    wb = _workbook(xlsx_response(filename="e", sheet_title="e", columns=[("at", "date")], rows=[[when]]))
    assert wb.active["A2"].value == dt.datetime(2026, 4, 1, 0, 30)


def test_csv_bom_values_and_injection():
    response = csv_response(
        filename="客户.csv",
        columns=COLUMNS,
        rows=_rows(),
        totals=["合计", None, D("1234572.88"), None, 22, None],
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=utf-8''%E5%AE%A2%E6%88%B7.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "编码,Name,Open amount,Due date,Days,Share"
    assert lines[1] == "C001,上海华东机械有限公司,1234567.89,2026-03-31,12,12.5"
    assert lines[2].startswith("C002,\"'=HYPERLINK(")
    assert lines[3].startswith("C003,'+cmd")
    assert lines[4].startswith("C004,'-2+3,5,")
    assert lines[-1] == "合计,,1234572.88,,22,"


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("normal") == "normal"
    assert neutralise("") == ""
    assert neutralise("a=b") == "a=b"


def test_xlsx_rows_are_valid_and_amounts_exact_at_scale():
    """Each row element once (a repeated one makes Excel repair the file), money cells hold the amount's own
    digits, a date column of datetimes shows the time, and 20,000 rows come back in order (issue 19's writer)."""
    rows = [
        [f"C{i:05d}", D(i) * 1000 + D("0.07"), dt.datetime(2026, 1, 1, 8, 30) if i % 2 else None]
        for i in range(20_000)
    ]
    columns = [("Code", "text"), ("Amount", "money"), ("At", "date")]
    for totals in (None, ["Total", sum(r[1] for r in rows), None]):
        response = xlsx_response(
            filename="big", sheet_title="big", columns=columns, rows=iter(rows), totals=totals
        )
        body = b"".join(response.streaming_content)
        sheet = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
        numbers = re.findall(r'<row r="(\d+)"', sheet)
        assert len(numbers) == len(set(numbers)) == 1 + len(rows) + (totals is not None)
        assert "<v>19999000.07</v>" in sheet and "<v>1000.07</v>" in sheet
        ws = load_workbook(io.BytesIO(body), read_only=True).active
        got = list(ws.iter_rows(min_row=2, max_row=len(rows) + 1, values_only=True))
        assert [g[0] for g in got] == [r[0] for r in rows]
        assert all(D(str(g[1])) == r[1] for g, r in zip(got, rows, strict=True))
        assert got[1][2] == dt.datetime(2026, 1, 1, 8, 30)
        assert load_workbook(io.BytesIO(body)).active["C3"].number_format == "yyyy-mm-dd hh:mm"
        if totals:
            last = load_workbook(io.BytesIO(body)).active[len(rows) + 2]
            assert last[0].value == "Total" and last[0].font.bold
            assert D(str(last[1].value)) == totals[1] and last[1].number_format == "#,##0.00"


def test_xlsx_repeated_headers_and_long_text():
    wb = _workbook(
        xlsx_response(
            filename="r",
            sheet_title="r",
            columns=[("A", "text"), ("A", "text"), ("A", "money")],
            rows=[["x", "y" * 40_000, D("1")]],
        )
    )
    ws = wb.active
    assert [c.value for c in ws[1]] == ["A", "A (2)", "A (3)"]
    assert ws["A2"].value == "x" and len(ws["B2"].value) == 32_767 and ws["C2"].value == 1


def test_xlsx_amounts_go_to_the_writer_as_decimals(monkeypatch):
    """Decimal amounts and dates are handed to the writer as they are (no Python call per cell, issue 19); the
    cell is the same double float() gives, and what is not a Decimal is still converted (str) or refused."""
    from huikuan.common import export

    calls = []
    convert = export._CELL["money"]
    monkeypatch.setitem(export._CELL, "money", lambda v: calls.append(v) or convert(v))
    amounts = [D("1234567.89"), D("-0.01"), D("9999999999999.99"), D("0.10"), None]
    with io.BytesIO() as fh:
        export.build_xlsx(sheet_title="s", columns=[("amount", "money"), ("day", "date")],
                          rows=[(a, dt.date(2026, 1, 2)) for a in amounts] + [("12.5", None)], fileobj=fh)
        ws = load_workbook(io.BytesIO(fh.getvalue())).active
    got = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert got == [float(a) if a is not None else None for a in amounts] + [12.5]
    assert calls == ["12.5"]
    with pytest.raises(TypeError), io.BytesIO() as fh:
        export.build_xlsx(sheet_title="s", columns=[("amount", "money")], rows=[(1.5,)], fileobj=fh)
