"""A small bank statement for the demo: one account and ~30 incoming transfers waiting in the review
queue with their suggestions (matched, not applied, so the demo's ledger figures do not move)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from .models import BankAccount, BankLine, BankStatement
from .services import match_lines


def load_demo_bank(*, company, actor, as_of: dt.date, seed: int = 7, lines: int = 30) -> BankStatement | None:
    from huikuan.ledger.models import Instalment

    rng = random.Random(seed)
    account, _ = BankAccount.objects.get_or_create(
        company=company, account_number=company.bank_account_number or "755900000000001",
        defaults={"bank": company.bank_name or "招商银行", "currency": company.base_currency})
    items = list(Instalment.objects.filter(company=company, open_amount__gt=0, open_amount=models_f("amount"))
                 .select_related("customer", "document").order_by("due_date", "pk")[:400])
    if not items:
        return None
    picked = rng.sample(items, min(lines, len(items)))
    st = BankStatement.objects.create(company=company, account=account, source_format="cn_debit_credit",
                                      file_name="demo-statement.xlsx", file_hash="demo", total_lines=len(picked),
                                      new_lines=len(picked))
    rows = []
    for n, inst in enumerate(picked, start=1):
        kind = n % 5
        payer, memo, amount = inst.customer.name, "货款", inst.open_amount
        if kind == 1:
            memo = f"{inst.document.number} 货款"
        elif kind == 2:
            payer = rng.choice(["王建国", "李志强", "张丽"])  # the boss's own account
        elif kind == 3:
            amount = inst.open_amount - Decimal(15) if inst.open_amount > 100 else inst.open_amount
        rows.append(BankLine(company=company, account=account, statement=st, source_line=n,
                             date=as_of - dt.timedelta(days=rng.randint(0, 6)), amount=amount,
                             currency=account.currency, counterparty_name=payer,
                             counterparty_account=f"62{rng.randint(10**14, 10**15 - 1)}", memo=memo,
                             serial=f"DEMO{n:04d}", dedupe_key=f"s:DEMO{n:04d}"))
    BankLine.objects.bulk_create(rows)
    match_lines(company=company, line_ids=list(st.lines.values_list("pk", flat=True)), actor=actor, on=as_of,
                auto_apply=False)
    return st


def models_f(name):
    from django.db.models import F

    return F(name)
