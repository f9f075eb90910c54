"""The full aging report by customer (every row: XLSX, API without a page size) fetched whole and ordered by the
server, against streamed and ordered in Python (``ledger.aging.streamed_report``), alternately on one connection.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_copy .venv/bin/python bench/full_report_stream.py \\
        [--company BENCH01] [--as-of 2026-11-30] [--pairs 9]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<any scratch database> .venv/bin/python \\
        bench/full_report_stream.py --synthetic [--pairs 9]

Without ``--synthetic``: the live whole-report statement of ``ledger.aging.aging_report`` (a date not stored) on
the bench company. With it: a stand-in of the same shape in temporary tables of this session — 1,000,000 rows over
100,000 customers (index on the customer, every column included), grouped into the six default buckets and the
total in index order, each customer's label joined — for when no bench copy is at hand. Prints medians of wall
clock, this process's CPU and the PostgreSQL backend's CPU for both ways; checks that both reports are equal.
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
    kw = dict(as_of=dt.date.fromisoformat(args.as_of), basis="due", scheme="collections", group_by="customer",
              buckets=buckets)

    def whole():  # main before session 27: ordered by the server, fetched whole, then made into rows
        with aging.bulk_objects():
            return aging.whole_report(aging.fetch(f"{sql} ORDER BY {3 + n} DESC, 1", params), **kw)

    def streamed():
        return aging.streamed_report(sql, params, floor=None, **kw)

    ways = {"fetched whole, ordered by the server": whole, "streamed, ordered in Python": streamed}
    if whole() != streamed():
        sys.exit("the two ways differ")
    seen: dict[str, list] = {k: [] for k in ways}
    for _ in range(args.pairs):
        for name, fn in ways.items():
            t, c, b = time.perf_counter(), time.process_time(), backend_cpu()
            fn()
            seen[name].append((time.perf_counter() - t, time.process_time() - c, backend_cpu() - b))
    print(f"# {'synthetic' if args.synthetic else args.company + ' as of ' + args.as_of}: medians of {args.pairs} "
          f"alternating runs; load average {os.getloadavg()[0]:.1f}")
    for name, runs in seen.items():
        wall, cpu, back = (statistics.median(v) for v in zip(*runs, strict=True))
        print(f"- {name}: wall {wall:.3f} s (min {min(r[0] for r in runs):.3f}), Python CPU {cpu:.3f} s, "
              f"backend CPU {back:.3f} s")


if __name__ == "__main__":
    main()
