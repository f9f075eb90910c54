"""Bulk posting of receivable documents (imports of tens of thousands of rows).

``post_documents`` is ``services.post_document`` for many documents at once: the same checks (currency
of the customer's account, amounts at the currency's minor unit, payment terms of the company,
schedules summing exactly to the total, unique numbers), the same rows (document, instalments,
one debit ledger entry, one audit event per document) and the same balance update (customer open
amount with ``F()`` under the customer's row lock) — but written with ``bulk_create`` and one
balance UPDATE per customer instead of ~10 queries per document.

Locks: every customer of the batch, in pk order, before anything is written (the project-wide
order starts with the customer; new documents have no instalments anyone else could lock).
A refusal raises the same ``LedgerError`` subclasses as ``post_document`` with ``index`` (the
position of the offending input) in ``exc.params``; nothing of the batch is written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections, router, transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common.models import AuditEvent
from huikuan.common.money import ZERO, MoneyField, money_value, to_minor
from huikuan.common.numbering import next_number
from huikuan.customers.models import Customer, PaymentTerm

from . import calculations as calc
from .errors import CurrencyMismatch, DuplicateNumber, InvalidSchedule, LedgerError, WrongCustomer
from .models import DocumentKind, EntryKind, Instalment, LedgerEntry, ReceivableDocument
from .services import SERIES, ScheduleInput, _amount, proposed_schedule

BATCH = 1000


def _converter(field, connection):
    """Python value → database parameter for one column, chosen once per column (not per row)."""
    if isinstance(field, MoneyField):
        return lambda v: None if v is None else to_minor(v)
    internal = field.get_internal_type()
    if internal == "DateField":
        return connection.ops.adapt_datefield_value
    if internal == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if internal in ("JSONField", "DecimalField"):
        return lambda v: field.get_db_prep_save(v, connection)
    return lambda v: v


def _insert_rows(model, rows: list[dict], returning: tuple[str, ...] = ()) -> list[tuple]:
    """INSERT many rows with multi-row VALUES statements, skipping the ORM's per-row SQL compilation.

    ``rows`` map field attnames to Python values; every other concrete column gets its default
    (``auto_now_add`` columns get the current time). Only for append-only rows whose pks nobody
    needs back (instalments, ledger entries, audit events).
    """
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    converters = [_converter(f, connection) for f in fields]
    defaults = []
    for f in fields:
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            defaults.append(now)
        else:
            defaults.append(f.get_default())  # "" for text columns without a default, None if nullable
    qn = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(
        qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    )
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    if connection.vendor == "postgresql" and not returning:
        # COPY: no SQL text to parse per statement and no parameter limit (PostgreSQL only)
        copy_sql = "COPY {} ({}) FROM STDIN".format(qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields))
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([conv(row.get(f.attname, default))
                                for f, conv, default in zip(fields, converters, defaults, strict=True)])
        return []
    # multi-row VALUES: one round trip per statement (executemany is one per row on PostgreSQL)
    per_statement = max(1, min(500, (connection.features.max_query_params or 999) // len(fields)))
    tail = (" RETURNING " + ", ".join(qn(c) for c in returning)) if returning else ""
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [
                conv(row.get(f.attname, default))
                for row in chunk
                for f, conv, default in zip(fields, converters, defaults, strict=True)
            ]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
            if returning:
                out.extend(cursor.fetchall())
    return out


@dataclass(frozen=True)
class _Posted:
    pk: int
    number: str


@dataclass(frozen=True)
class DocumentInput:
    customer_id: int
    document_date: dt.date
    total: Decimal
    number: str = ""
    kind: str = DocumentKind.INVOICE
    currency: str | None = None
    payment_term_id: int | None = None
    schedule: Sequence[ScheduleInput] | None = None
    reference: str = ""
    description: str = ""
    external_source: str = ""
    external_key: str = ""


def _refuse(exc_class, message, index: int, field: str):
    return exc_class(message, field=field, index=index)


def _write_chunk(*, company, actor, plans, open_delta) -> list[_Posted]:
    """Insert one chunk of validated documents with their instalments, entries and audit events."""
    returned = _insert_rows(ReceivableDocument, [
        {
            "company_id": company.pk, "customer_id": customer.pk, "kind": d.kind, "number": number,
            "document_date": d.document_date, "currency": currency, "total_amount": total,
            "salesperson_id": customer.owner_id, "payment_term_id": term.pk if term else None,
            "reference": d.reference, "description": d.description, "external_source": d.external_source,
            "external_key": d.external_key, "created_by_id": getattr(actor, "pk", None), "request_key": None,
        }
        for d, customer, currency, total, term, parts, number in plans
    ], returning=("number", "id"))
    # mapped by number, so the order RETURNING yields rows in does not matter
    numbers = [plan[6] for plan in plans]
    pks = dict(returned)
    docs = [_Posted(pk=pks[number], number=number) for number in numbers]
    instalments, entries, events = [], [], []
    kind_labels = {k: str(label) for k, label in DocumentKind.choices}
    actor_id = getattr(actor, "pk", None)
    target_type = ReceivableDocument._meta.label_lower
    for doc, (d, customer, currency, total, _term, parts, number) in zip(docs, plans, strict=True):
        for p in parts:
            instalments.append({
                "company_id": company.pk, "customer_id": customer.pk, "document_id": doc.pk, "seq": p.seq,
                "document_date": d.document_date, "due_date": p.due_date, "amount": p.amount, "open_amount": p.amount,
                "discount_amount": p.discount_amount, "discount_date": p.discount_date,
                "salesperson_id": customer.owner_id, "currency": currency,
            })
        entries.append({
            "company_id": company.pk, "customer_id": customer.pk, "date": d.document_date, "kind": EntryKind.DOCUMENT,
            "debit_amount": total, "credit_amount": ZERO, "document_id": doc.pk, "credit_id": None,
            "summary": str(d.description or kind_labels[d.kind])[:200],
        })
        events.append({
            "actor_id": actor_id, "verb": "ledger.document.posted", "target_type": target_type, "target_id": doc.pk,
            "company_id": company.pk, "customer_id": customer.pk, "summary": f"{number} {total} {currency}"[:300],
            "data": {"total": str(total), "kind": d.kind, "bulk": True,
                     "instalments": [[p.due_date.isoformat(), str(p.amount)] for p in parts]},
        })
        open_delta[customer.pk] += total
    _insert_rows(Instalment, instalments)
    _insert_rows(LedgerEntry, entries)
    _insert_rows(AuditEvent, events)
    return docs


def _post_documents(*, company, documents: Sequence[DocumentInput], actor, progress=None) -> list[_Posted]:
    if not documents:
        return []
    customer_ids = sorted({d.customer_id for d in documents})
    customers: dict[int, Customer] = {}
    for i in range(0, len(customer_ids), BATCH):
        chunk = customer_ids[i : i + BATCH]
        for c in Customer.objects.select_for_update().filter(company=company, pk__in=chunk).order_by("pk"):
            customers[c.pk] = c
    terms = {t.pk: t for t in PaymentTerm.objects.filter(company=company)}
    wanted = [d.number.strip() for d in documents if d.number.strip()]
    taken: set[str] = set()
    for i in range(0, len(wanted), BATCH):
        taken.update(ReceivableDocument.objects.filter(company=company, number__in=wanted[i : i + BATCH])
                     .values_list("number", flat=True))

    plans = []
    seen: set[str] = set()
    for index, d in enumerate(documents):
        customer = customers.get(d.customer_id)
        if customer is None:
            raise _refuse(WrongCustomer, _("Unknown customer."), index, "customer")
        currency = d.currency or customer.currency
        if currency != customer.currency:
            raise _refuse(CurrencyMismatch, _("This customer's account is kept in %(currency)s.")
                          % {"currency": customer.currency}, index, "currency")
        if d.kind not in DocumentKind.values:
            raise _refuse(LedgerError, _("Unknown document kind."), index, "kind")
        try:
            total = _amount(d.total, currency, field="total")
        except LedgerError as exc:
            exc.params["index"] = index
            raise
        term = None
        if d.payment_term_id:
            term = terms.get(d.payment_term_id)
            if term is None:
                raise _refuse(LedgerError, _("Unknown payment terms."), index, "payment_term")
        elif customer.payment_term_id:
            term = terms.get(customer.payment_term_id)
        if d.schedule:
            parts = []
            for seq, s in enumerate(d.schedule, start=1):
                try:
                    amount = _amount(s.amount, currency, field="schedule")
                    discount = _amount(s.discount_amount or ZERO, currency, field="schedule", allow_zero=True)
                except LedgerError as exc:
                    exc.params["index"] = index
                    raise
                if discount >= amount:
                    raise _refuse(InvalidSchedule, _("A discount must be smaller than its instalment."), index, "schedule")
                parts.append(calc.ScheduleLine(seq, s.due_date, amount, discount, s.discount_date if discount else None))
            if sum((p.amount for p in parts), ZERO) != total:
                raise _refuse(InvalidSchedule, _("The instalments add up to %(sum)s, not the document total %(total)s.")
                              % {"sum": sum((p.amount for p in parts), ZERO), "total": total}, index, "schedule")
        else:
            parts = proposed_schedule(company=company, total=total, document_date=d.document_date, term=term,
                                      currency=currency)
        number = d.number.strip()
        if number and (number in taken or number in seen):
            raise _refuse(DuplicateNumber, _("Document number %(number)s already exists.") % {"number": number},
                          index, "number")
        if not number:
            number = next_number(company_id=company.pk, series=SERIES[d.kind], year=d.document_date.year)
        seen.add(number)
        plans.append((d, customer, currency, total, term, parts, number))

    open_delta: dict[int, Decimal] = defaultdict(lambda: ZERO)
    posted: list[_Posted] = []
    for start in range(0, len(plans), BATCH):
        chunk = plans[start : start + BATCH]
        posted.extend(_write_chunk(company=company, actor=actor, plans=chunk, open_delta=open_delta))
        if progress is not None:
            progress(start + len(chunk), len(plans))
    deltas = sorted(open_delta.items())
    for start in range(0, len(deltas), 500):
        chunk = deltas[start : start + 500]
        Customer.objects.filter(pk__in=[cid for cid, _d in chunk]).update(
            open_amount=F("open_amount") + Case(*[When(pk=cid, then=money_value(delta)) for cid, delta in chunk],
                                                output_field=MoneyField()),
            version=F("version") + 1,
        )
    return posted


@transaction.atomic(durable=True)
def post_documents(*, company, documents: Sequence[DocumentInput], actor, progress=None) -> list[_Posted]:
    """Post many receivable documents in one transaction, all or none (see the module docstring).

    Returns (pk, number) of each posted document, in input order.

    Amounts in the customer's currency at its minor unit; dates are business dates. Raises
    WrongCustomer, CurrencyMismatch, InvalidAmount, InvalidSchedule, DuplicateNumber or LedgerError
    with ``params["index"]`` naming the offending input. ``progress(done, total)`` is called after
    each chunk of rows is written. Each customer's balance is updated once, after all chunks.
    """
    return _post_documents(company=company, documents=documents, actor=actor, progress=progress)
