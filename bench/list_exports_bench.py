"""The large lists' "Export XLSX" through the worker (issue 13, ``common.export_jobs``), timed through Django's test
client: for each list, the request (which counts at most ``EXPORT_NOW_ROWS + 1`` rows and queues a job) and the job
run in this process as the worker runs it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<name> .venv/bin/python bench/list_exports_bench.py \
        --company BENCH01 [--lists documents,payments,customers,aging,worklist,audit,bank] [--requests 3] [--serial]
        [--reader finance|sales] [--refresh-queue]

Each list is exported whole, unfiltered, as the first active finance clerk of the company (``--reader sales``: the
salesperson with the most customers; the bank queue and the audit log need a finance / auditor role and are left
out; the audit log is read by the company's first auditor or administrator). ``--refresh-queue`` first
refreshes the worklist's snapshot as of today (it is empty in freshly generated data). One warm-up request (``/exports/``)
comes first. For each: the rows the job wrote, the file's size, p50 / max of the wall time and of the CPU time (the Django
process plus its PostgreSQL backend, read from /proc: the server runs on this machine) of ``--requests`` requests
and jobs. ``--serial`` keeps PostgreSQL from starting parallel workers (whose CPU the backend's /proc does not
count). Prints the load average: wall times on a shared machine are not verdicts, CPU times mostly are. Writes
export jobs and their audit events: run it on a clone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
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

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.common import clock, export_jobs  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402

LISTS = {
    "documents": "/documents/?format=xlsx",
    "payments": "/payments/?format=xlsx",
    "customers": "/customers/export.xlsx",
    "aging": "/reports/aging/items/?format=xlsx&as_of={today}&group=none&bucket=-1",
    "worklist": "/collections/?export=xlsx&collector=",
    "audit": "/kpis/audit/events/?format=xlsx",
    "bank": "/bank/queue.xlsx",
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--company", default="HK01")
    p.add_argument("--lists", default=",".join(LISTS))
    p.add_argument("--requests", type=int, default=3)
    p.add_argument("--serial", action="store_true", help="PostgreSQL: no parallel workers (CPU fully counted)")
    p.add_argument("--reader", default="finance", choices=("finance", "sales"))
    p.add_argument("--refresh-queue", action="store_true", help="refresh the worklist's snapshot first (writes)")
    a = p.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # run here, timed
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="list-exports-bench-"))
    company = Company.objects.get(code=a.company)
    if a.serial and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
    if a.reader == "finance":
        user = (User.objects.filter(companies=company, role="finance", is_active=True).order_by("pk").first()
                or User.objects.filter(role="finance", is_active=True).order_by("pk").first())
        label = "finance"
    else:
        top = (Customer.objects.filter(company=company, owner__role="salesperson").values("owner_id")
               .annotate(n=Count("pk")).order_by("-n").first())
        user = User.objects.get(pk=top["owner_id"])
        label = f"salesperson ({top['n']} customers)"
    user.companies.add(company)  # the bench data's users may not be members of its company yet
    today = clock.today(company)
    if a.refresh_queue:
        from huikuan.collections.worklist import refresh_queue

        t = time.perf_counter()
        print(f"worklist refreshed: {refresh_queue(company=company, as_of=today):,} rows, {time.perf_counter() - t:.1f} s")
    auditor = User.objects.filter(role__in=("auditor", "admin"), is_active=True).order_by("role", "pk").first()
    auditor.companies.add(company)
    clients = {}
    for who in (user, auditor):
        clients[who.pk] = Client()
        clients[who.pk].force_login(who)
        clients[who.pk].cookies["django_language"] = "zh-hans"
        clients[who.pk].get("/exports/")  # warm-up
    print(f"{connection.vendor}; reader {label}; EXPORT_NOW_ROWS {export_jobs.EXPORT_NOW_ROWS:,}; serial {a.serial}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  {'list':10} {'rows':>9} {'MB':>6} {'request wall p50/max ms':>24} {'CPU p50/max ms':>16} "
          f"{'job wall p50/max s':>19} {'CPU p50/max s':>15}")
    for name in a.lists.split(","):
        if a.reader == "sales" and name in ("audit", "bank"):
            continue
        url = LISTS[name].format(today=today)
        client = clients[auditor.pk if name == "audit" else user.pk]
        rw, rc, jw, jc = [], [], [], []
        job = None
        for _ in range(a.requests):
            b, pt, t = backend_cpu(), time.process_time(), time.perf_counter()
            r = client.get(url)
            rw.append((time.perf_counter() - t) * 1000)
            rc.append((time.process_time() - pt + backend_cpu() - b) * 1000)
            if r.status_code == 200:  # small enough for the request
                b"".join(r.streaming_content)
                print(f"  {name:10} written in the request ({rw[-1]:.0f} ms)")
                break
            assert r.status_code == 302 and r["Location"].startswith("/exports/"), (name, r.status_code)
            job_id = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
            b, pt, t = backend_cpu(), time.process_time(), time.perf_counter()
            job = export_jobs.run_export_job(job_id)
            jw.append(time.perf_counter() - t)
            jc.append(time.process_time() - pt + backend_cpu() - b)
            assert job.status == "done", (name, job.status, job.error)
            (Path(settings.DATA_DIR) / "exports" / job.path).unlink()
        if job is not None:
            print(f"  {name:10} {job.done:9,} {job.size / 1e6:6.1f} {statistics.median(rw):11.0f} / {max(rw):9.0f}"
                  f" {statistics.median(rc):7.0f} / {max(rc):6.0f} {statistics.median(jw):9.2f} / {max(jw):7.2f}"
                  f" {statistics.median(jc):6.2f} / {max(jc):6.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
