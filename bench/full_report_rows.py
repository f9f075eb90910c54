"""The full aging report by customer (every row: XLSX, API without a page size): its ~100,000 rows made the former
way (``AgingRow(...)`` per row, the frozen dataclass's ``__init__``) against ``ledger.aging.row_objects`` (fields set
at once), alternately over the same fetched rows. (As `bench/full_report_stream.py`, in the commit that added it, this script also weighed streaming the rows,
``ledger.aging.streamed_report``, not taken: docs/PERFORMANCE.md.)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_copy .venv/bin/python bench/full_report_stream.py \\
        [--company BENCH01] [--as-of 2026-11-30] [--pairs 9]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<any scratch database> .venv/bin/python \\
        bench/full_report_stream.py --synthetic [--pairs 9]

Without ``--synthetic``: the live whole-report statement of ``ledger.aging.aging_report`` (a date not stored) on
the bench company. With it: a stand-in of the same shape in temporary tables of this session — 1,000,000 rows over
100,000 customers (index on the customer, every column included), grouped into the six default buckets and the
total in index order, each customer's label joined — for when no bench copy is at hand. Prints the median CPU
of making the rows each way (this process; the rows are fetched once, not timed); checks that they are equal.
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

from huikuan.ledger import aging  # noqa: E402

SYNTHETIC = [
    "CREATE TEMP TABLE t AS SELECT (g % 100000) AS customer_id, DATE '2026-11-30' - (g % 500) AS due, "
    "((g::bigint * 7919) % 900000 + 100)::bigint AS amount FROM generate_series(1, 1000000) g",
    "CREATE INDEX ON t (customer_id) INCLUDE (due, amount)",
    "CREATE TEMP TABLE c AS SELECT g AS id, 'C' || g AS code, '客户 ' || g AS name FROM generate_series(0, 99999) g",
    "ALTER TABLE c ADD PRIMARY KEY (id)",
    "ANALYZE t",
    "ANALYZE c",
]


def statement(args) -> tuple[str, list, list]:
    """(the whole report's rows statement without ORDER BY, its params, its buckets)."""
    day = dt.date.fromisoformat(args.as_of)
    buckets, column, _basis = aging.buckets_for(as_of=day)
    if args.synthetic:
        with connection.cursor() as cur:
            for sql in SYNTHETIC:
                cur.execute(sql)
        sums = []
        for b in buckets:
            cond = [f"t.due >= '{b.date_from}'"] if b.date_from else []
            cond += [f"t.due <= '{b.date_to}'"] if b.date_to else []
            sums.append(f"COALESCE(CAST(SUM(t.amount) FILTER (WHERE {' AND '.join(cond) or '1=1'}) AS BIGINT), 0)")
        grouped = (f"SELECT t.customer_id AS k, {', '.join(f'{s} AS b{i}' for i, s in enumerate(sums))}, "
                   f"CAST(SUM(t.amount) AS BIGINT) AS total, 0 AS disputed FROM t GROUP BY t.customer_id")
        params: list = []
        labels = "c"
    else:
        from huikuan.accounts.models import Company

        company = Company.objects.get(code=args.company)
        grouped, params = aging.grouped_sql(user=None, company=company, as_of=day, buckets=buckets, column=column,
                                            group_by="customer")
        labels = "customers_customer"
    cols = ", ".join(f"g.b{i}" for i in range(len(buckets)))
    sql = (f"SELECT g.k, c.code || ' ' || c.name, {cols}, g.total, g.disputed FROM ({grouped}) g "
           f"LEFT JOIN {labels} c ON c.id = g.k")
    return sql, params, buckets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only")
    sql, params, buckets = statement(args)
    n = len(buckets)
    with aging.bulk_objects():
        raw = aging.fetch(f"{sql} ORDER BY {3 + n} DESC, 1", params)

    def former():  # main before session 27: the dataclass's __init__ per row
        out = []
        for r in raw:
            v = aging.from_minor_each(r[2:4 + n])
            out.append(aging.AgingRow(key=r[0], label=r[1] or "", buckets=v[:n], total=v[n], disputed=v[n + 1]))
        return out

    ways = {"AgingRow(...) per row": former, "row_objects": lambda: aging.row_objects(raw, n)}
    if former() != ways["row_objects"]():
        sys.exit("the two ways differ")
    seen: dict[str, list] = {k: [] for k in ways}
    for _ in range(args.pairs):
        for name, fn in ways.items():
            with aging.bulk_objects():
                c = time.process_time()
                fn()
                seen[name].append(time.process_time() - c)
    print(f"# {'synthetic' if args.synthetic else args.company + ' as of ' + args.as_of}: {len(raw):,} rows, CPU "
          f"medians of {args.pairs} alternating runs; load average {os.getloadavg()[0]:.1f}")
    for name, runs in seen.items():
        print(f"- {name}: {statistics.median(runs):.3f} s (min {min(runs):.3f})")


if __name__ == "__main__":
    main()
