"""The rows behind the cash-in forecast's bars (issue 13, ``/forecast/items/``), timed through Django's test client.

    DATABASE_URL=sqlite:////tmp/demo.sqlite3 .venv/bin/python bench/forecast_items_bench.py \
        [--company HK01] [--as-of 2026-11-30] [--requests 20] [--serial] [--xlsx-requests 3] [--readers finance,sales]

At full scale (a clone of the bench database, company BENCH01, ~1 M open items):

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_<name>
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python manage.py migrate
    psql -h 127.0.0.1 -U postgres hk_<name> -c ANALYZE
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python bench/forecast_items_bench.py \
        --company BENCH01 --as-of 2026-11-30 --requests 10 --serial

Uses the stored forecast of ``--as-of`` (computed first, timed, when there is none: run it on a scratch copy,
it writes the forecast's rows). Then, as finance and as the salesperson with the most customers, times the
drill-down of every week's bar (13 weeks and "beyond"); of the big buckets — the first week (everything already
overdue is expected in it), every week at once, the overdue part — in their default order (largest first) and
sorted by amount, due date (both ways), customer, document, predicted date (both ways), probability late and
salesperson (the first week), page 2 and a deep page; every week sorted by predicted date;
the bucket added up on demand (``check=1``); and the XLSX of the first week (its row cap): the request, which
queues an export job, and the job run in this process as the worker runs it (``--xlsx-requests`` times each). For each: the bucket's
size (and each week's own line under the weeks' row), p50 / p95 of the wall time of ``--requests`` requests after one warm-up, the CPU time of a request (the
Django process plus its PostgreSQL backend, read from /proc: the server runs on this machine) and the queries of
one request; and whether the rows' total equals the bar where the page adds it up. ``--serial`` keeps PostgreSQL
from starting parallel workers (whose CPU the backend's /proc does not count), so the CPU figure is the whole cost.
Prints the load average: wall times on a shared machine are not verdicts, CPU times mostly are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.measure import backend_cpu  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.common import export_jobs  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.prediction import forecast as fc  # noqa: E402
from huikuan.prediction import forecast_items as fi  # noqa: E402

TOTAL = re.compile(r'id="forecast-items-total">([^<]+)<')
BAR = re.compile(r'id="forecast-items-bar">([^<]+)<')


def pct(values, q):
    values = sorted(values)
    return values[max(0, int(round(q * len(values))) - 1)]


def timed(client, url, n):
    """(wall ms of n requests, CPU ms of each — process + backend —, queries of one, the warm-up's HTML)."""
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        if hasattr(r, "streaming_content"):
            b"".join(r.streaming_content)
        queries = len(ctx.captured_queries)
    body = r.content.decode() if r.get("Content-Type", "").startswith("text/html") else ""
    walls, cpus = [], []
    for _ in range(n):
        b, p, t = backend_cpu(), time.process_time(), time.perf_counter()
        r = client.get(url)
        if hasattr(r, "streaming_content"):
            b"".join(r.streaming_content)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - p + backend_cpu() - b) * 1000)
    return walls, cpus, queries, body


