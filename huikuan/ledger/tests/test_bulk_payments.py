"""``bulk.record_payments`` leaves exactly the ledger that ``record_payment`` row by row would."""

import datetime as dt
import random
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huikuan.accounts.models import Company
from huikuan.common.models import AuditEvent, NumberSequence
from huikuan.customers.models import Customer, PaymentTerm
from huikuan.ledger import bulk, plans, services
from huikuan.ledger.bulk import PaymentInput, record_payments
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.errors import CurrencyMismatch, DuplicateNumber, InvalidAmount, LedgerError, WrongCustomer
from huikuan.ledger.models import Allocation, Credit, Instalment, LedgerEntry, ReceivableDocument

pytestmark = pytest.mark.django_db

START = dt.date(2026, 1, 5)


def _company(code):
    return Company.objects.create(code=code, name=f"{code} 有限公司")


def _build(company, actor, owners, rng: random.Random):
    """The same customers, documents and ledger history in any company (deterministic from ``rng``)."""
    actor.companies.add(company)
    net30 = PaymentTerm.objects.create(company=company, code="N30", name="Net 30", kind="net", days=30)
    disc = PaymentTerm.objects.create(company=company, code="D2", name="2/10 net 30", kind="net", days=30,
                                      discount_percent=Decimal("2"), discount_days=10)
    split = PaymentTerm.objects.create(company=company, code="S3", name="30/30/40", kind="split",
                                       split_lines=[{"percent": 30, "days": 0}, {"percent": 30, "days": 30},
                                                    {"percent": 40, "days": 60}])
    terms = [net30, disc, split]
    customers = []
    for i in range(24):
        customers.append(Customer.objects.create(
            company=company, code=f"K{i:03d}", name=f"客户{i}", owner=owners[i % len(owners)],
            payment_term=terms[i % 3], currency="USD" if i == 5 else "CNY"))
    docs = []
    for n in range(140):
        c = customers[rng.randrange(20)]  # customers 20-23 never get a document: no open items
        day = START + dt.timedelta(days=rng.randrange(60))
        total = Decimal(rng.randrange(1_00, 9_000_00)) / 100
        schedule = None
        if n % 9 == 0:
            first = (total / 3).quantize(Decimal("0.01"))
            schedule = [services.ScheduleInput(day + dt.timedelta(days=15), first),
                        services.ScheduleInput(day + dt.timedelta(days=15), total - first)]  # same due date: pk order
        docs.append(services.post_document(company=company, customer_id=c.pk, document_date=day, total=total,
                                           actor=actor, number=f"D{n:04d}", schedule=schedule))
    # history the bulk path must respect: an earlier partial payment, a reversed payment, a reversed
    # document, disputed and paused items (still paid oldest-first) and a payment plan
    services.record_payment(company=company, customer_id=docs[0].customer_id, amount=Decimal("10.00"),
                            date=START + dt.timedelta(days=70), actor=actor, number="OLD-1")
    old = services.record_payment(company=company, customer_id=docs[1].customer_id, amount=Decimal("25.00"),
                                  date=START + dt.timedelta(days=70), actor=actor, number="OLD-2")
    services.reverse_credit(company=company, credit_id=old.pk, actor=actor, on=START + dt.timedelta(days=71),
                            reason="wrong customer")
    services.reverse_document(company=company, document_id=docs[2].pk, actor=actor, on=START + dt.timedelta(days=71),
                              reason="cancelled")
    first_of = {d.pk: Instalment.objects.filter(document_id=d.pk).order_by("seq").first() for d in docs[3:9]}
    for d in docs[3:6]:
        inst = first_of[d.pk]
        services.set_instalment_dispute(company=company, instalment_id=inst.pk, amount=inst.amount, actor=actor)
    for d in docs[6:8]:
        services.pause_instalment_dunning(company=company, instalment_id=first_of[d.pk].pk,
                                          until=START + dt.timedelta(days=120), actor=actor)
    target = next(d for d in docs[10:] if d.customer_id not in {x.customer_id for x in docs[:10]})
    inst = Instalment.objects.filter(document_id=target.pk).order_by("seq").first()
    half = (inst.open_amount / 2).quantize(Decimal("0.01"))
    plans.replace_instalments(company=company, instalment_ids=[inst.pk], on=START + dt.timedelta(days=65), actor=actor,
                              plan_id=7, lines=[(START + dt.timedelta(days=90), half),
                                                (START + dt.timedelta(days=40 + 80), inst.open_amount - half)])
    return customers


