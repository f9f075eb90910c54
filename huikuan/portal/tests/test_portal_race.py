"""Concurrent portal actions on the same item (PostgreSQL only): two promises, two disputes, two confirmations
sent at once — by two contacts of the customer, or one contact submitting twice — never promise or dispute
more than is open, and a statement is confirmed once."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db.models import Sum

from huikuan.accounts.models import Company, Role, User
from huikuan.collections.models import Dispute, DisputeLine, Promise
from huikuan.common.errors import DomainError
from huikuan.customers.models import Contact, Customer
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment
from huikuan.ledger.tests.test_concurrency import run_threads
from huikuan.portal import actions
from huikuan.portal import services as portal
from huikuan.portal.models import Confirmation
from huikuan.statements.models import StatementReply
from huikuan.statements.services import issue_statement

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL row locks; SQLite serialises all writers"),
    pytest.mark.django_db(transaction=True),
]
TODAY = dt.date(2026, 2, 10)
N = 4


def _world(tag: str):
    company = Company.objects.create(code=f"PR{tag}", name="Portal race")
    fin = User.objects.create_user(username=f"pr{tag}", password="x", role=Role.FINANCE)
    fin.companies.add(company)
    customer = Customer.objects.create(company=company, code="C1", name="上海华东机械有限公司")
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=D("1000.00"), actor=fin)
    accesses = []
    for i in range(N):
        contact = Contact.objects.create(customer=customer, name=f"联系人{i}", email=f"c{i}-{tag}@example.cn")
        accesses.append(portal.grant_access(actor=fin, contact_id=contact.pk))
    return company, fin, customer, doc.instalments.get(), accesses


def _outcome(results):
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, DomainError)]
    other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]
    assert not other, other  # no deadlock, no integrity error, no 500
    return ok, refused


@pytest.mark.parametrize("round_", range(2))
def test_concurrent_promises_never_exceed_the_open_amount(round_):
    _company, _fin, customer, _inst, accesses = _world(f"p{round_}")

    def work(i):
        return actions.promise_to_pay(access=accesses[i], customer_id=customer.pk, amount="400.00",
                                      promised_date=TODAY + dt.timedelta(days=7), today=TODAY)

    ok, refused = _outcome(run_threads(N, work))
    assert (len(ok), len(refused)) == (2, N - 2)  # 2 × 400 fit in 1,000; a third would not
    assert Promise.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] == D("800.00")


@pytest.mark.parametrize("round_", range(2))
def test_concurrent_disputes_never_exceed_the_open_amount(round_):
    _company, _fin, customer, inst, accesses = _world(f"d{round_}")

    def work(i):
        return actions.raise_dispute(access=accesses[i], customer_id=customer.pk, instalment_id=inst.pk,
                                     reason="quality", amount="600.00", note="货物有损坏", today=TODAY)

    ok, refused = _outcome(run_threads(N, work))
    assert (len(ok), len(refused)) == (1, N - 1)
    assert Dispute.objects.filter(customer=customer).count() == 1
    assert DisputeLine.objects.filter(instalment=inst).aggregate(s=Sum("amount"))["s"] == D("600.00")
    assert Instalment.objects.get(pk=inst.pk).disputed_amount == D("600.00")


@pytest.mark.parametrize("round_", range(2))
def test_concurrent_confirmations_record_one(round_, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    company, fin, customer, _inst, accesses = _world(f"c{round_}")
    st = issue_statement(user=fin, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 1, 31),
                         today=dt.date(2026, 2, 1))
    now = dt.datetime(2026, 2, 10, 10, 0, tzinfo=dt.UTC)

    def work(i):
        return actions.reply_to_statement(access=accesses[i % 2], statement_id=st.pk, agree=True,
                                          signer_name=f"联系人{i}", now=now, today=TODAY)

    ok, refused = _outcome(run_threads(N, work))
    assert (len(ok), len(refused)) == (1, N - 1)
    assert StatementReply.objects.filter(statement=st).count() == 1
    assert Confirmation.objects.filter(statement=st, confirmed=True).count() == 1
