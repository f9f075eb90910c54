"""Ledger entries and allocations are append-only on both databases and cannot be emptied by TRUNCATE.

- ledger entries: PostgreSQL already refuses UPDATE/DELETE (0002); SQLite now does too.
- allocations: a correction is a negative row pointing at the one it undoes (``reverses``), so an
  allocation row is never changed or deleted; both databases now refuse UPDATE and DELETE.
- TRUNCATE of either table is refused on PostgreSQL by a statement trigger (SQLite has no TRUNCATE;
  its "DELETE FROM t" fast path is disabled on a table with triggers, so the DELETE trigger covers it).

The test suite flushes its databases around transactional tests with these guards lifted for that
statement only (``conftest.py``: ``session_replication_role = replica`` on PostgreSQL, the triggers
dropped and re-created on SQLite). ``ledger/tests/test_append_only.py`` checks the SQLite triggers
still exist after every migration (a table rebuild on SQLite would drop them silently).
"""

from django.db import migrations

SQLITE_TABLES = ("ledger_ledgerentry", "ledger_allocation")
SQLITE_FORWARD = [
    f"""CREATE TRIGGER {table}_append_only_{name} BEFORE {event} ON {table}
        BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END"""
    for table in SQLITE_TABLES for name, event in (("upd", "UPDATE"), ("del", "DELETE"))
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_append_only_{name}" for table in SQLITE_TABLES
                   for name in ("upd", "del")]
PG_FORWARD = [
    "CREATE TRIGGER ledger_allocation_append_only BEFORE UPDATE OR DELETE ON ledger_allocation "
    "FOR EACH ROW EXECUTE FUNCTION huikuan_append_only()",
    *(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
      "FOR EACH STATEMENT EXECUTE FUNCTION huikuan_append_only()" for table in SQLITE_TABLES),
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_allocation_append_only ON ledger_allocation",
    *(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in SQLITE_TABLES),
]


def forwards(apps, schema_editor):
    for sql in PG_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in PG_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_credit_company_date"), ("common", "0004_audit_append_only_everywhere")]
    operations = [migrations.RunPython(forwards, backwards)]
