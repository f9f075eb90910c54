"""Cash-application matching at scale, against a CLONE of the bench database (it writes bank lines).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_banking
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_banking .venv/bin/python manage.py migrate banking
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_banking .venv/bin/python bench/bank_match_bench.py \
        --company BENCH01 --lines 10000 --apply 500
    dropdb -h 127.0.0.1 -U postgres hk_banking

What it does: draws ``--lines`` open instalments at random (SQL TABLESAMPLE) and writes one incoming
bank line for each, with a realistic mix — the document number in the memo, the exact customer name,
a shortened name, a person's name (the boss's account) with only the amount, two or three of the
customer's oldest items paid together, a bank charge deducted — plus 5 % lines from nobody. Then it
times ``services.match_lines`` over all of them with automatic application OFF (the matching itself:
candidate queries + scoring + storing the proposals), and separately the automatic application of
the certain lines among the first ``--apply`` (each one durable ledger transaction). Prints the
company's open instalments, the timings, and the shares proposed / certain.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.banking import matching, services  # noqa: E402
from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus  # noqa: E402
from huikuan.common.money import ZERO  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def sample_instalments(company, n, rng):
    table = Instalment._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE company_id = %s AND open_amount > 0", [company.pk])
        open_count = cur.fetchone()[0]
        pct = min(100.0, 100.0 * n * 3 / max(open_count, 1))
        cur.execute(
            f"SELECT i.id FROM {table} i TABLESAMPLE SYSTEM (%s) WHERE i.company_id = %s AND i.open_amount > 0 "
            f"AND i.open_amount = i.amount LIMIT %s", [pct, company.pk, n])
        ids = [r[0] for r in cur.fetchall()]
    rows = list(Instalment.objects.filter(pk__in=ids).values_list(
        "pk", "customer_id", "customer__name", "customer__short_name", "document__number", "open_amount"))
    rng.shuffle(rows)
    return open_count, rows


def make_lines(company, account, rows, rng, day):
    st = BankStatement.objects.create(company=company, account=account, source_format="cn_debit_credit",
                                      file_name="bench.csv", file_hash="bench", total_lines=len(rows))
    lines = []
    for n, (_pk, _cid, name, short, number, open_amount) in enumerate(rows, start=1):
        kind = rng.random()
        payer, memo, amount = name, "货款", open_amount
        if kind < 0.25:
            memo = f"{number} 货款"
        elif kind < 0.45:
            pass
        elif kind < 0.55:
            payer = short or name.replace("有限公司", "")
        elif kind < 0.65:
            payer, memo = rng.choice("王李张刘陈杨黄赵") + rng.choice("伟芳娜敏静丽强磊"), "代付货款"
        elif kind < 0.75:
            amount = open_amount - Decimal(rng.choice([5, 10, 15, 20]))
            if amount <= 0:
                amount = open_amount
        elif kind < 0.95:
            amount = open_amount  # the customer's items are combined by the matcher when the sum fits
        else:
            payer, memo, amount = "某某物流有限公司", "退款", Decimal(rng.randint(100, 99999)) / 100
        lines.append(BankLine(company=company, account=account, statement=st, source_line=n,
                              date=day - dt.timedelta(days=rng.randint(0, 5)), amount=amount, currency="CNY",
                              counterparty_name=payer, memo=memo, serial=f"BENCH{st.pk}-{n}",
                              dedupe_key=f"s:BENCH{st.pk}-{n}"))
    BankLine.objects.bulk_create(lines, batch_size=2000)
    return list(BankLine.objects.filter(statement=st).order_by("source_line").values_list("pk", flat=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--apply", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    company = Company.objects.get(code=args.company)
    actor = User.objects.filter(role="admin", is_active=True).order_by("pk").first()
    day = dt.date(2026, 11, 30)
    account, _ = BankAccount.objects.get_or_create(company=company, account_number="BENCH-ACCT",
                                                   defaults={"bank": "招商银行", "currency": "CNY"})
    t = time.perf_counter()
    open_count, rows = sample_instalments(company, args.lines, rng)
    ids = make_lines(company, account, rows, rng, day)
    print(f"open instalments of {company.code}: {open_count:,}; bank lines written: {len(ids):,} "
          f"(setup {time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    counts = services.match_lines(company=company, line_ids=ids, actor=actor, on=day, auto_apply=False)
    elapsed = time.perf_counter() - t
    print(f"matching {len(ids):,} lines: {elapsed:.2f} s ({len(ids) / elapsed:,.0f} lines/s) → {counts}")

    conf = services.settings_for(company)
    lines = list(BankLine.objects.filter(pk__in=ids).only("pk", "proposals", "amount"))
    certain = [ln for ln in lines if ln.proposals and matching.is_certain(
        [matching.Proposal(customer_id=p["customer_id"], customer_name="", kind=p["kind"],
                           confidence=Decimal(p["confidence"]), rest=Decimal(p["rest"]), identity=set(p["identity"]))
         for p in ln.proposals], threshold=conf.threshold, margin=conf.margin)]
    print(f"certain (would be applied automatically): {len(certain):,} of {len(lines):,} "
          f"({100 * len(certain) / len(lines):.1f} %); with a suggestion: "
          f"{sum(1 for ln in lines if ln.proposals):,}")

    subset = [ln.pk for ln in lines[:args.apply]]
    BankLine.objects.filter(pk__in=subset).update(status=LineStatus.UNMATCHED)
    t = time.perf_counter()
    counts = services.match_lines(company=company, line_ids=subset, actor=actor, on=day, auto_apply=True)
    elapsed = time.perf_counter() - t
    print(f"match + automatic application of {len(subset):,} lines: {elapsed:.2f} s → {counts} "
          f"({counts['auto_applied'] / elapsed if elapsed else 0:,.0f} applications/s)")
    total = sum((ln.amount for ln in lines), ZERO)
    print(f"amount matched: {total:,}")


if __name__ == "__main__":
    main()
