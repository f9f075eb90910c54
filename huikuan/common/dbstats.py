"""Query-planner statistics on SQLite: ANALYZE the tables whose size moved since they were last analyzed.

SQLite has no autovacuum: its planner keeps using the row counts in ``sqlite_stat1`` from the last
``ANALYZE`` (or none at all). A table loaded in bulk, or emptied, since then can get a plan that was
right for the old size — at full scale that was a 4× slower aging page (docs/PERFORMANCE.md, "SQLite at
full scale"). ``PRAGMA optimize`` in SQLite 3.40 only looks at tables the current connection has queried,
so the daily job does the equivalent of PostgreSQL's autovacuum analyze threshold itself: each table's
row count against the count recorded in ``sqlite_stat1`` and ``ANALYZE`` on those that changed by more
than ``threshold`` (and ≥ ``min_rows`` rows), or were never analyzed. A full ``ANALYZE`` of the 2 GB
bench database takes ~12 s and holds the write lock; this touches only what changed.
"""

from __future__ import annotations

from django.db import connection


def _tables(cur) -> list[str]:
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [r[0] for r in cur.fetchall()]


def _recorded(cur) -> dict[str, int]:
    cur.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if not cur.fetchone():
        return {}
    cur.execute("SELECT tbl, stat FROM sqlite_stat1")
    out: dict[str, int] = {}
    for tbl, stat in cur.fetchall():
        try:
            out[tbl] = max(out.get(tbl, 0), int(str(stat).split()[0]))
        except (ValueError, IndexError):
            continue
    return out


def stale_tables(*, threshold: float = 0.2, min_rows: int = 1000) -> list[str]:
    """Tables whose row count differs from the analyzed one by more than ``threshold`` (SQLite only)."""
    if connection.vendor != "sqlite":
        return []
    out = []
    with connection.cursor() as cur:
        recorded = _recorded(cur)
        for table in _tables(cur):
            cur.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            rows = cur.fetchone()[0]
            before = recorded.get(table)
            if before is None:
                stale = rows >= min_rows
            else:
                stale = max(rows, before) >= min_rows and abs(rows - before) > threshold * max(before, 1)
            if stale:
                out.append(table)
    return out


def refresh_statistics(*, threshold: float = 0.2, min_rows: int = 1000) -> list[str]:
    """ANALYZE the stale tables (SQLite); returns their names. A no-op on PostgreSQL (autovacuum analyzes)."""
    tables = stale_tables(threshold=threshold, min_rows=min_rows)
    if tables:
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables


def analyze(*tables: str) -> None:
    """ANALYZE the given tables now, on SQLite and PostgreSQL alike: after a bulk load or a rebuild that
    changed them wholesale. PostgreSQL's autovacuum would get there only after its next nap and threshold;
    until then the planner plans for the old size (a freshly generated bench database answered the aging page
    in 4–5 s until someone ran ANALYZE)."""
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"ANALYZE {connection.ops.quote_name(table)}")
