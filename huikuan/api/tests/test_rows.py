"""List endpoints render their page from value rows (``serializers.Rows``): the JSON must be exactly
what the endpoint's DRF serializer gives for the same objects, nulls, nested instalments and all."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.api import serializers as s
from huikuan.customers.models import Customer, CustomerGroup
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, ReceivableDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger_rows(company, customer, other_customer, finance):
    group = CustomerGroup.objects.create(company=company, name="重点客户")
    Customer.objects.filter(pk=customer.pk).update(group=group)
    Customer.objects.filter(pk=other_customer.pk).update(owner=None, payment_term=None)
    for i, c in enumerate([customer, other_customer, customer]):
        doc = ledger.post_document(
            company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5 + i), total=D("1000.00"), actor=finance,
            number=f"INV-{i}", schedule=[ledger.ScheduleInput(due_date=dt.date(2026, 2, 4), amount=D("300.00")),
                                         ledger.ScheduleInput(due_date=dt.date(2026, 3, 6), amount=D("700.00"))]
            if i == 0 else None,
        )
    ledger.record_payment(company=company, customer_id=customer.pk, amount=D("450.55"), date=dt.date(2026, 2, 1),
                          actor=finance, reference="回款 1")
    ledger.record_payment(company=company, customer_id=other_customer.pk, amount=D("99999.99"), date=dt.date(2026, 2, 2),
                          actor=finance, method="bank_acceptance", bill_number="BA-1", bill_maturity_date=dt.date(2026, 8, 2))
    return doc


@pytest.mark.parametrize(("serializer", "queryset", "nested"), [
    (s.CustomerOut, lambda: Customer.objects.select_related("owner", "group", "payment_term").order_by("pk"), None),
    (s.DocumentOut, lambda: ReceivableDocument.objects.select_related("customer", "salesperson")
     .prefetch_related("instalments").order_by("pk"), {"instalments": "document_id"}),
    (s.CreditOut, lambda: Credit.objects.select_related("customer").order_by("pk"), None),
])
def test_rows_equal_the_serializer(ledger_rows, serializer, queryset, nested):
    qs = queryset()
    expected = serializer(list(qs), many=True).data
    rows = s.Rows(serializer, nested=nested)
    got = rows.render(list(rows.values(qs)))
    assert len(got) == len(expected) >= 2
    assert [dict(e) for e in expected] == got
    assert any(v is None for row in got for v in row.values())  # nulls are covered


def test_list_endpoints_use_rows(ledger_rows, api):
    c = api()
    body = c.get("/api/v1/documents/").json()
    first = next(d for d in body["results"] if d["number"] == "INV-0")
    assert [(i["amount"], i["open_amount"]) for i in first["instalments"]] == [("300.00", "0.00"), ("700.00", "700.00")]
    assert body["count"] == 3 and body["count_capped"] is False
    assert {p["amount"] for p in c.get("/api/v1/payments/").json()["results"]} == {"450.55", "99999.99"}


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_rows_datetimes_equal_the_serializer_in_every_timezone(ledger_rows, zone):
    """Rows formats a page's datetimes with the timezone looked up once (serializers._iso_datetime): in UTC the
    serializer writes "Z" instead of "+00:00"; elsewhere the offset, half hours included."""
    from django.utils import timezone

    qs = Customer.objects.select_related("owner", "group", "payment_term").order_by("pk")
    with timezone.override(zone):
        expected = [dict(e) for e in s.CustomerOut(list(qs), many=True).data]
        rows = s.Rows(s.CustomerOut)
        got = rows.render(list(rows.values(qs)))
    assert got == expected
    assert all(row["created_at"].endswith("Z") for row in got) == (zone == "UTC")


def test_values_in_equals_the_orm(ledger_rows, customer, other_customer, django_assert_num_queries):
    """The page's rows by ids (``common.compiled.ValuesIn``, compiled once per number of ids) are what values()
    gives: the same dicts, money and datetimes converted, the base's order kept, unknown and repeated ids
    ignored; each call is one statement the query counts see."""
    from huikuan.common.compiled import ValuesIn
    from huikuan.ledger.models import Instalment

    rows = s.Rows(s.CustomerOut)
    base = rows.values(Customer.objects.order_by())
    statement = ValuesIn(base)
    ids = [customer.pk, other_customer.pk]
    for asked in (ids, ids[::-1], [customer.pk], [customer.pk, customer.pk, 10**12], [10**12], []):
        expected = {r["pk"]: r for r in base.filter(pk__in=asked)}
        with django_assert_num_queries(1 if asked else 0):
            got = statement(asked)
        assert {r["pk"]: r for r in got} == expected
        assert len(got) == len(expected)
    assert [r["open_amount"] for r in statement(ids)] and all(
        type(r["created_at"]).__name__ == "datetime" and r["created_at"].tzinfo is not None for r in statement(ids))
    assert sorted(statement._statements) == [("default", 1), ("default", 2)]  # one statement per number of ids

    by_document = ValuesIn(Instalment.objects.values("document_id", "pk", "due_date", "amount"), "document_id")
    documents = list(ReceivableDocument.objects.values_list("pk", flat=True))
    assert by_document(documents) == list(
        Instalment.objects.filter(document_id__in=documents).values("document_id", "pk", "due_date", "amount"))


def test_values_in_falls_back_to_the_orm_when_the_stand_ins_are_ambiguous(ledger_rows, customer):
    """A base whose own parameters include a negative integer cannot tell its ids apart: run through the ORM."""
    from huikuan.common.compiled import ValuesIn

    base = Customer.objects.exclude(pk=-7).values("pk", "code")
    statement = ValuesIn(base)
    assert statement([customer.pk]) == [{"pk": customer.pk, "code": customer.code}]
    assert statement._statements == {("default", 1): None}
    nothing = ValuesIn(Customer.objects.filter(pk__in=[]).values("pk"))  # matches nothing: no SQL can be made
    assert nothing([customer.pk]) == []
