"""On PostgreSQL, refuse UPDATE and DELETE of ledger entries at the database level (append-only).

TRUNCATE is deliberately not blocked: test databases are flushed with it; in production the
application's role should not own the tables (docs/OPERATIONS.md), which is what stops TRUNCATE.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE TRIGGER ledger_ledgerentry_append_only BEFORE UPDATE OR DELETE ON ledger_ledgerentry "
        "FOR EACH ROW EXECUTE FUNCTION huikuan_append_only();"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS ledger_ledgerentry_append_only ON ledger_ledgerentry;")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("common", "0002_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
