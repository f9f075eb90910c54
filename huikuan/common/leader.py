"""One scheduler among several nodes: whoever holds the lock runs the daily jobs; the others stand by.

Every `huikuan serve` starts `huikuan daily --every 300`; with several web nodes on one database, each cycle
first takes a lock that only one process can hold at a time, and a process that does not get it skips the
cycle (and tries again next time, so the schedule survives whichever nodes are down). Jobs are still
claimed once per business date by ``JobRun`` (``common.jobs.run_once``); the lock keeps the nodes from
working through the companies side by side.

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``), released at the end of the cycle or by
  the server when the process or its connection dies — no lease to expire, no clock to trust.
- SQLite (one machine): an exclusive ``flock`` on ``<data dir>/<name>.lock``, released by the OS likewise.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def _key(name: str) -> int:
    return zlib.crc32(f"huikuan:{name}".encode())  # stable across processes and versions; fits bigint


@contextmanager
def exclusive(name: str = "scheduler") -> Iterator[bool]:
    """Yields True when this process holds the ``name`` lock for the block, False when another does."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            held = bool(cur.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
        return
    try:
        import fcntl
    except ImportError:  # Windows: one process per machine is all SQLite serves there anyway
        yield True
        return
    path = Path(settings.DATA_DIR) / f"{name}.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
