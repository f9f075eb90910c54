"""Numbers as people read them (issue 13): thousands separators on bank pages, one rounding of confidence."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.banking.models import BankAccount, BankLine, BankStatement
from huikuan.common.numbers import whole_percent
from huikuan.web.templatetags.ui import percent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("ratio", "shown"), [("0.945", 95), ("0.955", 96), ("0.999", 100), ("0.5", 50), ("0", 0),
                                              (D("0.125"), 13), (D("0.705"), 71)])
def test_whole_percent_rounds_half_up(ratio, shown):
    assert whole_percent(ratio) == shown  # int() would give 94 for 0.945, round()/widthratio 94 (half to even)
    assert percent(ratio) == f"{shown}%"


def test_review_queue_groups_amounts_and_rounds_confidence_once(client, users, company):
    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="6225000000000001")
    st = BankStatement.objects.create(company=company, account=acct, source_format="csv", file_name="招行流水.csv",
                                      file_hash="x" * 64)
    BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 3, 2),
                            amount=D("1234567.80"), counterparty_name="上海华东机械有限公司", dedupe_key="S1",
                            status="suggested", confidence=D("0.945"))
    client.force_login(users["finance"])
    html = client.get("/bank/queue/").content.decode()
    assert "1,234,567.80" in html and "1234567.8" not in html
    assert ">95%<" in html and ">94%<" not in html
