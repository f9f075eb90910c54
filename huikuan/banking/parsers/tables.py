"""Tabular statement exports (XLSX / XLS / CSV in UTF-8 with or without BOM, GBK/GB18030) read
through column profiles.

A profile names the columns it needs (each with the headers banks use for it) and how the direction
of money is given: separate debit/credit (借方/贷方) columns, one amount plus an in/out flag (收/支,
借/贷), or separate income/expense columns. The header row is found below any title rows (bank name,
account, period, the WeChat/Alipay preamble); footer rows (合计, 共N笔) are skipped. Everything is
checked before anything is returned: a missing column or a bad cell refuses the whole file.

Headers are compared by ``common.headers.header_key`` (the one normalisation every import uses:
full-width folded, bracketed notes, spaces and punctuation dropped), so "借方发生额(支取)" is 借方发生额.
A layout none of the profiles knows is mapped by the user once (``mapped_profile``: field → column),
and the mapping is kept per bank account (``banking.models.StatementLayout``). The account number
printed in the title rows ("账号：1001 2345 0900 1234 567") is read by ``title_account_number``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.common import datetext
from huikuan.common import headers as common_headers
from huikuan.common.headers import header_key

from .base import (
    AMBIGUOUS_DATE,
    BAD_CELL,
    ParsedLine,
    ParsedStatement,
    StatementError,
    clean_text,
    date_order,
    parse_amount,
    parse_day,
)
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
    source_format: str = ""  # stored on the statement; the code when blank
    statuses: tuple = ()  # values of the "status" column that moved money (others are skipped)


COMMON = {
    # "交易日" before "交易时间": 招行 puts the time of day alone in 交易时间
    "date": ("交易日期", "记账日期", "入账日期", "交易日", "交易时间", "日期", "发生日期", "Date", "Transaction date"),
    "name": ("对方户名", "对方账户名称", "对方名称", "对方单位", "对方单位名称", "收/付款人名称", "收/付方名称",
             "对方账户名", "Counterparty"),
    "account": ("对方账号", "对方账户", "对方帐号", "收/付款人账号", "收/付方帐号", "收/付方账号", "Counterparty account"),
    "bank": ("对方开户行", "对方行名", "对方银行", "对方开户机构", "收/付方开户行", "对方开户行名"),
    "memo": ("摘要", "用途", "附言", "备注", "交易附言", "用途/附言", "摘要/用途", "Memo", "Remark"),
    "serial": ("流水号", "交易流水号", "银行流水号", "账户明细编号-交易流水号", "凭证号", "交易参考号", "Serial",
               "Reference"),
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
    # 支付宝 personal 交易明细 CSV (GBK, a preamble of 导出信息 rows; 2019 and 2022+ column sets)
    "alipay_personal": Profile(
        code="alipay_personal", direction="flag", method="alipay", source_format="alipay",
        columns={"date": ("交易时间", "交易创建时间", "付款时间"), "name": ("交易对方",), "account": ("对方账号",),
                 "memo": ("商品说明", "商品名称", "备注"), "amount": ("金额", "金额(元)"), "flag": ("收/支",),
                 "serial": ("交易订单号", "交易号"), "status": ("交易状态",), "kind": ("交易分类", "类型")},
        required=("date", "name", "amount", "flag", "serial", "status"),
        income_flags=("收入",), expense_flags=("支出",),
        statuses=("交易成功", "支付成功", "已收入", "已到账", "收款成功", "还款成功", "成功"),
    ),
}

WECHAT_DONE = ("支付成功", "已收钱", "已全额退款", "已存入零钱", "朋友已收钱", "对方已收钱", "已到账", "交易成功")

# labels shown when a column is missing (the first spelling of each field)
def _label(profile: Profile, field_name: str) -> str:
    spellings = profile.columns.get(field_name) or (str(MAP_FIELDS.get(field_name, field_name)),)
    return spellings[0]


def _norm_header(value) -> str:
    return header_key(clean_text(value))


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
    out = ParsedStatement(format=profile.source_format or profile.code)
    out.account_number = title_account_number(rows[:idx])
    problems: list[str] = []

    def cell(cells, name):
        i = where.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    order = date_order(cell(cells, "date") for _line, cells in rows[idx + 1:])  # 1/2/2026: the file's own order
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
            day = parse_day(raw_date, order)
        except datetext.AmbiguousDate:
            problems.append(AMBIGUOUS_DATE % {"line": line, "column": _label(profile, "date"),
                                              "value": clean_text(raw_date)})
            continue
        except ValueError:
            problems.append(BAD_CELL % {"line": line, "column": _label(profile, "date"), "value": clean_text(raw_date),
                                        "what": _("date")})
            continue
        if profile.code == "wechat" or profile.statuses:
            status = clean_text(cell(cells, "status"))
            if status not in (profile.statuses or WECHAT_DONE):
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
    out.account_number = out.account_number or own_account_column(rows, idx)
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
    if profile.direction == "signed":
        return value
    flag = clean_text(cell(cells, "flag")).upper()
    if flag in profile.income_flags:
        return abs(value)
    if profile.code in ("wechat", "alipay_personal") and flag in ("", "/", "不计收支"):
        return None  # neither in nor out (e.g. moving change to a bank card, a refund)
    if flag in profile.expense_flags:
        return -abs(value)
    if not flag and value < 0:
        return value
    raise ValueError(_("Line %(line)s: the direction “%(flag)s” is not one of %(allowed)s.")
                     % {"line": line, "flag": flag, "allowed": "/".join(profile.income_flags + profile.expense_flags)})


def detect_profile(rows) -> Profile | None:
    for code in ("wechat", "alipay", "alipay_personal", "cn_debit_credit", "cn_amount_flag"):
        idx, _where, _missing = find_header(rows, PROFILES[code])
        if idx is not None:
            return PROFILES[code]
    return None


# ---------------------------------------------------------------- the account number in the title rows

_ACCOUNT_LABEL = re.compile(r"(?:账号|帐号|账户号码|账户号|帐户号|卡号|账户|帐户|account\s*(?:no\.?|number)?)\s*[:：]?\s*"
                            r"\[?\s*(\d[\d \-]{6,40}\d)", re.IGNORECASE)
_LABEL_ONLY = re.compile(r"(?:账号|帐号|账户号码|账户号|卡号|account\s*(?:no\.?|number)?)\s*[:：]?", re.IGNORECASE)
_DIGITS = re.compile(r"\d[\d \-]{6,40}\d")


def title_account_number(rows) -> str:
    """The account number printed above the header ("账号：1001 2345 0900 1234 567", "账号" | "7559…"),
    digits only; '' when none (a masked "138****0000" is no number)."""
    for _line, cells in rows:
        texts = [unicodedata.normalize("NFKC", clean_text(c)) for c in cells]
        for i, text in enumerate(texts):
            m = _ACCOUNT_LABEL.search(text)
            if m and "名" not in text[max(0, m.start() - 1):m.start() + 4]:
                return re.sub(r"\D", "", m.group(1))
            if _LABEL_ONLY.fullmatch(text):  # the label in one cell, the number in the next filled one
                rest = next((t for t in texts[i + 1:] if t), "")
                if _DIGITS.fullmatch(rest):
                    return re.sub(r"\D", "", rest)
    return ""


OWN_ACCOUNT = ("本方账号", "本方帐号", "我方账号", "本方账户")


def own_account_column(rows, idx: int) -> str:
    """The account number of a 本方账号 column (工行 and others print it on every row) when every row
    names the same one; '' otherwise."""
    keys = {header_key(sp) for sp in OWN_ACCOUNT}
    header = [header_key(clean_text(c)) for c in rows[idx][1]]
    col = next((i for i, h in enumerate(header) if h in keys), None)
    if col is None:
        return ""
    seen = {re.sub(r"\D", "", clean_text(cells[col])) for _line, cells in rows[idx + 1:] if col < len(cells)}
    seen.discard("")
    if len(seen) != 1:
        return ""
    number = seen.pop()
    return number if len(number) >= 8 else ""


# ---------------------------------------------------------------- layouts mapped by hand

# field → label shown on the mapping screen and in CLI errors; the codes are what --map takes
MAP_FIELDS = {
    "date": gettext_lazy("Transaction date"),
    "credit": gettext_lazy("Money in (贷方/收入)"),
    "debit": gettext_lazy("Money out (借方/支出)"),
    "amount": gettext_lazy("Amount (one column)"),
    "flag": gettext_lazy("In/out flag (收/支, 借/贷)"),
    "name": gettext_lazy("Counterparty name"),
    "account": gettext_lazy("Counterparty account"),
    "bank": gettext_lazy("Counterparty bank"),
    "memo": gettext_lazy("Memo / purpose"),
    "serial": gettext_lazy("Bank serial no."),
    "balance": gettext_lazy("Balance"),
    "currency": gettext_lazy("Currency"),
}
_FLAG_PROFILE = PROFILES["cn_amount_flag"]


class MappingError(StatementError):
    code = "statement_mapping"


# the words finance staff use for the fields (a --map "收款金额=贷方" reads as credit)
FIELD_WORDS = {
    "date": ("日期", "交易日期", "记账日期"), "credit": ("贷方", "贷", "收入", "收款", "贷方金额", "收入金额"),
    "debit": ("借方", "借", "支出", "付款", "借方金额", "支出金额"), "amount": ("金额", "交易金额", "发生额"),
    "flag": ("收支", "收/支", "借贷", "借/贷", "方向", "收支标志", "借贷标志"), "name": ("户名", "对方户名", "对方名称", "对方"),
    "account": ("对方账号", "账号"), "bank": ("开户行", "对方开户行"), "memo": ("摘要", "用途", "附言", "备注"),
    "serial": ("流水号", "交易流水号"), "balance": ("余额",), "currency": ("币种",),
}


def field_code(text: str) -> str:
    """A field named by its code ("credit"), its label in either language or a usual word ("贷方"); '' if unknown."""
    key = header_key(text)
    for code, words in FIELD_WORDS.items():
        if key in {header_key(w) for w in words}:
            return code
    for code, label in MAP_FIELDS.items():
        if key == code:
            return code
        for lang, _name in settings.LANGUAGES:
            with translation.override(lang):
                if key == header_key(str(label)):
                    return code
    return ""


def check_mapping(pairs, headers: list[str]) -> dict[str, str]:
    """Validate a mapping given as (column, field) pairs against the file's header cells.

    Returns field → column (as the file writes it). Raises MappingError with every problem in one
    message: unknown column, unknown field, two columns to one field, one column to two fields, no
    date, no amount, both a single amount and debit/credit columns, a flag without an amount.
    """
    problems: list[str] = []
    by_key = {}
    for h in headers:
        k = header_key(clean_text(h))
        if k:
            by_key.setdefault(k, clean_text(h))
    fields: dict[str, str] = {}
    columns: dict[str, str] = {}
    for column, field in pairs:
        column, field = clean_text(column), clean_text(field)
        col = by_key.get(header_key(column))
        code = field_code(field)
        if col is None:
            problems.append(_("The file has no column “%(column)s” (its columns: %(columns)s).")
                            % {"column": column, "columns": "、".join(by_key.values())})
            continue
        if not code:
            problems.append(_("“%(field)s” is not a statement field; use one of %(fields)s.")
                            % {"field": field, "fields": ", ".join(MAP_FIELDS)})
            continue
        if code in fields and fields[code] != col:
            problems.append(_("Columns “%(a)s” and “%(b)s” are both mapped to %(field)s; map one column per field.")
                            % {"a": fields[code], "b": col, "field": MAP_FIELDS[code]})
            continue
        if col in columns and columns[col] != code:
            problems.append(_("Column “%(column)s” is mapped to both %(a)s and %(b)s.")
                            % {"column": col, "a": MAP_FIELDS[columns[col]], "b": MAP_FIELDS[code]})
            continue
        fields[code], columns[col] = col, code
    if not problems:
        if "date" not in fields:
            problems.append(_("Map the column with the transaction date."))
        if "amount" in fields and ({"credit", "debit"} & set(fields)):
            problems.append(_("Map either one amount column or money-in/money-out columns, not both."))
        elif not ({"amount", "credit", "debit"} & set(fields)):
            problems.append(_("Map the amount: a money-in (贷方/收入) and/or money-out (借方/支出) column, or one amount "
                              "column (with an in/out flag column when its amounts are not signed)."))
        if "flag" in fields and "amount" not in fields:
            problems.append(_("An in/out flag needs the amount column it qualifies."))
    if problems:
        raise MappingError(" ".join(problems))
    return fields


def mapped_profile(fields: dict[str, str]) -> Profile:
    """A column profile from a user's mapping (field → column header)."""
    if "amount" in fields:
        direction = "flag" if "flag" in fields else "signed"
    else:
        direction = "debit_credit"
    columns = {f: (h,) for f, h in fields.items()}
    required = tuple(f for f in fields if f in ("date", "amount", "credit", "debit", "flag"))
    if direction == "debit_credit":  # one of the two may be absent from the file's layout
        columns.setdefault("credit", ())
        columns.setdefault("debit", ())
    return Profile(code="mapped", direction=direction, columns=columns, required=required,
                   income_flags=_FLAG_PROFILE.income_flags, expense_flags=_FLAG_PROFILE.expense_flags)


