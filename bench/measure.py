"""CPU time of the PostgreSQL backend serving this process's database connection, for the bench scripts.

The server must run on this machine: the figure is the backend's user + system time from ``/proc/<pid>/stat``
(clock ticks). Parallel query workers are separate processes and are not counted.
"""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def backend_pid(connection) -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far; 0 when ``/proc`` does not show it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the server is on another machine
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def backend_cpu(connection=None) -> float:
    """CPU seconds of the backend of ``connection`` (Django's default connection) so far; 0 on SQLite."""
    if connection is None:
        from django.db import connection
    if connection.vendor != "postgresql":
        return 0.0
    return process_cpu(backend_pid(connection))
