"""Cash application on labelled synthetic statements: per kind of line, over several seeds.

    DATABASE_URL=sqlite:////tmp/hk-banklab.sqlite3 .venv/bin/python bench/bank_labelled.py --lines 1200 --seeds 1,2,3
    # or a scratch PostgreSQL database:
    createdb -h 127.0.0.1 -U postgres hk_banklab
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_banklab .venv/bin/python bench/bank_labelled.py --lines 2400
    dropdb -h 127.0.0.1 -U postgres hk_banklab

For each seed: migrates the scratch database, creates a company with demo-like customers and open
invoices numbered in several series (``huikuan.banking.labelled.build_world``), writes ``--lines``
incoming bank lines with Chinese memo styles and the true answer of each (``make_lines``: the
kinds of issue 14 — k1 bank fee deducted, k2 part payment naming its document, k3 several items
that are not the oldest, k4 memo naming some items, k5 a person paying for the company named in the
memo, k6 mistyped reference in any series, k7 discount rounded the other way, k8 a second line from
an account the run learns, k9 not a customer's money — mixed with the everyday kinds), runs matching
with automatic application and prints per kind: lines, lines the statement line determines, applied
automatically and right, applied automatically and WRONG, first suggestion right among the lines
left for a person. Then the spread over seeds of: automatic share of determined lines, first
suggestion right among the determined lines left, wrong automatic applications (the guarantee is
zero; exit status 1 if any).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.banking import labelled, services  # noqa: E402


def run_seed(seed: int, lines: int, customers: int):
    rng = random.Random(seed)
    n = Company.objects.filter(code__startswith="LAB").count() + 1
    company = Company.objects.create(code=f"LAB{n:02d}", name=f"标注测试{n}有限公司")
    actor = User.objects.create_user(username=f"lab-finance-{n}", password="x", role=Role.FINANCE)
    actor.companies.add(company)
    day = dt.date(2026, 3, 2)
    t = time.perf_counter()
    labelled.build_world(company=company, actor=actor, rng=rng, customers=customers or lines // 3, day=day)
    truths = labelled.make_lines(company=company, rng=rng, count=lines, day=day)
    setup = time.perf_counter() - t
    t = time.perf_counter()
    counts = services.match_lines(company=company, line_ids=list(truths), actor=actor, on=day)
    took = time.perf_counter() - t
    return labelled.evaluate(truths), setup, took, counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1200)
    ap.add_argument("--customers", type=int, default=0, help="default: lines / 3")
    ap.add_argument("--seeds", default="2026", help="comma-separated")
    args = ap.parse_args()
    call_command("migrate", verbosity=0)
    seeds = [int(s) for s in args.seeds.split(",")]
    total: dict = {}
    shares, rests, wrongs = [], [], []
    for seed in seeds:
        score, setup, took, counts = run_seed(seed, args.lines, args.customers)
        print(f"seed {seed}: {score.lines:,} lines (setup {setup:.1f} s), matching + automatic application {took:.1f} s → {counts}")
        print(f"  automatic: {score.auto_determined:,} of {score.determined:,} determined lines "
              f"({100 * score.determined_auto_share:.1f} %); first suggestion right among the determined rest "
              f"{100 * score.rest_first_share:.1f} %; all lines automatic {100 * score.auto_share:.1f} %; "
              f"WRONG automatic: {score.wrong_auto}")
        for pk, truth, cid, allocs in score.wrong[:10]:
            print("    wrong:", pk, truth, cid, allocs)
        shares.append(100 * score.determined_auto_share)
        rests.append(100 * score.rest_first_share)
        wrongs.append(score.wrong_auto)
        for kind, c in score.by_kind.items():
            total.setdefault(kind, Counter()).update(c)
    print(f"\nper kind, {len(seeds)} seed(s) together:")
    print(f"{'kind':<18}{'lines':>7}{'determ.':>9}{'auto right':>12}{'auto WRONG':>12}{'first right (rest)':>20}")
    for kind in sorted(total, key=lambda k: (not k.startswith("k"), k)):
        c = total[kind]
        rest = c["lines"] - c["auto_right"] - c["auto_wrong"]
        print(f"{kind:<18}{c['lines']:>7}{c['determined']:>9}{c['auto_right']:>12}{c['auto_wrong']:>12}"
              f"{c['first_right_rest']:>12} of {rest:<5}")
    def spread(xs):
        return f"min {min(xs):.1f} · median {statistics.median(xs):.1f} · max {max(xs):.1f}"
    print(f"\nautomatic share of determined lines: {spread(shares)}")
    print(f"first suggestion right, determined lines left: {spread(rests)}")
    print(f"wrong automatic applications: {sum(wrongs)} ({wrongs})")
    sys.exit(1 if sum(wrongs) else 0)


if __name__ == "__main__":
    main()
