"""PostgreSQL only: open instalments keyed by customer (covering), and the allocation lookup as a function the
planner may run in parallel workers (issue 19: the first view of a past date's aging by customer).

The aging by customer as of a date groups ~1 M open instalments by customer. Read from
``instalment_open_cover`` (keyed by due date) they had to be sorted by customer first — an external sort of
~40 MB, about a third of the statement. Read in customer order from this index, the open part is grouped as
it streams (``ledger.aging.grouped_sql`` groups that part on its own), and the scan can be split among parallel
workers (partial group aggregates merged in customer order).

The rare "paid partly before the date, partly after" lookup (``SUM`` of the instalment's allocations up to the
date) was a correlated sub-select, which PostgreSQL never runs in a parallel worker: one such sub-plan in the
statement kept the whole aggregate on one core. ``ledger_allocated_upto`` is the same sub-select as a
``PARALLEL SAFE`` function (plpgsql, so it is not inlined back into a sub-plan).

Raw SQL, outside the model state, as in 0018; SQLite has ``insight_open_cover`` keyed by customer already.
Cost: one more index entry to maintain per change of an open instalment (docs/PERFORMANCE.md).
"""

from django.db import migrations

NAME = "instalment_open_customer"
INCLUDE = ("document_date", "due_date", "amount", "open_amount", "disputed_amount", "first_allocated_on",
           "last_allocated_on", "reversed_on", "plan_from", "salesperson_id", "document_id", "id")
FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_allocated_upto(inst bigint, upto date) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT COALESCE(SUM(a.amount), 0) FROM ledger_allocation a WHERE a.instalment_id = inst AND a.date <= upto);
END
$$
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON ledger_instalment (company_id, customer_id) "
            f"INCLUDE ({', '.join(INCLUDE)}) WHERE open_amount > 0"
        )
        schema_editor.execute(FUNCTION)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")
        schema_editor.execute("DROP FUNCTION IF EXISTS ledger_allocated_upto(bigint, date)")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0018_instalment_open_issued"),
    ]

    operations = [migrations.RunPython(forward, backward)]
