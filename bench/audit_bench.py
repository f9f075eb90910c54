"""Internal audit report and audit-log search at scale (PostgreSQL), against data loaded by bench/generate.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_<you> .venv/bin/python bench/audit_bench.py \
        [--company BENCH01] [--events 3000000] [--month 2026-11]

Adds ``--events`` audit events to the company (unless it already has that many), spread evenly over the
twelve months before ``--month``'s end, with a realistic mix of verbs — mostly postings, payments and
automatic allocations; some limit changes, releases, manual allocations, write-offs, reversals, plans,
grade overrides, approvals, refused requests — pointing at the company's real documents, credits and
customers, and with request → approval pairs of which a few are one person's (so the segregation-of-duties
joins have work to do). Then ANALYZE, and prints median / max of 5 runs of: the report's per-category
counts for the month, the segregation-of-duties findings for the month, one category's first page and its
10th page (keyset), the search's first page over the month, a customer's events and a text search; then the
pages themselves through Django's test client as the company's auditor (p50 / p95 of ``--requests``), and with
``--explain`` the plans (EXPLAIN ANALYZE, BUFFERS) of the counts and of the text search.
Needs the database migrated (``manage.py migrate``: the events' business date and the trigram indexes).
Writes audit events (append-only): use a scratch clone, never the shared bench database.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.signals import request_started  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.common.models import AuditEvent  # noqa: E402
from huikuan.insight import audit_report as ar  # noqa: E402

# (verb, share in ‰, target type, data JSON) — target ``doc``/``credit``/``req``; data as SQL text
MIX = [
    ("ledger.document.posted", 380, "ledger.receivabledocument", "'{\"kind\": \"invoice\"}'"),
    ("ledger.payment.recorded", 250, "ledger.credit", "'{\"method\": \"transfer\"}'"),
    ("ledger.credit.allocated", 200, "ledger.credit", "'{\"auto\": true}'"),
    ("ledger.credit.allocated", 20, "ledger.credit", "'{\"auto\": false}'"),
    ("customers.customer.updated", 60, "customers.customer", "'{\"before\": {\"phone\": \"1\"}, \"after\": {\"phone\": \"2\"}}'"),
    ("credit.request.created", 15, "credit.creditrequest", "'{}'"),
    ("credit.request.approved", 15, "credit.creditrequest", "'{}'"),
    ("credit.limit.changed", 15, "credit.creditprofile", "'{\"before\": \"1000.00\", \"after\": \"5000.00\"}'"),
    ("credit.order.released", 8, "credit.salesorder", "'{}'"),
    ("ledger.write_off.requested", 5, "ledger.writeoffrequest", "'{}'"),
    ("ledger.write_off.approved", 5, "ledger.writeoffrequest", "'{}'"),
    ("ledger.document.reversed", 6, "ledger.receivabledocument", "'{\"reason\": \"wrong amount\"}'"),
    ("collections.plan.requested", 4, "collections.paymentplan", "'{}'"),
    ("collections.plan.approved", 4, "collections.paymentplan", "'{}'"),
    ("credit.grade.overridden", 3, "credit.creditprofile", "'{\"before\": \"B\", \"after\": \"A\"}'"),
    ("accounts.permission.denied", 5, "", "'{\"path\": \"/kpis/audit/\", \"method\": \"GET\"}'"),
    ("customers.customer.created", 5, "customers.customer", "'{}'"),
]


def timed(fn, runs=5):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), max(out), result


def _cpu(backend: int | None) -> float:
    """CPU seconds used so far by this process and (PostgreSQL on this host) its database backend."""
    total = time.process_time()
    if backend:
        with open(f"/proc/{backend}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def load(company, n: int, end: dt.datetime) -> None:
    """INSERT … SELECT ``n`` events in one statement per verb (generate_series), spread over 365 days to ``end``."""
    users = list(User.objects.filter(companies=company).values_list("pk", flat=True)[:50]) or list(
        User.objects.values_list("pk", flat=True)[:50])
    table = AuditEvent._meta.db_table
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM ledger_receivabledocument WHERE company_id = %s", [company.pk])
        d0, d1 = cur.fetchone()
        cur.execute("SELECT min(id), max(id) FROM ledger_credit WHERE company_id = %s", [company.pk])
        c0, c1 = cur.fetchone()
        cur.execute("SELECT min(id), max(id) FROM customers_customer WHERE company_id = %s", [company.pk])
        k0, k1 = cur.fetchone()
        for verb, share, ttype, data in MIX:
            m = n * share // 1000
            if ttype == "ledger.receivabledocument":
                target = f"{d0} + (g::bigint * 7919) %% ({d1} - {d0} + 1)"
            elif ttype == "ledger.credit":
                target = f"{c0} + (g::bigint * 7919) %% ({c1} - {c0} + 1)"
            elif ttype == "":
                target = "NULL"
            else:  # requests and their approvals share ids: g mod 20000
                target = "(g %% 20000) + 1"
            # actors: the request and its approval by different users, except every 997th pair (one person)
            actor = (f"(ARRAY{users})[1 + (g %% {len(users)})]" if not verb.endswith(("approved", "changed"))
                     else f"(ARRAY{users})[1 + ((g + CASE WHEN g %% 997 = 0 THEN 0 ELSE 1 END) %% {len(users)})]")
            # a posting's event carries its business date (the document's or the credit's), as the services write it
            business = {"ledger.document.posted": "(SELECT d.document_date FROM ledger_receivabledocument d "
                                                  "WHERE d.id = s.target_id)",
                        "ledger.payment.recorded": "(SELECT c.date FROM ledger_credit c WHERE c.id = s.target_id)",
                        }.get(verb, "NULL::date")
            cur.execute(
                f"INSERT INTO {table} (at, actor_id, company_id, customer_id, verb, target_type, target_id, summary, data, "
                f"business_date) "
                f"SELECT s.*, {business} FROM (SELECT %s - make_interval(secs => (g * 31536000.0 / %s)), {actor}, %s, "
                f"{k0} + (g::bigint * 104729) %% ({k1} - {k0} + 1), %s, %s, ({target})::bigint AS target_id, %s || g, "
                f"{data}::jsonb FROM generate_series(1, %s) g) s",
                [end, m, company.pk, verb, ttype, f"bench {verb} ", m])
        cur.execute(f"ANALYZE {table}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--month", default="2026-11")
    ap.add_argument("--requests", type=int, default=20, help="requests per page timed (p50 / p95)")
    ap.add_argument("--cpu", action="store_true",
                    help="also print each page's CPU per request (this process + its PostgreSQL backend, parallel "
                         "workers off): independent of the machine's load")
    ap.add_argument("--explain", action="store_true",
                    help="print EXPLAIN (ANALYZE, BUFFERS) of the report's counts and of the text search")
    o = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=o.company)
    month = dt.date.fromisoformat(f"{o.month}-01")
    month_end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    have = AuditEvent.objects.filter(company_id=company.pk).count()
    if have < o.events:
        t = time.perf_counter()
        load(company, o.events - have, dt.datetime.combine(month_end, dt.time(12), tzinfo=dt.UTC))
        print(f"loaded {o.events - have:,} events in {time.perf_counter() - t:.1f} s")
    total = AuditEvent.objects.count()
    f = ar.Filters(since=month, until=month_end)
    in_month = ar.events(company=company, f=f).count()
    print(f"database: {connection.vendor}; audit events: {total:,} (company {company.code}); in {o.month}: {in_month:,}")
    rows = [
        ("report: events per category, one month", lambda: ar.category_counts(company=company, f=f)),
        ("report: segregation-of-duties findings, one month", lambda: len(ar.sod_findings(company=company, f=f))),
    ]
    cat = ar.Filters(since=month, until=month_end, category="allocations")

    def tenth_page():
        after = ""
        for _ in range(10):
            page, after = ar.page_after(ar.events(company=company, f=cat), after=after, size=50)
        return len(page)

    some_customer = AuditEvent.objects.filter(company_id=company.pk).exclude(customer_id=None).values_list(
        "customer_id", flat=True).first()
    rows += [
        ("category 'manual allocations': first page (50)",
         lambda: len(ar.page_after(ar.events(company=company, f=cat), size=50)[0])),
        ("category 'manual allocations': pages 1-10 walked (keyset)", tenth_page),
        ("category 'back-dated entries': first page (50)", lambda: len(ar.page_after(
            ar.events(company=company, f=ar.Filters(since=month, until=month_end, category="backdated")), size=50)[0])),
        ("search: first page of the month (50)", lambda: len(ar.page_after(ar.events(company=company, f=f), size=50)[0])),
        ("search: one customer, twelve months (50)", lambda: len(ar.page_after(ar.events(company=company, f=ar.Filters(
            since=month_end - dt.timedelta(days=365), until=month_end, customer_id=some_customer)), size=50)[0])),
        ("search: text 'wrong amount' in the data, one month (50)", lambda: len(ar.page_after(ar.events(
            company=company, f=ar.Filters(since=month, until=month_end, text="wrong amount")), size=50)[0])),
    ]
    for label, fn in rows:
        med, worst, result = timed(fn)
        shown = result if isinstance(result, int) else sum(n for _c, n in result)
        print(f"{label}: median {med * 1000:.0f} ms, max {worst * 1000:.0f} ms (result {shown:,})")
    if o.explain:
        for label, fn in (("report counts", lambda: ar.category_counts(company=company, f=f)),
                          ("text search", lambda: ar.page_after(ar.events(company=company, f=ar.Filters(
                              since=month, until=month_end, text="wrong amount")), size=50))):
            with CaptureQueriesContext(connection) as ctx:
                fn()
            sql = [q["sql"] for q in ctx.captured_queries if "common_auditevent" in q["sql"]][0]
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"\n## EXPLAIN (ANALYZE, BUFFERS): {label}\n" + "\n".join(r[0] for r in cur.fetchall()))
    # the pages themselves, through Django's test client as the company's auditor
    request_started.disconnect(reset_queries)  # keep the queries of a request for counting them
    backend = None
    if o.cpu:
        with connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
    auditor = User.objects.filter(role__in=["auditor", "admin"], is_active=True).order_by("role", "pk").first()
    auditor.companies.add(company)  # the generator's company has salespeople only (a scratch clone: see above)
    client = Client()
    client.force_login(auditor)
    session = client.session
    session["company_id"] = company.pk
    session.save()
    period = f"from={month}&to={month_end}"
    print(f"\npages as {auditor.username} ({o.requests} requests each after one warm-up: p50 / p95 ms, queries)")
    for label, url in (
        ("report page, one month (category counts + segregation-of-duties findings)", f"/kpis/audit/?{period}"),
        ("report page, one month, category 'back-dated entries' listed", f"/kpis/audit/?{period}&category=backdated"),
        ("report page, one month, category 'manual allocations' listed", f"/kpis/audit/?{period}&category=allocations"),
        ("search page, one month", f"/kpis/audit/events/?{period}"),
        ("search page, text 'wrong amount', one month", f"/kpis/audit/events/?{period}&q=wrong+amount"),
        ("search page, text 'wrong amount', twelve months",
         f"/kpis/audit/events/?from={month_end - dt.timedelta(days=365)}&to={month_end}&q=wrong+amount"),
    ):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
        times, cpus = [], []
        for _ in range(o.requests):
            t, c = time.perf_counter(), _cpu(backend)
            r = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            cpus.append((_cpu(backend) - c) * 1000)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        if o.cpu:
            label += f" [CPU per request: median {statistics.median(cpus):.0f} ms, max {max(cpus):.0f} ms]"
        print(f"- {label}: {statistics.median(times):.0f} / {p95:.0f} ms, {len(ctx.captured_queries)} queries")
    with open("/proc/loadavg") as fh:
        print(f"load average: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
