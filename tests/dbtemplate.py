"""One migrated database per test run, cloned for everything else that needs a fresh one.

Migrating a new database costs ~30 s of CPU on SQLite and ~70 s on PostgreSQL (Django rebuilding the migration
state ~150 times: docs/PERFORMANCE.md "Test suite"). A run of `pytest -n N` paid it once per xdist worker and
again in every test that starts real `huikuan` processes on a database of their own (backup/restore, serve,
two nodes, faults). Now the first worker that needs a database migrates a *template* under a file lock shared
by the run's workers; every worker's test database is a copy of it (a file copy on SQLite, `CREATE DATABASE …
TEMPLATE` on PostgreSQL, ~1 s), and so is every subprocess test's database.

The run's shared directory comes from the xdist controller (``HUIKUAN_TEST_RUN_DIR``, set by the root
conftest before the workers start; the controller drops the PostgreSQL template at the end). Without xdist
(``pytest -n 0``) each process makes its own directory, and the test database is made the usual way.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR_ENV = "HUIKUAN_TEST_RUN_DIR"
SQLITE_TEMPLATE = "template.sqlite3"
PG_TEMPLATE_NOTE = "pg-template"  # the file naming the PostgreSQL template database of this run


def run_dir() -> Path:
    """The directory shared by this run's processes (made on first use when there is no controller)."""
    path = os.environ.get(RUN_DIR_ENV)
    if not path:
        path = tempfile.mkdtemp(prefix="hk-testrun-")
        os.environ[RUN_DIR_ENV] = path
    return Path(path)


@contextmanager
def locked():
    """Held while a template is made or copied: one process at a time, whichever asks first."""
    with open(run_dir() / "template.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _child_env(url: str) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("HUIKUAN_") and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**keep, "DATABASE_URL": url, "HUIKUAN_DATA_DIR": str(run_dir())}


def _migrate(url: str) -> None:
    r = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_child_env(url),
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"migrate failed on {url}:\n{r.stdout}{r.stderr}")


def sqlite_template() -> Path:
    """The run's migrated SQLite file, migrated by the first caller (call it holding ``locked()``)."""
    path = run_dir() / SQLITE_TEMPLATE
    if not path.exists():
        tmp = path.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        _migrate(f"sqlite:///{tmp}")
        tmp.rename(path)
    return path


def migrated_sqlite(dest: Path) -> str:
    """A fresh migrated SQLite database at ``dest`` (a copy of the run's template); its DATABASE_URL."""
    with locked():
        template = sqlite_template()
    shutil.copyfile(template, dest)
    return f"sqlite:///{dest}"


def pg_template_name() -> str | None:
    note = run_dir() / PG_TEMPLATE_NOTE
    return note.read_text().strip() if note.exists() else None


def setup_worker_database(connection, suffix: str):
    """Give this worker a test database cloned from the run's template (migrating the template first when
    no process has yet). Returns what ``teardown_worker_database`` needs."""
    old_name = connection.settings_dict["NAME"]
    creation = connection.creation
    with locked():
        if connection.vendor == "sqlite":
            template = run_dir() / SQLITE_TEMPLATE
            if not template.exists():
                connection.settings_dict["TEST"]["NAME"] = str(template)
                creation.create_test_db(verbosity=0, autoclobber=True)
                connection.close()
            connection.settings_dict["NAME"] = str(template)
        else:
            template = pg_template_name()
            if template is None:
                name = creation._get_test_db_name()  # e.g. test_huikuan_gw0: the worker's suffix taken off
                template = f"{name.removesuffix('_' + suffix)}_tmpl"
                connection.settings_dict["TEST"]["NAME"] = template
                creation.create_test_db(verbosity=0, autoclobber=True)
                connection.close()
                (run_dir() / PG_TEMPLATE_NOTE).write_text(template)
            connection.settings_dict["NAME"] = template
        creation.clone_test_db(suffix=suffix, verbosity=0, autoclobber=True, keepdb=False)
    clone = creation.get_test_db_clone_settings(suffix)["NAME"]
    connection.settings_dict["NAME"] = clone
    connection.close()
    return old_name, clone


def teardown_worker_database(connection, old_name: str, clone: str) -> None:
    connection.close()
    if connection.vendor == "postgresql":
        # WITH (FORCE): a process a test started (a serve node, its worker) may still be closing its session when the
        # worker finishes — a plain DROP then fails the run's last test at teardown ("being accessed by other users")
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)')
    else:
        connection.creation._destroy_test_db(clone, verbosity=0)
    connection.settings_dict["NAME"] = old_name


def drop_pg_template(connection) -> None:
    """At the end of the run (the controller): the PostgreSQL template goes; SQLite's is in the run's directory."""
    name = pg_template_name()
    if name and connection.vendor == "postgresql":
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
