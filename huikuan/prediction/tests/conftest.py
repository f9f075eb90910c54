import datetime as dt
import random
from decimal import Decimal

import pytest

from huikuan.customers.models import Customer
from huikuan.ledger import bulk
from huikuan.ledger.services import ScheduleInput
from huikuan.prediction import services, synthetic

END = dt.date(2025, 12, 31)


def load_synthetic(company, actor, *, n_invoices=5000, n_customers=80, seed=3, end=END):
    """A synthetic company posted through the ledger's bulk path as the history import posts it: each
    invoice with one instalment, each payment applied to its own invoice, the facts beside them."""
    traits = synthetic.customers(n_customers, random.Random(seed))
    Customer.objects.bulk_create([Customer(company=company, code=t.code, name=f"合成客户{t.code}") for t in traits])
    ids = dict(Customer.objects.filter(company=company).values_list("code", "pk"))
    settled, still_open = synthetic.rows(n_invoices=n_invoices, n_customers=n_customers, start=dt.date(2022, 1, 1),
                                         end=end, seed=seed)
    docs = {}
    for r in [*settled, *still_open]:
        docs.setdefault(r[2], r)
    posted = bulk.post_documents(company=company, actor=actor, documents=[
        bulk.DocumentInput(customer_id=ids[r[0]], document_date=dt.date.fromisoformat(r[3]), total=Decimal(r[5]),
                           number=r[2], schedule=[ScheduleInput(dt.date.fromisoformat(r[4]), Decimal(r[5]))])
        for r in docs.values()])
    pks = {p.number: p.pk for p in posted}
    paid: dict[str, Decimal] = {}
    payments = []
    for r in sorted(settled, key=lambda r: r[7]):
        left = Decimal(r[5]) - paid.get(r[2], Decimal(0))
        amount = Decimal(r[8]) if r[8] else left
        paid[r[2]] = paid.get(r[2], Decimal(0)) + amount
        payments.append(bulk.PaymentInput(customer_id=ids[r[0]], amount=amount, date=dt.date.fromisoformat(r[7]),
                                          document_id=pks[r[2]]))
    bulk.record_payments(company=company, actor=actor, payments=payments, today=end)
    services.record_document_facts(company=company, actor=actor, facts=[
        services.FactsInput(document_id=pks[r[2]], disputed=r[9] == "是", delivery="paper" if r[10] == "纸质"
                            else "electronic", region=r[11]) for r in docs.values()])
    return settled, still_open


def spread_customers(company, users, *, n_invoices, n_customers, seed):
    """A synthetic company whose customers alternate between two salespeople (east, west) and of which every
    third is in the group 华北客户 — for the forecast's lines by salesperson and by group."""
    from huikuan.customers.models import CustomerGroup

    load_synthetic(company, users["finance"], n_invoices=n_invoices, n_customers=n_customers, seed=seed)
    north = CustomerGroup.objects.create(company=company, name="华北客户")
    customers = list(Customer.objects.filter(company=company).order_by("code"))
    for i, c in enumerate(customers):
        c.owner = users["sales_east"] if i % 2 == 0 else users["sales_west"]
        c.group = north if i % 3 == 0 else None
    Customer.objects.bulk_update(customers, ["owner", "group"])
    return company


@pytest.fixture
def synthetic_company(company, finance):
    load_synthetic(company, finance)
    return company
