"""A partial dispute leaves only the disputed part out of the dunning run (issue 12 point 10)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import services as svc
from huikuan.dunning import services as dunning
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def inv(company, customer, finance):
    """10,000 invoiced 2026-01-05, net 30 → due 2026-02-04."""
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def test_the_undisputed_rest_is_still_dunned(company, customer, inv, users):
    inst = inv.instalments.get()
    svc.open_dispute(company=company, customer_id=customer.pk, reason="quality", amount="3000", actor=users["collector"],
                     today=TODAY, instalment_id=inst.pk)
    groups, _steps = dunning.select(company, TODAY)
    items = [it for key, its in groups.items() if key[0] == customer.pk for it in its]
    assert items == [(inst.pk, 700000)]  # 7,000.00 in minor units: the 3,000 disputed is left out
    # the whole item disputed: nothing to chase
    svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="7000", actor=users["collector"],
                     today=TODAY, instalment_id=inst.pk)
    groups, _steps = dunning.select(company, TODAY)
    assert not [k for k in groups if k[0] == customer.pk]
