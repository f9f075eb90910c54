"""Append-only on both databases: audit events, ledger entries and allocations can be neither changed nor
deleted — through the ORM or raw SQL — and the tables cannot be emptied (TRUNCATE on PostgreSQL; on SQLite
the unfiltered DELETE that stands in for it). Corrections are reversal rows (tested in test_services)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, connection, transaction

from huikuan.common import audit
from huikuan.common.models import AuditEvent
from huikuan.ledger import services as s
from huikuan.ledger.models import Allocation, LedgerEntry

pytestmark = pytest.mark.django_db

TABLES = ("common_auditevent", "ledger_ledgerentry", "ledger_allocation")


@pytest.fixture
def rows(company, customer, finance):
    """One row in each guarded table: an invoice (entry), a payment applied to it (entry, allocation)."""
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10.00"),
                    actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("4.00"), date=dt.date(2026, 1, 6), actor=finance)
    return {"common_auditevent": AuditEvent.objects.latest("pk"), "ledger_ledgerentry": LedgerEntry.objects.latest("pk"),
            "ledger_allocation": Allocation.objects.get()}


def _refused(sql, params=()):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":  # the test's own inserts leave deferred FK checks pending
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(sql, params)


@pytest.mark.parametrize("table", TABLES)
def test_raw_update_and_delete_are_refused(rows, table):
    row = rows[table]
    column = {"common_auditevent": "summary", "ledger_ledgerentry": "summary", "ledger_allocation": "is_manual"}[table]
    value = True if table == "ledger_allocation" else "tampered"
    _refused(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, row.pk])
    _refused(f"DELETE FROM {table} WHERE id = %s", [row.pk])
    row.refresh_from_db()
    assert getattr(row, column) != value


@pytest.mark.parametrize("table", TABLES)
def test_the_tables_cannot_be_emptied(rows, table):
    before = type(rows[table]).objects.count()
    if connection.vendor == "postgresql":
        _refused(f"TRUNCATE {table} CASCADE")
    else:  # SQLite has no TRUNCATE; an unfiltered DELETE is its truncate fast path
        _refused(f"DELETE FROM {table}")
    assert type(rows[table]).objects.count() == before


def test_the_orm_refuses_too(rows):
    alloc, entry = rows["ledger_allocation"], rows["ledger_ledgerentry"]
    for attempt in (
        alloc.save, alloc.delete, entry.save, entry.delete,
        lambda: Allocation.objects.filter(pk=alloc.pk).update(amount=D("1.00")),
        lambda: Allocation.objects.all().delete(),
        lambda: LedgerEntry.objects.filter(pk=entry.pk).update(summary="x"),
        lambda: LedgerEntry.objects.all().delete(),
        lambda: Allocation.objects.bulk_update([alloc], ["amount"]),
    ):
        with pytest.raises(RuntimeError, match="append-only"), transaction.atomic():
            attempt()
    assert Allocation.objects.get(pk=alloc.pk).amount == D("4.00")


def test_orm_refuses_to_update_or_delete_audit_events(company, finance):
    ev = audit.record(actor=finance, verb="test.event", target=company, summary="original")
    ev.summary = "tampered"
    for attempt in (
        ev.save,
        ev.delete,
        lambda: AuditEvent.objects.filter(pk=ev.pk).update(summary="tampered"),
        lambda: AuditEvent.objects.filter(pk=ev.pk).delete(),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.bulk_update([ev], ["summary"]),
    ):
        # (a savepoint each: bulk_update fails inside its own atomic block)
        with pytest.raises(RuntimeError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get(pk=ev.pk).summary == "original"


def test_reversal_adds_rows_and_changes_none(rows, company, finance):
    """The service path still works with the guards: a reversal is a new negative allocation."""
    alloc = rows["ledger_allocation"]
    s.reverse_allocation(company=company, allocation_id=alloc.pk, actor=finance, on=dt.date(2026, 1, 7), reason="wrong")
    assert list(Allocation.objects.order_by("pk").values_list("amount", "reverses_id")) == [(D("4.00"), None),
                                                                                            (D("-4.00"), alloc.pk)]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite schema objects")
def test_sqlite_guard_triggers_exist():
    """Raw SQL unknown to Django's model state: a migration that rebuilds one of these tables on SQLite would
    drop its triggers silently. This notices."""
    with connection.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {r[0] for r in cur.fetchall()}
    assert {f"{t}_append_only_{op}" for t in TABLES for op in ("upd", "del")} <= names


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL schema objects")
def test_postgres_guard_triggers_exist():
    with connection.cursor() as cur:
        cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        names = {r[0] for r in cur.fetchall()}
    assert {"common_auditevent_append_only", "ledger_ledgerentry_append_only", "ledger_allocation_append_only",
            *(f"{t}_no_truncate" for t in TABLES)} <= names
