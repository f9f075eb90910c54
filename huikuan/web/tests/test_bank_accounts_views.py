"""The customer's bank-accounts page (add / edit / remove, errors in the user's language, scope, XLSX)
and the accounts on the customer page."""

import io

import pytest
from openpyxl import load_workbook

from huikuan.customers import bank_accounts as ba
from huikuan.customers.models import CustomerBankAccount

pytestmark = pytest.mark.django_db


def test_customer_page_shows_accounts_and_the_page_adds_edits_removes(client, customer, users):
    client.force_login(users["sales_east"])
    url = f"/customers/{customer.pk}/bank-accounts/"
    r = client.post(url, {"bank_name": "中国农业银行上海分行", "account_number": "0312 0401 0400 1234 5",
                          "account_name": "上海华东机械有限公司", "note": ""})
    assert r.status_code == 302
    acct = CustomerBankAccount.objects.get()
    assert acct.account_number == "0312040104001234" + "5"
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "0312 0401 0400 1234 5" in detail and "中国农业银行上海分行" in detail
    r = client.post(f"/bank-accounts/{acct.pk}/edit/", {"bank_name": "农行", "account_number": acct.account_number,
                                                         "account_name": "华东机械", "note": "回款专户"})
    assert r.status_code == 302
    acct.refresh_from_db()
    assert (acct.bank_name, acct.note) == ("农行", "回款专户")
    r = client.post(f"/bank-accounts/{acct.pk}/remove/")
    assert r.status_code == 302 and not CustomerBankAccount.objects.exists()


def test_page_errors_in_the_users_language(client, customer, other_customer, finance, users):
    ba.add_bank_account(customer_id=other_customer.pk, actor=finance, account_number="6222021234567890")
    client.force_login(users["finance"])
    r = client.post(f"/customers/{customer.pk}/bank-accounts/", {"account_number": "6222021234567890"},
                    HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 422
    assert "已登记" in r.content.decode()
    client.cookies["django_language"] = "en"
    r = client.post(f"/customers/{customer.pk}/bank-accounts/", {"account_number": "12"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "is not a bank account number" in r.content.decode()


def test_page_scope_and_xlsx(client, customer, finance, users):
    acct = ba.add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890",
                               bank_name="工商银行")
    client.force_login(users["sales_west"])
    assert client.get(f"/customers/{customer.pk}/bank-accounts/").status_code == 404
    assert client.get(f"/bank-accounts/{acct.pk}/edit/").status_code == 404
    assert client.post(f"/bank-accounts/{acct.pk}/remove/").status_code == 404
    client.force_login(users["auditor"])
    page = client.get(f"/customers/{customer.pk}/bank-accounts/")
    assert page.status_code == 200 and "/remove/" not in page.content.decode()
    assert client.post(f"/customers/{customer.pk}/bank-accounts/", {"account_number": "31050161373600001234"}
                       ).status_code == 403
    x = client.get(f"/customers/{customer.pk}/bank-accounts/?format=xlsx")
    ws = load_workbook(io.BytesIO(b"".join(x.streaming_content))).active
    assert ws.cell(row=2, column=4).value == "6222021234567890"
    assert CustomerBankAccount.objects.count() == 1
