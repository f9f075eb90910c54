"""The product's aging SQL on PostgreSQL beside DuckDB (one thread) on the same exported data, in one run.

    pip install -e '.[bench]'        # duckdb: a bench tool only, never imported by the product
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_copy .venv/bin/python bench/duckdb_compare.py \
        [--company BENCH01] [--dates 2026-11-30,2026-08-31,2026-05-31,2025-11-30] [--runs 5] [--format parquet|csv]

1. Exports the bench company's aging candidates — every instalment that is open now or was settled,
   reversed or replaced by a payment plan after the earliest date asked for (the only ones the aging of
   any of those dates can read), with the columns the aging reads — and those instalments' allocations,
   to Parquet (or CSV) files in a temporary folder, then loads them into an in-memory DuckDB database
   (``SET threads = 1``). Loading is not timed.
2. For each date: the aging totals (``ledger.aging.grouped_sql(group_by="none")``: the default buckets
   30/60/90/120 by due date, the total and the disputed part) — the very statement the product runs — on
   PostgreSQL, and in DuckDB both the same statement text and the aging written natively for DuckDB from its
   definition (``native_sql``: allocations summed by a hash join). All answers must be equal to the fen
   (checked, or the script stops). The company's totals on PostgreSQL read the running sums by due date
   (``ledger_agingflow``, kept by triggers; ledger 0020), which the export does not carry: there DuckDB runs the
   statement the product runs without them (``totals_by_date_sql(flow=False)``, from the instalments), and
   PostgreSQL's CPU for that one is printed too.
3. Prints, per date and overall, the CPU time of each and the ratio PostgreSQL / the faster DuckDB query.

CPU, not wall clock (the machine is shared): for PostgreSQL the backend process's utime + stime from
``/proc/<pg_backend_pid()>/stat`` before and after the statement (the server must be on this machine;
clock ticks, 10 ms, so each figure is the median of ``--runs`` runs, a run repeating a statement faster than 200 ms
until it spans about that, up to 50 times), beside the
server's own EXPLAIN ANALYZE execution time; for DuckDB (in this process, one thread) this process's
CPU time (``time.process_time``) around the query. The first run of each is a warm-up and not counted.
PostgreSQL runs without parallel workers here (``max_parallel_workers_per_gather = 0``): one process against
DuckDB's one thread, and no CPU spent in workers that the backend's figure would miss.

Also ``--grouped``: the same for the aging grouped by customer (~100,000 rows), the statement a stored
date is built from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from huikuan.accounts.models import Company  # noqa: E402
from huikuan.ledger.aging import buckets_for, grouped_sql, totals_by_date_sql  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

DATE_COLUMNS = (
    "due_date",
    "document_date",
    "first_allocated_on",
    "last_allocated_on",
    "reversed_on",
    "replaced_on",
    "plan_from",
)
INSTALMENT_COLUMNS = (
    "id",
    "company_id",
    "customer_id",
    "document_id",
    "salesperson_id",
    "amount",
    "open_amount",
    "disputed_amount",
    "replaced_amount",
    *DATE_COLUMNS,
)
# column types for DuckDB (a column that is empty in the export would otherwise be read as text)
TYPES = {
    "bench_candidates": {c: ("DATE" if c in DATE_COLUMNS else "BIGINT") for c in INSTALMENT_COLUMNS},
    "bench_allocations": {"instalment_id": "BIGINT", "date": "DATE", "amount": "BIGINT"},
}


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15 of stat)


def export(company, since: dt.date, folder: Path, fmt: str):
    """Write the candidates and their allocations to ``folder``; returns (instalment file, allocation file, counts)."""
    cols = ", ".join(f"i.{c}" for c in INSTALMENT_COLUMNS)
    candidates = (
        "FROM ledger_instalment i WHERE i.company_id = %s AND (i.open_amount > 0 OR i.last_allocated_on > %s "
        "OR i.reversed_on > %s OR i.replaced_on > %s)"
    )
    params = [company.pk, since, since, since]
    files, counts = [], []
    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE bench_candidates AS SELECT {cols} {candidates}", params)
        cur.execute(
            "CREATE TEMP TABLE bench_allocations AS SELECT a.instalment_id, a.date, a.amount "
            "FROM ledger_allocation a JOIN bench_candidates c ON c.id = a.instalment_id"
        )
        for table in ("bench_candidates", "bench_allocations"):
            path = folder / f"{table}.csv"
            with (
                path.open("wb") as out,
                cur.cursor.copy(f"COPY {table} TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
            ):
                for block in copy:
                    out.write(block)
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts.append(cur.fetchone()[0])
            files.append(path)
        cur.execute("DROP TABLE bench_candidates, bench_allocations")
    return files, counts


def load_duckdb(files, fmt: str, folder: Path):
    import duckdb

    db = duckdb.connect(":memory:")
    db.execute("SET threads = 1")
    for path, table in zip(files, ("ledger_instalment", "ledger_allocation"), strict=True):
        types = ", ".join(f"'{c}': '{t}'" for c, t in TYPES[path.stem].items())
        src = f"read_csv('{path}', header = true, columns = {{{types}}})"
        if fmt == "parquet":
            pq = folder / f"{table}.parquet"
            db.execute(f"COPY (SELECT * FROM {src}) TO '{pq}' (FORMAT parquet)")
            src = f"read_parquet('{pq}')"
        db.execute(f"CREATE TABLE {table} AS SELECT * FROM {src}")
    # the product's statement calls PostgreSQL's ledger_allocated_upto (migration ledger 0019): the same sub-select
    db.execute("CREATE MACRO ledger_allocated_upto(inst, upto) AS (SELECT CAST(COALESCE(SUM(a.amount), 0) AS BIGINT) "
               "FROM ledger_allocation a WHERE a.instalment_id = inst AND a.date <= upto)")
    return db


def native_sql(company_id: int, day: dt.date, group: str) -> str:
    """The same aging written as one would for DuckDB, from the definition: open as of X = amount (plus what a
    payment plan took over, before it did) − Σ allocations dated ≤ X, for instalments of documents dated ≤ X,
    not reversed by X, not a plan's instalment before its start — allocations summed once by a hash join
    instead of the product's per-instalment lookups (which the product needs only for the rare instalment
    paid both before and after X)."""
    buckets, column, _basis = buckets_for(as_of=day)
    x = f"DATE '{day.isoformat()}'"
    sums = []
    for b in buckets:
        cond = [f"t.{column} >= DATE '{b.date_from.isoformat()}'"] if b.date_from else []
        cond += [f"t.{column} <= DATE '{b.date_to.isoformat()}'"] if b.date_to else []
        sums.append(f"CAST(SUM(CASE WHEN {' AND '.join(cond)} THEN t.x ELSE 0 END) AS BIGINT)")
    key = "t.customer_id" if group == "customer" else "1"
    return f"""
        WITH a AS (SELECT instalment_id, SUM(amount) AS s FROM ledger_allocation WHERE date <= {x} GROUP BY 1),
        t AS (SELECT i.customer_id, i.due_date, i.document_date, i.disputed_amount AS disputed,
                     i.amount + CASE WHEN i.replaced_on > {x} THEN COALESCE(i.replaced_amount, 0) ELSE 0 END
                       - COALESCE(a.s, 0) AS x
              FROM ledger_instalment i LEFT JOIN a ON a.instalment_id = i.id
              WHERE i.company_id = {int(company_id)} AND i.document_date <= {x}
                AND (i.reversed_on IS NULL OR i.reversed_on > {x}) AND (i.plan_from IS NULL OR i.plan_from <= {x}))
        SELECT {key} AS k, NULL AS label, {", ".join(sums)}, CAST(SUM(t.x) AS BIGINT),
               CAST(SUM(LEAST(t.disputed, t.x)) AS BIGINT)
        FROM t WHERE t.x <> 0 GROUP BY {key}"""


def duck_sql(sql: str) -> str:
    """The product's statement for DuckDB: its placeholders, and SUM for the product's BIGINT-state aggregate
    (ledger 0021, PostgreSQL only; the same values)."""
    return sql.replace("%s", "?").replace("ledger_sum_bigint(", "sum(")


def run_pg(sql: str, params: list, runs: int):
    """(median backend CPU s, median EXPLAIN ANALYZE execution ms, result row) over ``runs`` runs after a warm-up."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        t = time.perf_counter()
        cur.execute(sql, params)
        result = cur.fetchall()
        # a run repeats a fast statement until it spans ~20 ticks (the backend's CPU is counted in 10 ms ticks)
        reps = max(1, min(50, int(0.2 / max(time.perf_counter() - t, 1e-4))))
        cpu = []
        for _ in range(runs):
            before = backend_cpu(pid)
            for _rep in range(reps):
                cur.execute(sql, params)
                cur.fetchall()
            cpu.append((backend_cpu(pid) - before) / reps)
        execution = []
        for _ in range(max(1, runs // 2)):
            cur.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", params)
            plan = cur.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            execution.append(plan["Execution Time"])
    return statistics.median(cpu), statistics.median(execution), result


def run_duck(db, sql: str, params: list, runs: int):
    q = duck_sql(sql)
    result = db.execute(q, params).fetchall()
    cpu = []
    for _ in range(runs):
        c = time.process_time()
        db.execute(q, params).fetchall()
        cpu.append(time.process_time() - c)
    return statistics.median(cpu), result


def same(a, b) -> bool:
    norm = sorted(tuple(int(v or 0) if not isinstance(v, str) else v for v in row) for row in a)
    return norm == sorted(tuple(int(v or 0) if not isinstance(v, str) else v for v in row) for row in b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--dates", default="2026-11-30,2026-08-31,2026-05-31,2025-11-30")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--grouped", action="store_true", help="also the aging grouped by customer")
    args = ap.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only (the backend's CPU time is read from /proc)")
    company = Company.objects.get(code=args.company)
    dates = [dt.date.fromisoformat(d) for d in args.dates.split(",")]
    with connection.cursor() as cur:  # one thread against one thread: parallel workers' CPU is not the backend's
        cur.execute("SET max_parallel_workers_per_gather = 0")
    with tempfile.TemporaryDirectory(prefix="hk-duckdb-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        files, (n_inst, n_alloc) = export(company, min(dates), folder, args.format)
        db = load_duckdb(files, args.format, folder)
        print(
            f"# {company.code}: exported {n_inst:,} candidate instalments and {n_alloc:,} allocations "
            f"({args.format}, {time.perf_counter() - t:.1f} s, not timed below); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        import duckdb

        print(
            f"# PostgreSQL {connection.cursor().connection.info.server_version}, DuckDB {duckdb.__version__} "
            f"(threads=1); CPU medians of {args.runs} runs after a warm-up\n"
        )
        kinds = [("totals", "none")] + ([("by customer", "customer")] if args.grouped else [])
        for label, group in kinds:
            print(f"## aging {label}\n")
            print(
                "| as of | PostgreSQL CPU | PG EXPLAIN ANALYZE | DuckDB CPU, product's SQL | DuckDB CPU, native SQL "
                "| ratio to the faster DuckDB | same answer |"
            )
            print("|---|---|---|---|---|---|---|")
            pg_all = duck_all = 0.0
            per_date: list[float] = []
            for day in dates:
                buckets, column, _basis = buckets_for(as_of=day)
                sql, params = grouped_sql(
                    user=None, company=company, as_of=day, buckets=buckets, column=column, group_by=group
                )
                pg_cpu, pg_exec, pg_rows = run_pg(sql, params, args.runs)
                # the totals' statement reads PostgreSQL's running sums (ledger_agingflow, kept by triggers), which
                # DuckDB does not have: DuckDB runs the statement the product runs without them (per date, from the
                # instalments), and PostgreSQL's CPU for that statement is printed beside
                rows_sql, rows_params = (sql, params) if group != "none" else totals_by_date_sql(
                    user=None, company=company, as_of=day, buckets=buckets, column=column, flow=False)
                if group == "none":
                    rows_cpu, _exec, rows_pg = run_pg(rows_sql, rows_params, args.runs)
                    per_date.append(rows_cpu)
                    if not same(pg_rows, rows_pg):
                        sys.exit(f"running sums and rows differ as of {day}: {pg_rows[:3]} vs {rows_pg[:3]}")
                same_cpu, duck_rows = run_duck(db, rows_sql, rows_params, args.runs)
                native_cpu, native_rows = run_duck(db, native_sql(company.pk, day, group), [], args.runs)
                duck_cpu = min(same_cpu, native_cpu)
                pg_all += pg_cpu
                duck_all += duck_cpu
                ok = same(pg_rows, duck_rows) and same(pg_rows, native_rows)
                print(
                    f"| {day} | {pg_cpu * 1000:.0f} ms | {pg_exec:.0f} ms | {same_cpu * 1000:.0f} ms | "
                    f"{native_cpu * 1000:.0f} ms | "
                    f"{pg_cpu / duck_cpu if duck_cpu else float('inf'):.2f}× | {'yes' if ok else 'NO'} |"
                )
                if not ok:
                    sys.exit(
                        f"different answers as of {day}: {pg_rows[:3]} vs {duck_rows[:3]} / {native_rows[:3]}"
                    )
            print(
                f"| all dates | {pg_all * 1000:.0f} ms | | | {duck_all * 1000:.0f} ms (faster of the two) | "
                f"**{pg_all / duck_all if duck_all else float('inf'):.2f}×** | |\n"
            )
            if per_date:
                print(f"(PostgreSQL without the running sums — the per-date statement DuckDB ran: "
                      f"{' / '.join(f'{c * 1000:.0f}' for c in per_date)} ms; together {sum(per_date) * 1000:.0f} ms = "
                      f"{sum(per_date) / duck_all if duck_all else float('inf'):.2f}× DuckDB)\n")


if __name__ == "__main__":
    main()
