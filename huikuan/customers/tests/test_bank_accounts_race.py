"""Clerks recording the same bank account number for different customers at once (PostgreSQL only):
exactly one customer gets it, the others a clear duplicate error, never two customers for one number."""

import threading

import pytest
from django.conf import settings
from django.db import connection

from huikuan.accounts.models import Company, Role, User
from huikuan.common.models import AuditEvent
from huikuan.customers import bank_accounts as ba
from huikuan.customers.errors import DuplicateBankAccount
from huikuan.customers.models import Customer, CustomerBankAccount

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL concurrency; SQLite serialises all writers"),
    pytest.mark.django_db(transaction=True),
]
N = 4


def _race(n, work):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.parametrize("round_", range(2))
def test_one_number_goes_to_one_customer_under_a_race(round_):
    company = Company.objects.create(code=f"R{round_}", name="Race")
    clerks, customers = [], []
    for i in range(N):
        u = User.objects.create_user(username=f"fin{round_}-{i}", password="x", role=Role.FINANCE)
        u.companies.add(company)
        clerks.append(u)
        # a different customer per clerk: the customer locks do not serialise them, the unique index must
        customers.append(Customer.objects.create(company=company, code=f"C{i}", name=f"客户{i}"))

    def work(i):
        try:
            ba.add_bank_account(customer_id=customers[i].pk, actor=clerks[i], account_number="6222 0212 3456 7890")
            return "ok"
        except DuplicateBankAccount:
            return "duplicate"

    results = _race(N, work)
    assert sorted(results) == ["duplicate"] * (N - 1) + ["ok"], results
    assert CustomerBankAccount.objects.filter(company=company, account_number="6222021234567890").count() == 1
    assert AuditEvent.objects.filter(verb="customers.bank_account.added", company_id=company.pk).count() == 1
