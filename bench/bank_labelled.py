"""The precision guarantee of cash application on a labelled synthetic set (≥ 2,000 lines).

    DATABASE_URL=sqlite:////tmp/hk-banklab.sqlite3 .venv/bin/python bench/bank_labelled.py --lines 2400
    # or a scratch PostgreSQL database:
    createdb -h 127.0.0.1 -U postgres hk_banklab
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_banklab .venv/bin/python bench/bank_labelled.py --lines 2400
    dropdb -h 127.0.0.1 -U postgres hk_banklab

Migrates the scratch database, creates a company with demo-like customers and open invoices
(``huikuan.banking.labelled.build_world``), writes ``--lines`` incoming bank lines with realistic noise
and the true answer of each (``make_lines``: exact references, no reference, short or mistyped payer
names, the boss's personal account, several invoices in one transfer, part payments, payments net
of the early-payment discount, bank charges deducted, identical amounts on different customers,
mistyped references, money that is not a customer's), runs matching with automatic application,
and prints per scenario: lines, applied automatically, first suggestion right, and every wrong
automatic application (the guarantee is zero). Exit status 1 if any automatic application is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.banking import labelled, services  # noqa: E402
from huikuan.banking.models import BankLine, LineStatus  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=2400)
    ap.add_argument("--customers", type=int, default=0, help="default: lines / 3")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    n = Company.objects.filter(code__startswith="LAB").count() + 1
    company = Company.objects.create(code=f"LAB{n:02d}", name=f"标注测试{n}")
    actor = User.objects.create_user(username=f"lab-finance-{n}", password="x", role=Role.FINANCE)
    actor.companies.add(company)
    day = dt.date(2026, 3, 2)
    t = time.perf_counter()
    labelled.build_world(company=company, actor=actor, rng=rng, customers=args.customers or args.lines // 3, day=day)
    truths = labelled.make_lines(company=company, rng=rng, count=args.lines, day=day)
    print(f"{company.code}: {len(truths):,} labelled lines (setup {time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    counts = services.match_lines(company=company, line_ids=list(truths), actor=actor, on=day)
    print(f"matching + automatic application: {time.perf_counter() - t:.1f} s → {counts}")
    score = labelled.evaluate(truths)
    lines = {ln.pk: ln for ln in BankLine.objects.filter(pk__in=truths)}
    by, auto, first = Counter(), Counter(), Counter()
    for pk, truth in truths.items():
        by[truth.scenario] += 1
        ln = lines[pk]
        if ln.status == LineStatus.AUTO_APPLIED:
            auto[truth.scenario] += 1
        if ln.proposals:
            p = ln.proposals[0]
            got = {int(i): Decimal(a) for i, a, _d, _n in p["allocations"]}
            if p["customer_id"] == truth.customer_id and got == truth.allocations:
                first[truth.scenario] += 1
        elif truth.customer_id is None:
            first[truth.scenario] += 1
    print(f"{'scenario':<14}{'lines':>7}{'auto':>7}{'first right':>13}")
    for k in sorted(by, key=lambda k: -by[k]):
        print(f"{k:<14}{by[k]:>7}{auto[k]:>7}{first[k]:>13}")
    print(f"applied automatically: {score.auto:,} of {score.lines:,} ({100 * score.auto_share:.1f} %)")
    print(f"first suggestion right: {score.first_right:,} ({100 * score.first_share:.1f} %)")
    print(f"WRONG automatic applications: {score.wrong_auto}")
    for pk, truth, cid, allocs in score.wrong[:20]:
        print("  wrong:", pk, truth, cid, allocs)
    sys.exit(1 if score.wrong_auto else 0)


if __name__ == "__main__":
    main()
