"""Cash application journey through the UI: upload a bank statement → the certain line is applied by
itself → review the queue → open the boss's transfer, read why it is suggested, confirm it → the invoice
is paid → the payer name is learned as an alias (and the next transfer from it needs nobody)."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.utils import translation

from huikuan.banking.models import BankAccount, BankAlias, BankLine, LineStatus
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

CSV = """招商银行账户交易明细
账号：755912345610001
交易日期,流水号,借方发生额,贷方发生额,余额,对方户名,对方账号,用途
2026-03-02,J001,,"1,200.00","101,200.00",上海华东机械有限公司,6222021001001234,INV-2026-00001
2026-03-03,J002,,"3,456.70","104,656.70",王建国,6217000011112222,代付货款
2026-03-03,J003,25.00,,"104,631.70",,,手续费
"""


def _t(text):
    with translation.override("en"):
        return translation.gettext(text)


def test_upload_review_confirm_invoice_paid_alias_learned(browser, live_server, shot, company, customer, finance,
                                                          tmp_path):
    BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")
    d1 = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 1),
                              actor=finance, total=D("1200.00"), number="INV-2026-00001")
    d2 = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 10),
                              actor=finance, total=D("3456.70"), number="INV-2026-00002")
    path = tmp_path / "statement.csv"
    path.write_bytes(CSV.encode("gbk"))
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{live_server.url}/bank/")
        page.wait_for_url(re.compile(r"/login/"))
        page.fill("#id_username", finance.username)
        page.fill("#id_password", "pw-123456")
        page.click("button.primary[type=submit]")
        page.wait_for_url(re.compile(r"/bank/$"))
        # ---- upload
        page.set_input_files("#id_file", str(path))
        page.click(f"button:has-text('{_t('Import and match')}')")
        page.wait_for_url(re.compile(r"/bank/statements/\d+/$"))
        shot(page, "banking-statement")
        assert page.locator("#reconciliation .badge.ok").count() == 1  # opening + lines = closing
        assert Instalment.objects.get(document=d1).open_amount == 0  # exact reference + amount: automatic
        # ---- the queue: the boss's personal transfer waits for a person
        page.goto(f"{live_server.url}/bank/queue/")
        row = page.locator("table.list tbody tr", has_text="王建国")
        assert row.count() == 1
        shot(page, "banking-queue")
        row.locator(f"a:has-text('{_t('Review')}')").click()
        page.wait_for_url(re.compile(r"/bank/lines/\d+/$"))
        assert page.locator(".proposal").first.locator("h3").inner_text().startswith(customer.name)
        assert page.locator(".proposal li").count() >= 1  # the reasons are shown
        shot(page, "banking-line")
        page.locator(".proposal").first.locator(f"button:has-text('{_t('Confirm this match')}')").click()
        page.wait_for_load_state()
        line = BankLine.objects.get(serial="J002")
        assert line.status == LineStatus.CONFIRMED
        # ---- the invoice is paid
        page.goto(f"{live_server.url}/documents/{d2.pk}/")
        assert Instalment.objects.get(document=d2).open_amount == 0
        shot(page, "banking-invoice-paid")
        # ---- the alias is learned
        page.goto(f"{live_server.url}/bank/aliases/")
        assert page.locator("table.list tbody tr", has_text="王建国").count() == 1
        assert BankAlias.objects.get(name="王建国").customer_id == customer.pk
    finally:
        ctx.close()
