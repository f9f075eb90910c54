"""Receivables financing list: criteria (days to due, grade, dispute, statement confirmation), marking once."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.common.errors import NotAllowed
from huikuan.credit.models import CreditProfile
from huikuan.integrations import financing
from huikuan.integrations.models import FinancedItem
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def items(company, customer, other_customer, finance):
    a = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 20),
                             total=D("1000.00"), actor=finance)  # due 2026-03-22
    b = ledger.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 3, 1),
                             total=D("2000.00"), actor=finance)  # due 2026-03-31
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1),
                         total=D("500.00"), actor=finance)  # due 2026-01-31: overdue, not eligible
    CreditProfile.objects.create(company=company, customer=customer, grade="A")
    CreditProfile.objects.create(company=company, customer=other_customer, grade="C")
    return a.instalments.get(), b.instalments.get()


def _ids(company, **kw):
    return [i.pk for i in financing.eligible(company=company, criteria=financing.Criteria(as_of=TODAY, **kw))]


def test_criteria(company, items):
    a, b = items
    assert _ids(company) == [a.pk, b.pk]
    assert _ids(company, max_days=25) == [a.pk]
    assert _ids(company, min_days=25) == [b.pk]
    assert _ids(company, grades=("A",)) == [a.pk]
    assert _ids(company, confirmed_only=True) == []
    Instalment.objects.filter(pk=a.pk).update(disputed_amount=D("1.00"))
    assert _ids(company) == [b.pk]


def test_mark_financed_once_for_the_open_amount(company, users, items):
    a, b = items
    rows = financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[b.pk, a.pk],
                                   bank="工商银行", financed_on=TODAY)
    assert sorted(r.amount for r in rows) == [D("1000.00"), D("2000.00")]
    assert _ids(company) == []
    with pytest.raises(financing.FinancingError):
        financing.mark_financed(actor=users["finance"], company=company, instalment_ids=[a.pk], bank="x",
                                financed_on=TODAY)
    with pytest.raises(NotAllowed):
        financing.mark_financed(actor=users["collector"], company=company, instalment_ids=[a.pk], bank="x",
                                financed_on=TODAY)


def test_screen(company, users, items, client):
    a, _b = items
    client.force_login(users["finance"])
    url = reverse("integrations:financing")
    assert client.get(url).status_code == 200
    assert client.get(url + "?format=xlsx").status_code == 200
    client.post(url, {"items": [str(a.pk)], "bank": "招商银行", "financed_on": "2026-03-02"})
    assert FinancedItem.objects.get().instalment_id == a.pk
    assert client.get(url + "?show=financed&format=xlsx").status_code == 200
    client.force_login(users["sales_east"])
    assert client.get(url).status_code == 403
