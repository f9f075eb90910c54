"""Issue 13 through the UI: the review queue filtered and searched, the keyboard (j / k, x, Enter) and a
bulk confirm of 50 lines at 1366 px in English — each line applied on its own, the one whose suggestion
no longer holds reported and left in the queue; the same page on a phone in Chinese."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from huikuan.banking.models import BankAccount, BankApplication, BankLine, BankStatement, LineStatus
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Instalment
from tests.e2e import TIMEOUT_MS
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _login(page, live_server, user):
    page.goto(f"{live_server.url}/bank/queue/")
    page.wait_for_url(re.compile(r"/login/"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-123456")
    page.click("button.primary[type=submit]")
    page.wait_for_url(re.compile(r"/bank/queue/$"))


def _lines(company, finance, customer, n):
    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="q.xml",
                                      file_hash="q")
    out = []
    for k in range(n):
        doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 1),
                                   actor=finance, total=D(1000 + k), number=f"XS-2026-{k:04d}")
        inst = Instalment.objects.get(document=doc)
        out.append((inst, BankLine.objects.create(
            company=company, account=acct, statement=st, date=dt.date(2026, 3, 2) + dt.timedelta(days=k % 20),
            amount=inst.amount, counterparty_name="上海华东机械有限公司", memo=f"付 XS-2026-{k:04d}",
            dedupe_key=f"q{k}", customer=customer, confidence=D("0.900"), status=LineStatus.SUGGESTED,
            proposals=[{"customer_id": customer.pk, "customer_name": customer.name, "kind": "exact",
                        "confidence": "0.9", "rest": "0", "allocations": [[inst.pk, str(inst.amount), "0", doc.number]],
                        "reasons": [["amount", {}]], "identity": []}])))
    return acct, st, out


def test_bulk_confirm_fifty_lines_with_the_keyboard_and_one_stale(browser, live_server, shot, company, customer,
                                                                   finance):
    acct, st, made = _lines(company, finance, customer, 50)
    # one more line suggesting an item the first line pays: its suggestion stops holding during the bulk confirm
    inst0 = made[0][0]
    stale = BankLine.objects.create(
        company=company, account=acct, statement=st, date=dt.date(2026, 3, 25), amount=inst0.amount,
        counterparty_name="重复付款人", dedupe_key="dup", customer=customer, confidence=D("0.600"),
        status=LineStatus.SUGGESTED, proposals=[{**made[0][1].proposals[0], "confidence": "0.6"}])
    other = BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 3, 3),
                                    amount=D("77.00"), counterparty_name="不相干", dedupe_key="x", memo="利息")
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, live_server, finance)
        # search by memo: only that line
        page.fill("input[name=q]", "XS-2026-0007")
        page.click("form.queue-filters button[type=submit]")
        page.wait_for_url(re.compile(r"/bank/queue/\?q=XS-2026-0007(&|$)"))
        assert page.locator("tbody tr[data-line]").count() == 1
        # filter by band: the no-suggestion line alone
        page.goto(f"{live_server.url}/bank/queue/?band=none")
        assert page.locator("tbody tr[data-line]").count() == 1
        assert page.locator(f"tr[data-line='{other.pk}']").count() == 1
        # the keyboard: j, j, k → the first row is current; x selects it; Enter confirms the second row alone
        page.goto(f"{live_server.url}/bank/queue/?sort=date")
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("j")
        page.keyboard.press("j")
        page.keyboard.press("k")
        first = page.locator("tbody tr[data-line]").first
        assert "current" in (first.get_attribute("class") or "")
        page.keyboard.press("x")
        assert first.locator("input[data-select]").is_checked()
        assert page.locator("[data-selected-count]").inner_text() == "1"
        page.keyboard.press("x")  # unselect again
        assert page.locator("#bulk-confirm").is_disabled()
        page.keyboard.press("j")
        second_id = int(page.locator("tbody tr[data-line]").nth(1).get_attribute("data-line"))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/bank/queue/\?sort=date$"))
        assert BankLine.objects.get(pk=second_id).status == LineStatus.CONFIRMED
        # bulk: the 49 others + the stale one on one page, smallest first (the first line paid before the stale one)
        page.goto(f"{live_server.url}/bank/queue/?min=1000&sort=amount")
        assert page.locator("tbody tr[data-line]").count() == 50
        page.check("input[data-select-all]")
        assert page.locator("[data-selected-count]").inner_text() == "50"
        shot(page, "bank-queue-bulk-1366-en")
        page.screenshot(path=str(ARTIFACTS / "bank-queue-bulk.png"))  # the viewport only: the guide's picture
        page.click("#bulk-confirm")
        page.wait_for_url(re.compile(r"/bank/queue/\?min=1000&sort=amount$"))
        body = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
        assert "49 lines confirmed" in body
        assert "重复付款人" in body  # reported, with its reason
        shot(page, "bank-queue-after-bulk-1366-en")
    finally:
        ctx.close()
    assert BankLine.objects.filter(status=LineStatus.CONFIRMED).count() == 50
    assert all(Instalment.objects.get(pk=i.pk).open_amount == 0 for i, _ln in made)
    assert BankLine.objects.get(pk=stale.pk).status == LineStatus.SUGGESTED
    assert not BankApplication.objects.filter(line=stale).exists()
    # the phone, in Chinese: the queue fits the width and the bulk button is there
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _login(page, live_server, finance)
        assert "待复核队列" in page.inner_text("h1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("#bulk-confirm").count() == 1
        shot(page, "bank-queue-390-zh")
    finally:
        ctx.close()
