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
10th page (keyset), the search's first page over the month, a customer's events and a text search.
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

from django.db import connection  # noqa: E402

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
            cur.execute(
                f"INSERT INTO {table} (at, actor_id, company_id, customer_id, verb, target_type, target_id, summary, data) "
                f"SELECT %s - make_interval(secs => (g * 31536000.0 / %s)), {actor}, %s, "
                f"{k0} + (g::bigint * 104729) %% ({k1} - {k0} + 1), %s, %s, {target}, %s || g, {data}::jsonb "
                f"FROM generate_series(1, %s) g",
                [end, m, company.pk, verb, ttype, f"bench {verb} ", m])
        cur.execute(f"ANALYZE {table}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--month", default="2026-11")
    o = ap.parse_args()
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
    with open("/proc/loadavg") as fh:
        print(f"load average: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
