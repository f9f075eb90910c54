"""Customers' bank accounts (issue 11 point 6): the page, edit/remove and the API routes."""

from huikuan.customers.bank_accounts import add_bank_account

from . import EDITORS, GET_405, OWN, only

ROWS = {
    "web:customer-bank-accounts": ("/customers/{c}/bank-accounts/", OWN, 302),
    "web:bank-account-edit": ("/bank-accounts/{cba}/edit/", only(EDITORS, west=404), 302),
    "web:bank-account-remove": ("/bank-accounts/{cba}/remove/", GET_405, 405),
    "web:customer-checked": ("/customers/{c}/checked/", GET_405, 405),  # POST only (issue 11 point 4)
    "api:bank-account-list": ("/api/v1/customers/{c}/bank-accounts/", OWN, 401),
    "api:bank-account-detail": ("/api/v1/customers/{c}/bank-accounts/{cba}/", OWN, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    acct = add_bank_account(customer_id=customer.pk, actor=finance, account_number="6222021234567890",
                            bank_name="中国工商银行", account_name=customer.name)
    return {"cba": acct.pk}
