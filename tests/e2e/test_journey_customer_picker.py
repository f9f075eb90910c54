"""The customer picker in the browser (issue 13), zh-hans and en, desk and phone: a clerk recording a payment
types pinyin, sees the matches, picks with the keyboard, and the payment is recorded for that customer; a
miss says so and keeps what was typed. 600 customers exist: none of them is in a capped list."""

import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client
from django.utils import translation

from huikuan.customers import services
from huikuan.ledger.models import Credit
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.mark.parametrize("lang, width", [("zh-hans", 1366), ("en", 390)])
def test_pick_a_customer_by_pinyin_with_the_keyboard(browser, live_server, shot, company, users, finance, lang, width):
    for i in range(600):
        services.create_customer(company=company, actor=users["admin"], code=f"A{i:04d}", name=f"北京第{i}贸易有限公司")
    target = services.create_customer(company=company, actor=users["admin"], code="Z9001", name="广州南方贸易有限公司",
                                      short_name="南方贸易")
    c = Client()
    c.force_login(finance)
    ctx = browser.new_context(viewport={"width": width, "height": 844 if width == 390 else 768})
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": lang, "url": live_server.url},
    ])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{live_server.url}/payments/new/")
        box = page.locator("input[name=customer][data-customer-picker]")
        box.click()
        box.press_sequentially("zzzq", delay=30)
        none = page.locator(".picker-list li.picker-none")
        none.wait_for()
        with translation.override(lang):
            assert none.inner_text() == translation.gettext("No customer matches. Keep typing, or check the code.")
        assert box.input_value() == "zzzq"  # a miss never clears the typed text
        box.fill("")
        box.press_sequentially("nanfang", delay=30)
        option = page.locator(".picker-list li[data-i]", has_text="Z9001")
        option.wait_for()
        assert page.locator(".picker-list li[data-i]").count() == 1
        shot(page, f"customer-picker-{lang}-{width}")
        box.press("ArrowDown")  # wraps round to the only match
        box.press("Enter")
        assert box.input_value() == "Z9001"
        page.wait_for_function("document.querySelector('.picker-name').textContent.includes('广州南方贸易有限公司')")
        assert page.locator(".picker-list").is_hidden()
        page.fill("input[name=amount]", "1,234.50")
        page.locator("form.stacked button.primary, form button.primary").first.click()
        page.wait_for_url(re.compile(r"/payments/\d+/$"))
    finally:
        ctx.close()
    pay = Credit.objects.get()
    assert (pay.customer_id, pay.amount) == (target.pk, D("1234.50"))
