"""`huikuan restore FILE --yes`: replace the database with a backup, verified by check-ledger.

SQLite: the backup is first copied beside the database and checked there (``PRAGMA integrity_check`` and
``huikuan check-ledger`` on the copy); only a copy that passes replaces the live database, page by page
through the backup API. PostgreSQL: ``pg_restore --clean --if-exists --single-transaction`` (all or
nothing), then ``check-ledger``. Stop ``huikuan serve`` on every machine first: requests during a restore
would see the old and the new data.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from .backup import pg_environment


class Command(BaseCommand):
    help = "Replace the database with a backup made by `huikuan backup`, then verify it with check-ledger."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the backup file")
        parser.add_argument("--yes", action="store_true", help="really replace the current database")

    def handle(self, *args, file, yes, **opts):
        source = Path(file)
        if not source.is_file():
            raise CommandError(f"{source} is not a file")
        if not yes:
            raise CommandError("restore replaces the whole database: stop every `huikuan serve`, then run again "
                               "with --yes")
        if connection.vendor == "sqlite":
            self._sqlite(source)
        elif connection.vendor == "postgresql":
            self._postgresql(source)
        else:
            raise CommandError(f"restore is not supported for {connection.vendor}")
        call_command("check_ledger", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(f"Restored from {source}.")

    def _sqlite(self, source: Path) -> None:
        live = Path(settings.DATABASES["default"]["NAME"])
        staged = live.with_name(live.name + ".restoring")
        staged.unlink(missing_ok=True)
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            dest = sqlite3.connect(staged)
            try:
                src.backup(dest)
                ok = dest.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise CommandError(f"{source} is not an SQLite backup: {exc}") from exc
            finally:
                src.close()
                dest.close()
            if ok != "ok":
                raise CommandError(f"the backup fails its integrity check: {ok}")
            # the staged copy is verified by check-ledger in its own process before it replaces anything
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{staged}"}
            r = subprocess.run([sys.executable, "-m", "huikuan.cli", "check_ledger"], env=env, capture_output=True,
                               text=True)
            if r.returncode:
                raise CommandError(f"the backup fails check-ledger; the database was not changed:\n{r.stderr.strip()}")
            connections.close_all()
            connection.ensure_connection()
            staged_conn = sqlite3.connect(staged)
            try:
                staged_conn.backup(connection.connection)
            finally:
                staged_conn.close()
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(staged) + suffix).unlink(missing_ok=True)

    def _postgresql(self, source: Path) -> None:
        db = settings.DATABASES["default"]
        args, env = pg_environment(db)
        connections.close_all()
        r = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                            "--single-transaction", "--exit-on-error", "--dbname", str(db["NAME"]), *args, str(source)],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise CommandError(f"pg_restore failed; the database was not changed: {r.stderr.strip()}")
