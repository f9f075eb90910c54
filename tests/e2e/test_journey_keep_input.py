"""Error round trips in the browser (issue 13): the call log with a promise (on a phone, zh-hans), the partial
hold release and the payment application. Every typed value is still there after a refusal, the decision
unchanged, and the corrected submission goes through."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client
from playwright.sync_api import expect

from huikuan.collections.models import Promise
from huikuan.collections.worklist import refresh_queue
from huikuan.common import clock
from huikuan.credit import services as cs
from huikuan.credit.models import CreditProfile, OrderStatus, SalesOrder
from huikuan.ledger import services as ls
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _page(browser, live_server, user, *, width=390, height=844, language="zh-hans"):
    c = Client()
    c.force_login(user)
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": language, "url": live_server.url},
    ])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def test_call_log_refused_on_a_phone_keeps_every_input(browser, live_server, shot, company, customer, users, finance):
    today = clock.today(company)
    ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=75),
                     total=D("8000.00"), actor=finance)
    refresh_queue(company=company, as_of=today)
    ctx, page = _page(browser, live_server, users["collector"])
    try:
        page.goto(f"{live_server.url}/collections/")
        row = page.locator(f"#worklist tbody tr[data-customer='{customer.pk}']")
        row.locator("summary").click()
        form = row.locator("form.quick-log")
        form.locator("select[name=outcome]").select_option("promised")
        form.locator("input[name=note]").fill("王经理：周五付款")
        soon = (today + dt.timedelta(days=7)).isoformat()
        form.locator("input[name=next_action_date]").fill(soon)
        form.locator("input[name=promise_amount]").fill("5,000.00元整")  # not an amount, and no promised date
        form.locator("input[name=pause]").check()
        form.locator("button.primary").click()
        form = row.locator("form.quick-log")
        form.locator(".form-errors").wait_for()
        assert form.locator(".field-error").count() == 2  # the amount and the missing date, in one answer
        assert form.locator("select[name=outcome]").input_value() == "promised"
        assert form.locator("input[name=note]").input_value() == "王经理：周五付款"
        assert form.locator("input[name=next_action_date]").input_value() == soon
        assert form.locator("input[name=promise_amount]").input_value() == "5,000.00元整"
        assert form.locator("input[name=promise_date]").input_value() == ""
        assert form.locator("input[name=pause]").is_checked()
        assert form.is_visible()  # the form stays open where the user was
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "phone-call-log-refused")
        promised = (today + dt.timedelta(days=3)).isoformat()
        form.locator("input[name=promise_amount]").fill("5,000.00")
        form.locator("input[name=promise_date]").fill(promised)
        form.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/collections/(\?.*)?$"))
        page.locator(".messages").wait_for()
        p = Promise.objects.get()
        assert (p.amount, p.promised_date.isoformat()) == (D("5000.00"), promised)
    finally:
        ctx.close()


def test_partial_release_refused_keeps_the_decision(browser, live_server, company, customer, users):
    cs.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("10000"), grade="A")
    cs.submit_order(company=company, customer_id=customer.pk, reference="SO-88", amount=D("12000"),
                    as_of=clock.today(company), actor=users["sales_east"])
    order = SalesOrder.objects.get(reference="SO-88")
    assert order.status == OrderStatus.HELD
    ctx, page = _page(browser, live_server, users["credit_manager"])
    try:
        page.goto(f"{live_server.url}/credit/orders/{order.pk}/")
        form = page.locator("form.decision-form")
        form.locator("select[name=action]").select_option("partial")
        form.locator("input[name=amount]").fill("15,000")
        form.locator("input[name=reason]").fill("先放一部分")
        form.locator("button.primary").click()
        form = page.locator("form.decision-form")
        form.locator(".form-errors").wait_for()
        assert form.locator("select[name=action]").input_value() == "partial"  # never flipped to a full release
        assert form.locator("input[name=amount]").input_value() == "15,000"
        assert form.locator("input[name=reason]").input_value() == "先放一部分"
        order.refresh_from_db()
        assert (order.status, order.amount) == (OrderStatus.HELD, D("12000.00"))
        form.locator("input[name=amount]").fill("9,000")
        form.locator("button.primary").click()
        page.locator(".msg-success").wait_for()
        order.refresh_from_db()
        assert (order.status, order.amount) == (OrderStatus.OPEN, D("9000.00"))
    finally:
        ctx.close()


def test_payment_apply_live_totals_and_refusal(browser, live_server, shot, company, customer, users, finance):
    today = clock.today(company)
    docs = [ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=90 - i),
                             total=D(t), actor=finance) for i, t in enumerate(["1000.00", "2000.00"])]
    a, b = (d.instalments.get() for d in docs)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("2500.00"), date=today, actor=finance,
                            auto_allocate=False)
    ctx, page = _page(browser, live_server, finance, width=1366, height=768, language="en")
    try:
        page.goto(f"{live_server.url}/payments/{pay.pk}/apply/")
        form = page.locator("form.apply-form")
        form.locator(f"input[name=amt_{a.pk}]").fill("1,200")
        form.locator(f"input[name=amt_{b.pk}]").fill("1,000.50")
        assert form.locator("[data-total=allocated]").inner_text() == "2,200.50"
        assert form.locator("[data-total=remaining]").inner_text() == "299.50"
        assert "over" in form.locator(f"tr:has(input[name=amt_{a.pk}])").get_attribute("class")
        shot(page, "payment-apply-live-totals")
        form.locator("button.primary").click()
        page.locator("form.apply-form .form-errors").wait_for()
        form = page.locator("form.apply-form")
        assert form.locator(f"input[name=amt_{a.pk}]").input_value() == "1,200"
        assert form.locator(f"input[name=amt_{b.pk}]").input_value() == "1,000.50"
        assert "More than the open amount (1,000.00)." in form.inner_text()
        form.locator(f"input[name=amt_{a.pk}]").fill("1,000")
        # the re-rendered form is bound when htmx settles it (~20 ms after the swap): wait for the recount
        expect(form.locator("[data-total=remaining]")).to_have_text("499.50", timeout=TIMEOUT_MS)
        form.locator("button.primary").click()
        page.wait_for_url(re.compile(rf"/payments/{pay.pk}/$"))
        pay.refresh_from_db()
        assert pay.unapplied_amount == D("499.50")
    finally:
        ctx.close()
