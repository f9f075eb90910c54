"""PostgreSQL only: ``ledger_sum_bigint(bigint)``, a sum aggregate whose state is a plain BIGINT (issue 19).

``SUM(bigint)`` accumulates in a 128-bit state and returns ``numeric``. The aging by customer (``ledger.aging.
grouped_sql``) sums eight columns of ~1 M open instalments into ~100,000 customers' rows, in parallel workers: each
worker's partial group carries eight such states, serialized to the leader and read back, added up, turned into
``numeric`` and cast back to ``BIGINT`` per customer. With ``int8pl`` as both the step and the combine function the
partial states are BIGINTs passed as they are: on a bench clone (100,000 customers, ~1 M open items; load 10–11, so
CPU only) the full report's statement took 0.32 → 0.24 s of the leader's CPU and 0.39 → 0.36 s of its two workers'
(docs/PERFORMANCE.md).

Same result as ``CAST(SUM(x) AS BIGINT)``: NULL over no row, the exact sum otherwise; a sum beyond the BIGINT range
(±9.2 × 10^16 yuan) is an error in both ("bigint out of range"), here possibly already at a partial sum. SQLite keeps
``SUM`` (its integers are 64-bit and its sums exact or an error already).
"""

from django.db import migrations

CREATE = ("CREATE AGGREGATE ledger_sum_bigint(bigint) "
          "(SFUNC = int8pl, STYPE = bigint, COMBINEFUNC = int8pl, PARALLEL = SAFE)")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP AGGREGATE IF EXISTS ledger_sum_bigint(bigint)")
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP AGGREGATE IF EXISTS ledger_sum_bigint(bigint)")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0020_aging_flow"),
    ]

    operations = [migrations.RunPython(forward, backward)]
