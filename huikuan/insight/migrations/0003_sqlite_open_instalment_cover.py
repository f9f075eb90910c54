"""SQLite only: a covering partial index of open instalments for the as-of aging.

PostgreSQL's ``instalment_open_cover`` carries the aging's columns as ``INCLUDE`` columns, which SQLite
does not have (Django builds it there as a plain ``(company_id, due_date)`` partial index, so every one
of ~1,000,000 open instalments costs a table lookup). SQLite reads an index as covering when every column
a query uses is a key column, so this index lists them all — customer first, so that the live recompute
of changed customers (``insight.aging``) and per-customer readers seek into it instead of scanning it.
The aging's open part becomes an index-only scan (docs/PERFORMANCE.md, "SQLite at full scale").

Raw SQL, so Django's model state does not know the index (nor the triggers of 0002): a later migration
that rebuilds ``ledger_instalment`` on SQLite (``_remake_table``) would drop both;
``insight/tests/test_sqlite_schema.py`` fails when that happens.
"""

from django.db import migrations

NAME = "insight_open_cover"
COLUMNS = ("company_id", "customer_id", "due_date", "document_date", "amount", "open_amount", "disputed_amount",
           "first_allocated_on", "last_allocated_on", "reversed_on", "salesperson_id", "document_id")
CREATE = f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_instalment ({', '.join(COLUMNS)}) WHERE open_amount > 0"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)
        schema_editor.execute(f"ANALYZE {NAME}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("insight", "0002_customer_aging"),
        ("ledger", "0008_credit_company_date"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
