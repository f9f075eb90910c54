"""The aging's running sums by due date (``AgingFlow``, issue 19): kept by triggers on PostgreSQL, filled here.

An instalment counts, as of a date X, from its birth ``b`` (its document date, or a payment plan's start when
later) until its document is reversed (``reversed_on``, never when NULL), by

    amount  (+ what a payment plan took over, while X is before ``replaced_on``)  − its allocations dated ≤ X

(``ledger.aging._base_sql``). As dated changes of the open amount of its due date:
  * +amount at b, −amount at the reversal;
  * +replaced_amount at b and −replaced_amount at the replacement (or the reversal, if earlier), when the plan
    replaced it after b;
  * each allocation: −amount on the later of its date and b, +amount back at the reversal;
nothing at all when the document was reversed on or before b. The triggers add, for every statement, the
difference the statement made to these changes: the changes of the new rows minus those of the old ones —
for an instalment whose due date, birth or reversal moved, its allocations' changes too. Rows are only
inserted (no upsert: no row lock shared by two writers, no deadlock); ``ledger.aging.compact_flow`` merges them.

An allocation's change is computed from its instalment's row as it is when the allocation is written; the
trigger locks that row first (``FOR NO KEY UPDATE``, as the ledger's services already do), so a concurrent
reversal of the same instalment either sees the allocation or is seen by it.

PostgreSQL only (statement-level triggers with transition tables); on SQLite the table stays empty.
"""

from django.db import migrations, models

# what the changes of an instalment depend on (besides its allocations)
OWN = ("company_id", "due_date", "document_date", "plan_from", "amount", "replaced_on", "replaced_amount",
       "reversed_on")
# what its allocations' changes depend on
ALLOC = ("company_id", "due_date", "document_date", "plan_from", "reversed_on")


def birth(t: str) -> str:
    return f"GREATEST({t}.document_date, {t}.plan_from)"


def own_events(rows: str, sign: str) -> str:
    """(company_id, due_date, day, amount) of the instalments ``rows`` (alias t) times ``sign`` ('' or '-')."""
    b = birth("t")
    taken = f"CASE WHEN t.replaced_on > {b} THEN COALESCE(t.replaced_amount, 0) ELSE 0 END"
    return f"""
        SELECT t.company_id, t.due_date, e.day, e.amount FROM {rows} t
        CROSS JOIN LATERAL (VALUES ({b}, {sign}(t.amount + {taken})), (t.reversed_on, -({sign}t.amount)),
                                   (CASE WHEN t.replaced_on > {b} THEN LEAST(t.replaced_on, t.reversed_on) END,
                                    -({sign}COALESCE(t.replaced_amount, 0)))) e(day, amount)
        WHERE (t.reversed_on IS NULL OR t.reversed_on > {b}) AND e.day IS NOT NULL AND e.amount <> 0"""


def alloc_events(rows: str, allocations: str, sign: str) -> str:
    """The changes of the ``allocations`` (alias a) of the instalments ``rows`` (alias t), times ``sign``."""
    start = f"GREATEST(a.date, {birth('t')})"
    return f"""
        SELECT t.company_id, t.due_date, e.day, e.amount FROM {rows} t JOIN {allocations} a ON a.instalment_id = t.id
        CROSS JOIN LATERAL (VALUES ({start}, -({sign}a.amount)), (t.reversed_on, {sign}a.amount)) e(day, amount)
        WHERE (t.reversed_on IS NULL OR {start} < t.reversed_on) AND e.day IS NOT NULL"""


def summed(*parts: str) -> str:
    """The changes of ``parts`` added up per company, due date and day (``ledger.checks`` compares with it)."""
    return (f"SELECT company_id, due_date, day, SUM(amount) AS amount FROM ({' UNION ALL '.join(parts)}) ev "
            f"GROUP BY company_id, due_date, day HAVING SUM(amount) <> 0")


