"""The daily scheduler runs on one node at a time: a second `huikuan daily` (what every `huikuan serve`
starts) stands by while another process holds the scheduler lock — PostgreSQL advisory lock, SQLite flock."""

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PG = os.environ.get("HUIKUAN_BACKUP_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def _daily(env):
    return subprocess.run([sys.executable, "-m", "huikuan.cli", "daily"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_sqlite_second_scheduler_stands_by_while_the_lock_is_held(tmp_path, settings):
    from django.db import connection

    from huikuan.common import leader

    if connection.vendor != "sqlite":
        pytest.skip("the flock path is SQLite's")

    settings.DATA_DIR = tmp_path
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "HUIKUAN_DATA_DIR": str(tmp_path)}
    with leader.exclusive("scheduler") as held:
        assert held
        r = _daily(env)
        assert r.returncode == 0 and "standing by" in r.stdout, r.stdout + r.stderr
    r = _daily(env)  # lock free: it runs (and, on an unmigrated database, fails on the first query)
    assert "standing by" not in r.stdout


def test_postgresql_second_scheduler_stands_by_while_another_node_holds_the_lock(tmp_path):
    psycopg = pytest.importorskip("psycopg")
    try:
        holder = psycopg.connect(PG, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable")
    key = zlib.crc32(b"huikuan:scheduler")
    env = {**os.environ, "DATABASE_URL": PG, "HUIKUAN_DATA_DIR": str(tmp_path)}
    try:
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
        r = _daily(env)
        assert r.returncode == 0 and "standing by" in r.stdout, r.stdout + r.stderr
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
        r = _daily(env)
        assert "standing by" not in r.stdout
    finally:
        holder.close()
