"""Aging and staff pages at scale, against data loaded by bench/generate.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_bench .venv/bin/python bench/scale_pages.py [--company BENCH01]
    DATABASE_URL=sqlite:////tmp/hk-bench.sqlite3 .venv/bin/python bench/scale_pages.py

Prints, for the bench company:
- aging as of today / 3 months ago / 1 year ago (grouped by customer and total only): median and
  max of 5 runs, and instalments scanned per second;
- the same buckets computed in-process with numpy over arrays already in memory (the practical
  limit), and the ratio;
- p50/p95 of 20 requests and the query count for: dashboard, aging page, customer list, customer 360,
  statement page, API customers and documents lists — through Django's test client as finance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.measure import backend_cpu  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.ledger.aging import aging_report  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402

CPU: list[float] = []  # process CPU seconds of the last timed() runs (SQLite runs in-process: the work itself)


def timed(fn, runs=5):
    out = []
    CPU.clear()
    for _ in range(runs):
        t = time.perf_counter()
        c = time.process_time()
        fn()
        out.append(time.perf_counter() - t)
        CPU.append(time.process_time() - c)
    return statistics.median(out), max(out)


def cpu_note() -> str:
    """Median CPU of the last timed() runs — on SQLite the query runs in this process, so this is the work
    without the wait for a core on a shared machine (PostgreSQL's work is in the server: not shown)."""
    return f", CPU {statistics.median(CPU):.3f} s" if connection.vendor == "sqlite" and CPU else ""


def numpy_limit(company, as_of: dt.date):
    import numpy as np

    rows = list(Instalment.objects.filter(company=company, open_amount__gt=0).values_list("due_date", "open_amount"))
    due = np.array([(as_of - d).days for d, _ in rows], dtype=np.int32)
    amt = np.array([int(a * 100) for _, a in rows], dtype=np.int64)
    edges = [0, 30, 60, 90, 120]

    def run():
        idx = np.searchsorted(np.array(edges), due, side="left")
        return np.bincount(idx, weights=amt, minlength=len(edges) + 1)

    med, _ = timed(run, 7)
    return len(rows), med


def page_stats(client, url, n=20):
    times = []
    queries = 0
    CPU.clear()
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            c = time.process_time()
            r = client.get(url)
            if hasattr(r, "streaming_content"):
                b"".join(r.streaming_content)
            times.append(time.perf_counter() - t)
            CPU.append(time.process_time() - c)
        assert r.status_code == 200, (url, r.status_code)
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times) * 1000, times[int(0.95 * (n - 1))] * 1000, queries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--only", choices=["aging", "pages"], default=None, help="run one half only")
    ap.add_argument("--pages", default="", help="comma-separated substrings: only the pages whose label matches")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=args.company) if args.company else Company.objects.filter(code__startswith="BENCH").order_by("-pk").first()
    finance = User.objects.filter(role="finance", companies=company).first() or User.objects.filter(role="finance").first()
    if not finance.companies.filter(pk=company.pk).exists():
        finance.companies.add(company)
    as_of = dt.date.fromisoformat(args.as_of)
    vendor = connection.vendor
    n_inst = Instalment.objects.filter(company=company).count()
    n_open = Instalment.objects.filter(company=company, open_amount__gt=0).count()
    print(f"# {vendor}: company {company.code}, {n_inst:,} instalments, {n_open:,} open")
    if args.only != "pages":
        aging_bench(company, finance, as_of, n_open)
    if args.only != "aging":
        pages_bench(company, finance, as_of, args)


def full_report_bench(company, finance, as_of):
    """Issue 19: the aging by customer with every row (what the XLSX export and the API without a page size
    compute), through the product's entry point: today from the stored aggregate, a past date stored or not."""
    from huikuan.common import clock
    from huikuan.insight import aging as insight_aging

    print("\n## aging by customer, every row (insight.aging.aging_report; median of 3: wall, Python CPU, "
          "PostgreSQL backend CPU)")
    for label, day in (("today", clock.today(company)), ("the data's end", as_of)):
        walls, cpus, backs = [], [], []
        for _ in range(3):
            t, c, b = time.perf_counter(), time.process_time(), backend_cpu()
            rep = insight_aging.aging_report(user=finance, company=company, as_of=day)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            backs.append(backend_cpu() - b)
        print(f"- {label} ({day}): {statistics.median(walls):.3f} s wall, Python CPU {statistics.median(cpus):.3f} s, "
              f"backend CPU {statistics.median(backs):.3f} s, {len(rep.rows):,} rows; load {os.getloadavg()[0]:.1f}")