def _payments(customers, rng: random.Random):
    """A random payment file: several rows per customer, partial, exact and over-payments, bills, cheques."""
    by_code = {c.code: c for c in customers}
    out = []
    for n in range(260):
        c = by_code[f"K{rng.randrange(24):03d}"]
        day = START + dt.timedelta(days=rng.randrange(10, 120))
        kind = rng.random()
        if kind < 0.15:
            amount = Decimal(rng.randrange(20_000_00, 60_000_00)) / 100  # over-payment: leaves unapplied cash
        elif kind < 0.3:
            amount = Decimal(rng.choice([98, 196, 294, 490])) * Decimal("10.00")
        else:
            amount = Decimal(rng.randrange(1, 5_000_00)) / 100
        method = rng.choice(["transfer", "transfer", "cash", "wechat", "cheque", "bank_acceptance",
                             "commercial_acceptance"])
        bill = method.endswith("acceptance")
        out.append(dict(
            customer_code=c.code, amount=amount, date=day, method=method,
            number=f"P{n:04d}" if n % 3 else "", reference=f"REF{n}" if n % 4 == 0 else "",
            memo="货款" if n % 5 == 0 else "", bill_number=f"BILL{n}" if bill else "",
            bill_acceptor="某银行" if bill else "",
            bill_maturity_date=day + dt.timedelta(days=90) if bill else None,
            external_source="import", external_key=f"X{n:04d}",
        ))
    return out


def _inputs(company, rows):
    ids = dict(Customer.objects.filter(company=company).values_list("code", "pk"))
    return [PaymentInput(customer_id=ids[r["customer_code"]], **{k: v for k, v in r.items() if k != "customer_code"})
            for r in rows]


def _snapshot(company):
    """Every row the payments can touch, in pk order, with ids replaced by natural keys."""
    users = {}
    customers = {c.pk: c.code for c in Customer.objects.filter(company=company)}
    docs = dict(ReceivableDocument.objects.filter(company=company).values_list("pk", "number"))
    credits = {pk: (kind, number) for pk, kind, number in Credit.objects.filter(company=company)
               .values_list("pk", "kind", "number")}
    insts = {pk: (docs[d], seq) for pk, d, seq in Instalment.objects.filter(company=company)
             .values_list("pk", "document_id", "seq")}
    allocs = {a.pk: (credits[a.credit_id], insts[a.instalment_id], str(a.amount), a.date)
              for a in Allocation.objects.filter(company=company)}
    terms = dict(PaymentTerm.objects.filter(company=company).values_list("pk", "code"))
    maps = {"customer": customers, "document": docs, "credit": credits, "instalment": insts, "parent": credits,
            "reverses": allocs, "payment_term": terms}
    skip = {"id", "created_at", "updated_at", "company", "at", "reversed_at"}  # timestamps

    def rows(model, qs):
        out = []
        for obj in qs.order_by("pk"):
            row = {}
            for f in model._meta.concrete_fields:
                if f.name in skip:
                    continue
                value = getattr(obj, f.attname)
                if f.is_relation and value is not None:
                    value = users.setdefault(value, value) if f.related_model.__name__ == "User" else maps[f.name][value]
                row[f.name] = value
            out.append(row)
        return out

    def event(e):
        target = {"ledger.credit": credits, "ledger.receivabledocument": docs, "ledger.instalment": insts,
                  "customers.customer": customers}.get(e["target_type"], {})
        data = dict(e["data"])
        if "plan" in data:
            data["plan"] = [[insts[line[0]], *line[1:]] for line in data["plan"]]
        if "replaced" in data:
            data["replaced"] = [[insts[line[0]], *line[1:]] for line in data["replaced"]]
        return (e["verb"], e["target_type"], target.get(e["target_id"], e["target_id"]), customers.get(e["customer_id"]),
                e["actor_id"], e["summary"], data)

    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id FROM insight_agingchange WHERE company_id = %s ORDER BY customer_id",
                       [company.pk])
        aging_marks = sorted(customers[r[0]] for r in cursor.fetchall())
        # insight's past-date marks: one UPDATE per instalment writes fewer rows than one per payment, but
        # what a read relies on — from which date each customer's stored aging may differ — must be equal
        cursor.execute("SELECT customer_id, MIN(since) FROM insight_agingmark WHERE company_id = %s GROUP BY customer_id",
                       [company.pk])
        since_marks = sorted((customers[cid], str(since)) for cid, since in cursor.fetchall())
    return {
        "customers": rows(Customer, Customer.objects.filter(company=company)),
        "documents": rows(ReceivableDocument, ReceivableDocument.objects.filter(company=company)),
        "instalments": rows(Instalment, Instalment.objects.filter(company=company)),
        "credits": rows(Credit, Credit.objects.filter(company=company)),
        "allocations": rows(Allocation, Allocation.objects.filter(company=company)),
        "entries": rows(LedgerEntry, LedgerEntry.objects.filter(company=company)),
        "events": [event(e) for e in AuditEvent.objects.filter(company_id=company.pk).order_by("pk")
                   .values("verb", "target_type", "target_id", "customer_id", "actor_id", "summary", "data")],
        "numbers": sorted(NumberSequence.objects.filter(company_id=company.pk).values_list("series", "year", "last")),
        "aging_marks": aging_marks,
        "aging_since": since_marks,
    }


