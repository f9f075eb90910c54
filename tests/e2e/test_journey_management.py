"""Management journey (issue 15): the boss opens the dashboard, sees DSO, follows it down — the KPI page, DSO
per customer, the closing receivables behind one customer's DSO — to the customer; a salesperson opens their
commission statement and sees the payment behind the figure. In Chinese and English, at 1366 and 390 px."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.customers.models import Customer
from huikuan.insight import commission as cm
from huikuan.insight.commission import BandInput
from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)

MONTH = "2026-11"
TEXT = {
    "en": {"dso": "DSO", "all": "All KPIs", "customer": "Customer", "ar": "Open receivables", "statement": "Commission"},
    "zh-hans": {"dso": "DSO", "all": "全部指标", "customer": "客户", "ar": "未结应收", "statement": "提成"},
}


def _open(browser, live_server, user, lang, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Client()
    c.force_login(user)
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": dj_settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url},
    ])
    return ctx, page


@pytest.fixture
def ledger(company, customer, other_customer, users, finance):
    """November: two customers billed in October (due in November), one paid late in November — commission rule
    1 % within 30 days late."""
    docs = {}
    for c, total in ((customer, "12000.00"), (other_customer, "3000.00")):
        docs[c.pk] = ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 10, 5),
                                      total=D(total), actor=finance, number=f"INV-{c.code}")
    ls.record_payment(company=company, customer_id=customer.pk, amount=D("5000.00"), date=dt.date(2026, 11, 10),
                      actor=finance)
    cm.save_rule(company=company, valid_from=dt.date(2026, 1, 1), bands=[BandInput(0, 30, D("1")),
                                                                         BandInput(31, None, D("0"))], actor=finance)
    cm.compute_month(company=company, month=dt.date(2026, 11, 1), actor=finance)
    return docs


@pytest.mark.parametrize(("lang", "width"), [("en", 1366), ("zh-hans", 390), ("zh-hans", 1366), ("en", 390)])
def test_boss_follows_dso_to_customers_and_salesperson_opens_commission(browser, live_server, shot, company, customer,
                                                                       other_customer, users, ledger, lang, width):
    t = TEXT[lang]
    tag = f"{lang}-{width}"
    # ---- the boss: dashboard → all KPIs → DSO by customer → the receivables behind one customer → the customer
    ctx, page = _open(browser, live_server, users["admin"], lang, width)
    try:
        page.goto(f"{live_server.url}/")
        strip = page.locator("#dashboard-kpis")
        strip.wait_for()
        assert t["dso"] in strip.inner_text()
        shot(page, f"journey-management-dashboard-{tag}")
        page.locator("#dashboard-kpi-strip a", has_text=t["all"]).click()
        page.wait_for_url(re.compile(r"/kpis/(\?.*)?$"))
        page.goto(f"{live_server.url}/kpis/?period={MONTH}&group=customer")
        groups = page.locator("#kpi-groups")
        groups.wait_for()
        header = groups.locator("thead").inner_text()
        assert t["dso"] in header
        rows = groups.locator("tbody tr")
        assert rows.count() == 2
        assert {customer.code, other_customer.code} <= {c for c in (customer.code, other_customer.code)
                                                        if c in groups.locator("tbody").inner_text()}
        shot(page, f"journey-management-dso-by-customer-{tag}")
        # the closing AR of the first customer's row: the rows behind its DSO
        row = rows.filter(has_text=customer.code)
        row.locator("a[href*='source=ar']").first.click()
        drill = page.locator("#drill #kpi-items")
        drill.wait_for()
        assert "INV-C001" in drill.inner_text() and "INV-C002" not in drill.inner_text()
        assert "7,000.00" in drill.inner_text()  # 12,000 billed − 5,000 paid, open at the end of November
        shot(page, f"journey-management-dso-drill-{tag}")
        drill.locator(f"a[href='/customers/{customer.pk}/']").first.click()
        page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
        assert customer.name in page.content()
    finally:
        ctx.close()

    # ---- the salesperson: the leaderboard → their commission statement, with the payment behind it
    ctx, page = _open(browser, live_server, users["sales_east"], lang, width)
    try:
        page.goto(f"{live_server.url}/kpis/people/?month={MONTH}")
        board = page.locator("#leaderboard")
        board.wait_for()
        assert "sales_west" not in board.inner_text()  # their own row only
        board.locator("a[href*='/kpis/commission/']").first.click()
        page.wait_for_url(re.compile(r"/kpis/commission/\d+/$"))
        body = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        assert "50.00" in body  # 1 % of 5,000.00 collected 6 days late
        assert Customer.objects.get(pk=customer.pk).code in body
        shot(page, f"journey-management-commission-{tag}")
    finally:
        ctx.close()
