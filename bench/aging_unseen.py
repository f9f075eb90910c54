"""Past-date aging (insight.past) on a copy of the bench data: page time with N customers changed since the
stored date, and what the marking triggers cost a bulk update.

    DATABASE_URL=... .venv/bin/python bench/aging_unseen.py [--company BENCH01] [--as-of 2026-11-30] [--triggers]

Writes into the database (marks by hand, removed again; ``--triggers`` updates 200,000 instalments in a
transaction that is rolled back): run it on a copy, never on the shared bench database. On PostgreSQL run
``VACUUM ANALYZE ledger_instalment, insight_agingchange, insight_agingmark`` afterwards: the rolled-back
updates leave dead rows and stale statistics behind (docs/PERFORMANCE.md, "Aging as of past dates").
"""

import argparse
import os
import statistics
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402

HAND = "2000-01-01"  # the since-date of the marks made here (removed at the end)


def page(client, url, n=10):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (n - 1))] * 1000


def unseen(company, client, url):
    tx = "pg_current_xact_id()::text::bigint" if connection.vendor == "postgresql" else \
        "(SELECT tx FROM insight_agingclock WHERE id = 1)"
    client.get(url)  # stores the date if it is not yet
    for n in (0, 999, 10000):
        with connection.cursor() as cur:
            cur.execute("DELETE FROM insight_agingmark WHERE since = %s", [HAND])
            cur.execute(f"INSERT INTO insight_agingmark (customer_id, company_id, since, tx) SELECT id, company_id, %s, {tx} "
                        "FROM customers_customer WHERE company_id = %s ORDER BY id LIMIT %s", [HAND, company.pk, n])
        t = time.perf_counter()
        client.get(url)
        first = (time.perf_counter() - t) * 1000
        p50, p95 = page(client, url)
        print(f"- {n:,} customers changed since the stored date: next view {first:.0f} ms, "
              f"then p50 / p95 {p50:.0f} / {p95:.0f} ms", flush=True)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM insight_agingmark WHERE since = %s", [HAND])


class Rollback(Exception):
    pass


def triggers():
    pg = connection.vendor == "postgresql"
    shift = "due_date + 1" if pg else "date(due_date, '+1 day')"
    for on in (False, True, False, True):
        try:
            with transaction.atomic(), connection.cursor() as cur:
                if not on:
                    cur.execute("ALTER TABLE ledger_instalment DISABLE TRIGGER insight_aging_marks_upd" if pg
                                else "DROP TRIGGER insight_aging_marks_upd")
                cur.execute("SELECT COUNT(*) FROM insight_agingmark")
                before, = cur.fetchone()
                t = time.perf_counter()
                cur.execute(f"UPDATE ledger_instalment SET due_date = {shift} WHERE id <= 200000")
                took = time.perf_counter() - t
                cur.execute("SELECT COUNT(*) FROM insight_agingmark")
                after, = cur.fetchone()
                print(f"- 200,000 instalments updated, marking trigger {'on' if on else 'off'}: {took:.2f} s, "
                      f"{after - before:,} marks written (rolled back)", flush=True)
                raise Rollback
        except Rollback:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--triggers", action="store_true", help="also time a bulk update with and without the triggers")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=args.company)
    finance = User.objects.filter(role="finance", companies=company).first()
    client = Client()
    client.force_login(finance)
    session = client.session
    session["company_id"] = company.pk
    session.save()
    print(f"# {connection.vendor}: aging page as of {args.as_of}, load average {os.getloadavg()[0]:.2f}")
    unseen(company, client, f"/reports/aging/?as_of={args.as_of}")
    if args.triggers:
        triggers()
    print(f"# load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
