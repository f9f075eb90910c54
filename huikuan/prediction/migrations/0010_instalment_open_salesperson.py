"""PostgreSQL only: open instalments keyed by (company, currency, salesperson, id), for the forecast drill-down sorted
by salesperson (issue 13).

Sorted by salesperson, a week of ~62,000 items was joined whole to its instalments, customers and users and sorted
for a page (0.6 s at 100,000 customers, docs/PERFORMANCE.md). The list's order is the salesperson's name, then the
instalment: so each salesperson's items, walked along this index in id order, come in the page's order, and the page
is the first salespeople's first items (``forecast_items.SalespersonPages``); a salesperson without items is one
index probe. Raw SQL outside Django's model state, like 0006 (``instalment_open_amount``): not made on SQLite.
"""

from django.db import migrations

NAME = "instalment_open_salesperson"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_instalment (company_id, currency, salesperson_id, id) "
            f"INCLUDE (document_date, customer_id) WHERE open_amount > 0"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("prediction", "0009_item_prediction_date_order_due"),
    ]

    operations = [migrations.RunPython(forward, backward)]
