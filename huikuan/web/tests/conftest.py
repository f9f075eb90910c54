"""A migrated PostgreSQL template for the tests that run real `huikuan` processes on a database of their own
(test_two_nodes, test_faults, test_backup_restore): the run's template (tests/dbtemplate.py) or, without xdist,
one migrated per test process, then cloned per test in about a second (`CREATE DATABASE … TEMPLATE`)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import dbtemplate

ROOT = Path(__file__).resolve().parents[3]
PG = os.environ.get("HUIKUAN_BACKUP_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def child_env(url: str, data_dir, **extra) -> dict:
    """The environment of a child `huikuan` process on ``url``: none of this test run's HUIKUAN_* settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("HUIKUAN_") and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**keep, "DATABASE_URL": url, "HUIKUAN_DATA_DIR": str(data_dir), **extra}


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory, django_db_setup, django_db_blocker):
    """(admin connection, template name): a migrated database to clone; skips unless PostgreSQL is the suite's.

    Under xdist it is the run's own template, which the workers' test databases are cloned from
    (tests/dbtemplate.py); otherwise one is migrated here. It asks for ``django_db_blocker`` because it reads
    the suite's backend: the root conftest then counts its tests as database tests, so the PostgreSQL pass
    (which leaves out db_agnostic tests) still runs them."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("runs real processes on a PostgreSQL database of its own (the PostgreSQL pass)")
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable")
    shared = dbtemplate.pg_template_name() if os.environ.get(dbtemplate.RUN_DIR_ENV) else None
    if shared:
        yield admin, shared
        admin.close()
        return
    name = f"hk_tmpl_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = child_env(PG.rsplit("/", 1)[0] + "/" + name, tmp_path_factory.mktemp("tmpl"))
        r = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        yield admin, name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_clone(pg_template):
    """(admin connection, database name, url) of a fresh migrated database, dropped after the test."""
    admin, template = pg_template
    name = f"hk_t_{uuid.uuid4().hex[:10]}"
    with dbtemplate.locked():  # a template being copied must have no other session: one copy at a time
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield admin, name, PG.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
