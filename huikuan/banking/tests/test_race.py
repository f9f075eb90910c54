"""Two clerks confirming the same bank line at once (PostgreSQL only): one wins, one payment."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings

from huikuan.accounts.models import Company, Role, User
from huikuan.banking import services as bs
from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus
from huikuan.customers.models import Customer
from huikuan.ledger import services as ledger
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Credit, CreditKind, Instalment
from huikuan.ledger.tests.test_concurrency import run_threads

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks; SQLite serialises all writers"),
    pytest.mark.django_db(transaction=True),
]
DAY = dt.date(2026, 3, 2)
N = 4


@pytest.mark.parametrize("round_", range(2))
def test_racing_confirmations_create_one_payment(round_):
    company = Company.objects.create(code=f"B{round_}", name="Race")
    clerks = []
    for i in range(N):
        u = User.objects.create_user(username=f"fin{round_}-{i}", password="x", role=Role.FINANCE)
        u.companies.add(company)
        clerks.append(u)
    customer = Customer.objects.create(company=company, code="C1", name="甲公司")
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, actor=clerks[0],
                               total=D("500.00"))
    inst = Instalment.objects.get(document=doc)
    acct = BankAccount.objects.create(company=company, bank="B", account_number=f"1{round_}", currency="CNY")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="x", file_hash="h")
    line = BankLine.objects.create(company=company, account=acct, statement=st, date=DAY, amount=D("500.00"),
                                   counterparty_name="某人", dedupe_key="k", status=LineStatus.SUGGESTED,
                                   proposals=[{"customer_id": customer.pk, "allocations": [[inst.pk, "500.00", "0", "x"]]}])

    def work(i):
        try:
            bs.confirm_proposal(company=company, line_id=line.pk, index=0, actor=clerks[i], on=DAY)
            return "ok"
        except bs.AlreadyDecided:
            return "late"

    results = run_threads(N, work)
    assert sorted(results) == ["late"] * (N - 1) + ["ok"], results
    assert Credit.objects.filter(customer=customer, kind=CreditKind.PAYMENT).count() == 1
    assert Instalment.objects.get(pk=inst.pk).open_amount == 0
    assert check_ledger(company_id=company.pk) == []
