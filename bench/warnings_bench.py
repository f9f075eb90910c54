"""Early warnings' daily job at scale, against data loaded by bench/generate.py.

    createdb -h 127.0.0.1 -U postgres huikuan_bench_warn
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huikuan_bench_warn .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huikuan_bench_warn .venv/bin/python bench/generate.py \
        --customers 100000 --instalments 2000000 --open-share 0.48
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huikuan_bench_warn .venv/bin/python bench/warnings_bench.py \
        [--company BENCH01] [--as-of 2026-11-30]

The generated ledger has no credit profiles, scores, promises or month-end snapshots, so the script first
seeds them set-wise (SQL, not timed): a credit profile per customer (limit about its open receivables, one in
ten reviewed late), two score snapshots per customer (one in five dropping 10–30 points and a grade), a
promise for one customer in ten (half broken), a written demand for one in twenty, an e-mail address for
every user without one, and the two month-end
receivables snapshots the DSO rule compares. Every rule is switched on with its default threshold.

Then it times, on the job's own code (``insight.early_warnings``):
  1. the first run of the day (every rule, raising every warning) — the daily job's worst case;
  2. a rerun of the same day (nothing raised: the unique constraint) — the steady state;
  3. the digests (e-mail to the locmem backend: one per owner and manager; no robot configured);
and prints each rule's time and count. Run it on a scratch database: it writes warnings and seeds.

Wall-clock times on a shared machine follow its load; ``--cpu`` (PostgreSQL on this host) also prints the CPU
seconds each run cost — this process plus its database backend (``/proc/<pid>/stat``) — with parallel query
workers off so that the backend's CPU is all of the database's work: a figure that does not depend on the load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from huikuan.accounts.models import Company  # noqa: E402
from huikuan.insight import early_warnings as ew  # noqa: E402
from huikuan.insight.models import EarlyWarning, WarningDigest, WarningRule  # noqa: E402
from huikuan.insight.services import take_snapshot  # noqa: E402


def seed(company, as_of: dt.date, snapshots: bool = True) -> None:
    """Set-wise causes for every rule (idempotent: skips what is already there)."""
    cid = company.pk
    now = timezone.now()
    is_pg = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM credit_creditprofile WHERE company_id = %s", [cid])
        if cur.fetchone()[0] == 0:
            cur.execute(f"""
                INSERT INTO credit_creditprofile (company_id, customer_id, limit_amount, limit_exception, grade,
                    grade_override, score, on_hold, hold_source, next_review_date, guarantees, guarantee_amount,
                    collateral, collateral_amount, updated_at, terms_days)
                SELECT %s, c.id, CASE WHEN c.id %% 7 = 0 THEN c.open_amount ELSE c.open_amount * 2 + 100000 END,
                       {'false' if is_pg else '0'}, 'B', {'false' if is_pg else '0'}, 60, {'false' if is_pg else '0'},
                       '', CASE WHEN c.id %% 10 = 0 THEN %s ELSE %s END, '', 0, '', 0, %s, 30
                FROM customers_customer c WHERE c.company_id = %s""",
                        [cid, as_of - dt.timedelta(days=20), as_of + dt.timedelta(days=200), now, cid])
        cur.execute("SELECT id FROM credit_scorecardversion WHERE company_id = %s ORDER BY id LIMIT 1", [cid])
        row = cur.fetchone()
        if row is None:
            cur.execute("INSERT INTO credit_scorecardversion (company_id, number, config, status, note, metrics, "
                        "created_at) VALUES (%s, 1, '{}', 'active', 'bench', '{}', %s)", [cid, now])
            cur.execute("SELECT id FROM credit_scorecardversion WHERE company_id = %s ORDER BY id LIMIT 1", [cid])
            row = cur.fetchone()
        version = row[0]
        cur.execute("SELECT COUNT(*) FROM credit_scoresnapshot WHERE company_id = %s", [cid])
        if cur.fetchone()[0] == 0:
            for day, drop in ((as_of - dt.timedelta(days=40), False), (as_of - dt.timedelta(days=5), True)):
                score = "CASE WHEN c.id %% 5 = 0 THEN 70 - c.id %% 21 ELSE 80 END" if drop else "80"
                grade = "CASE WHEN c.id %% 5 = 0 THEN 'C' ELSE 'B' END" if drop else "'B'"
                cur.execute(f"""
                    INSERT INTO credit_scoresnapshot (company_id, customer_id, as_of, version_id, score, grade, factors,
                        points, created_at)
                    SELECT %s, c.id, %s, %s, {score}, {grade}, '{{}}', '{{}}', %s
                    FROM customers_customer c WHERE c.company_id = %s""", [cid, day, version, now, cid])
        cur.execute("SELECT COUNT(*) FROM collections_promise WHERE company_id = %s", [cid])
        if cur.fetchone()[0] == 0:
            cur.execute(f"""
                INSERT INTO collections_promise (company_id, customer_id, amount, promised_date, made_on, status,
                    pause_dunning, note, paid_amount, created_at)
                SELECT %s, c.id, 100000, %s, %s, CASE WHEN c.id %% 20 = 0 THEN 'broken' ELSE 'open' END,
                       {'false' if is_pg else '0'}, '', 0, %s
                FROM customers_customer c WHERE c.company_id = %s AND c.id %% 10 = 0""",
                        [cid, as_of - dt.timedelta(days=7), as_of - dt.timedelta(days=30), now, cid])
            cur.execute("""
                INSERT INTO collections_writtendemand (company_id, customer_id, date, reference, channel, proof, note,
                    created_at)
                SELECT %s, c.id, %s, 'BENCH', 'letter', '', '', %s FROM customers_customer c WHERE c.company_id = %s AND c.id %% 20 = 0""",
                        [cid, as_of - dt.timedelta(days=400), now, cid])
    with connection.cursor() as cur:  # digests go to every owner and manager by e-mail
        cur.execute("UPDATE accounts_user SET email = username || '@bench.example' WHERE email = ''")
    # the two month ends the DSO rule compares (the daily job takes one a day)
    first = as_of.replace(day=1)
    last_end = first - dt.timedelta(days=1)
    before_end = last_end.replace(day=1) - dt.timedelta(days=1)
    for day in (before_end, last_end) if snapshots else ():
        take_snapshot(company=company, as_of=day)
    with connection.cursor() as cur:
        if is_pg:
            cur.execute("ANALYZE")


def _cpu(backend: int | None) -> float:
    """CPU seconds used so far by this process and (PostgreSQL on this host) its database backend."""
    total = time.process_time()
    if backend:
        with open(f"/proc/{backend}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--company", default="BENCH01")
    parser.add_argument("--as-of", default="", help="business date (default: the company's last instalment due "
                                                    "date month, or today)")
    parser.add_argument("--no-snapshots", action="store_true",
                        help="do not seed the two month-end snapshots (aging as of a past date is slow at scale); the "
                             "DSO rule then raises nothing")
    parser.add_argument("--no-digest", action="store_true", help="time the rules only")
    parser.add_argument("--cpu", action="store_true",
                        help="also print the CPU seconds of each run (this process + its PostgreSQL backend, parallel "
                             "workers off): independent of the machine's load")
    args = parser.parse_args()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    company = Company.objects.get(code=args.company)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE open_amount > 0) FROM ledger_instalment WHERE company_id = %s"
                    if connection.vendor == "postgresql" else
                    "SELECT COUNT(*), SUM(open_amount > 0) FROM ledger_instalment WHERE company_id = %s", [company.pk])
        n_inst, n_open = cur.fetchone()
        cur.execute("SELECT COUNT(*) FROM customers_customer WHERE company_id = %s", [company.pk])
        n_cust = cur.fetchone()[0]
    print(f"{connection.vendor}: {company.code} {n_cust:,} customers, {n_inst:,} instalments ({n_open:,} open); as of {as_of}")
    t = time.perf_counter()
    seed(company, as_of, snapshots=not args.no_snapshots)
    print(f"seeded in {time.perf_counter() - t:.1f} s (not part of the job)")
    WarningRule.objects.filter(company=company).delete()
    EarlyWarning.objects.filter(company=company).delete()
    WarningDigest.objects.filter(company=company).delete()

    per_rule: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def progress(done, total, rule):
        now = time.perf_counter()
        if last[1]:
            per_rule[last[1]] = now - last[0]
        last[0], last[1] = now, rule or None

    backend = None
    if args.cpu and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
    cpu = _cpu(backend)

    def cpu_line() -> str:
        nonlocal cpu
        if not args.cpu:
            return ""
        now, before = _cpu(backend), cpu
        cpu = now
        return f", CPU {now - before:.2f} s"

    t = time.perf_counter()
    counts = ew.run_warnings(company=company, as_of=as_of, progress=progress)
    first = time.perf_counter() - t
    for k, v in counts.items():
        print(f"  {k:<16} {v:>8,} raised  {per_rule.get(k, 0):6.2f} s")
    print(f"first run of the day: {first:.2f} s, {sum(counts.values()):,} warnings{cpu_line()}", flush=True)
    if not args.no_digest:
        t = time.perf_counter()
        digests = ew.send_digests(company=company, day=as_of)
        digest_s = time.perf_counter() - t
        print(f"digests: {digest_s:.2f} s {digests}{cpu_line()}")
        print(f"daily job (first run + digests): {first + digest_s:.2f} s  (target ≤ 60 s)")
    t = time.perf_counter()
    again = ew.run_warnings(company=company, as_of=as_of)
    print(f"rerun of the same day: {time.perf_counter() - t:.2f} s, {sum(again.values())} raised (must be 0)"
          f"{cpu_line()}", flush=True)
    t = time.perf_counter()
    nxt = ew.run_warnings(company=company, as_of=as_of + dt.timedelta(days=1))
    resolved = EarlyWarning.objects.filter(company=company, resolved_automatically=True).count()
    print(f"next day: {time.perf_counter() - t:.2f} s, {sum(nxt.values()):,} raised, {resolved:,} resolved "
          f"automatically{cpu_line()}")
    with open("/proc/loadavg") as fh:
        print(f"load average: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
