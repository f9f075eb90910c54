"""A bank export nobody taught the product, through the browser, in zh-hans and en: upload → the
mapping step (first rows, a column picker per field with sample values) → import → the next month's
file of the same account goes straight in, no mapping step. Also the customer's bank-accounts page
(add an account) at desktop and phone widths."""

import re

import pytest
from django.utils import translation

from huikuan.banking.models import BankAccount, BankLine, StatementLayout
from huikuan.customers.models import CustomerBankAccount
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

MARCH = """XX农村商业银行对账单
账号：6230 5200 1000 0088 8
记账日,收款金额,付款金额,对手名称,对手账号,附言,交易序号
2026/03/02,"5,000.00",,上海华东机械有限公司,6222021001001234,货款,A0001
2026/03/03,,120.00,XX农商行,,短信费,A0002
"""
APRIL = MARCH.replace("2026/03/02", "2026/04/02").replace("A0001", "A0101").replace(
    "2026/03/03", "2026/04/03").replace("A0002", "A0102")


def _t(text, lang):
    with translation.override(lang):
        return translation.gettext(text)


def _login(page, url, user):
    page.goto(f"{url}/bank/")
    page.wait_for_url(re.compile(r"/login/"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-123456")
    page.click("button.primary[type=submit]")
    page.wait_for_url(re.compile(r"/bank/$"))


@pytest.mark.parametrize("lang, locale", [("zh-hans", "zh-CN"), ("en", "en-US")])
def test_unknown_layout_mapped_once_in_the_browser(browser, live_server, shot, company, customer, finance, tmp_path,
                                                  lang, locale):
    acct = BankAccount.objects.create(company=company, bank="XX农商银行", account_number="62305200100000888",
                                      currency="CNY")
    march, april = tmp_path / "march.csv", tmp_path / "april.csv"
    march.write_bytes(MARCH.encode("gb18030"))
    april.write_bytes(APRIL.encode("gb18030"))
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, live_server.url, finance)
        page.set_input_files("#id_file", str(march))
        page.click(f"button:has-text('{_t('Import and match', lang)}')")
        page.wait_for_url(re.compile(r"/bank/uploads/\d+/map/$"))
        assert page.locator("#preview tbody tr").count() == 2
        assert page.locator("#id_account").input_value() == str(acct.pk)  # from the title rows
        assert "上海华东机械有限公司 | XX农商行" in page.locator("#id_col_name").inner_html()
        shot(page, f"bank-mapping-{lang}-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, f"bank-mapping-{lang}-390")
        page.set_viewport_size({"width": 1366, "height": 900})
        # a bad mapping first: the same column twice
        page.select_option("#id_col_date", "记账日")
        page.select_option("#id_col_credit", "收款金额")
        page.select_option("#id_col_debit", "收款金额")
        page.click(f"button:has-text('{_t('Import with this mapping', lang)}')")
        page.wait_for_selector("#mapping .form-errors, .form-errors")
        assert BankLine.objects.count() == 0
        for field, column in [("date", "记账日"), ("credit", "收款金额"), ("debit", "付款金额"), ("name", "对手名称"),
                              ("account", "对手账号"), ("memo", "附言"), ("serial", "交易序号")]:
            page.select_option(f"#id_col_{field}", column)
        page.click(f"button:has-text('{_t('Import with this mapping', lang)}')")
        page.wait_for_url(re.compile(r"/bank/statements/\d+/$"))
        assert BankLine.objects.filter(account=acct).count() == 2
        assert StatementLayout.objects.filter(account=acct).count() == 1
        # next month: straight in
        page.goto(f"{live_server.url}/bank/")
        page.set_input_files("#id_file", str(april))
        page.click(f"button:has-text('{_t('Import and match', lang)}')")
        page.wait_for_url(re.compile(r"/bank/statements/\d+/$"))
        assert BankLine.objects.filter(account=acct).count() == 4
        page.goto(f"{live_server.url}/bank/")
        shot(page, f"bank-index-layouts-{lang}")
        # the customer's bank accounts
        page.goto(f"{live_server.url}/customers/{customer.pk}/bank-accounts/")
        page.fill("#id_bank_name", "中国农业银行上海分行")
        page.fill("#id_account_number", "6228 4800 1234 5678 9")
        page.fill("#id_account_name", "王建国")
        page.click(f"form.stacked button.primary:has-text('{_t('Add', lang)}')")
        page.wait_for_selector("#bank-accounts td:has-text('6228 4800 1234 5678 9')")
        assert CustomerBankAccount.objects.filter(customer=customer, account_number="62284800123456789").exists()
        shot(page, f"customer-bank-accounts-{lang}-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, f"customer-bank-accounts-{lang}-390")
        page.goto(f"{live_server.url}/customers/{customer.pk}/")
        assert page.locator("#customer-bank-accounts td", has_text="王建国").count() == 1
        shot(page, f"customer-360-bank-accounts-{lang}-390")
    finally:
        ctx.close()