def _first_difference(got, want):
    for table in want:
        if got[table] != want[table]:
            if len(got[table]) != len(want[table]):
                return table, len(got[table]), len(want[table])
            for a, b in zip(got[table], want[table], strict=True):
                if a != b:
                    if isinstance(a, dict):
                        return table, {k: (v, b.get(k)) for k, v in a.items() if b.get(k) != v}
                    return table, a, b
    return None


def test_bulk_payments_equal_record_payment_row_by_row(users, finance, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH", 7)  # many chunks: plans, ids and discount numbers carry across them
    owners = [users["sales_east"], users["sales_west"], None]
    bulk_co, rows_co = _company("BULK"), _company("ROWS")
    customers = _build(bulk_co, finance, owners, random.Random(11))
    _build(rows_co, finance, owners, random.Random(11))
    file = _payments(customers, random.Random(5))
    assert _first_difference(_snapshot(bulk_co), _snapshot(rows_co)) is None  # the same starting point
    with connection.cursor() as cursor:  # as after an aging build: only the payments' marks are compared
        cursor.execute("DELETE FROM insight_agingmark WHERE company_id IN (%s, %s)", [bulk_co.pk, rows_co.pk])

    seen = []
    posted = record_payments(company=bulk_co, payments=_inputs(bulk_co, file), actor=finance,
                             progress=lambda done, total: seen.append((done, total)))
    for p in _inputs(rows_co, file):
        services.record_payment(company=rows_co, actor=finance, auto_allocate=True, **{
            k: getattr(p, k) for k in PaymentInput.__dataclass_fields__ if k != "document_id"})  # bulk-only

    got, want = _snapshot(bulk_co), _snapshot(rows_co)
    assert _first_difference(got, want) is None
    assert [p.number for p in posted] == [c["number"] for c in want["credits"] if c["kind"] == "payment"][-len(file):]
    assert len(seen) == 38 and seen[-1] == (len(file), len(file))
    assert len(got["aging_since"]) >= 15
    # the file really exercised what it is meant to
    new = Credit.objects.filter(company=bulk_co, external_source="import")
    assert new.filter(unapplied_amount__gt=0).exists() and new.filter(unapplied_amount=0).exists()
    assert Credit.objects.filter(company=bulk_co, kind="discount", parent__in=new).exists()
    assert new.filter(bill_status="received").exists() and new.filter(cheque_status="pending").exists()
    assert Allocation.objects.filter(credit__in=new, instalment__disputed_amount__gt=0).exists()
    assert Allocation.objects.filter(credit__in=new, instalment__plan_id=7).exists()
    assert check_ledger(company_id=bulk_co.pk) == [] and check_ledger(company_id=rows_co.pk) == []


def test_refusals_name_the_input_and_write_nothing(company, finance, customer, other_customer, day):
    services.post_document(company=company, customer_id=customer.pk, document_date=day, total="100", actor=finance)
    services.record_payment(company=company, customer_id=customer.pk, amount="1", date=day, actor=finance, number="R1")
    # keyed by hand earlier: the series will draw it for the third row below
    services.record_payment(company=company, customer_id=customer.pk, amount="1", date=day, actor=finance,
                            number="RCV-2026-000003")
    before = (Credit.objects.count(), Allocation.objects.count(), LedgerEntry.objects.count(), AuditEvent.objects.count(),
              list(NumberSequence.objects.values_list("series", "year", "last")))
    ok = PaymentInput(customer_id=customer.pk, amount=Decimal("5"), date=day)
    stranger = Customer.objects.create(company=Company.objects.create(code="OTHER", name="x"), code="Z", name="z")
    cases = [
        (PaymentInput(customer_id=stranger.pk, amount=Decimal("5"), date=day), WrongCustomer, None),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("5"), date=day, currency="USD"), CurrencyMismatch, "currency"),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("5.001"), date=day), InvalidAmount, "amount"),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("0"), date=day), InvalidAmount, "amount"),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("5"), date=day, method="bitcoin"), LedgerError, "method"),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("5"), date=day, method="bank_acceptance",
                      bill_number="B1", bill_maturity_date=day + dt.timedelta(days=200)), LedgerError, "bill_maturity_date"),
        (PaymentInput(customer_id=customer.pk, amount=Decimal("5"), date=day, number="R1"), DuplicateNumber, "number"),
        (PaymentInput(customer_id=other_customer.pk, amount=Decimal("5"), date=day, number="RCV-2026-000002"),
         DuplicateNumber, "number"),  # the number the first row will draw from the series
        (PaymentInput(customer_id=other_customer.pk, amount=Decimal("5"), date=day), DuplicateNumber, "number"),
    ]
    for bad, error, field in cases:
        with pytest.raises(error) as exc:
            record_payments(company=company, actor=finance, payments=[ok, ok, bad])
        assert exc.value.params["index"] == 2, bad
        if field:
            assert exc.value.field == field
        assert (Credit.objects.count(), Allocation.objects.count(), LedgerEntry.objects.count(),
                AuditEvent.objects.count(), list(NumberSequence.objects.values_list("series", "year", "last"))) == before
    with pytest.raises(DuplicateNumber) as exc:
        record_payments(company=company, actor=finance, payments=[ok, PaymentInput(
            customer_id=customer.pk, amount=Decimal("5"), date=day, number="X"), PaymentInput(
            customer_id=other_customer.pk, amount=Decimal("5"), date=day, number="X")])
    assert exc.value.params["index"] == 2


