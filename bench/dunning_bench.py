"""Dunning run at full scale, and exactly-once under two concurrent runs.

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_dunning
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_dunning .venv/bin/python bench/dunning_bench.py \
        [--as-of 2026-06-30] [--race 100] [--race-customers 300]
    dropdb -h 127.0.0.1 -U postgres hk_dunning

1. one full run for company BENCH01 (no delivery: the outbox is not processed) — time of the SQL selection and of
   the writes (notices, items, outbox rows, audit events), with the counts;
2. the same day again: nothing new (exactly once across runs);
3. ``--race N``: N times, for a subset of customers whose notices are cleared first, two runs start at the same
   moment (threads, own connections); after each, duplicates per (customer, step), per (instalment, offset) and
   per (notice, channel) are counted — must be zero — and every due item must be in exactly one notice.
Writes only to the database given (never run it on huikuan_bench itself).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Max  # noqa: E402

from huikuan.accounts.models import Company  # noqa: E402
from huikuan.dunning import services  # noqa: E402
from huikuan.dunning.models import Delivery, Notice, NoticeItem  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def _dups() -> tuple[int, int, int]:
    a = Notice.objects.values("customer_id", "step_id", "cycle").annotate(n=Count("pk")).filter(n__gt=1).count()
    b = NoticeItem.objects.values("instalment_id", "offset_days").annotate(n=Count("pk")).filter(n__gt=1).count()
    c = Delivery.objects.values("notice_id", "channel").annotate(n=Count("pk")).filter(n__gt=1).count()
    return a, b, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", help="default: the latest due date of the open items")
    ap.add_argument("--race", type=int, default=100)
    ap.add_argument("--race-customers", type=int, default=300)
    ap.add_argument("--race-only", action="store_true", help="skip the full run (notices of an earlier run are used)")
    args = ap.parse_args()
    if connection.settings_dict["NAME"] == "huikuan_bench":
        sys.exit("refusing to write to huikuan_bench: clone it first")
    call_command("migrate", verbosity=0)
    company = Company.objects.get(code=args.company)
    as_of = (dt.date.fromisoformat(args.as_of) if args.as_of else
             Instalment.objects.filter(company=company, open_amount__gt=0).aggregate(m=Max("due_date"))["m"])
    open_n = Instalment.objects.filter(company=company, open_amount__gt=0).count()
    print(f"company {company.code}: {open_n:,} open instalments, as of {as_of}")
    services.ensure_defaults(company)
    if not args.race_only:
        full_run(company, as_of)
    race(company, as_of, args)


def full_run(company, as_of):
    Delivery.objects.filter(company=company).delete()
    NoticeItem.objects.filter(notice__company=company).delete()
    Notice.objects.filter(company=company).delete()
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE dunning_noticeitem") if connection.vendor == "postgresql" else None

    t0 = time.perf_counter()
    groups, _steps = services.select(company, as_of)
    t_sel = time.perf_counter() - t0
    print(f"selection only: {len(groups):,} notices, {sum(len(v) for v in groups.values()):,} items in {t_sel:.1f} s")

    t0 = time.perf_counter()
    run = services.run_dunning(company=company, as_of=as_of, enqueue=False)
    t_run = time.perf_counter() - t0
    deliveries = Delivery.objects.filter(notice__run=run).count()
    print(f"FULL RUN: {run.notices:,} notices, {run.items:,} items, {deliveries:,} outbox rows in {t_run:.1f} s "
          f"(selection + writes, no delivery)")
    print("  by step/channel:", ", ".join(f"{k}={v:,}" for k, v in sorted(run.counts.items())))
    t0 = time.perf_counter()
    again = services.run_dunning(company=company, as_of=as_of, enqueue=False)
    print(f"same day again: {again.notices} notices in {time.perf_counter() - t0:.1f} s")
    print("duplicates (customer/step/cycle, instalment/offset, notice/channel):", _dups())


def race(company, as_of, args):
    if connection.vendor != "postgresql" or not args.race:
        return
    customers = list(Notice.objects.filter(company=company).order_by("customer_id").values_list("customer_id", flat=True)
                     .distinct()[: args.race_customers])
    expected_items = NoticeItem.objects.filter(notice__customer_id__in=customers).count()
    expected_notices = Notice.objects.filter(customer_id__in=customers).count()
    bad = 0
    t0 = time.perf_counter()
    for i in range(args.race):
        Delivery.objects.filter(notice__customer_id__in=customers).delete()
        NoticeItem.objects.filter(notice__customer_id__in=customers).delete()
        Notice.objects.filter(customer_id__in=customers).delete()
        barrier = threading.Barrier(2)
        errors = []

        def worker(barrier=barrier, errors=errors):
            from django.db import connection as conn

            try:
                barrier.wait()
                services.run_dunning(company=company, as_of=as_of, customer_ids=customers, enqueue=False)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        notices = Notice.objects.filter(customer_id__in=customers).count()
        items = NoticeItem.objects.filter(notice__customer_id__in=customers).count()
        d = _dups()
        if errors or d != (0, 0, 0) or notices != expected_notices or items != expected_items:
            bad += 1
            print(f"iteration {i}: errors={errors} dups={d} notices={notices}/{expected_notices} items={items}/{expected_items}")
    print(f"RACE: {args.race} x 2 concurrent runs over {len(customers)} customers ({expected_notices} notices, "
          f"{expected_items} items each time): {bad} bad iterations, duplicates {_dups()}, "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