def known_header_keys() -> frozenset[str]:
    """Every column spelling of every profile (for finding the header of an unknown layout)."""
    return frozenset(header_key(sp) for p in PROFILES.values() for sps in p.columns.values() for sp in sps)


@dataclass
class Preview:
    """What the mapping step shows: the header row, sample rows, each column's first values."""

    header_line: int
    headers: list[str]
    rows: list[tuple[int, list[str]]]
    samples: dict[str, list[str]]  # header → up to three non-blank values
    account_number: str = ""


def preview(rows, *, sample_rows: int = 8) -> Preview:
    found = common_headers.find_header(rows, known_header_keys())
    if found is None:
        raise StatementError(_("The file contains no transactions."))
    header_line, header_cells = found
    headers = [clean_text(h) for h in header_cells]
    while headers and not headers[-1]:
        headers.pop()
    idx = next(i for i, (line, _c) in enumerate(rows) if line == header_line)
    data = [(line, [clean_text(c) for c in cells[:len(headers)]]) for line, cells in rows[idx + 1:idx + 1 + 200]]
    samples: dict[str, list[str]] = {h: [] for h in headers if h}
    for _line, cells in data:
        for h, value in zip(headers, cells, strict=False):
            if h and value and len(samples[h]) < 3:
                samples[h].append(value)
    return Preview(header_line=header_line, headers=headers, rows=data[:sample_rows], samples=samples,
                   account_number=title_account_number(rows[:idx]))


