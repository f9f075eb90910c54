"""Issue 14 through the UI: a statement whose transfer is short by a bank charge is settled by itself and
the charge shows on the monthly report; an interest line gets a category and is ignored in one click
(desktop in English, phone in Chinese)."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from huikuan.banking.models import BankAccount, BankLine, LineStatus
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CSV = """招商银行账户交易明细
账号：755912345610001
交易日期,流水号,借方发生额,贷方发生额,余额,对方户名,对方账号,用途
2026-03-02,F001,,"4,975.00","104,975.00",上海华东机械有限公司,6222021001001234,货款(已扣手续费)
2026-03-03,F002,,12.34,"104,987.34",招商银行上海分行,,活期结息
"""


def _login(page, live_server, finance):
    page.goto(f"{live_server.url}/bank/")
    page.wait_for_url(re.compile(r"/login/"))
    page.fill("#id_username", finance.username)
    page.fill("#id_password", "pw-123456")
    page.click("button.primary[type=submit]")
    page.wait_for_url(re.compile(r"/bank/$"))


def test_bank_charge_settled_and_reported_interest_ignored_in_one_click(browser, live_server, shot, company, customer,
                                                                         finance, tmp_path):
    BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 1),
                               actor=finance, total=D("5000.00"), number="XS-2026-0311")
    path = tmp_path / "statement.csv"
    path.write_bytes(CSV.encode("gbk"))
    for width, locale in ((1366, "en-US"), (390, "zh-CN")):
        ctx = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            _login(page, live_server, finance)
            if width == 1366:
                page.set_input_files("#id_file", str(path))
                page.locator("form[action$='/bank/upload/'] button[type=submit]").click()
                page.wait_for_url(re.compile(r"/bank/statements/\d+/$"))
                assert Instalment.objects.get(document=doc).open_amount == 0  # settled, 25.00 as a bank charge
            page.goto(f"{live_server.url}/bank/charges/?year=2026")
            assert "25.00" in page.locator("#bank-charges").inner_text()
            shot(page, f"cashapp-charges-{width}")
            interest = BankLine.objects.get(serial="F002")
            page.goto(f"{live_server.url}/bank/lines/{interest.pk}/")
            shot(page, f"cashapp-interest-line-{width}")
            if width == 390:
                page.locator("#line-category button[type=submit]").click()
                page.wait_for_load_state()
                interest.refresh_from_db()
                assert interest.status == LineStatus.IGNORED and interest.category == "interest"
        finally:
            ctx.close()
