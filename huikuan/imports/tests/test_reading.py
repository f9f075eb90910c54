import zipfile

import pytest
from django.utils import translation

from huikuan.common.uploads import FileRejected, open_table

from .helpers import write_csv, write_xlsx

ROWS = [["客户编码", "客户名称", "地区"], ["C100", "北京燕山商贸有限公司", "北京"], ["C101", "深圳南山电子", "深圳"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path, encoding):
    path = write_csv(tmp_path / "c.csv", ROWS, encoding)
    table = open_table(path, "c.csv")
    assert table.headers == ROWS[0]
    assert [(line, cells) for line, cells in table.rows()] == [(2, ROWS[1]), (3, ROWS[2])]


def test_neither_utf8_nor_gbk_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes("客户编码,名称\n".encode() + b"\xff\xfe\x80\x80\xff\n")
    with pytest.raises(FileRejected, match="UTF-8"):
        open_table(path, "bad.csv")


def test_line_numbers_follow_the_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('\n客户编码,备注\nC1,"two\nlines"\n\nC2,x\n', encoding="utf-8")
    table = open_table(path, "c.csv")
    assert table.header_line == 2
    assert [line for line, _cells in table.rows()] == [3, 6]


def test_xlsx_and_xls_read_by_calamine(tmp_path):
    path = write_xlsx(tmp_path / "c.xlsx", [["", ""], *ROWS])
    table = open_table(path, "c.xlsx")
    assert table.format == "xlsx" and table.headers == ROWS[0]
    assert [line for line, _ in table.rows()] == [3, 4]
    # no tool here writes real BIFF .xls files: an XLSX saved under .xls takes the same calamine path
    xls = tmp_path / "c.xls"
    xls.write_bytes(path.read_bytes())
    assert open_table(xls, "c.xls").headers == ROWS[0]


def test_oversize_rejected_before_parsing(tmp_path, settings, monkeypatch):
    settings.HUIKUAN_IMPORT_MAX_BYTES = 1000
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 500)

    def boom(*a, **k):  # parsing must not even start
        raise AssertionError("parsed an oversize file")

    monkeypatch.setattr("huikuan.common.uploads.detect_encoding", boom)
    with translation.override("en"), pytest.raises(FileRejected, match="limit"):
        open_table(path, "big.csv")


def test_zip_bomb_rejected_before_calamine(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))

    def boom(*a, **k):
        raise AssertionError("calamine opened a zip bomb")

    monkeypatch.setattr("huikuan.common.uploads._sheet_rows", boom)
    assert path.stat().st_size < 1024 * 1024
    with translation.override("en"), pytest.raises(FileRejected, match="zip bomb"):
        open_table(path, "bomb.xlsx")


def test_wrong_format_refused(tmp_path):
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(FileRejected):
        open_table(path, "x.pdf")
    fake = tmp_path / "x.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(FileRejected):
        open_table(fake, "x.xlsx")
