"""PostgreSQL only: open instalments keyed by document date, covering what the as-of aging reads (issue 19).

The aging as of a past date X reads the open instalments issued on or before X (``ledger.aging._base_sql``,
part A). ``instalment_open_cover`` is keyed by due date (dunning, worklist and KPI reads range over it), so
that part read every open instalment and filtered on ``document_date``: a year back, most open items were
issued after X. This index serves the range ``document_date <= X`` as an index-only scan.

Raw SQL, not in the model state, like insight's SQLite-only indexes: on SQLite (no ``INCLUDE``) the same index
without its covering columns would tempt the planner away from ``insight_open_cover`` into a row lookup per
instalment. A plain ``CREATE INDEX`` inside the migration's transaction, as the ledger's earlier indexes were
added (writes to ``ledger_instalment`` wait for it: ~9 s at 1 M open instalments under load, docs/PERFORMANCE.md).
"""

from django.db import migrations

NAME = "instalment_open_issued"
INCLUDE = ("due_date", "amount", "open_amount", "disputed_amount", "first_allocated_on", "last_allocated_on",
           "reversed_on", "plan_from", "customer_id", "salesperson_id", "document_id", "id")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_instalment (company_id, document_date) "
            f"INCLUDE ({', '.join(INCLUDE)}) WHERE open_amount > 0"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0017_audit_business_date_fill"),
    ]

    operations = [migrations.RunPython(forward, backward)]
