"""Give a generated bench company N salespeople (bench/generate.py makes 5): creates the missing salesperson
users (teams alternating) and reassigns customers, documents and instalments round-robin by customer id, in SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch clone> .venv/bin/python bench/spread_salespeople.py \
        --company BENCH01 --people 200

Run it on a scratch clone only, before the daily job stores the month ends (it rewrites who sold what).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from huikuan.accounts.models import Company, Role, Team, User  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--people", type=int, default=200)
    args = ap.parse_args()
    company = Company.objects.get(code=args.company)
    teams = list(Team.objects.order_by("pk"))
    t = time.perf_counter()
    with transaction.atomic():
        have = list(User.objects.filter(role=Role.SALESPERSON).order_by("pk"))
        for n in range(len(have), args.people):
            u = User(username=f"bench_sales{n + 1:03d}", role=Role.SALESPERSON, team=teams[n % len(teams)])
            u.set_unusable_password()
            u.save()
            have.append(u)
        for u in have:
            u.companies.add(company)
        ids = [u.pk for u in have][:args.people]
        case = "CASE " + " ".join(f"WHEN {{col}} %% {len(ids)} = {i} THEN {pk}" for i, pk in enumerate(ids)) + " END"
        with connection.cursor() as cur:
            cur.execute(f"UPDATE customers_customer SET owner_id = {case.format(col='id')} WHERE company_id = %s",
                        [company.pk])
            cur.execute(f"UPDATE ledger_receivabledocument SET salesperson_id = {case.format(col='customer_id')} "
                        f"WHERE company_id = %s", [company.pk])
            cur.execute(f"UPDATE ledger_instalment SET salesperson_id = {case.format(col='customer_id')} "
                        f"WHERE company_id = %s", [company.pk])
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(DISTINCT salesperson_id) FROM ledger_instalment WHERE company_id = %s", [company.pk])
            print(f"{cur.fetchone()[0]} salespeople on the instalments of {company.code}")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"{time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
