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


def _combo_world(tag: str, clerks_n: int):
    company = Company.objects.create(code=f"K{tag}", name="Race combo")
    users = []
    for i in range(clerks_n + 1):
        u = User.objects.create_user(username=f"k{tag}-{i}", password="x", role=Role.FINANCE)
        u.companies.add(company)
        users.append(u)
    customer = Customer.objects.create(company=company, code="C1", name="上海华东机械有限公司")
    docs = [ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY - dt.timedelta(days=d),
                                 actor=users[0], total=D(t)) for d, t in ((40, "1000.00"), (30, "2000.00"), (20, "500.00"))]
    acct = BankAccount.objects.create(company=company, bank="B", account_number=f"K{tag}", currency="CNY")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="k", file_hash="h")

    def mk(key, amount, name):
        return BankLine.objects.create(company=company, account=acct, statement=st, date=DAY, amount=D(amount),
                                       counterparty_name=name, dedupe_key=key, status=LineStatus.UNMATCHED)
    auto = mk("auto", "2500.00", "上海华东机械有限公司")  # 2000 + 500: a unique combination, not the oldest
    manual = [mk(f"m{i}", "300.00", "某人") for i in range(clerks_n)]
    return company, users, customer, docs, auto, manual


@pytest.mark.parametrize("round_", range(3))
def test_clerks_confirming_while_a_run_applies_a_combination(round_):
    """A matching run applies a combination while clerks apply other lines to one of its items: the run's
    combination is re-checked under the locks — applied exactly as proposed, or back to the queue."""
    from huikuan.banking.models import BankApplication
    from huikuan.ledger.models import Allocation

    company, users, customer, docs, auto, manual = _combo_world(str(round_), 3)
    b = Instalment.objects.get(document=docs[1])

    def work(i):
        if i == 0:
            return bs.match_lines(company=company, line_ids=[auto.pk], actor=users[0], on=DAY)
        try:
            bs.apply_line(company=company, line_id=manual[i - 1].pk, actor=users[i], on=DAY,
                          parts=[bs.Part(customer.pk, [(b.pk, D("300.00"), D(0))])])
            return "ok"
        except bs.OverApplication:
            return "over"

    results = run_threads(4, work)
    assert not any(isinstance(r, BaseException) for r in results), results
    auto.refresh_from_db()
    apps = list(BankApplication.objects.filter(line=auto, reversed_at__isnull=True))
    if auto.status == LineStatus.AUTO_APPLIED:
        allocs = {a.instalment_id: a.amount for a in Allocation.objects.filter(credit_id=apps[0].credit_id)}
        assert allocs == {b.pk: D("2000.00"), Instalment.objects.get(document=docs[2]).pk: D("500.00")}
        assert results[1:] == ["over"] * 3
    else:  # the clerks came first: nothing applied that nobody proposed
        assert auto.status in (LineStatus.SUGGESTED, LineStatus.UNMATCHED) and apps == []
        assert "ok" in results[1:]
    assert Instalment.objects.get(pk=b.pk).open_amount >= 0
    assert check_ledger(company_id=company.pk) == []
