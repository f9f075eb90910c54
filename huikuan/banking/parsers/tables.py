"""Tabular statement exports (XLSX / XLS / CSV in UTF-8 with or without BOM, GBK/GB18030) read
through column profiles.

A profile names the columns it needs (each with the headers banks use for it) and how the direction
of money is given: separate debit/credit (借方/贷方) columns, one amount plus an in/out flag (收/支,
借/贷), or separate income/expense columns. The header row is found below any title rows (bank name,
account, period, the WeChat/Alipay preamble); footer rows (合计, 共N笔) are skipped. Everything is
checked before anything is returned: a missing column or a bad cell refuses the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from .base import BAD_CELL, ParsedLine, ParsedStatement, StatementError, clean_text, parse_amount, parse_day
from .reading import check_size, read_rows  # noqa: F401

HEADER_SCAN_ROWS = 40


@dataclass(frozen=True)
class Profile:
    code: str
    direction: str  # "debit_credit" | "flag" | "in_out"
    columns: dict  # field → tuple of header spellings (compared after clean_text, case-insensitive)
    required: tuple
    income_flags: tuple = ()
    expense_flags: tuple = ()
    method: str = "transfer"


COMMON = {
    "date": ("交易日期", "记账日期", "交易时间", "日期", "入账日期", "发生日期", "交易日", "Date", "Transaction date"),
    "name": ("对方户名", "对方账户名称", "对方名称", "对方单位", "收/付款人名称", "对方账户名", "Counterparty"),
    "account": ("对方账号", "对方账户", "对方帐号", "收/付款人账号", "Counterparty account"),
    "bank": ("对方开户行", "对方行名", "对方银行", "对方开户机构"),
    "memo": ("摘要", "用途", "附言", "备注", "交易附言", "用途/附言", "摘要/用途", "Memo", "Remark"),
    "serial": ("流水号", "交易流水号", "银行流水号", "凭证号", "交易参考号", "Serial", "Reference"),
    "balance": ("余额", "账户余额", "Balance"),
    "currency": ("币种", "Currency"),
}

PROFILES: dict[str, Profile] = {
    "cn_debit_credit": Profile(
        code="cn_debit_credit", direction="debit_credit",
        columns={**COMMON, "debit": ("借方发生额", "借方金额", "支出金额", "借方"),
                 "credit": ("贷方发生额", "贷方金额", "收入金额", "贷方")},
        required=("date", "debit", "credit", "name"),
    ),
    "cn_amount_flag": Profile(
        code="cn_amount_flag", direction="flag",
        columns={**COMMON, "amount": ("交易金额", "金额", "发生额", "Amount"),
                 "flag": ("收/支", "收支", "收支标志", "借贷标志", "借/贷", "借贷", "收付标志", "方向")},
        required=("date", "amount", "flag", "name"),
        income_flags=("收", "收入", "贷", "贷方", "来账", "C", "CR", "CREDIT"),
        expense_flags=("支", "支出", "借", "借方", "往账", "D", "DR", "DEBIT"),
    ),
    "wechat": Profile(
        code="wechat", direction="flag", method="wechat",
        columns={"date": ("交易时间",), "name": ("交易对方",), "memo": ("商品", "备注"),
                 "amount": ("金额(元)",), "flag": ("收/支",), "serial": ("交易单号",), "status": ("当前状态",),
                 "kind": ("交易类型",)},
        required=("date", "name", "amount", "flag", "serial", "status"),
        income_flags=("收入",), expense_flags=("支出",),
    ),
    "alipay": Profile(
        code="alipay", direction="in_out", method="alipay",
        columns={"date": ("发生时间", "入账时间"), "name": ("对方名称", "对方户名", "备注"), "account": ("对方账号",),
                 "memo": ("商品名称",), "credit": ("收入金额(+元)", "收入金额"),
                 "debit": ("支出金额(-元)", "支出金额"), "balance": ("账户余额(元)", "账户余额"),
                 "serial": ("账务流水号",)},
        required=("date", "account", "credit", "debit", "serial"),
    ),
}

# labels shown when a column is missing (the first spelling of each field)
def _label(profile: Profile, field_name: str) -> str:
    return profile.columns[field_name][0]


def _norm_header(value) -> str:
    return clean_text(value).replace(" ", "").lower()


def _locate(profile: Profile, headers: list[str]) -> tuple[dict, list[str]]:
    """field → column index for the columns present, and the required ones missing."""
    normed = [_norm_header(h) for h in headers]
    where: dict[str, int] = {}
    for name, spellings in profile.columns.items():
        for spelling in spellings:
            key = _norm_header(spelling)
            if key in normed:
                where[name] = normed.index(key)
                break
    memo = [i for i, h in enumerate(normed) if h and h in {_norm_header(x) for x in profile.columns.get("memo", ())}]
    if memo:
        where["memo_all"] = memo
    missing = [_label(profile, f) for f in profile.required if f not in where]
    return where, missing


def open_rows(path: Path, name: str):
    """(format, list of (line, cells)) for a stored CSV/XLSX/XLS upload (size, zip bomb and encoding checked)."""
    return Path(name).suffix.lower(), read_rows(path, name)


def find_header(rows, profile: Profile):
    """Index in ``rows`` of the header row for ``profile`` and its column positions; or the best miss."""
    best = None
    for idx, (_line, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        where, missing = _locate(profile, [clean_text(c) for c in cells])
        if not missing:
            return idx, where, []
        if len(where) >= 2 and (best is None or len(missing) < len(best[2])):
            best = (idx, where, missing)
    return None, {}, (best[2] if best else [_label(profile, f) for f in profile.required])


_FOOTER = ("合计", "总计", "本页合计", "累计", "共", "---", "#", "总笔数", "导出时间")


def parse_rows(rows, profile: Profile) -> ParsedStatement:
    idx, where, missing = find_header(rows, profile)
    if idx is None:
        raise StatementError(
            _("The file does not have the columns of this layout. Missing: %(columns)s.") % {"columns": "、".join(missing)}
        )
    out = ParsedStatement(format=profile.code)
    problems: list[str] = []

    def cell(cells, name):
        i = where.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    for line, cells in rows[idx + 1:]:
        first = clean_text(cells[0]) if cells else ""
        raw_date = cell(cells, "date")
        if not clean_text(raw_date) or (first.startswith(_FOOTER) and not first[:1].isdigit()):
            has_amount = any(clean_text(cell(cells, k)) for k in ("amount", "credit", "debit") if k in where)
            if has_amount and not first.startswith(_FOOTER):
                problems.append(BAD_CELL % {"line": line, "column": _label(profile, "date"), "value": "",
                                            "what": _("date")})
            continue
        try:
            day = parse_day(raw_date)
        except ValueError:
            problems.append(BAD_CELL % {"line": line, "column": _label(profile, "date"), "value": clean_text(raw_date),
                                        "what": _("date")})
            continue
        if profile.code == "wechat":
            status = clean_text(cell(cells, "status"))
            if status not in ("支付成功", "已收钱", "已全额退款", "已存入零钱", "朋友已收钱", "对方已收钱", "已到账", "交易成功"):
                continue  # pending / failed / closed orders move no money
        try:
            amount = _signed_amount(profile, cells, cell, line)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if amount is None or amount == 0:
            continue
        try:
            balance = parse_amount(cell(cells, "balance")) if "balance" in where else None
        except ValueError:
            problems.append(BAD_CELL % {"line": line, "column": _label(profile, "balance"),
                                        "value": clean_text(cell(cells, "balance")), "what": _("amount")})
            continue
        memo_parts = [clean_text(cells[i]) for i in where.get("memo_all", ()) if i < len(cells)]
        memo_parts = [p for p in memo_parts if p not in ("/", "-")]
        out.lines.append(ParsedLine(
            line=line, date=day, amount=amount,
            currency=clean_text(cell(cells, "currency")).upper().replace("人民币", "CNY").replace("RMB", "CNY"),
            counterparty_name=clean_text(cell(cells, "name"))[:200],
            counterparty_account=clean_text(cell(cells, "account")).replace(" ", "")[:60],
            counterparty_bank=clean_text(cell(cells, "bank"))[:200],
            memo=" ".join(p for p in memo_parts if p)[:500],
            serial=clean_text(cell(cells, "serial"))[:80],
            balance=balance,
        ))
        if len(problems) >= 20:
            break
    if problems:
        raise StatementError(_("The file was not imported: %(problems)s") % {"problems": " ".join(problems)})
    if not out.lines:
        raise StatementError(_("The file contains no transactions."))
    out.opening_balance, out.closing_balance = running_balances(out.lines)
    return out


def running_balances(lines):
    """(opening, closing) from a running 余额 column when it chains (oldest-first or newest-first), else (None, None)."""
    if not lines or any(ln.balance is None for ln in lines):
        return None, None
    if all(b.balance == a.balance + b.amount for a, b in zip(lines, lines[1:], strict=False)):
        return lines[0].balance - lines[0].amount, lines[-1].balance
    if all(a.balance == b.balance + a.amount for a, b in zip(lines, lines[1:], strict=False)):
        return lines[-1].balance - lines[-1].amount, lines[0].balance
    return None, None


def _signed_amount(profile: Profile, cells, cell, line):
    def amt(name):
        raw = cell(cells, name)
        try:
            return parse_amount(raw)
        except ValueError:
            raise ValueError(BAD_CELL % {"line": line, "column": _label(profile, name), "value": clean_text(raw),
                                         "what": _("amount")}) from None

    if profile.direction in ("debit_credit", "in_out"):
        credit, debit = amt("credit"), amt("debit")
        if credit and debit:
            raise ValueError(_("Line %(line)s has both an incoming and an outgoing amount.") % {"line": line})
        if credit:
            return abs(credit)
        if debit:
            return -abs(debit)
        return None
    value = amt("amount")
    if value is None:
        return None
    flag = clean_text(cell(cells, "flag")).upper()
    if flag in profile.income_flags:
        return abs(value)
    if profile.code == "wechat" and flag in ("", "/"):
        return None  # neither in nor out (e.g. moving change to a bank card)
    if flag in profile.expense_flags:
        return -abs(value)
    if not flag and value < 0:
        return value
    raise ValueError(_("Line %(line)s: the direction “%(flag)s” is not one of %(allowed)s.")
                     % {"line": line, "flag": flag, "allowed": "/".join(profile.income_flags + profile.expense_flags)})


def detect_profile(rows) -> Profile | None:
    for code in ("wechat", "alipay", "cn_debit_credit", "cn_amount_flag"):
        idx, _where, _missing = find_header(rows, PROFILES[code])
        if idx is not None:
            return PROFILES[code]
    return None