def insert(*parts: str) -> str:
    return f"INSERT INTO ledger_agingflow (company_id, due_date, day, amount) {summed(*parts)}"


def changed(cols) -> str:
    return f"({', '.join(f'n.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'o.{c}' for c in cols)})"


MOVED_NEW = f"(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed(OWN)})"
MOVED_OLD = f"(SELECT o.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed(OWN)})"
SHIFTED_NEW = f"(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed(ALLOC)})"
SHIFTED_OLD = f"(SELECT o.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed(ALLOC)})"

FUNCTIONS = {
    "ledger_agingflow_instalment_ins": insert(own_events("new_rows", "")),
    "ledger_agingflow_instalment_upd": insert(
        own_events(MOVED_NEW, ""), own_events(MOVED_OLD, "-"),
        alloc_events(SHIFTED_NEW, "ledger_allocation", ""), alloc_events(SHIFTED_OLD, "ledger_allocation", "-")),
    "ledger_agingflow_instalment_del": insert(own_events("old_rows", "-"),
                                              alloc_events("old_rows", "ledger_allocation", "-")),
}
TRIGGERS = [  # (trigger, table, event, transition tables, function)
    ("ledger_agingflow_ins", "ledger_instalment", "INSERT", "NEW TABLE AS new_rows", "ledger_agingflow_instalment_ins"),
    ("ledger_agingflow_upd", "ledger_instalment", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "ledger_agingflow_instalment_upd"),
    ("ledger_agingflow_del", "ledger_instalment", "DELETE", "OLD TABLE AS old_rows", "ledger_agingflow_instalment_del"),
    ("ledger_agingflow_alloc", "ledger_allocation", "INSERT", "NEW TABLE AS new_rows", "ledger_agingflow_allocation_ins"),
]
ALLOCATION_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_agingflow_allocation_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the instalment's row as it is now and as it stays until this transaction ends (see the module's note)
    PERFORM 1 FROM ledger_instalment i WHERE i.id IN (SELECT instalment_id FROM new_rows) ORDER BY i.id
        FOR NO KEY UPDATE;
    {insert(alloc_events("ledger_instalment", "new_rows", ""))};
    RETURN NULL;
END $$"""

# the instalments whose disputed part the totals compute from the rows (``ledger.aging.flow_arms``): disputed, or
# with a reversed allocation
INDEXES = {
    "instalment_disputed": "CREATE INDEX IF NOT EXISTS instalment_disputed ON ledger_instalment (company_id) "
                           "WHERE disputed_amount > 0",
    "allocation_reversal": "CREATE INDEX IF NOT EXISTS allocation_reversal ON ledger_allocation (company_id) "
                           "INCLUDE (instalment_id) WHERE amount < 0",
}
FILL = insert(own_events("ledger_instalment", ""), alloc_events("ledger_instalment", "ledger_allocation", ""))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, body in FUNCTIONS.items():
        schema_editor.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              f"BEGIN {body}; RETURN NULL; END $$")
    schema_editor.execute(ALLOCATION_FUNCTION)
    for trigger, table, event, transition, function in TRIGGERS:
        schema_editor.execute(f"CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING {transition} "
                              f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    for sql in INDEXES.values():
        schema_editor.execute(sql)
    schema_editor.execute(FILL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for trigger, table, _event, _transition, _function in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for name in [*FUNCTIONS, "ledger_agingflow_allocation_ins"]:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("ledger", "0019_open_by_customer"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgingFlow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("due_date", models.DateField()),
                ("day", models.DateField()),
                ("amount", models.BigIntegerField()),
                ("company", models.ForeignKey(db_constraint=False, on_delete=models.deletion.DO_NOTHING,
                                              related_name="+", to="accounts.company")),
            ],
            options={
                "indexes": [models.Index(fields=["company", "day"], include=("due_date", "amount"),
                                         name="agingflow_company_day")],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
