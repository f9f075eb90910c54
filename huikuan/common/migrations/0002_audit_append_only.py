"""On PostgreSQL, refuse UPDATE and DELETE on audit events at the database level (ledger entries: ledger 0002)."""

from django.db import migrations

FUNC = """
CREATE OR REPLACE FUNCTION huikuan_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'table %% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNC)
    schema_editor.execute(
        "CREATE TRIGGER common_auditevent_append_only BEFORE UPDATE OR DELETE ON common_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION huikuan_append_only();"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS common_auditevent_append_only ON common_auditevent;")


class Migration(migrations.Migration):
    dependencies = [("common", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
