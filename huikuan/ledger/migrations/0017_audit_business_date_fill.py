"""The business date of every posting's audit event recorded before events carried it (common 0006).

Audit events are append-only: this one migration lifts the guard for its own statements — on PostgreSQL the
row trigger is disabled and re-enabled inside the migration's transaction (the table owner may; no superuser
needed), on SQLite the UPDATE trigger is dropped and re-created from its stored SQL — and writes only the new,
empty column, from the posted document's date or the credit's date. Nothing an event already said changes.
"""

from django.db import migrations

# (verbs, the events' target type, the target's table and its business date column)
SOURCES = (
    (("ledger.document.posted",), "ledger.receivabledocument", "ledger_receivabledocument", "document_date"),
    (("ledger.payment.recorded", "ledger.credit_note.issued"), "ledger.credit", "ledger_credit", "date"),
)


def forwards(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    with schema_editor.connection.cursor() as cur:
        if pg:
            cur.execute("ALTER TABLE common_auditevent DISABLE TRIGGER common_auditevent_append_only")
            for verbs, target_type, table, column in SOURCES:
                cur.execute(
                    f"UPDATE common_auditevent e SET business_date = t.{column} FROM {table} t "
                    f"WHERE e.verb IN ({', '.join(['%s'] * len(verbs))}) AND e.target_type = %s "
                    f"AND t.id = e.target_id AND e.business_date IS NULL",
                    [*verbs, target_type],
                )
            cur.execute("ALTER TABLE common_auditevent ENABLE TRIGGER common_auditevent_append_only")
            return
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'common_auditevent' "
            "AND name GLOB '*_append_only_upd'"
        )
        guards = cur.fetchall()
        for name, _sql in guards:
            cur.execute(f'DROP TRIGGER "{name}"')
        for verbs, target_type, table, column in SOURCES:
            cur.execute(
                f"UPDATE common_auditevent SET business_date = (SELECT t.{column} FROM {table} t "
                f"WHERE t.id = common_auditevent.target_id) "
                f"WHERE verb IN ({', '.join(['%s'] * len(verbs))}) AND target_type = %s "
                f"AND business_date IS NULL",
                [*verbs, target_type],
            )
        for _name, sql in guards:
            cur.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0006_auditevent_business_date"),
        ("ledger", "0016_instalment_due_before_doc_index"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
