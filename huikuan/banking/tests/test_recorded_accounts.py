"""Customers' recorded bank accounts are known payer accounts from the first statement on."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.banking import services as bs
from huikuan.banking.models import BankAccount, BankAlias, BankLine, BankPayerAccount, LineStatus
from huikuan.customers import bank_accounts as ba
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db


def test_a_recorded_account_identifies_the_payer_on_the_first_statement(company, finance, customer, other_customer,
                                                                       tmp_path):
    BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")
    for cust in (customer, other_customer):  # both owe the same amount: the amount alone decides nothing
        ledger.post_document(company=company, customer_id=cust.pk, document_date=dt.date(2026, 2, 1), actor=finance,
                             total=D("8800.00"))
    ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6228 4800 1234 5678 9",
                        bank_name="中国农业银行", account_name="王建国")
    assert not BankPayerAccount.objects.exists() and not BankAlias.objects.exists()
    path = tmp_path / "stmt.csv"
    # the payer is the owner's personal card: the name says nothing, only the recorded account does
    path.write_bytes(("交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途\n"
                      "2026-03-05,N1,,8800.00,王建国,622848001234567 89,货款\n").encode("gb18030"))
    bs.import_statement(company=company, path=path, file_name="stmt.csv", actor=finance, on=dt.date(2026, 3, 20))
    line = BankLine.objects.get(serial="N1")
    assert line.customer_id == customer.pk
    assert line.status == LineStatus.AUTO_APPLIED
    assert line.credit.customer_id == customer.pk
