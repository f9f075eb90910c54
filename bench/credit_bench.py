"""Credit management at scale, against a CLONE of the bench database (it writes profiles and snapshots).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_credit
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_credit .venv/bin/python manage.py migrate credit
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_credit .venv/bin/python bench/credit_bench.py --company BENCH01
    dropdb -h 127.0.0.1 -U postgres hk_credit

SQLite (a generated bench file, see bench/generate.py; copy it first, the bench writes):

    DATABASE_URL=sqlite:////tmp/hk-bench.sqlite3 .venv/bin/python bench/credit_bench.py --company BENCH01 --rescore-only

Each re-score prints its wall time and the CPU time of this process (on SQLite the database works inside
the process, so CPU time is the whole cost and does not depend on the machine's load). ``--rescore-only``
skips the credit checks, orders and fit. The runs: first (profiles and snapshots created), second on the
same date (only what changed is written: nothing), next day (every profile and a new snapshot written).

Prints: the time to re-score every customer of the company (factor aggregates in SQL, then snapshots,
profiles and grade-change events written in bulk) for a first run (all profiles created) and a second
run (profiles updated, snapshots of the same date replaced); p50/p95 of a credit check (no reservation)
and of an order reservation (``submit_order``: customer row lock, check, insert) over random customers;
and the held-out AUC of the logistic-regression fit next to the default scorecard's (``--fit``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.credit import scoring, services  # noqa: E402
from huikuan.credit.models import CreditProfile  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="", help="default: the latest document date of the company")
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--rescore-only", action="store_true", help="only the re-scoring runs")
    a = ap.parse_args()
    company = Company.objects.get(code=a.company)
    if a.as_of:
        as_of = dt.date.fromisoformat(a.as_of)
    else:
        from django.db.models import Max

        from huikuan.ledger.models import ReceivableDocument
        as_of = ReceivableDocument.objects.filter(company=company).aggregate(m=Max("document_date"))["m"]
    n = Customer.objects.filter(company=company).count()
    print(f"company {company.code}: {n} customers, as of {as_of}")
    services.policy_of(company)

    t0 = time.perf_counter()
    factors = scoring.compute_factors(company=company, as_of=as_of)
    print(f"factor aggregates only: {time.perf_counter() - t0:.1f} s for {len(factors)} customers")
    del factors
    print(f"database: {connection.vendor}")
    for run, day in (("first", as_of), ("second, same date", as_of), ("next day", as_of + dt.timedelta(days=1))):
        cpu = time.process_time()
        res, sec = timed(lambda d=day: scoring.rescore(company=company, as_of=d))
        cpu = time.process_time() - cpu
        print(f"rescore ({run}): {sec:.1f} s wall, {cpu:.1f} s CPU of this process (factor aggregates "
              f"{res['factor_seconds']} s, scoring and writing {res['write_seconds']} s) — {res['customers']} customers, "
              f"{res.get('unchanged', '?')} unchanged, {res['grade_changes']} grade changes")
    if a.rescore_only:
        return

    # limits: three months of the customer's average monthly sales, so checks see every outcome
    with connection.cursor() as cur:
        cur.execute("""
            UPDATE credit_creditprofile p SET limit_amount = COALESCE(s.total, 0) / 4
            FROM (SELECT customer_id, SUM(total_amount) AS total FROM ledger_receivabledocument
                  WHERE company_id = %s AND document_date > %s GROUP BY customer_id) s
            WHERE p.customer_id = s.customer_id AND p.company_id = %s""",
                    [company.pk, as_of - dt.timedelta(days=365), company.pk])
    ids = list(Customer.objects.filter(company=company).values_list("pk", flat=True))
    rng = random.Random(4)
    sample = [rng.choice(ids) for _ in range(a.checks)]
    outcomes, times = {}, []
    for cid in sample:
        t = time.perf_counter()
        r = services.check_credit(company=company, customer_id=cid, amount=Decimal("10000.00"), as_of=as_of)
        times.append((time.perf_counter() - t) * 1000)
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    print(f"credit check ×{len(times)}: p50 {statistics.median(times):.1f} ms, p95 {pct(times, 95):.1f} ms, "
          f"max {max(times):.1f} ms; outcomes {outcomes}")

    actor, _ = User.objects.get_or_create(username="bench-credit", defaults={"role": Role.ADMIN})
    actor.companies.add(company)
    times = []
    for i in range(a.orders):
        cid = rng.choice(ids)
        t = time.perf_counter()
        services.submit_order(company=company, customer_id=cid, reference=f"BENCH-{time.time_ns()}-{i}",
                              amount=Decimal("5000.00"), as_of=as_of, actor=actor)
        times.append((time.perf_counter() - t) * 1000)
    print(f"order reservation (submit_order) ×{len(times)}: p50 {statistics.median(times):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms")
    print(f"profiles: {CreditProfile.objects.filter(company=company).count()}")

    if a.fit:
        from huikuan.credit.model_fit import fit

        res, sec = timed(lambda: fit(company=company, as_of=as_of))
        print(f"model fit: {sec:.1f} s; train {res['train_as_of']} {res['train_customers']} customers "
              f"({res['train_late']} became 60+ days late), test {res['test_as_of']} {res['test_customers']} "
              f"({res['test_late']}); held-out AUC fitted {res['auc']} vs default scorecard {res['baseline_auc']}")
        print(f"coefficients (standardised): {res['coefficients']}")


if __name__ == "__main__":
    main()
