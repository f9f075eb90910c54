"""The rows behind the cash-in forecast's bars (issue 13, ``/forecast/items/``), timed through Django's test client.

    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python bench/forecast_items_bench.py \
        [--company HK01] [--as-of 2026-11-30] [--requests 20]

Uses the stored forecast of ``--as-of`` (computed first, timed, when there is none: run it on a scratch copy,
it writes the forecast's rows). Then, as finance and as the salesperson with the most customers, times the
drill-down of every week's bar (13 weeks and "beyond"), of every week at once, of the overdue part, sorted by
predicted date, page 2, and the XLSX of the largest week: p50 / p95 of ``--requests`` requests after one
warm-up, the queries of one request, and whether the rows' total equals the bar. Prints the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from decimal import Decimal
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
from huikuan.prediction import forecast as fc  # noqa: E402

TOTAL = re.compile(r'id="forecast-items-total">([^<]+)<')
BAR = re.compile(r'id="forecast-items-bar">([^<]+)<')


def timed(client, url, n):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        queries = len(ctx.captured_queries)
    body = r.content.decode() if r.get("Content-Type", "").startswith("text/html") else ""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        if hasattr(r, "streaming_content"):
            b"".join(r.streaming_content)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return times, queries, body


def amount(pattern, body):
    m = pattern.search(body)
    return Decimal(m.group(1).replace(",", "")) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--company", default="HK01")
    p.add_argument("--as-of", default="2026-11-30")
    p.add_argument("--requests", type=int, default=20)
    a = p.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=a.company)
    as_of = dt.date.fromisoformat(a.as_of)
    run = fc.run_on(company, as_of)
    if run is None:
        t = time.perf_counter()
        run = fc.build_forecast(company=company, as_of=as_of)
        print(f"computed the forecast as of {as_of}: {run.items} items, {time.perf_counter() - t:.1f} s")
    print(f"{connection.vendor}; forecast as of {as_of}: {run.items} open items, source {run.source}; "
          f"load average {os.getloadavg()[0]:.2f}")
    finance = (User.objects.filter(companies=company, role="finance", is_active=True).order_by("pk").first()
               or User.objects.filter(role="finance", is_active=True).order_by("pk").first())
    finance.companies.add(company)  # the bench data's users may not be members of its company yet
    top = (Customer.objects.filter(company=company, owner__role="salesperson").values("owner_id")
           .annotate(n=Count("pk")).order_by("-n").first())
    readers = [("finance", finance)]
    if top:
        readers.append((f"salesperson ({top['n']} customers)", User.objects.get(pk=top["owner_id"])))
    currency = fc.read_forecast(run=run, user=finance).currency
    base = f"/forecast/items/?as_of={as_of}&currency={currency}&scenario=p50"
    everything = []
    for name, user in readers:
        client = Client()
        client.force_login(user)
        session = client.session
        session["company_id"] = company.pk
        session.save()
        client.cookies["django_language"] = "en"
        rows = []
        week_times = []
        mismatched = []
        for k in range(fc.BEYOND + 1):
            times, queries, body = timed(client, f"{base}&week={k}", a.requests)
            week_times += times
            if amount(TOTAL, body) != amount(BAR, body):
                mismatched.append(k)
        rows.append(("each week's bar (14 pages)", sorted(week_times), queries))
        for label, url in (("every week at once", f"{base}&week=all"), ("overdue part", f"{base}&week=overdue"),
                           ("every week, by predicted date", f"{base}&week=all&sort=predicted"),
                           ("every week, page 2", f"{base}&week=all&page=2"),
                           ("week 1 as XLSX", f"{base}&week=0&format=xlsx")):
            times, queries, body = timed(client, url, a.requests)
            rows.append((label, times, queries))
        print(f"\n{name}: rows' total = the bar in {fc.BEYOND + 1 - len(mismatched)} of {fc.BEYOND + 1} weeks"
              + (f" (differ: {mismatched})" if mismatched else ""))
        print(f"  {'what':34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for label, times, queries in rows:
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            print(f"  {label:34} {statistics.median(times):8.1f} {p95:8.1f} {queries:8d}")
            if "XLSX" not in label:
                everything += times
    everything.sort()
    print(f"\nall HTML drill-downs: n={len(everything)} p50 {statistics.median(everything):.1f} ms, "
          f"p95 {everything[max(0, int(round(0.95 * len(everything))) - 1)]:.1f} ms; "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
