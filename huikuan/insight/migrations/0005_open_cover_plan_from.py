"""SQLite only: the covering index of open instalments (0003) also carries ``plan_from``, which the as-of
aging now reads (a payment plan's new instalment does not count before the plan: ledger 0012), so the open
part stays an index-only scan. Raw SQL like 0003 (``insight/tests/test_sqlite_schema.py`` checks it)."""

from django.db import migrations

NAME = "insight_open_cover"
COLUMNS = ("company_id", "customer_id", "due_date", "document_date", "amount", "open_amount", "disputed_amount",
           "first_allocated_on", "last_allocated_on", "reversed_on", "salesperson_id", "document_id", "plan_from")
OLD = COLUMNS[:-1]


def _create(schema_editor, columns):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")
    schema_editor.execute(f"CREATE INDEX {NAME} ON ledger_instalment ({', '.join(columns)}) WHERE open_amount > 0")
    schema_editor.execute(f"ANALYZE {NAME}")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _create(schema_editor, COLUMNS)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _create(schema_editor, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("insight", "0004_aging_past_dates"),
        ("ledger", "0012_plans_keep_the_past"),
    ]

    operations = [migrations.RunPython(forward, backward)]
