"""After the bankruptcy playbook the dunning run leaves the customer out (issue 12 point 12)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections.playbooks import run_playbook
from huikuan.dunning import services as dunning
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def inv(company, customer, finance):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def _run(company, customer, users, **claim):
    return run_playbook(company=company, customer=customer, code="bankruptcy", actor=users["credit_manager"],
                        today=TODAY, note="法院受理破产申请", claim=claim)


def test_dunning_stops_for_the_customer(company, customer, inv, users):
    groups, _ = dunning.select(company, TODAY)
    assert any(k[0] == customer.pk for k in groups)
    _run(company, customer, users)
    groups, _ = dunning.select(company, TODAY)
    assert not any(k[0] == customer.pk for k in groups)
    # a later invoice is not chased either while the case is open
    ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 20), total=D("50.00"),
                     actor=users["finance"])
    groups, _ = dunning.select(company, TODAY)
    assert not any(k[0] == customer.pk for k in groups)
