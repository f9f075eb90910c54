"""The collections worklist at scale, against a CLONE of the bench database (it writes the queue table).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_coll
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_coll .venv/bin/python manage.py migrate collections
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_coll .venv/bin/python bench/worklist_bench.py --company BENCH01
    dropdb -h 127.0.0.1 -U postgres hk_coll

Prints: open / overdue instalments of the company; the time of the daily queue recomputation
(``refresh_queue``, one aggregate query + upsert) and of a one-customer refresh (what each quick action
does); p50/p95 and the query count of the worklist page (first page, a deep page, a search, a tier
filter) for a collector (all customers) and for the salesperson owning the most customers, through
Django's test client; and the XLSX export of the whole queue.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.collections.models import QueueEntry  # noqa: E402
from huikuan.collections.worklist import refresh_queue  # noqa: E402
from huikuan.common import clock  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def page_stats(client, url, n):
    times, queries = [], 0
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            r = client.get(url)
            if hasattr(r, "streaming_content"):
                b"".join(r.streaming_content)
            times.append(time.perf_counter() - t)
        assert r.status_code == 200, (url, r.status_code)
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (n - 1))] * 1000, queries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    if "huikuan_bench" in str(settings.DATABASES["default"].get("NAME")):
        sys.exit("refusing to write to huikuan_bench: run on a clone (see the docstring)")
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    company = Company.objects.get(code=args.company)
    today = clock.today(company)
    open_n = Instalment.objects.filter(company=company, open_amount__gt=0).count()
    overdue_n = Instalment.objects.filter(company=company, open_amount__gt=0, due_date__lt=today).count()
    print(f"company {company.code}: {Customer.objects.filter(company=company).count():,} customers, "
          f"{open_n:,} open instalments, {overdue_n:,} overdue as of {today}")

    t = time.perf_counter()
    rows = refresh_queue(company=company, as_of=today)
    print(f"refresh_queue (whole company): {rows:,} customers with overdue items in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    rows = refresh_queue(company=company, as_of=today)
    print(f"refresh_queue again (same day, upsert): {time.perf_counter() - t:.1f} s")
    one = QueueEntry.objects.filter(company=company).order_by("-priority").values_list("customer_id", flat=True).first()
    runs = []
    for _ in range(10):
        t = time.perf_counter()
        refresh_queue(company=company, as_of=today, customer_ids=[one])
        runs.append(time.perf_counter() - t)
    print(f"refresh_queue (one customer, after a quick action): median {statistics.median(runs) * 1000:.0f} ms")

    collector = User.objects.filter(role=Role.COLLECTOR, companies=company).first()
    if collector is None:
        collector = User.objects.create_user(username="bench-collector", password="x", role=Role.COLLECTOR)
        collector.companies.add(company)
    owner_id = (Customer.objects.filter(company=company, owner__isnull=False).values("owner_id")
                .annotate(n=Count("id")).order_by("-n").values_list("owner_id", flat=True).first())
    seller = User.objects.get(pk=owner_id)
    for who in (collector, seller):
        c = Client()
        c.force_login(who)
        print(f"\nworklist as {who.username} ({who.role}), {args.requests} requests each: p50 / p95 ms, queries")
        for label, url in (("first page", "/collections/"), ("page 200", "/collections/?page=200"),
                           ("search 'sh'", "/collections/?q=sh"), ("tier: overdue", "/collections/?tier=2")):
            p50, p95, q = page_stats(c, url, args.requests)
            print(f"  {label:<16} {p50:7.0f} {p95:7.0f}  {q}")
    c = Client()
    c.force_login(collector)
    t = time.perf_counter()
    r = c.get("/collections/?export=xlsx")
    b"".join(r.streaming_content)
    print(f"\nXLSX export of the whole queue: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
