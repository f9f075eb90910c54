"""Audit-log text search by index on PostgreSQL: trigram (pg_trgm) GIN indexes on the upper-cased summary and
data text, the very expressions ``insight.audit_report`` filters with (Django's ``icontains`` is
``UPPER(x) LIKE UPPER('%needle%')``), so a search for a substring of the before/after values, notes or reasons
reads the index instead of filtering every event of the period. pg_trgm is a trusted extension (the database
owner may create it). A needle shorter than three characters has no trigram: it is then filtered as before.
Nothing on SQLite (the search filters the period's events there)."""

from django.db import migrations

INDEXES = (("audit_data_trgm", "UPPER((data)::text)"), ("audit_summary_trgm", "UPPER((summary)::text)"))


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expr in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON common_auditevent USING gin (({expr}) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _expr in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("common", "0006_auditevent_business_date")]
    operations = [migrations.RunPython(forwards, backwards)]
