"""Import layouts of 金蝶 (K/3 Cloud, 精斗云) and 用友 (U8, T+) vouchers: column headers and how a voucher
line fills them. One spec drives XLSX and CSV (``common.export``). The headers follow each product's
voucher import template; a company whose version names a column differently maps it on import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .voucher_calc import Line


@dataclass(frozen=True)
class Layout:
    code: str
    label: object
    columns: list[tuple[str, str]]
    row: Callable[[Line], list]


def _aux(line: Line) -> str:
    return f"{line.customer_code}/{line.customer_name}" if line.customer_code else ""


LAYOUTS = {
    "k3cloud": Layout("k3cloud", _("Kingdee K/3 Cloud"), [
        ("日期", "date"), ("凭证字", "text"), ("凭证号", "int"), ("分录号", "int"), ("摘要", "text"),
        ("科目编码", "text"), ("借方金额", "money"), ("贷方金额", "money"), ("核算维度.客户编码", "text"),
        ("核算维度.客户名称", "text")],
        lambda x: [x.date, x.word, x.number, x.line_no, x.summary, x.account, x.debit or None, x.credit or None,
                   x.customer_code, x.customer_name]),
    "jingdouyun": Layout("jingdouyun", _("Kingdee 精斗云"), [
        ("日期", "date"), ("凭证字", "text"), ("凭证号", "int"), ("摘要", "text"), ("科目编码", "text"),
        ("借方金额", "money"), ("贷方金额", "money"), ("辅助核算", "text")],
        lambda x: [x.date, x.word, x.number, x.summary, x.account, x.debit or None, x.credit or None,
                   f"客户:{_aux(x)}" if x.customer_code else ""]),
    # 用友: the voucher import (总账工具 / 凭证引入) wants 附单据数 (0 when none) and both amount columns filled — the
    # side without an amount 0, never blank (a blank side is refused as an invalid amount)
    "u8": Layout("u8", _("Yonyou U8"), [
        ("制单日期", "date"), ("凭证类别", "text"), ("凭证号", "int"), ("附单据数", "int"), ("摘要", "text"),
        ("科目编码", "text"), ("借方金额", "money"), ("贷方金额", "money"), ("客户编码", "text")],
        lambda x: [x.date, x.word, x.number, 0, x.summary, x.account, x.debit, x.credit, x.customer_code]),
    "tplus": Layout("tplus", _("Yonyou T+"), [
        ("凭证日期", "date"), ("凭证字", "text"), ("凭证号", "int"), ("附单据数", "int"), ("摘要", "text"),
        ("科目编码", "text"), ("借方金额", "money"), ("贷方金额", "money"), ("往来单位编码", "text"),
        ("往来单位名称", "text")],
        lambda x: [x.date, x.word, x.number, 0, x.summary, x.account, x.debit, x.credit, x.customer_code,
                   x.customer_name]),
}
