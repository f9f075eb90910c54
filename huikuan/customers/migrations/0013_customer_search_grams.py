"""One or two Chinese characters searched through an index on PostgreSQL (issue 19; customers/search.py):
a GIN index over the array of one- and two-character pieces of code, name and short name. Nothing on
SQLite (its FTS5 trigram table needs three characters)."""

from django.db import migrations

from huikuan.customers.search import GRAMS_FUNCTION, grams_sql

PG_FORWARD = [
    GRAMS_FUNCTION,
    f"CREATE INDEX IF NOT EXISTS customer_search_grams ON customers_customer USING gin (({grams_sql()}))",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS customer_search_grams",
    "DROP FUNCTION IF EXISTS customer_search_grams(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in PG_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in PG_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_customer_search_trigram"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
