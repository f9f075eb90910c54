"""The 13-week cash-in forecast at scale, against data loaded by bench/generate.py (issue 16 point 5).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python bench/forecast_bench.py \
        [--company BENCH01] [--as-of 2026-11-30] [--requests 20] [--no-build]

Computes (and stores) the forecast as of ``--as-of`` once, timed — with the company's active model, or the
due dates when none is trained — then times the forecast page through Django's test client (p50 / p95 of
``--requests`` requests after one warm-up, and the number of queries): as finance in total, by salesperson,
by group, with open orders, as the salesperson with the most customers, and GET /api/v1/forecast/.
Run it on a scratch clone: it writes the forecast rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
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

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402
from huikuan.prediction import forecast as fc  # noqa: E402
from huikuan.prediction.models import ForecastCell  # noqa: E402


def page_stats(client, url, n):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        queries = len(ctx.captured_queries)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)], queries


def login(user, company):
    client = Client()
    client.force_login(user)
    session = client.session
    session["company_id"] = company.pk
    session.save()
    return client


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="")
    ap.add_argument("--as-of", default="")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--no-build", action="store_true", help="use the forecast already stored for --as-of")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=args.company) if args.company else \
        Company.objects.filter(code__startswith="BENCH").order_by("-pk").first()
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else \
        Instalment.objects.filter(company=company).order_by("-document_date").values_list("document_date", flat=True)[0]
    n_open = Instalment.objects.filter(company=company, open_amount__gt=0).count()
    n_cust = Customer.objects.filter(company=company).count()
    print(f"# {connection.vendor}: company {company.code}, {n_cust:,} customers, {n_open:,} open instalments, "
          f"as of {as_of}; load average {os.getloadavg()[0]:.1f}")
    if not args.no_build:
        t = time.perf_counter()
        run = fc.build_forecast(company=company, as_of=as_of)
        took = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"- build: {took:.1f} s, {run.items:,} items, source {run.source}, "
              f"{ForecastCell.objects.filter(run=run).count():,} cells, peak RSS {rss:.0f} MB")
    run = fc.run_on(company, as_of)
    finance = User.objects.filter(role="finance", companies=company).first() or User.objects.filter(role="finance").first()
    finance.companies.add(company)
    top = (Customer.objects.filter(company=company, owner__role="salesperson").values("owner")
           .annotate(n=Count("id")).order_by("-n").first())
    print(f"\n## pages ({args.requests} requests each after one warm-up: p50 / p95 ms, queries); "
          f"load average {os.getloadavg()[0]:.1f}")
    client = login(finance, company)
    day = run.as_of.isoformat()
    for label, url in (("forecast page, company total", f"/forecast/?as_of={day}"),
                       ("by salesperson", f"/forecast/?as_of={day}&by=salesperson"),
                       ("by customer group", f"/forecast/?as_of={day}&by=group"),
                       ("with open orders", f"/forecast/?as_of={day}&orders=1"),
                       ("XLSX by salesperson", f"/forecast/?as_of={day}&by=salesperson&format=xlsx")):
        p50, p95, q = page_stats(client, url, args.requests)
        print(f"- {label}: {p50:.0f} / {p95:.0f} ms, {q} queries")
    if top:
        sales = User.objects.get(pk=top["owner"])
        sales.companies.add(company)
        p50, p95, q = page_stats(login(sales, company), f"/forecast/?as_of={day}&by=group", args.requests)
        print(f"- as a salesperson ({top['n']:,} customers), by group: {p50:.0f} / {p95:.0f} ms, {q} queries")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