def guess_mapping(headers: list[str], samples: dict | None = None) -> dict[str, str]:
    """field → header the mapping screen preselects: a header one of the profiles' spellings names;
    else, for the date, the first column whose sample values are all dates, and for the counterparty's
    name and account a header that says 名称/户名 or 账号 (a preselection the user checks)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    spellings: dict[str, list[str]] = {}
    for prof in (PROFILES["cn_debit_credit"], PROFILES["cn_amount_flag"]):
        for name, sps in prof.columns.items():
            spellings.setdefault(name, []).extend(sps)
    keyed = {header_key(h): h for h in headers if h}
    for name in MAP_FIELDS:
        for sp in spellings.get(name, ()):
            h = keyed.get(header_key(sp))
            if h is not None and h not in taken:
                out[name] = h
                taken.add(h)
                break
    samples = samples or {}

    def _date(value) -> bool:
        try:
            return bool(parse_day(value))
        except datetext.AmbiguousDate:  # a date either way
            return True
        except ValueError:
            return False

    def _all_dates(values) -> bool:
        return bool(values) and all(_date(v) for v in values)

    free = [h for h in headers if h and h not in taken]
    if "date" not in out:
        h = next((h for h in free if _all_dates(samples.get(h, []))), None)
        if h:
            out["date"], free = h, [x for x in free if x != h]
    for name, marks in (("name", ("名称", "户名")), ("account", ("账号", "帐号"))):
        if name not in out:
            h = next((h for h in free if any(m in h for m in marks)), None)
            if h:
                out[name], free = h, [x for x in free if x != h]
    return out
