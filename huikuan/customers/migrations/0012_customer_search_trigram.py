"""Trigram indexes for customer search by substring (issue 19; huikuan/customers/search.py).

PostgreSQL: the pg_trgm extension and a GIN index over the joined search text. SQLite: an FTS5 table with
the trigram tokenizer over the same fields, external content (customers_customer) kept in sync by
triggers, filled once here. Neither is in Django's model state: a later migration that rebuilds
customers_customer on SQLite (Django's _remake_table) drops the triggers — customers/tests/test_search.py
fails if they are missing.
"""

from django.db import migrations

from huikuan.customers.search import FTS_TABLE, SEARCH_FIELDS, search_text_sql

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (({search_text_sql()}) gin_trgm_ops)",
]
PG_BACKWARD = ["DROP INDEX IF EXISTS customer_search_trgm"]

_COLS = ", ".join(SEARCH_FIELDS)
_NEW = ", ".join(f"new.{c}" for c in SEARCH_FIELDS)
_OLD = ", ".join(f"old.{c}" for c in SEARCH_FIELDS)
SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_COLS}, content='customers_customer', content_rowid='id', "
    "tokenize='trigram')",
    f"""CREATE TRIGGER {FTS_TABLE}_ins AFTER INSERT ON customers_customer BEGIN
          INSERT INTO {FTS_TABLE} (rowid, {_COLS}) VALUES (new.id, {_NEW});
        END""",
    f"""CREATE TRIGGER {FTS_TABLE}_del AFTER DELETE ON customers_customer BEGIN
          INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD});
        END""",
    # only when a searched field changes: balances and versions move on every posting
    f"""CREATE TRIGGER {FTS_TABLE}_upd AFTER UPDATE OF {_COLS} ON customers_customer BEGIN
          INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD});
          INSERT INTO {FTS_TABLE} (rowid, {_COLS}) VALUES (new.id, {_NEW});
        END""",
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ins",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_del",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_upd",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def _run(schema_editor, pg, sqlite):
    vendor = schema_editor.connection.vendor
    for sql in pg if vendor == "postgresql" else sqlite if vendor == "sqlite" else []:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, PG_BACKWARD, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_signed_statement_file_kind"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