def amount(pattern, body):
    m = pattern.search(body)
    return Decimal(m.group(1).replace(",", "")) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--company", default="HK01")
    p.add_argument("--as-of", default="2026-11-30")
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--xlsx-requests", type=int, default=3)
    p.add_argument("--serial", action="store_true", help="PostgreSQL: no parallel workers (CPU fully counted)")
    p.add_argument("--readers", default="finance,sales")
    p.add_argument("--xlsx-only", action="store_true", help="only the first week's XLSX (request and worker's job)")
    a = p.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    # the export jobs are run by this script (timed), not by a worker
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="forecast-items-bench-"))
    company = Company.objects.get(code=a.company)
    as_of = dt.date.fromisoformat(a.as_of)
    run = fc.run_on(company, as_of)
    if run is None:
        t = time.perf_counter()
        run = fc.build_forecast(company=company, as_of=as_of)
        print(f"computed the forecast as of {as_of}: {run.items} items, {time.perf_counter() - t:.1f} s")
    if a.serial and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
    print(f"{connection.vendor}; forecast as of {as_of}: {run.items} open items, source {run.source}; "
          f"serial {a.serial}; load average {os.getloadavg()[0]:.2f}")
    finance = (User.objects.filter(companies=company, role="finance", is_active=True).order_by("pk").first()
               or User.objects.filter(role="finance", is_active=True).order_by("pk").first())
    finance.companies.add(company)  # the bench data's users may not be members of its company yet
    top = (Customer.objects.filter(company=company, owner__role="salesperson").values("owner_id")
           .annotate(n=Count("pk")).order_by("-n").first())
    readers = []
    if "finance" in a.readers:
        readers.append(("finance", finance))
    if top and "sales" in a.readers:
        sales = User.objects.get(pk=top["owner_id"])
        sales.companies.add(company)
        readers.append((f"salesperson ({top['n']} customers)", sales))
    currency = fc.read_forecast(run=run, user=finance).currency
    base = f"/forecast/items/?as_of={as_of}&currency={currency}&scenario=p50"
    html_walls, html_cpus = [], []
    for name, user in readers:
        client = Client()
        client.force_login(user)
        session = client.session
        session["company_id"] = company.pk
        session.save()
        client.cookies["django_language"] = "en"

        def size(week, user=user):
            qs = fi.forecast_items(run=run, user=user, currency=currency, bucket=fi.Bucket(week=week))
            return qs.count()

        rows = []
        week_walls, week_cpus, mismatched, checked = [], [], [], 0
        for k in range(0 if a.xlsx_only else fc.BEYOND + 1):
            walls, cpus, queries, body = timed(client, f"{base}&week={k}", a.requests)
            week_walls += walls
            week_cpus += cpus
            if amount(TOTAL, body) is not None:
                checked += 1
                if amount(TOTAL, body) != amount(BAR, body):
                    mismatched.append(k)
        if week_walls:
            rows.append(("each week's bar (14 pages)", "", week_walls, week_cpus, queries))
            for k in range(fc.BEYOND + 1):  # each week's own figures: the slowest week is the one to look at
                walls, cpus = week_walls[k * a.requests:(k + 1) * a.requests], week_cpus[k * a.requests:(k + 1) * a.requests]
                rows.append((f"  week {k + 1}", "detail", walls, cpus, queries))
        sizes = {w: size(w) for w in (0, fi.ALL, fi.OVERDUE)}
        cases = [(f"week 1 ({sizes[0]:,} items), {s or 'default'}", f"{base}&week=0" + (f"&sort={s}" if s else ""))
                 for s in ("", "amount", "due", "-due", "customer", "-customer", "document", "predicted", "-predicted",
                           "p_late", "salesperson")]
        cases += [(f"every week ({sizes[fi.ALL]:,}), default", f"{base}&week=all"),
                  (f"every week ({sizes[fi.ALL]:,}), by customer", f"{base}&week=all&sort=customer"),
                  (f"every week ({sizes[fi.ALL]:,}), page 2", f"{base}&week=all&page=2"),
                  (f"every week ({sizes[fi.ALL]:,}), page 150", f"{base}&week=all&page=150"),
                  (f"overdue part ({sizes[fi.OVERDUE]:,}), default", f"{base}&week=overdue"),
                  (f"overdue part ({sizes[fi.OVERDUE]:,}), by due date", f"{base}&week=overdue&sort=due"),
                  (f"every week ({sizes[fi.ALL]:,}), by predicted date", f"{base}&week=all&sort=predicted")]
        for label, url in [] if a.xlsx_only else cases:
            walls, cpus, queries, body = timed(client, url, a.requests)
            rows.append((label, "html", walls, cpus, queries))
        for label, url, n in () if a.xlsx_only else (
                (f"week 1 ({sizes[0]:,}) added up (check=1)", f"{base}&week=0&check=1", a.requests),):
            walls, cpus, queries, body = timed(client, url, n)
            rows.append((label, "on demand", walls, cpus, queries))
            if body and amount(TOTAL, body) is not None:
                print(f"  (week 1 added up: {amount(TOTAL, body):,} against the bar {amount(BAR, body):,})")
        # the XLSX of the first week goes to the worker (more than EXPORT_NOW_ROWS rows): the request that queues the
        # job, then the job run here as the worker runs it (process + backend CPU, as above)
        queue_walls, queue_cpus, job_walls, job_cpus = [], [], [], []
        for _ in range(a.xlsx_requests):
            b, p, t = backend_cpu(), time.process_time(), time.perf_counter()
            r = client.get(f"{base}&week=0&format=xlsx")
            queue_walls.append((time.perf_counter() - t) * 1000)
            queue_cpus.append((time.process_time() - p + backend_cpu() - b) * 1000)
            assert r.status_code == 302 and r["Location"].startswith("/exports/"), r.status_code
            job_id = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
            b, p, t = backend_cpu(), time.process_time(), time.perf_counter()
            job = export_jobs.run_export_job(job_id)
            job_walls.append((time.perf_counter() - t) * 1000)
            job_cpus.append((time.process_time() - p + backend_cpu() - b) * 1000)
            assert job.status == "done", job.status
            print(f"  (export job {job.pk}: {job.done:,} rows, {job.size:,} bytes)")
        if a.xlsx_requests:
            rows.append(("week 1 XLSX: the request (queues the job)", "html", queue_walls, queue_cpus, 0))
            rows.append(("week 1 XLSX: the worker's job (row cap)", "on demand", job_walls, job_cpus, 0))
        print(f"\n{name}: the page adds the rows up in {checked} of {fc.BEYOND + 1} weeks (the others are larger than "
              f"ADD_UP_TO); rows' total = the bar in {checked - len(mismatched)} of them"
              + (f" (differ: {mismatched})" if mismatched else ""))
        print(f"  {'what':46} {'wall p50':>9} {'p95 ms':>8} {'CPU p50':>8} {'p95 ms':>8} {'queries':>8}")
        for label, kind, walls, cpus, queries in rows:
            print(f"  {label:46} {statistics.median(walls):9.1f} {pct(walls, .95):8.1f} {statistics.median(cpus):8.1f} "
                  f"{pct(cpus, .95):8.1f} {queries:8d}")
            if kind not in ("on demand", "detail"):
                html_walls += walls
                html_cpus += cpus
    if not html_walls:
        return
    print(f"\nall HTML drill-downs: n={len(html_walls)} wall p50 {statistics.median(html_walls):.1f} ms, "
          f"p95 {pct(html_walls, .95):.1f} ms; CPU p50 {statistics.median(html_cpus):.1f} ms, "
          f"p95 {pct(html_cpus, .95):.1f} ms; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
