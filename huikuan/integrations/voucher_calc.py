"""Voucher composition (凭证): pure, no ORM, no clock. Decimal in and out.

One voucher per receipt (收款凭证, 凭证字 "收"): Dr the bank account's 科目 for what was received, Dr the bank
charge and the early-payment discount that settled part of the same receivables, Cr 应收账款 with the
customer as 核算项目 for the total. One transfer voucher (转账凭证, "转") per credit note and per write-off —
and per bank charge or discount whose receipt is not in this export. Every voucher balances; an account
that is not mapped refuses the whole export, naming the account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


class Unmapped(Exception):
    """``what``: ar, default_bank, bank, credit_note, write_off, bank_charge, discount; ``label`` names the
    bank account for ``bank``."""

    def __init__(self, what: str, label: str = ""):
        super().__init__(what, label)
        self.what, self.label = what, label


@dataclass(frozen=True)
class Mapping:
    ar_account: str
    credit_note_account: str
    write_off_account: str
    bank_charge_account: str
    discount_account: str
    default_bank_account: str
    bank_accounts: dict[int, str] = field(default_factory=dict)  # company bank account id → 科目
    receipt_word: str = "收"
    transfer_word: str = "转"


@dataclass(frozen=True)
class CreditRow:
    id: int
    kind: str  # payment, credit_note, write_off, bank_charge, discount
    number: str
    date: dt.date
    amount: Decimal
    customer_code: str
    customer_name: str
    parent_id: int | None = None
    bank_account_id: int | None = None
    bank_account_label: str = ""


@dataclass(frozen=True)
class Line:
    word: str
    number: int
    line_no: int
    date: dt.date
    summary: str
    account: str
    debit: Decimal
    credit: Decimal
    customer_code: str
    customer_name: str
    credit_ids: tuple[int, ...]


SUMMARY = {
    "payment": "收到{name}货款 {number}",
    "credit_note": "{name}红字冲减应收 {number}",
    "write_off": "核销{name}坏账 {number}",
    "bank_charge": "{name}回款银行手续费 {number}",
    "discount": "{name}现金折扣 {number}",
}


def _need(code: str, what: str, label: str = "") -> str:
    code = (code or "").strip()
    if not code:
        raise Unmapped(what, label)
    return code


def _bank_account(row: CreditRow, m: Mapping) -> str:
    if row.bank_account_id is not None:
        return _need(m.bank_accounts.get(row.bank_account_id, ""), "bank", row.bank_account_label)
    return _need(m.default_bank_account, "default_bank")


def _side_account(kind: str, m: Mapping) -> str:
    return {
        "credit_note": lambda: _need(m.credit_note_account, "credit_note"),
        "write_off": lambda: _need(m.write_off_account, "write_off"),
        "bank_charge": lambda: _need(m.bank_charge_account, "bank_charge"),
        "discount": lambda: _need(m.discount_account, "discount"),
    }[kind]()


def compose(rows: list[CreditRow], m: Mapping, *, first_numbers: dict[str, int] | None = None) -> list[Line]:
    """The voucher lines for ``rows`` (already ordered by date, number): receipts first-class, their
    charges and discounts on the same voucher; the rest as transfer vouchers. Numbers run per 凭证字 from
    ``first_numbers`` (default 1)."""
    ar = _need(m.ar_account, "ar")
    numbers = {m.receipt_word: 1, m.transfer_word: 1, **(first_numbers or {})}
    children: dict[int, list[CreditRow]] = {}
    payment_ids = {r.id for r in rows if r.kind == "payment"}
    for r in rows:
        if r.kind in ("bank_charge", "discount") and r.parent_id in payment_ids:
            children.setdefault(r.parent_id, []).append(r)
    lines: list[Line] = []

    def voucher(word: str, date: dt.date, entries: list[tuple[str, str, Decimal, Decimal, CreditRow]]):
        no = numbers[word]
        numbers[word] = no + 1
        for i, (summary, account, debit, credit, row) in enumerate(entries, start=1):
            lines.append(Line(word=word, number=no, line_no=i, date=date, summary=summary[:80], account=account,
                              debit=debit, credit=credit, customer_code=row.customer_code if account == ar else "",
                              customer_name=row.customer_name if account == ar else "", credit_ids=(row.id,)))
        assert sum(e[2] for e in entries) == sum(e[3] for e in entries)  # noqa: S101 - balanced by construction

    zero = Decimal("0.00")
    for r in rows:
        text = SUMMARY[r.kind].format(name=r.customer_name, number=r.number)
        if r.kind == "payment":
            kids = children.get(r.id, [])
            entries = [(text, _bank_account(r, m), r.amount, zero, r)]
            entries += [(SUMMARY[k.kind].format(name=k.customer_name, number=k.number), _side_account(k.kind, m),
                         k.amount, zero, k) for k in kids]
            entries.append((text, ar, zero, r.amount + sum((k.amount for k in kids), zero), r))
            voucher(m.receipt_word, r.date, entries)
        elif r.kind in ("bank_charge", "discount") and r.parent_id in payment_ids:
            continue
        else:
            voucher(m.transfer_word, r.date, [(text, _side_account(r.kind, m), r.amount, zero, r),
                                              (text, ar, zero, r.amount, r)])
    return lines
