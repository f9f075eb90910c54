"""`huikuan backup [FILE]`: a consistent copy of the whole database while Huikuan keeps running.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the pages of a consistent snapshot,
then ``PRAGMA integrity_check`` reads the copy back. PostgreSQL: ``pg_dump --format=custom`` (one snapshot,
compressed; restored with ``pg_restore``). Restore with ``huikuan restore FILE``.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def pg_environment(db: dict) -> tuple[list[str], dict]:
    """Connection arguments and environment for the PostgreSQL client programs (password via PGPASSWORD)."""
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def default_name(vendor: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(settings.DATA_DIR) / "backups" / f"huikuan-{stamp}.{'sqlite3' if vendor == 'sqlite' else 'dump'}"


class Command(BaseCommand):
    help = ("Back up the database while Huikuan runs: SQLite by its online backup API, PostgreSQL by pg_dump "
            "(custom format). Default file: <data dir>/backups/huikuan-<date-time>.sqlite3|.dump")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="where to write the backup (must not exist)")

    def handle(self, *args, file=None, **opts):
        vendor = connection.vendor
        target = Path(file) if file else default_name(vendor)
        if target.exists():
            raise CommandError(f"{target} already exists; choose another file")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            if vendor == "sqlite":
                self._sqlite(partial)
            elif vendor == "postgresql":
                self._postgresql(partial)
            else:
                raise CommandError(f"backup is not supported for {vendor}")
            partial.rename(target)  # only a complete, checked backup gets the final name
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(f"Backup written: {target} ({target.stat().st_size:,} bytes)")

    def _sqlite(self, out: Path) -> None:
        connection.ensure_connection()
        dest = sqlite3.connect(out)
        try:
            connection.connection.backup(dest, pages=1024)
            ok = dest.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dest.close()
        if ok != "ok":
            raise CommandError(f"the copy fails its integrity check: {ok}")

    def _postgresql(self, out: Path) -> None:
        db = settings.DATABASES["default"]
        args, env = pg_environment(db)
        r = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(out), *args, str(db["NAME"])],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise CommandError(f"pg_dump failed: {r.stderr.strip()}")
