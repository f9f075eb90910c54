"""The statement PDF's pagination, checked on the text of every page (no timing: see bench/statement_pdf.py)."""

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
from django.utils import translation
from pypdf import PdfReader

from huikuan.common.words import rmb_upper
from huikuan.statements import pdf as statement_pdf
from huikuan.statements.pdf import render_statement_pdf
from huikuan.statements.selectors import Movement, statement_data

pytestmark = pytest.mark.django_db

REF = re.compile(r"(?:INV|RCV)-2026-\d{6}")


def _with_movements(base, n: int, *, long_summary_at: int | None = None):
    """``base`` (a real, empty statement) with n alternating invoices and payments and consistent totals."""
    balance = total_d = total_c = D("0.00")
    movements = []
    for i in range(n):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i // 8)
        if i % 2 == 0:
            amount = D(1000 + i % 97) + D("0.35")
            balance += amount
            total_d += amount
            movements.append(Movement(day, f"INV-2026-{i:06d}", "销售", amount, D("0.00"), balance))
        else:
            amount = D(900 + i % 89)
            balance -= amount
            total_c += amount
            movements.append(Movement(day, f"RCV-2026-{i:06d}", "收款", D("0.00"), amount, balance))
    if long_summary_at is not None:
        m = movements[long_summary_at]
        movements[long_summary_at] = dataclasses.replace(m, summary="销售 · " + "设备款含安装调试第二期尾款 " * 8 + "END")
    return dataclasses.replace(base, movements=movements, total_debit=total_d, total_credit=total_c, closing=balance,
                               closing_words=rmb_upper(balance))


@pytest.fixture
def empty_statement(customer, finance):
    return statement_data(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 12, 31))


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def test_2000_movements_every_row_once_header_and_numbering_on_every_page(empty_statement, customer, company):
    data = _with_movements(empty_statement, 2000)
    with translation.override("zh-hans"):
        pages = _pages(render_statement_pdf(data=data))
    # Rows are one line (18.5 pt): 34 movements on the first page under the title and the parties, 39
    # under the repeated header on every other page; the last 16 share page 52 with the totals, the
    # aging strip and the confirmation block. (The WeasyPrint version had 54 pages: its header wrapped.)
    assert len(pages) == 52
    for number, text in enumerate(pages, start=1):
        assert f"页码 {number} / {len(pages)}" in text
        assert customer.name in text and company.name in text  # running header with both parties
        assert all(label in text for label in ("日期", "单据编号", "摘要", "借方（应收）", "贷方（已收）", "余额"))
    # every movement exactly once, in order, across the page breaks
    assert REF.findall("\n".join(pages)) == [m.reference for m in data.movements]
    assert [len(REF.findall(text)) for text in pages] == [34] + [39] * 50 + [16]
    closing = format(data.closing, ",.2f")
    last = pages[-1]
    assert "期末余额" in last and closing in last and data.closing_words in last
    assert "信息证明无误" in last and "信息不符" in last
    # the signed page states the balance itself (figures and 大写), besides the closing row and the last
    # movement's running balance
    assert last.count(closing) == 3 and last.count(data.closing_words) == 2


def test_long_texts_wrap_inside_their_cell_and_nothing_is_lost(empty_statement):
    data = _with_movements(empty_statement, 80, long_summary_at=33)
    with translation.override("zh-hans"):
        text = "".join(_pages(render_statement_pdf(data=data)))
    flat = re.sub(r"\s", "", text)
    assert re.sub(r"\s", "", data.movements[33].summary) in flat
    assert REF.findall(text) == [m.reference for m in data.movements]


def test_english_statement_with_number_deadline_and_extra_lines(empty_statement, customer):
    from huikuan.statements.hooks import ExtraLine

    data = dataclasses.replace(_with_movements(empty_statement, 3),
                               extra_lines=(ExtraLine(label="Interest to date", amount=D("12.34"), note="0.05% a day"),))
    statement = type("St", (), {"number": "ST-2026-000009", "reply_deadline": dt.date(2027, 1, 15)})()
    with translation.override("en"):
        (text,) = _pages(render_statement_pdf(data=data, statement=statement))
    for expected in ("Statement of account", "ST-2026-000009", "2027-01-15", "Opening balance", "Closing balance (CNY)",
                     "Interest to date", "12.34", "Balance to confirm as of 2026-12-31", "Page 1 / 1",
                     "Please sign, seal and return this statement by 2027-01-15"):
        assert expected in text


class _Block:
    def __init__(self, height):
        self.height = height


def test_flow_never_splits_a_row_and_repeats_the_header():
    flow = statement_pdf._Flow()
    flow.place(_Block(300))
    header = _Block(20)
    rows = [_Block(h) for h in (18.5, 120, 18.5, 300, 18.5, 18.5, 250, 18.5) * 4]
    flow.table(header, rows)
    placed = [(top, block) for page in flow.pages for top, block in page]
    assert [b for _t, b in placed if b is not header][1:] == rows
    for page in flow.pages:
        for top, block in page:
            assert top <= statement_pdf.TOP + 0.01 and top - block.height >= statement_pdf.BOTTOM - 0.01
    for page in flow.pages[1:]:
        assert page[0][1] is header
