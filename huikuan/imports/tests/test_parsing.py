import datetime as dt
from decimal import Decimal

import pytest

from huikuan.imports.parsing import CellError, parse_date, parse_money, parse_text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-01-05", dt.date(2026, 1, 5)),
        ("2026/1/5", dt.date(2026, 1, 5)),
        ("2026.1.5", dt.date(2026, 1, 5)),
        ("2026年1月5日", dt.date(2026, 1, 5)),
        ("２０２６年１月５日", dt.date(2026, 1, 5)),
        ("20260105", dt.date(2026, 1, 5)),
        ("2026-01-05 00:00:00", dt.date(2026, 1, 5)),
        (46027, dt.date(2026, 1, 5)),
        (46027.0, dt.date(2026, 1, 5)),
        ("46027", dt.date(2026, 1, 5)),
        (dt.datetime(2026, 1, 5, 8, 0), dt.date(2026, 1, 5)),
    ],
)
def test_dates_accepted(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "5/1/2026", "next week", "2026-13-01", "46027.5", ""])
def test_bad_dates(value):
    with pytest.raises(CellError):
        parse_date(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1,234.50", Decimal("1234.50")),
        ("１２３４", Decimal("1234.00")),
        ("¥1234.5", Decimal("1234.50")),
        ("￥1,234", Decimal("1234.00")),
        ("1234.500", Decimal("1234.50")),
        (1234.5, Decimal("1234.50")),
        (1234, Decimal("1234.00")),
        ("12345678901.23", Decimal("12345678901.23")),
    ],
)
def test_amounts_accepted(value, expected):
    assert parse_money(value) == expected


@pytest.mark.parametrize("value", ["12a", "1,23.4", "1.234", "abc", "1.2.3", "-5", "0", "(5.00)"])
def test_bad_amounts(value):
    with pytest.raises(CellError):
        parse_money(value)


def test_negative_and_yen_decimals():
    assert parse_money("-5", allow_negative=True) == Decimal("-5.00")
    assert parse_money("(5.00)", allow_negative=True) == Decimal("-5.00")
    with pytest.raises(CellError):
        parse_money("100.5", currency="JPY")


@pytest.mark.parametrize("value", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"])
def test_formula_text_flagged(value):
    with pytest.raises(CellError):
        parse_text(value)


def test_phone_plus_allowed():
    assert parse_text("+86 138 0013 8000", allow_formula_prefix=r"\+[\d\s\-()]+") == "+86 138 0013 8000"
