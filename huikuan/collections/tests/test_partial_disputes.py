"""A partial dispute leaves only the disputed part out of dunning and penalty interest (issue 12 point 10)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections import calculations as calc
from huikuan.collections import services as svc
from huikuan.collections.interest import interest_to_date
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def inv(company, customer, finance):
    """10,000 invoiced 2026-01-05, net 30 → due 2026-02-04."""
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def test_interest_accrues_on_the_undisputed_part_only(company, customer, inv, users, finance):
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05")
    as_of = dt.date(2026, 3, 6)  # 30 days after the due date
    assert interest_to_date(customer=customer, as_of=as_of) == D("150.00")
    svc.open_dispute(company=company, customer_id=customer.pk, reason="quality", amount="3000", actor=users["collector"],
                     today=TODAY, instalment_id=inv.instalments.get().pk)
    assert interest_to_date(customer=customer, as_of=as_of) == D("105.00")  # 7,000 × 0.05 % × 30


def test_interest_with_an_excluded_part_and_payments():
    rule = calc.Rule(basis="daily", rate=D("0.05"))
    due = dt.date(2026, 2, 4)
    # 10,000 with 3,000 disputed; 4,000 paid on day 10 → base 7,000 for 10 days, then 3,000 for 20 days
    r = calc.interest_for(principal=D("10000"), due_date=due, payments=[(due + dt.timedelta(days=10), D("4000"))],
                          as_of=due + dt.timedelta(days=30), rule=rule, excluded=D("3000"))
    assert r.amount == D("65.00")  # 7,000 × 0.0005 × 10 + 3,000 × 0.0005 × 20
    # everything undisputed paid: nothing more accrues on the disputed rest
    r = calc.interest_for(principal=D("10000"), due_date=due, payments=[(due, D("7000"))],
                          as_of=due + dt.timedelta(days=30), rule=rule, excluded=D("3000"))
    assert r.amount == D("0.00")
