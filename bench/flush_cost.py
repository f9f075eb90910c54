"""The test flush on PostgreSQL: TRUNCATE of 100 small tables (pk, 2 indexes, FK) in one statement against
LOCK + DELETE FROM each, under the replica role (conftest.py). Creates and drops its own database ci_flush_probe.

    .venv/bin/python bench/flush_cost.py [postgres://postgres@127.0.0.1:5432/postgres]
"""
import sys
import time

import psycopg

URL = (sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/postgres").replace("postgres://", "postgresql://", 1)
admin = psycopg.connect(URL, autocommit=True)
admin.execute("DROP DATABASE IF EXISTS ci_flush_probe")
admin.execute("CREATE DATABASE ci_flush_probe")
try:
    c = psycopg.connect(URL.rsplit("/", 1)[0] + "/ci_flush_probe")
    N = 100
    for i in range(N):
        fk = f", parent_id bigint REFERENCES t{i-1}(id) DEFERRABLE INITIALLY DEFERRED" if i else ""
        c.execute(f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, a int, b text{fk})")
        c.execute(f"CREATE INDEX t{i}_a ON t{i}(a)")
        c.execute(f"CREATE INDEX t{i}_b ON t{i}(b)")
    c.commit()

    def fill():
        for i in range(N):
            c.execute(f"INSERT INTO t{i}(a, b) SELECT g, 'x' || g FROM generate_series(1, 3) g")
        c.commit()

    tables = ", ".join(f"t{i}" for i in range(N))
    for label, stmts in (("truncate", [f"TRUNCATE {tables}"]), ("delete", [f"LOCK TABLE {tables} IN EXCLUSIVE MODE", *(f"DELETE FROM t{i}" for i in range(N))])):
        walls, cpus = [], []
        for _ in range(5):
            fill()
            t = time.perf_counter()
            c.execute("SET LOCAL session_replication_role = replica")
            for s in stmts:
                c.execute(s)
            c.commit()
            walls.append(time.perf_counter() - t)
        print(label, "ms per flush (5 runs):", " ".join(f"{w*1000:.0f}" for w in walls))
    c.close()
finally:
    admin.execute("DROP DATABASE IF EXISTS ci_flush_probe WITH (FORCE)")
