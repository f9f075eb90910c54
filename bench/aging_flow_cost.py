"""What the triggers of the aging's running sums (``ledger_agingflow``, ledger 0020) cost on writes — PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a copy> .venv/bin/python bench/aging_flow_cost.py [--pairs 3]

Every write is made inside a transaction that is rolled back (nothing stays), once with the flow's triggers and
once with them disabled in the same transaction (``ALTER TABLE … DISABLE TRIGGER``, rolled back too), alternately:
  * 1,000 allocations inserted one statement each (as the services write them: one row per statement), each
    followed by the UPDATE of its instalment's open amount and allocation dates;
  * 20,000 allocations in one INSERT and one UPDATE of their instalments (a bulk payments import's shape);
  * an UPDATE moving the due date of 200,000 instalments by a day (their allocations' changes move too).
CPU of the backend (``/proc/<pid>/stat``, 10 ms ticks) and of this process; medians of ``--pairs`` pairs.
The allocations are made against open instalments, a fen each, dated the data's end, on a fake credit id taken
from an existing credit of the same customer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
FLOW = [("ledger_instalment", t) for t in ("ledger_agingflow_ins", "ledger_agingflow_upd", "ledger_agingflow_del")]
FLOW.append(("ledger_allocation", "ledger_agingflow_alloc"))


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def candidates(cur, n: int) -> list[tuple]:
    """(instalment id, customer id, company id, a credit id of that customer) for ``n`` open instalments."""
    cur.execute(
        "SELECT i.id, i.customer_id, i.company_id, c.id FROM ledger_instalment i "
        "JOIN LATERAL (SELECT id FROM ledger_credit c WHERE c.customer_id = i.customer_id LIMIT 1) c ON TRUE "
        "WHERE i.open_amount > 1 ORDER BY i.id LIMIT %s", [n])
    return cur.fetchall()


def run(kind: str, flow: bool, rows: list[tuple], pid: int) -> tuple[float, float]:
    with transaction.atomic(), connection.cursor() as cur:
        if not flow:
            for table, trigger in FLOW:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cur.execute("SELECT MAX(date) FROM ledger_allocation")
        (day,), = cur.fetchall()
        b, p = backend_cpu(pid), time.process_time()
        if kind == "single":
            for iid, cust, comp, credit in rows[:1000]:
                cur.execute("INSERT INTO ledger_allocation (company_id, customer_id, credit_id, instalment_id, amount, "
                            "date, is_manual, created_at) VALUES (%s, %s, %s, %s, 1, %s, false, now())",
                            [comp, cust, credit, iid, day])
                cur.execute("UPDATE ledger_instalment SET open_amount = open_amount - 1, last_allocated_on = %s, "
                            "first_allocated_on = COALESCE(first_allocated_on, %s) WHERE id = %s", [day, day, iid])
        elif kind == "bulk":
            ids = [r[0] for r in rows]
            cur.execute("INSERT INTO ledger_allocation (company_id, customer_id, credit_id, instalment_id, amount, date, "
                        "is_manual, created_at) SELECT v.comp, v.cust, v.credit, v.iid, 1, %s, false, now() "
                        "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) v(iid, cust, comp, credit)",
                        [day, ids, [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]])
            cur.execute("UPDATE ledger_instalment SET open_amount = open_amount - 1, last_allocated_on = %s, "
                        "first_allocated_on = COALESCE(first_allocated_on, %s) WHERE id = ANY(%s)", [day, day, ids])
        else:
            cur.execute("UPDATE ledger_instalment SET due_date = due_date + 1 WHERE id IN "
                        "(SELECT id FROM ledger_instalment ORDER BY id LIMIT 200000)")
        out = backend_cpu(pid) - b, time.process_time() - p
        transaction.set_rollback(True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (pid,), = cur.fetchall()
        rows = candidates(cur, 20000)
    print(f"# load average {os.getloadavg()[0]:.1f}; medians of {args.pairs} pairs (backend CPU + this process)\n")
    print("| write | without the flow's triggers | with them | difference |")
    print("|---|---|---|---|")
    for kind, label in (("single", "1,000 allocations, one statement each (+ the instalment's UPDATE)"),
                        ("bulk", "20,000 allocations in one INSERT + one UPDATE"),
                        ("due", "UPDATE of 200,000 instalments' due dates")):
        got = {True: [], False: []}
        for _ in range(args.pairs):
            for flow in (False, True):
                got[flow].append(sum(run(kind, flow, rows, pid)))
        off, on = statistics.median(got[False]), statistics.median(got[True])
        print(f"| {label} | {off:.2f} s | {on:.2f} s | {on - off:+.2f} s ({(on / off - 1) * 100 if off else 0:+.0f} %) |")
        print(f"<!-- {kind}: off {got[False]} on {got[True]} -->")


if __name__ == "__main__":
    main()
