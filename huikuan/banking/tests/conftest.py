import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest

from huikuan.banking.models import BankAccount
from huikuan.ledger import services as ledger

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def account(company):
    return BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")


@pytest.fixture
def post(company, finance):
    def _post(customer, total, *, number="", day=dt.date(2026, 2, 1), schedule=None):
        return ledger.post_document(company=company, customer_id=customer.pk, document_date=day, actor=finance,
                                    total=D(total), number=number, schedule=schedule)
    return _post


@pytest.fixture
def write(tmp_path):
    def _write(name, content):
        p = tmp_path / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return p
    return _write
