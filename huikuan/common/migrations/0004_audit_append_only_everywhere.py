"""Audit events are append-only on both databases and cannot be emptied by TRUNCATE.

PostgreSQL already refuses UPDATE/DELETE (0002); this adds a statement trigger refusing TRUNCATE.
SQLite gets BEFORE UPDATE / BEFORE DELETE triggers that abort (SQLite has no TRUNCATE: its
"DELETE FROM t" fast path is disabled on a table with triggers, so the DELETE trigger covers it).
Raw SQL, unknown to Django's model state: ``ledger/tests/test_append_only.py`` checks the triggers
still exist (a migration that rebuilds the table on SQLite would drop them silently).
"""

from django.db import migrations

TABLE = "common_auditevent"
SQLITE_FORWARD = [
    f"""CREATE TRIGGER {TABLE}_append_only_{name} BEFORE {event} ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'table {TABLE} is append-only'); END"""
    for name, event in (("upd", "UPDATE"), ("del", "DELETE"))
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {TABLE}_append_only_{name}" for name in ("upd", "del")]
PG_FORWARD = [f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
              "FOR EACH STATEMENT EXECUTE FUNCTION huikuan_append_only()"]
PG_BACKWARD = [f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}"]


def forwards(apps, schema_editor):
    for sql in PG_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in PG_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("common", "0003_jobrun")]
    operations = [migrations.RunPython(forwards, backwards)]
