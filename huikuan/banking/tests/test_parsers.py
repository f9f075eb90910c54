"""Every parser on its sample file, and the cell rules (thousand separators, full-width digits)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import translation

from huikuan.banking.parsers import StatementError, dedupe_keys, parse_file
from huikuan.banking.parsers.base import ParsedLine, parse_amount, parse_day

from .conftest import SAMPLES


def parse(name, **kw):
    return parse_file(SAMPLES / name, name, **kw)


def test_debit_credit_gbk_csv_with_title_rows_separators_and_full_width_digits():
    st = parse("cn_debit_credit_gbk.csv")
    assert st.format == "cn_debit_credit"
    assert [ln.amount for ln in st.lines] == [D("12345.60"), D("-15.00"), D("1000.00"), D("-30000.00")]
    first = st.lines[0]
    assert (first.line, first.date, first.serial) == (5, dt.date(2026, 3, 2), "HK0302001")
    assert first.counterparty_name == "上海华东机械有限公司"
    assert first.counterparty_account == "6222021001001234"
    assert "INV-2026-00001" in first.memo and "货款" in first.memo
    assert st.lines[3].date == dt.date(2026, 3, 4)  # 2026/3/4
    assert (st.opening_balance, st.closing_balance) == (D("100000.00"), D("83330.60"))


def test_amount_flag_utf8_bom_csv_without_serials():
    st = parse("cn_amount_flag_utf8bom.csv")
    assert st.format == "cn_amount_flag"
    assert [ln.amount for ln in st.lines] == [D("5000.00"), D("5000.00"), D("800.00"), D("-120.50")]
    assert all(ln.serial == "" for ln in st.lines)
    keys = dedupe_keys(st.lines)
    assert keys[0][0] != keys[1][0]  # the running balance tells the two equal transfers apart


def test_amount_flag_xlsx_with_借贷_flag():
    st = parse("cn_amount_flag.xlsx")
    assert [ln.amount for ln in st.lines] == [D("23456.78"), D("-1000.00"), D("500.00")]
    assert st.lines[0].date == dt.date(2026, 3, 9)
    assert st.lines[0].serial == "CCB0309001"


def test_camt053():
    st = parse("camt053.xml")
    assert (st.format, st.account_number, st.currency) == ("camt053", "755912345610001", "CNY")
    assert (st.opening_balance, st.closing_balance) == (D("100000.00"), D("112330.60"))
    assert [(ln.amount, ln.serial) for ln in st.lines] == [(D("12345.60"), "CAMT0302001"), (D("-15.00"), "CAMT0302002")]
    assert st.lines[0].counterparty_name == "上海华东机械有限公司"
    assert "INV-2026-00001" in st.lines[0].memo


def test_mt940():
    st = parse("mt940.sta")
    assert (st.format, st.account_number, st.currency) == ("mt940", "755912345610001", "CNY")
    assert [ln.amount for ln in st.lines] == [D("12345.60"), D("-15.00")]
    assert st.lines[0].counterparty_name == "上海华东机械有限公司"
    assert st.lines[0].counterparty_account == "6222021001001234"
    assert st.lines[0].serial == "MT0302001"


def test_wechat_bill_skips_preamble_and_keeps_direction():
    st = parse("wechat.csv")
    assert st.format == "wechat"
    assert [(ln.amount, ln.counterparty_name) for ln in st.lines] == [
        (D("3000.00"), "上海华东机械有限公司"), (D("200.00"), "李四"), (D("-50.00"), "京东")]
    assert st.lines[0].serial == "1000050001202603121234567890"  # trailing tab removed


def test_alipay_bill_gb18030_with_hash_preamble():
    st = parse("alipay.csv")
    assert st.format == "alipay"
    assert [ln.amount for ln in st.lines] == [D("1200.00"), D("-3.60")]
    assert st.lines[0].counterparty_account == "huadong@example.com"


@pytest.mark.parametrize("text,value", [
    ("1,234.50", D("1234.50")), ("１，２３４．５０", D("1234.50")), ("¥12,000", D("12000.00")), ("￥１２", D("12.00")),
    ("(12.00)", D("-12.00")), ("-3.5", D("-3.50")), (12.3, D("12.30")), (7, D("7")), ("  ", None), ("1 234,00".replace(",", "."), D("1234.00")),
])
def test_amount_cells(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["12.345", "abc", "1.2.3", "NaN", "Infinity"])
def test_bad_amount_cells(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_dates():
    assert parse_day("2026年3月2日") == dt.date(2026, 3, 2)
    assert parse_day("20260302") == dt.date(2026, 3, 2)
    assert parse_day("２０２６-０３-０２ 10:00") == dt.date(2026, 3, 2)
    with pytest.raises(ValueError):
        parse_day("32/13/2026")


def test_year_last_dates_read_in_the_statements_own_order(write):
    """The imports' date grammar (common.datetext): a foreign bank's 3/15/2026 proves month first, so its
    3/2/2026 is 2 March; a statement whose every date reads both ways is refused naming the line."""
    path = write("us.csv", "交易日期,借方发生额,贷方发生额,对方户名\n3/2/2026,,100,甲\n3/15/2026,,50,乙\n")
    assert [ln.date for ln in parse_file(path, "us.csv").lines] == [dt.date(2026, 3, 2), dt.date(2026, 3, 15)]
    path = write("eu.csv", "交易日期,借方发生额,贷方发生额,对方户名\n3/2/2026,,100,甲\n15.03.2026,,50,乙\n")
    assert [ln.date for ln in parse_file(path, "eu.csv").lines] == [dt.date(2026, 2, 3), dt.date(2026, 3, 15)]
    path = write("amb.csv", "交易日期,借方发生额,贷方发生额,对方户名\n3/2/2026,,100,甲\n4/5/2026,,50,乙\n")
    with pytest.raises(StatementError) as exc, translation.override("en"):
        parse_file(path, "amb.csv")
    with translation.override("en"):
        assert "Line 2: " in str(exc.value.message) and "could be month first or day first" in str(exc.value.message)
    assert parse_day("2 Mar 2026") == dt.date(2026, 3, 2)


def test_forced_profile_with_missing_columns_lists_them(write):
    path = write("x.csv", "交易日期,金额,对方户名\n2026-03-02,100,甲公司\n")
    with pytest.raises(StatementError) as exc:
        parse_file(path, "x.csv", profile="cn_debit_credit")
    assert "借方发生额" in str(exc.value.message) and "贷方发生额" in str(exc.value.message)


def test_unknown_layout_is_refused(write):
    path = write("y.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(StatementError):
        parse_file(path, "y.csv")


def test_a_bad_cell_refuses_the_whole_file_naming_the_line(write):
    path = write("z.csv", "交易日期,借方发生额,贷方发生额,对方户名\n2026-03-02,,100,甲\n2026-03-03,,12x,乙\n")
    with pytest.raises(StatementError) as exc:
        parse_file(path, "z.csv")
    assert "3" in str(exc.value.message) and "12x" in str(exc.value.message)


def test_malformed_xml_and_hostile_xml_are_refused(write):
    with pytest.raises(StatementError):
        parse_file(write("a.xml", "<Document><BkToCstmrStmt>"), "a.xml")
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            '<Document><BkToCstmrStmt>&lol2;</BkToCstmrStmt></Document>')
    with pytest.raises(StatementError):
        parse_file(write("b.xml", bomb), "b.xml")


def test_not_an_mt940(write):
    with pytest.raises(StatementError):
        parse_file(write("c.sta", "hello"), "c.sta")


def test_identical_rows_get_occurrence_counters():
    day = dt.date(2026, 3, 2)
    lines = [ParsedLine(line=i, date=day, amount=D("100"), counterparty_name="甲") for i in range(3)]
    assert dedupe_keys(lines) == [(dedupe_keys(lines)[0][0], n) for n in (1, 2, 3)]


def test_xlsx_saved_with_the_old_xls_extension_is_read(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes((SAMPLES / "cn_amount_flag.xlsx").read_bytes())
    st = parse_file(path, "export.xls")
    assert [ln.amount for ln in st.lines] == [D("23456.78"), D("-1000.00"), D("500.00")]


def test_a_text_file_named_xls_is_refused(write):
    with pytest.raises(StatementError):
        parse_file(write("fake.xls", "交易日期,金额\n"), "fake.xls")


def test_reasons_are_translated_when_shown():
    from django.utils import translation

    from huikuan.banking.matching import reason_text

    with translation.override("en"):
        assert reason_text("fee", {"short": "15.00"}).startswith("Short by 15.00")
    with translation.override("zh-hans"):
        assert "15.00" in reason_text("fee", {"short": "15.00"})
        assert reason_text("fee", {"short": "15.00"}) != reason_text("unknown-code", {})
