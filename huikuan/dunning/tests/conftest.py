import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.customers.models import Contact
from huikuan.ledger import services as ls

DOC_DATE = dt.date(2026, 1, 5)  # net 30 → due 2026-02-04


@pytest.fixture
def contact(customer):
    return Contact.objects.create(customer=customer, name="王经理", email="wang@example.cn", phone="+8613800000001",
                                  is_primary=True, language="zh-hans")


@pytest.fixture
def invoice(company, customer, finance, contact):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=DOC_DATE, total=D("10000.00"),
                            actor=finance, reference="HT-2026-001")


def post(company, customer, finance, total, doc_date=DOC_DATE):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=doc_date, total=D(total), actor=finance)
