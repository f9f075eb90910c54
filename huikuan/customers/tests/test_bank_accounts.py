"""Customers' bank accounts: normalised numbers, one customer per number, scope, audit (the page is
tested in web/tests, the API in api/tests, matching in banking/tests)."""

import pytest

from huikuan.common.models import AuditEvent
from huikuan.customers import bank_accounts as ba
from huikuan.customers.errors import DuplicateBankAccount, InvalidField, NotAllowed
from huikuan.customers.models import CustomerBankAccount

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, stored", [
    ("6222 0212 3456 7890", "6222021234567890"),
    ("６２２２－０２１２－３４５６－７８９０", "6222021234567890"),  # full-width, as typed with a Chinese IME
    (" 1001-2345-0900-1234567 ", "10012345090012345 67".replace(" ", "")),
    ("de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("3100\u30001234\u3000567", "31001234567"),
])
def test_numbers_are_stored_normalised(customer, finance, raw, stored):
    acct = ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number=raw,
                               bank_name=" 中国工商银行上海分行 ", account_name="上海华东机械有限公司")
    acct.refresh_from_db()
    assert acct.account_number == stored
    assert acct.bank_name == "中国工商银行上海分行"


@pytest.mark.parametrize("raw", ["", "   ", "12345", "6222*****7890", "账号6222021234567890", "1" * 35])
def test_bad_numbers_are_refused_on_the_field(customer, finance, raw):
    with pytest.raises(InvalidField) as exc:
        ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number=raw)
    assert exc.value.field == "account_number"
    assert not CustomerBankAccount.objects.exists()


def test_any_number_of_accounts_audited_on_the_customer(customer, finance):
    ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890",
                        bank_name="工商银行", account_name="上海华东机械有限公司")
    ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="31050161373600001234",
                        bank_name="建设银行", account_name="华东机械", note="基本户")
    assert customer.bank_accounts.count() == 2
    ev = AuditEvent.objects.filter(verb="customers.bank_account.added").order_by("id")
    assert [e.customer_id for e in ev] == [customer.pk, customer.pk]
    assert ev[1].data["note"] == "基本户"


def test_one_number_one_customer_in_the_company(customer, other_customer, finance, users):
    ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890")
    with pytest.raises(DuplicateBankAccount) as exc:  # the same number typed with spaces
        ba.add_bank_account(customer_id=other_customer.pk, actor=finance, account_number="6222 0212 3456 7890")
    assert "C001" in str(exc.value.message)
    # a salesperson who cannot see the holder is not told who it is
    with pytest.raises(DuplicateBankAccount) as exc:
        ba.add_bank_account(customer_id=other_customer.pk, actor=users["sales_west"],
                            account_number="6222021234567890")
    assert "C001" not in str(exc.value.message) and "上海华东" not in str(exc.value.message)
    with pytest.raises(DuplicateBankAccount):  # twice for the same customer too
        ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222-0212-3456-7890")
    assert CustomerBankAccount.objects.count() == 1


def test_scope_and_permission(customer, users):
    with pytest.raises(NotAllowed):  # another salesperson's customer
        ba.add_bank_account(customer_id=customer.pk, actor=users["sales_west"], account_number="6222021234567890")
    with pytest.raises(NotAllowed):  # read-only role
        ba.add_bank_account(customer_id=customer.pk, actor=users["auditor"], account_number="6222021234567890")
    acct = ba.add_bank_account(customer_id=customer.pk, actor=users["sales_east"], account_number="6222021234567890")
    with pytest.raises(NotAllowed):
        ba.remove_bank_account(bank_account_id=acct.pk, actor=users["sales_west"])
    with pytest.raises(NotAllowed):
        ba.update_bank_account(bank_account_id=acct.pk, actor=users["sales_west"], note="x")
    assert CustomerBankAccount.objects.filter(pk=acct.pk, note="").exists()


def test_update_keeps_before_after_and_refuses_a_taken_number(customer, other_customer, finance):
    a = ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890")
    ba.add_bank_account(customer_id=other_customer.pk, actor=finance, account_number="31050161373600001234")
    ba.update_bank_account(bank_account_id=a.pk, actor=finance, bank_name="招商银行", account_number="6222 0212 3456 7890")
    ev = AuditEvent.objects.get(verb="customers.bank_account.updated")
    assert ev.data == {"before": {"bank_name": ""}, "after": {"bank_name": "招商银行"}}
    with pytest.raises(DuplicateBankAccount):
        ba.update_bank_account(bank_account_id=a.pk, actor=finance, account_number="3105 0161 3736 0000 1234")
    a.refresh_from_db()
    assert a.account_number == "6222021234567890"


def test_remove_deletes_and_audits_what_was_removed(customer, finance):
    a = ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890",
                            bank_name="工商银行")
    ba.remove_bank_account(bank_account_id=a.pk, actor=finance)
    assert not CustomerBankAccount.objects.exists()
    ev = AuditEvent.objects.get(verb="customers.bank_account.removed")
    assert ev.customer_id == customer.pk and ev.data["account_number"] == "6222021234567890"
    # the number is free again
    ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890")