def test_bill_checks_exposed_for_preview(day):
    bulk.check_bill(method="transfer", bill_number="", bill_maturity_date=None, date=day)
    with pytest.raises(LedgerError) as exc:
        bulk.check_bill(method="commercial_acceptance", bill_number="B", bill_maturity_date=day + dt.timedelta(days=190),
                        date=day)
    assert exc.value.field == "bill_maturity_date"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SELECT … FOR UPDATE is a no-op on SQLite")
def test_locks_customers_then_instalments_before_any_write(company, finance, customer, other_customer, day):
    for c in (other_customer, customer):
        services.post_document(company=company, customer_id=c.pk, document_date=day, total="100", actor=finance)
    with CaptureQueriesContext(connection) as ctx:
        record_payments(company=company, actor=finance, payments=[
            PaymentInput(customer_id=other_customer.pk, amount=Decimal("30"), date=day, number="A"),
            PaymentInput(customer_id=customer.pk, amount=Decimal("30"), date=day, number="B"),
        ])
    sql = [q["sql"] for q in ctx.captured_queries]
    first_write = next(i for i, s in enumerate(sql) if s.lstrip().upper().startswith(("INSERT", "UPDATE", "COPY")))
    locks = [s for s in sql[:first_write] if "FOR UPDATE" in s]
    # the pk is the first column selected: ORDER BY 1 is the pk order
    assert 'FROM "customers_customer"' in locks[0] and re.search(r'ORDER BY ("customers_customer"\."id"|1) ASC', locks[0])
    assert 'FROM "ledger_instalment"' in locks[1] and re.search(r'ORDER BY ("ledger_instalment"\."id"|1) ASC', locks[1])
    assert '"customer_id" IN ({}, {})'.format(*sorted([customer.pk, other_customer.pk])) in locks[1]


@pytest.mark.parametrize("rep", range(3))
class TestRaceWithClerks:
    from .test_concurrency import postgres_only as pytestmark

    def test_bulk_and_single_payments_on_the_same_customers(self, company, customer, other_customer, finance, rep):
        from .test_concurrency import run_threads, split

        day = dt.date(2026, 3, 2)
        for c in (customer, other_customer):
            for _ in range(3):
                services.post_document(company=company, customer_id=c.pk, document_date=day, total="100", actor=finance)
        batch = [PaymentInput(customer_id=c.pk, amount=Decimal("60"), date=day)
                 for _ in range(5) for c in (other_customer, customer)]

        def work(i):
            if i == 0:
                return record_payments(company=company, actor=finance, payments=batch)
            c = (customer, other_customer)[i % 2]
            return services.record_payment(company=company, customer_id=c.pk, amount=Decimal("25"), date=day,
                                           actor=finance)

        ok, errors = split(run_threads(6, work))
        assert errors == []
        credits = Credit.objects.filter(company=company, kind="payment")
        assert credits.count() == 15 and len(set(credits.values_list("number", flat=True))) == 15
        assert sum(credits.values_list("amount", flat=True)) == Decimal("725.00")  # nothing lost or doubled
        for c in (customer, other_customer):
            c.refresh_from_db()
            assert c.open_amount == 0  # 600 owed, 725 paid: everything settled whoever came first
        assert customer.unapplied_amount + other_customer.unapplied_amount == Decimal("125.00")
        assert check_ledger() == []
