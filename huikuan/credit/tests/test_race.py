"""Two credit checks racing for the last available credit in hard-limit mode (PostgreSQL only)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings

from huikuan.accounts.models import Company, Role, User
from huikuan.credit import services
from huikuan.credit.models import CreditProfile, OrderStatus, SalesOrder
from huikuan.customers.models import Customer
from huikuan.ledger.tests.test_concurrency import run_threads

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks; SQLite serialises all writers"),
    pytest.mark.django_db(transaction=True),
]
DAY = dt.date(2026, 3, 2)
N = 6


@pytest.mark.parametrize("round_", range(3))
def test_racing_orders_never_both_take_the_last_credit(round_):
    company = Company.objects.create(code=f"R{round_}", name="Race")
    user = User.objects.create_user(username=f"sales{round_}", password="x", role=Role.ADMIN)
    user.companies.add(company)
    customer = Customer.objects.create(company=company, code="C1", name="Racer")
    services.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("1000"))

    def work(i):
        return services.submit_order(company=company, customer_id=customer.pk, reference=f"R{round_}-{i}",
                                     amount="600", as_of=DAY, actor=user).outcome

    results = run_threads(N, work)
    assert all(isinstance(r, str) for r in results), results
    assert results.count("approve") == 1 and results.count("hold") == N - 1
    assert SalesOrder.objects.filter(customer=customer, status=OrderStatus.OPEN).count() == 1
