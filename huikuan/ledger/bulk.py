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

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common.models import AuditEvent, NumberSequence
from huikuan.common.money import ZERO, MoneyField, money_value, to_minor
from huikuan.common.numbering import next_number
from huikuan.customers.models import Customer, PaymentTerm

from . import calculations as calc
from . import periods
from .errors import (
    CurrencyMismatch,
    DuplicateNumber,
    InvalidSchedule,
    LedgerError,
    TermsBeyondGrade,
    WrongCustomer,
)
from .models import (
    Allocation,
    BillStatus,
    ChequeStatus,
    Credit,
    CreditKind,
    DocumentKind,
    EntryKind,
    Instalment,
    LedgerEntry,
    Method,
    ReceivableDocument,
)
from .services import (
    BILL_METHODS,
    SERIES,
    ScheduleInput,
    _amount,
    _bill_taken_error,
    _validate_bill,
    check_payment_date,
    document_terms_problem,
    live_bills,
    normalise_bill_number,
    proposed_schedule,
    today_of,
)

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


def insert_rows(model, rows: list[dict], with_pk: bool = False) -> None:
    """INSERT many append-only rows without the ORM's per-row objects and SQL compilation.

    ``rows`` map field attnames to Python values (a key missing from a row: the column's default); every
    other concrete column gets its default (``auto_now_add`` / ``auto_now`` columns the current time),
    converted once for the whole call, not once per row. Only for rows whose pks nobody needs back (instalments, ledger entries,
    audit events, facts), or whose pks were reserved beforehand (``with_pk``, see ``_reserve_ids``).
    PostgreSQL: COPY (no SQL text per row, no parameter limit). SQLite: one prepared single-row INSERT
    bound to every row (``executemany``): the statement is compiled once, and the driver's ``%s`` → ``?``
    rewrite runs once instead of over a 500-row VALUES list per statement.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    given = set().union(*(row.keys() for row in rows))  # a key some rows lack: their default
    varying, constant = [], []  # (field, converter, default) of the columns the rows carry / do not carry
    for f in model._meta.concrete_fields:
        if f.primary_key and not with_pk:
            continue
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            default = now
        else:
            default = f.get_default()  # "" for text columns without a default, None if nullable
        (varying if f.attname in given else constant).append((f, _converter(f, connection), default))
    fixed = tuple(conv(default) for _f, conv, default in constant)
    columns = [f.column for f, _c, _d in (*varying, *constant)]
    plan = [(f.attname, conv, default) for f, conv, default in varying]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)

    def values(row):
        return (*(conv(row.get(name, default)) for name, conv, default in plan), *fixed)

    if connection.vendor == "postgresql":
        copy_sql = "COPY {} ({}) FROM STDIN".format(table, ", ".join(qn(c) for c in columns))
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(values(row))
        return
    sql = "INSERT INTO {} ({}) VALUES ({})".format(table, ", ".join(qn(c) for c in columns),
                                                   ", ".join(["%s"] * len(columns)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, [values(row) for row in rows[start : start + 5000]])


_insert_rows = insert_rows


@dataclass(frozen=True, slots=True)
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
    ids = _reserve_ids(ReceivableDocument, len(plans))  # ascending, in input order (as one-by-one posting)
    _insert_rows(ReceivableDocument, [
        {
            "id": pk, "company_id": company.pk, "customer_id": customer.pk, "kind": d.kind, "number": number,
            "document_date": d.document_date, "currency": currency, "total_amount": total,
            "salesperson_id": customer.owner_id, "payment_term_id": term.pk if term else None,
            "reference": d.reference, "description": d.description, "external_source": d.external_source,
            "external_key": d.external_key, "created_by_id": getattr(actor, "pk", None), "request_key": None,
        }
        for pk, (d, customer, currency, total, term, parts, number) in zip(ids, plans, strict=True)
    ], with_pk=True)
    docs = [_Posted(pk=pk, number=plan[6]) for pk, plan in zip(ids, plans, strict=True)]
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
            "business_date": d.document_date,
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
    terms_memo: dict = {}  # the grade's terms limit per customer, read once for the batch
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
    lock = periods.lock_date(company.pk)
    kinds = set(DocumentKind.values)
    for index, d in enumerate(documents):
        if lock is not None and d.document_date <= lock:
            raise periods.closed_error(d.document_date, lock, field="document_date", index=index)
        customer = customers.get(d.customer_id)
        if customer is None:
            raise _refuse(WrongCustomer, _("Unknown customer."), index, "customer")
        currency = d.currency or customer.currency
        if currency != customer.currency:
            raise _refuse(CurrencyMismatch, _("This customer's account is kept in %(currency)s.")
                          % {"currency": customer.currency}, index, "currency")
        if d.kind not in kinds:
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
        own = not d.schedule and (not d.payment_term_id or d.payment_term_id == customer.payment_term_id)
        problem = document_terms_problem(customer=customer, document_date=d.document_date, parts=parts, own_terms=own,
                                         memo=terms_memo)
        if problem:
            raise _refuse(TermsBeyondGrade, problem, index, "schedule" if d.schedule else "payment_term")
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
    periods.check_open(company.pk, *{p[0].document_date for p in plans}, field="document_date")  # after the writes
    deltas = sorted(open_delta.items())
    for start in range(0, len(deltas), 500):
        chunk = deltas[start : start + 500]
        Customer.objects.filter(pk__in=[cid for cid, _d in chunk]).update(
            open_amount=F("open_amount") + Case(*[When(pk=cid, then=money_value(delta)) for cid, delta in chunk],
                                                output_field=MoneyField()),
            version=F("version") + 1, updated_at=timezone.now(),
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


# ---------------------------------------------------------------- payments


@dataclass(frozen=True, slots=True)  # slots: 100,000 of them are held during an import
class PaymentInput:
    customer_id: int
    amount: Decimal
    date: dt.date
    method: str = Method.TRANSFER
    currency: str | None = None
    number: str = ""
    reference: str = ""
    memo: str = ""
    bill_number: str = ""
    bill_acceptor: str = ""
    bill_maturity_date: dt.date | None = None
    external_source: str = ""
    external_key: str = ""
    # only this document's instalments (a settled invoice from a history import), oldest due first;
    # None: every open instalment of the customer, as ``record_payment``'s auto-allocation
    document_id: int | None = None


def check_bill(*, method: str, bill_number: str, bill_maturity_date: dt.date | None, date: dt.date,
               today: dt.date | None = None) -> None:
    """``record_payment``'s checks of one row: the date not after ``today`` when given (an import has no
    post-dated confirmation), and an acceptance bill's number and maturity (after the receipt date, within
    6 months); raises LedgerError with ``field``. Lets an import report them at preview."""
    if today is not None:
        check_payment_date(date, today=today)
    _validate_bill(method, normalise_bill_number(bill_number), bill_maturity_date, date)


def taken_bills(*, company_id: int, numbers: Sequence[str]) -> dict[str, str]:
    """{bill number: receipt number} for the given (normalised) acceptance-bill numbers the company already
    holds or held (``services.live_bills``), looked up in chunks."""
    found: dict[str, str] = {}
    numbers = sorted({n for n in numbers if n})
    for start in range(0, len(numbers), BATCH):
        found.update(live_bills(company_id).filter(bill_number__in=numbers[start : start + BATCH]).order_by()
                     .values_list("bill_number", "number"))
    return found


def _reserve_ids(model, count: int) -> list[int]:
    """``count`` new primary keys of ``model``, ascending, that no other insert will take.

    PostgreSQL: drawn from the column's sequence. SQLite: the import's IMMEDIATE transaction holds the
    database write lock, so the next AUTOINCREMENT values (above the table's maximum and its
    ``sqlite_sequence`` entry) are ours until COMMIT. Rows inserted with these ids keep the order in
    which ``record_payment`` would have created them (a payment, then its discount credits).
    """
    if count <= 0:
        return []
    connection = connections[router.db_for_write(model)]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), model._meta.pk.column, count])
            return sorted(r[0] for r in cursor.fetchall())
        if not connection.in_atomic_block:  # pragma: no cover - guarded by the durable caller
            raise RuntimeError("ids can only be reserved inside the writing transaction")
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(model._meta.pk.column)}) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        top = max(top, row[0] if row else 0)
        return list(range(top + 1, top + 1 + count))


def _reserve_numbers(*, company_id: int, series: str, year: int, count: int, width: int = 6) -> list[str]:
    """The next ``count`` numbers of a series, as ``count`` calls of ``next_number`` would give them."""
    if count <= 0:
        return []
    updated = NumberSequence.objects.filter(company_id=company_id, series=series, year=year).update(last=F("last") + count)
    if not updated:
        try:
            with transaction.atomic():
                NumberSequence.objects.create(company_id=company_id, series=series, year=year, last=count)
        except IntegrityError:  # created concurrently since the UPDATE: take the block after theirs
            NumberSequence.objects.filter(company_id=company_id, series=series, year=year).update(last=F("last") + count)
    last = NumberSequence.objects.get(company_id=company_id, series=series, year=year).last
    return [f"{series}-{year}-{n:0{width}d}" for n in range(last - count + 1, last + 1)]


def _update_instalments(changes: dict[int, list]) -> None:
    """One UPDATE per 500 instalments: open amount down by the allocated total (``F()``-style, under the
    row locks taken before), first/last allocation dates widened exactly as ``services._allocated_on``."""
    if not changes:
        return
    connection = connections[router.db_for_write(Instalment)]
    qn = connection.ops.quote_name
    t = qn(Instalment._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    if connection.vendor == "postgresql":
        one = "(%s::bigint, %s::bigint, %s::date, %s::date)"
    else:
        one = "(%s, %s, %s, %s)"
    first, last = f"{t}.{qn('first_allocated_on')}", f"{t}.{qn('last_allocated_on')}"
    head = (
        f"UPDATE {t} SET {qn('open_amount')} = {t}.{qn('open_amount')} - v.column2, "
        f"{qn('first_allocated_on')} = CASE WHEN {first} IS NULL OR {first} > v.column3 THEN v.column3 ELSE {first} END, "
        f"{qn('last_allocated_on')} = CASE WHEN {last} IS NULL OR {last} < v.column4 THEN v.column4 ELSE {last} END "
        "FROM (VALUES "
    )
    tail = f") AS v WHERE {t}.{qn('id')} = v.column1"
    items = sorted(changes.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            params = []
            for pk, (delta, lo, hi) in chunk:
                params += [pk, to_minor(delta), adapt(lo), adapt(hi)]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)
            # the documents' updated_at (API sync): an instalment's open amount is part of its document
            ReceivableDocument.objects.filter(
                pk__in=Instalment.objects.filter(pk__in=[pk for pk, _c in chunk]).values("document_id")
            ).update(updated_at=timezone.now())


def _bump_balances(open_delta: dict[int, Decimal], unapplied_delta: dict[int, Decimal]) -> None:
    """Each customer's balances once, relative to the stored value (``F()`` semantics) under the customer
    locks; ``version`` untouched (as ``services._bump_customer``: balances are not master data).

    Plain ``UPDATE … FROM (VALUES …)``: the ORM's ``Case(When(pk=…))`` over 500 customers spends
    ~0.4 s per statement resolving expressions."""
    ids = sorted(set(open_delta) | set(unapplied_delta))
    if not ids:
        return
    connection = connections[router.db_for_write(Customer)]
    qn = connection.ops.quote_name
    t = qn(Customer._meta.db_table)
    one = "(%s::bigint, %s::bigint, %s::bigint)" if connection.vendor == "postgresql" else "(%s, %s, %s)"
    head = (f"UPDATE {t} SET {qn('open_amount')} = {t}.{qn('open_amount')} + v.column2, "
            f"{qn('unapplied_amount')} = {t}.{qn('unapplied_amount')} + v.column3, "
            f"{qn('updated_at')} = %s FROM (VALUES ")
    tail = f") AS v WHERE {t}.{qn('id')} = v.column1"
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            params = [connection.ops.adapt_datetimefield_value(timezone.now())]
            for cid in chunk:
                params += [cid, to_minor(open_delta.get(cid, ZERO)), to_minor(unapplied_delta.get(cid, ZERO))]
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, params)


def _plan_all(clean: list[list]) -> dict[int, list]:
    """Each payment's plan, exactly as ``record_payment`` → ``_auto_allocate`` would make it one payment
    after another: ``plan_oldest_first`` against the open items as the earlier payments of the file left
    them. Returns {input index: ``[(PlanLine, document_id), …]``} for the payments that apply to something.

    Customers are independent, so their open instalments are locked (by pk) and read per chunk of
    1,000 customers and dropped once that chunk's payments are planned: memory follows the file, not
    the open items of its customers (a payment file against a million open instalments). The chunks are
    not one global pk order, but every other writer locks a customer before its instalments and all of
    these customers are held already, so no one can wait on us while holding them.
    """
    by_customer: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(clean):
        by_customer[row[1]].append(index)
    plans: dict[int, list] = {}
    customer_ids = sorted(by_customer)
    for start in range(0, len(customer_ids), BATCH):
        chunk = customer_ids[start : start + BATCH]
        open_items: dict[int, list[_Open]] = defaultdict(list)
        rows = (Instalment.objects.select_for_update().filter(customer_id__in=chunk, open_amount__gt=0).order_by("pk")
                .values_list("pk", "customer_id", "due_date", "open_amount", "amount", "discount_amount", "discount_date",
                             "document_id"))
        for pk, cid, due, open_amount, amount, discount, discount_date, document_id in rows:
            open_items[cid].append(_Open(pk, due, open_amount, amount, discount, discount_date, document_id))
        for cid in chunk:
            items = sorted(open_items.pop(cid, ()), key=lambda i: (i.due_date, i.instalment_id))
            if all(clean[index][0].document_id is not None for index in by_customer[cid]):
                _plan_directed(clean, by_customer[cid], items, plans)
                continue
            for index in by_customer[cid]:
                if not items:
                    break  # nothing open: this and the customer's later payments stay unapplied cash
                p, amount = clean[index][0], clean[index][3]
                targets = items if p.document_id is None else [i for i in items if i.document_id == p.document_id]
                plan = calc.plan_oldest_first(available=amount, items=targets, on=p.date)
                if not plan:
                    continue
                settled = {line.instalment_id: line.amount + line.discount for line in plan}
                documents = {i.instalment_id: i.document_id for i in items if i.instalment_id in settled}
                kept = []
                for item in items:
                    taken_here = settled.get(item.instalment_id)
                    if taken_here:
                        item = dataclasses.replace(item, open_amount=item.open_amount - taken_here)
                    if item.open_amount > 0:
                        kept.append(item)
                items = kept
                plans[index] = [(line, documents[line.instalment_id]) for line in plan]
    return plans


def _plan_directed(clean: list[list], indexes: list[int], items: list, plans: dict) -> None:
    """One customer's payments that each name their document: planned against that document's open
    instalments only (oldest due first), with a per-document index so a customer with tens of
    thousands of settled invoices is not scanned once per payment."""
    by_doc: dict[int, list] = defaultdict(list)
    for item in items:
        by_doc[item.document_id].append(item)
    for index in indexes:
        p, amount = clean[index][0], clean[index][3]
        targets = by_doc.get(p.document_id)
        if not targets:
            continue  # nothing open on it: the payment stays unapplied cash
        plan = calc.plan_oldest_first(available=amount, items=targets, on=p.date)
        if not plan:
            continue
        settled = {line.instalment_id: line.amount + line.discount for line in plan}
        kept = []
        for item in targets:
            taken_here = settled.get(item.instalment_id)
            if taken_here:
                item = dataclasses.replace(item, open_amount=item.open_amount - taken_here)
            if item.open_amount > 0:
                kept.append(item)
        by_doc[p.document_id] = kept
        plans[index] = [(line, p.document_id) for line in plan]


@dataclass(frozen=True)
class _Open(calc.OpenItem):
    document_id: int = 0


def _clean_payments(*, company, payments: Sequence[PaymentInput], customers: dict[int, str],
                    today: dt.date) -> list[list]:
    """``record_payment``'s checks for every input, in input order; refusals carry ``index``. No post-dated
    payments here (FutureDate); acceptance-bill numbers normalised and unique in the batch and the company."""
    clean = []
    methods = set(Method.values)
    bills = {i: normalise_bill_number(p.bill_number) for i, p in enumerate(payments) if p.method in BILL_METHODS}
    taken = taken_bills(company_id=company.pk, numbers=list(bills.values()))
    seen_bills: set[str] = set()
    lock = periods.lock_date(company.pk)
    for index, p in enumerate(payments):
        try:
            if lock is not None and p.date is not None and p.date <= lock:
                raise periods.closed_error(p.date, lock)
            account = customers.get(p.customer_id)
            if account is None:
                raise WrongCustomer(_("Unknown customer."), field="customer")
            currency = p.currency or account
            if currency != account:
                raise CurrencyMismatch(
                    _("The payment is in %(paid)s but this customer's account is in %(account)s.")
                    % {"paid": currency, "account": account}, field="currency")
            amount = _amount(p.amount, currency)
            if p.method not in methods or p.method == Method.NONE:
                raise LedgerError(_("Choose a payment method."), field="method")
            check_payment_date(p.date, today=today)
            bill = bills.get(index, "")
            _validate_bill(p.method, bill, p.bill_maturity_date, p.date)
            if bill in taken:
                raise _bill_taken_error(bill, taken[bill])
            if bill in seen_bills:
                raise DuplicateNumber(_("Acceptance bill %(bill)s appears twice.") % {"bill": bill}, field="bill_number")
        except LedgerError as exc:
            exc.params["index"] = index
            raise
        if bill:
            seen_bills.add(bill)
            if bill != p.bill_number:
                p = dataclasses.replace(p, bill_number=bill)
        clean.append([p, p.customer_id, currency, amount, p.number.strip()])
    return clean


def _number_payments(*, company, clean: list[list]) -> None:
    """Receipt numbers: the given ones, else the next of the RCV series in input order; none may be taken
    (a drawn number someone once keyed by hand is refused too, as ``record_payment``'s insert would)."""
    blocks: dict[int, int] = defaultdict(int)  # year → numbers to draw from the RCV series
    for row in clean:
        if not row[4]:
            blocks[row[0].date.year] += 1
    drawn = {year: iter(_reserve_numbers(company_id=company.pk, series=SERIES[CreditKind.PAYMENT], year=year, count=n))
             for year, n in sorted(blocks.items())}
    for row in clean:
        if not row[4]:
            row[4] = next(drawn[row[0].date.year])
    numbers = [row[4] for row in clean]
    taken: set[str] = set()
    for i in range(0, len(numbers), BATCH):
        # no ORDER BY: with the model's (-date, -id) SQLite walks the company's credits instead of the unique index
        taken.update(Credit.objects.filter(company=company, kind=CreditKind.PAYMENT, number__in=numbers[i : i + BATCH])
                     .order_by().values_list("number", flat=True))
    seen: set[str] = set()
    for index, number in enumerate(numbers):
        if number in taken or number in seen:
            raise DuplicateNumber(_("Receipt number %(number)s already exists.") % {"number": number}, field="number",
                                  index=index)
        seen.add(number)


def _record_payments(*, company, payments: Sequence[PaymentInput], actor, progress=None,
                     today: dt.date | None = None) -> list[_Posted]:
    if not payments:
        return []
    customer_ids = sorted({p.customer_id for p in payments})
    customers: dict[int, str] = {}  # pk → the account's currency (not model instances: 100,000 of them)
    for i in range(0, len(customer_ids), BATCH):
        chunk = customer_ids[i : i + BATCH]
        customers.update(Customer.objects.select_for_update().filter(company=company, pk__in=chunk).order_by("pk")
                         .values_list("pk", "currency"))
    clean = _clean_payments(company=company, payments=payments, customers=customers, today=today_of(company, today))
    all_plans = _plan_all(clean)
    _number_payments(company=company, clean=clean)

    actor_id = getattr(actor, "pk", None)
    credit_type = Credit._meta.label_lower
    method_labels = {k: str(label) for k, label in Method.choices}
    discount_label = str(_("Early-payment discount"))
    inst_changes: dict[int, list] = {}  # instalment pk → [allocated total, first date, last date]
    open_delta: dict[int, Decimal] = defaultdict(lambda: ZERO)
    unapplied_delta: dict[int, Decimal] = defaultdict(lambda: ZERO)
    posted: list[_Posted] = []
    for start in range(0, len(clean), BATCH):
        chunk = clean[start : start + BATCH]
        plans = [all_plans.pop(i, ()) for i in range(start, start + len(chunk))]
        # ids and discount numbers in creation order: each payment, then its discount credits
        n_discounts: dict[int, int] = defaultdict(int)
        for (p, *_rest), plan in zip(chunk, plans, strict=True):
            n_discounts[p.date.year] += sum(1 for line, _doc in plan if line.discount > 0)
        discount_numbers = {
            year: iter(_reserve_numbers(company_id=company.pk, series=SERIES[CreditKind.DISCOUNT], year=year, count=n))
            for year, n in sorted(n_discounts.items()) if n
        }
        ids = iter(_reserve_ids(Credit, len(chunk) + sum(n_discounts.values())))
        credits, allocations, entries, events = [], [], [], []
        for (p, customer_id, currency, amount, number), plan in zip(chunk, plans, strict=True):
            pid = next(ids)
            cash = sum((line.amount for line, _doc in plan), ZERO)
            settled = sum((line.amount + line.discount for line, _doc in plan), ZERO)
            is_bill = p.method in (Method.BANK_ACCEPTANCE, Method.COMMERCIAL_ACCEPTANCE)
            credits.append({
                "id": pid, "company_id": company.pk, "customer_id": customer_id, "kind": CreditKind.PAYMENT,
                "number": number, "date": p.date, "currency": currency, "amount": amount,
                "unapplied_amount": amount - cash, "method": p.method, "reference": p.reference, "memo": p.memo,
                "bill_number": p.bill_number, "bill_acceptor": p.bill_acceptor, "bill_maturity_date": p.bill_maturity_date,
                "bill_status": BillStatus.RECEIVED if is_bill else "",
                "cheque_status": ChequeStatus.PENDING if p.method == Method.CHEQUE else "",
                "document_id": None, "parent_id": None, "request_key": None, "external_source": p.external_source,
                "external_key": p.external_key, "created_by_id": actor_id,
            })
            entries.append({
                "company_id": company.pk, "customer_id": customer_id, "date": p.date, "kind": EntryKind.PAYMENT,
                "debit_amount": ZERO, "credit_amount": amount, "document_id": None, "credit_id": pid,
                "summary": str(p.memo or method_labels[p.method])[:200],
            })
            events.append({
                "actor_id": actor_id, "verb": "ledger.payment.recorded", "target_type": credit_type, "target_id": pid,
                "company_id": company.pk, "customer_id": customer_id, "summary": f"{number} {amount} {currency}"[:300],
                "data": {"amount": str(amount), "method": p.method, "date": p.date.isoformat()},
                "business_date": p.date,
            })
            for line, document_id in plan:
                if line.amount > 0:
                    allocations.append({
                        "company_id": company.pk, "customer_id": customer_id, "credit_id": pid,
                        "instalment_id": line.instalment_id, "amount": line.amount, "date": p.date, "reverses_id": None,
                        "is_manual": False, "created_by_id": actor_id,
                    })
                if line.discount > 0:
                    did = next(ids)
                    credits.append({
                        "id": did, "company_id": company.pk, "customer_id": customer_id, "kind": CreditKind.DISCOUNT,
                        "number": next(discount_numbers[p.date.year]), "date": p.date, "currency": currency,
                        "amount": line.discount, "unapplied_amount": ZERO, "method": "", "reference": "",
                        "memo": discount_label, "bill_number": "", "bill_acceptor": "", "bill_maturity_date": None,
                        "bill_status": "", "cheque_status": "", "document_id": document_id, "parent_id": pid,
                        "request_key": None, "external_source": "", "external_key": "", "created_by_id": actor_id,
                    })
                    allocations.append({
                        "company_id": company.pk, "customer_id": customer_id, "credit_id": did,
                        "instalment_id": line.instalment_id, "amount": line.discount, "date": p.date,
                        "reverses_id": None, "is_manual": False, "created_by_id": actor_id,
                    })
                    entries.append({
                        "company_id": company.pk, "customer_id": customer_id, "date": p.date, "kind": EntryKind.DISCOUNT,
                        "debit_amount": ZERO, "credit_amount": line.discount, "document_id": None, "credit_id": did,
                        "summary": discount_label[:200],
                    })
                change = inst_changes.get(line.instalment_id)
                if change is None:
                    inst_changes[line.instalment_id] = [line.amount + line.discount, p.date, p.date]
                else:
                    change[0] += line.amount + line.discount
                    change[1] = min(change[1], p.date)
                    change[2] = max(change[2], p.date)
            if plan:
                events.append({
                    "actor_id": actor_id, "verb": "ledger.credit.allocated", "target_type": credit_type, "target_id": pid,
                    "company_id": company.pk, "customer_id": customer_id, "summary": f"{number} → {len(plan)}"[:300],
                    "data": {"auto": True, "plan": [[line.instalment_id, str(line.amount), str(line.discount)]
                                                    for line, _doc in plan]},
                })
            open_delta[customer_id] -= settled
            unapplied_delta[customer_id] += amount - cash
            posted.append(_Posted(pk=pid, number=number))
        _insert_rows(Credit, credits, with_pk=True)
        _insert_rows(Allocation, allocations)
        _insert_rows(LedgerEntry, entries)
        _insert_rows(AuditEvent, events)
        if progress is not None:
            progress(start + len(chunk), len(clean))
    periods.check_open(company.pk, *{row[0].date for row in clean})  # after the writes, see ledger.periods
    _update_instalments(inst_changes)
    _bump_balances(open_delta, unapplied_delta)
    return posted


@transaction.atomic(durable=True)
def record_payments(*, company, payments: Sequence[PaymentInput], actor, progress=None,
                    today: dt.date | None = None) -> list[_Posted]:
    """Record many payments in one transaction, all or none, each applied oldest-due-first.

    The ledger ends exactly as after ``services.record_payment(..., auto_allocate=True)`` called once
    per input in input order: the same credits (numbers drawn from the RCV series in that order),
    the same allocations and early-payment discount credits (DSC series), the same instalment open
    amounts and first/last allocation dates, customer balances, ledger entries and audit events, and
    the rows of each table in the same relative order. Each payment is planned against the open
    items as the payments before it left them (``calculations.plan_oldest_first``, the function
    ``record_payment`` uses); any rest stays as unapplied cash.

    Locks every customer of the batch in pk order, then their open instalments by pk (see
    ``_plan_all``), before anything is written; new credits need no lock. Writes with COPY on
    PostgreSQL and multi-row INSERT on SQLite, then one UPDATE per 500 instalments and per 500 customers.

    Amounts in the customer's currency at its minor unit; dates are business dates, none after ``today``
    (default: the company's today). Raises WrongCustomer, CurrencyMismatch, InvalidAmount, FutureDate,
    DuplicateNumber (receipt or acceptance-bill number) or LedgerError (method, bill) with
    ``params["index"]`` naming the offending input. ``progress(done, total)`` after each chunk written.
    Returns (pk, number) of each payment, in input order.
    """
    return _record_payments(company=company, payments=payments, actor=actor, progress=progress, today=today)