def aging_bench(company, finance, as_of, n_open):
    full_report_bench(company, finance, as_of)
    print("\n## aging (median / max of 5, seconds)")
    for label, day in (("today", as_of), ("3 months ago", as_of - dt.timedelta(days=91)), ("1 year ago", as_of - dt.timedelta(days=365))):
        for group in ("none", "customer"):
            med, mx = timed(lambda day=day, group=group: aging_report(user=finance, company=company, as_of=day, group_by=group))
            print(f"- as of {label} ({day}), group by {group}: {med:.3f} / {mx:.3f} s{cpu_note()}  "
                  f"({n_open / med:,.0f} open instalments/s)")
    rows, np_med = numpy_limit(company, as_of)
    sql_med, _ = timed(lambda: aging_report(user=finance, company=company, as_of=as_of, group_by="none"))
    print(f"- numpy in memory over {rows:,} open instalments: {np_med * 1000:.1f} ms  "
          f"({rows / np_med:,.0f}/s); SQL/numpy ratio {sql_med / np_med:,.0f}× (SQL {sql_med:.3f} s{cpu_note()})")


def pages_bench(company, finance, as_of, args):
    client = Client()
    client.force_login(finance)
    session = client.session
    session["company_id"] = company.pk
    session.save()
    from huikuan.customers.models import Customer

    big = Customer.objects.filter(company=company).order_by("-open_amount").first()
    vendor = connection.vendor
    print(f"\n## pages as finance ({args.requests} requests each: p50 / p95 ms, queries)")
    urls = [
        ("dashboard", "/"),
        ("aging page (by customer, today)", "/reports/aging/"),
        ("aging page (by customer, today, page 50)", "/reports/aging/?page=50"),
        # a past date is stored on its first view (insight.past): that view alone, then the later ones
        ("aging page by customer as of the data's end, first view", f"/reports/aging/?as_of={as_of}", 1),
        ("aging page by customer as of the data's end", f"/reports/aging/?as_of={as_of}"),
        ("aging page 1 year ago, first view", f"/reports/aging/?as_of={as_of - dt.timedelta(days=365)}", 1),
        ("aging page 1 year ago", f"/reports/aging/?as_of={as_of - dt.timedelta(days=365)}"),
        ("customer list", "/customers/"),
        ("customer list search 'sh'", "/customers/?q=sh"),
        ("customer 360 (largest debtor)", f"/customers/{big.pk}/"),
        ("statement page (largest debtor, 1 year)", f"/customers/{big.pk}/statement/?from={as_of - dt.timedelta(days=365)}&to={as_of}"),
        ("documents list", "/documents/"),
        ("payments list", "/payments/"),
        ("API customers", "/api/v1/customers/"),
        ("API documents", "/api/v1/documents/"),
        # issue 18 (apiops): the integrators' operations added later
        ("API contacts", "/api/v1/contacts/"),
        ("API contacts sync (updated_since)", "/api/v1/contacts/?updated_since=2000-01-01"),
        ("API disputes", "/api/v1/disputes/"),
        ("API warnings sync (updated_since)", "/api/v1/warnings/?updated_since=2000-01-01"),
        ("API activities", "/api/v1/activities/"),
        ("API tasks", "/api/v1/tasks/"),
        ("API payment plans", "/api/v1/payment-plans/"),
        ("API credit profiles", "/api/v1/credit-profiles/"),
        ("API credit profiles on hold", "/api/v1/credit-profiles/?on_hold=true"),
        ("API credit requests", "/api/v1/credit-requests/"),
        ("API fapiao", "/api/v1/fapiao/"),
        ("API dunning notices", "/api/v1/dunning-notices/"),
        ("API bank lines (open)", "/api/v1/bank-lines/?status=open"),
    ]
    wanted = [w for w in args.pages.split(",") if w]
    for label, url, *n in urls:
        if wanted and not any(w in label for w in wanted):
            continue
        try:
            p50, p95, q = page_stats(client, url, n[0] if n else args.requests)
        except Exception as exc:  # e.g. another app's tables not migrated in this database
            print(f"- {label}: failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
            continue
        cpu = f", CPU p50 {statistics.median(CPU) * 1000:.0f} ms" if vendor == "sqlite" else ""
        print(f"- {label}: {p50:.0f} / {p95:.0f} ms, {q} queries{cpu}")
        if "first view" in label:  # the view queued the date's build: run it here, as the task worker would
            from huikuan.insight.tasks import build_aging_date

            t, b = time.perf_counter(), backend_cpu()
            out = build_aging_date.call(company.pk, url.split("as_of=")[1])
            print(f"  - its background build (insight.tasks.build_aging_date, {out}): "
                  f"{time.perf_counter() - t:.2f} s wall, backend CPU {backend_cpu() - b:.2f} s")
    reset_queries()


if __name__ == "__main__":
    main()
