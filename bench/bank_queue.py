"""The bank review queue at 10,000 open lines, against a CLONE of the bench database (it writes lines).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_bankq
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_bankq .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_bankq .venv/bin/python bench/bank_queue.py \
        --company BENCH01 --lines 10000 --bulk 50
    dropdb -h 127.0.0.1 -U postgres hk_bankq

What it does: unless the company already has ``--lines`` open incoming lines, writes the missing ones
(one per open instalment drawn at random, suggested for that instalment's customer with a confidence
spread over every band, payer names and memos like a bank export's; about a tenth with no suggestion).
Then, through Django's test client as a finance user: p50/p95 of 20 requests and the query count of the
queue page unfiltered, by band, by amount range, by customer, by date, by memo/payer search, sorted by
amount and a deep page; the XLSX of a filtered list; and one bulk confirm of ``--bulk`` first
suggestions (each line its own durable application), wall time and per line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
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
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.banking.models import OPEN_STATUSES, BankAccount, BankLine, BankStatement, LineStatus  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def make_lines(company, n, rng):
    have = BankLine.objects.filter(company=company, status__in=OPEN_STATUSES, amount__gt=0).count()
    if have >= n:
        return have, 0
    need = n - have
    acct, _ = BankAccount.objects.get_or_create(company=company, account_number="BENCH-QUEUE-1",
                                                defaults={"bank": "招商银行", "currency": "CNY"})
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053",
                                      file_name="bench-queue.xml", file_hash=f"bench{time.time()}")
    table = Instalment._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE company_id = %s AND open_amount > 0", [company.pk])
        pct = min(100.0, 100.0 * need * 3 / max(cur.fetchone()[0], 1))
        cur.execute(f"SELECT id FROM {table} i TABLESAMPLE SYSTEM (%s) WHERE company_id = %s AND open_amount > 0 "
                    f"AND open_amount = amount LIMIT %s", [pct, company.pk, need])
        ids = [r[0] for r in cur.fetchall()]
    items = list(Instalment.objects.filter(pk__in=ids).values_list(
        "pk", "customer_id", "customer__name", "document__number", "open_amount", "due_date"))
    rows = []
    for k, (iid, cid, name, number, amount, due) in enumerate(items):
        day = min(due + dt.timedelta(days=rng.randint(-20, 40)), dt.date.today())  # money arrives in the past
        if rng.random() < 0.1:
            rows.append(BankLine(company=company, account=acct, statement=st, date=day, amount=amount,
                                 counterparty_name=f"个人付款{rng.randint(1, 9999)}", memo="货款",
                                 dedupe_key=f"bq{st.pk}-{k}", status=LineStatus.UNMATCHED))
            continue
        conf = Decimal(rng.randint(100, 940)) / 1000
        rows.append(BankLine(
            company=company, account=acct, statement=st, date=day, amount=amount, counterparty_name=name,
            memo=f"付 {number} 货款", dedupe_key=f"bq{st.pk}-{k}", status=LineStatus.SUGGESTED, customer_id=cid,
            confidence=conf,
            proposals=[{"customer_id": cid, "customer_name": name, "kind": "exact", "confidence": str(conf),
                        "rest": "0", "allocations": [[iid, str(amount), "0", number]], "reasons": [["amount", {}]],
                        "identity": []}]))
    BankLine.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {BankLine._meta.db_table}")
    return have + len(rows), len(rows)


def timed(client, url, runs=20):
    """p50 and p95 wall ms, the query count, and the median CPU ms of this (Django) process: the wall time
    on a loaded 2-core machine is mostly waiting for a core; the CPU time is what the request costs here."""
    times, cpu, queries = [], [], 0
    for _ in range(runs):
        reset_queries()
        t, c = time.perf_counter(), time.process_time()
        r = client.get(url)
        body = b"".join(r.streaming_content) if r.streaming else r.content
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        queries = len(connection.queries)
        assert r.status_code == 200, (url, r.status_code, body[:200])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries, statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--bulk", type=int, default=50)
    args = ap.parse_args()
    rng = random.Random(13)
    company = Company.objects.get(code=args.company)
    total, made = make_lines(company, args.lines, rng)
    print(f"open incoming lines: {total} ({made} written now)")
    user = User.objects.filter(companies=company, role="finance").first()
    if user is None:  # bench data has no users: a finance clerk for the bench
        user = User.objects.create_user(username=f"bench-finance-{company.code}", password=None, role="finance")
        user.companies.add(company)
    settings.DEBUG = True  # to count queries
    client = Client()
    client.force_login(user)
    s = client.session
    s["company_id"] = company.pk
    s.save()
    some = BankLine.objects.filter(company=company, status=LineStatus.SUGGESTED).select_related("customer").first()
    code = some.customer.code
    urls = [
        ("unfiltered (most certain first)", "/bank/queue/"),
        ("band=high", "/bank/queue/?band=high"),
        ("amount 1,000–5,000", "/bank/queue/?min=1000&max=5000"),
        ("one customer", f"/bank/queue/?customer={code}"),
        ("one month", f"/bank/queue/?from={some.date.replace(day=1)}&to={some.date.replace(day=28)}"),
        ("search memo/payer", "/bank/queue/?q=货款"),
        ("sorted by amount, page 100", "/bank/queue/?sort=-amount&page=100"),
        ("status=unmatched, band=none", "/bank/queue/?status=unmatched&band=none"),
    ]
    print(f"{'queue page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'CPU ms':>8}")
    for label, url in urls:
        p50, p95, q, c = timed(client, url)
        print(f"{label:40} {p50:8.0f} {p95:8.0f} {q:8d} {c:8.0f}")
    p50, p95, q, c = timed(client, "/bank/queue.xlsx?band=high", runs=3)
    n = BankLine.objects.filter(company=company, status__in=OPEN_STATUSES, amount__gt=0,
                                confidence__gte=Decimal("0.8")).count()
    print(f"{'XLSX band=high (' + str(n) + ' rows)':40} {p50:8.0f} {p95:8.0f} {q:8d} {c:8.0f}")
    settings.DEBUG = False
    ids = list(BankLine.objects.filter(company=company, status=LineStatus.SUGGESTED, statement__file_name="bench-queue.xml")
               .order_by("-confidence", "id").values_list("pk", flat=True)[:args.bulk])
    t = time.perf_counter()
    r = client.post("/bank/queue/confirm/", {"line": ids}, follow=True)
    wall = time.perf_counter() - t
    applied = BankLine.objects.filter(pk__in=ids, status=LineStatus.CONFIRMED).count()
    print(f"bulk confirm of {len(ids)} lines: {wall * 1000:.0f} ms wall ({wall * 1000 / max(len(ids), 1):.0f} ms a line, "
          f"the redirected page included), {applied} applied, status {r.status_code}")
    for m in list(r.context["messages"])[:5] if r.context else []:
        print("  message:", str(m)[:160])
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
