"""PostgreSQL only: open instalments keyed by (company, currency, open amount, id), for the forecast drill-down
(issue 13).

``/forecast/items/`` lists a bar's open items largest first (its default order) fifty at a time. The first week
holds everything already overdue: ~850,000 of ~1 M open items at 100,000 customers, which PostgreSQL read whole
and top-N sorted for one page (0.66 s serially, docs/PERFORMANCE.md). Walked backwards, this index gives the
page in order and stops after it; the bucket's other conditions (document date, due date, customer) are read
from the index too. Keyed by currency because the drill-down lists one currency.

Raw SQL outside Django's model state, like ledger 0018 (``instalment_open_issued``): on SQLite (no ``INCLUDE``)
it is not made. In the prediction app, not the ledger's, because only the drill-down reads it; it names the
ledger's table and depends on the ledger's last migration so that the table exists.
"""

from django.db import migrations

NAME = "instalment_open_amount"
INCLUDE = ("document_date", "due_date", "customer_id", "salesperson_id", "last_allocated_on")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_instalment (company_id, currency, open_amount, id) "
            f"INCLUDE ({', '.join(INCLUDE)}) WHERE open_amount > 0"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("prediction", "0005_item_prediction_fewer_checks"),
        ("ledger", "0019_open_by_customer"),
    ]

    operations = [migrations.RunPython(forward, backward)]
