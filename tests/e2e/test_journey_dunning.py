"""Dunning journey (issue 5): finance edits a template with the live preview (an unknown placeholder is shown as an
error, then fixed and saved), runs dunning for a date from the Runs page, opens the notice and sees its outbox rows.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.customers.models import Contact
from huikuan.dunning import services
from huikuan.dunning.models import DunningTemplate, Notice
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])


def test_journey_template_preview_run_and_outbox(page, live_server, shot, company, customer, finance):
    Contact.objects.create(customer=customer, name="Wang", email="wang@example.cn", language="en", is_primary=True)
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                         actor=finance)
    services.ensure_defaults(company)
    tpl = DunningTemplate.objects.get(company=company, key="demand", channel="email", language="en")
    _login(page, live_server, finance)

    page.goto(f"{live_server.url}/dunning/templates/{tpl.pk}/")
    body = page.locator("textarea[name=body]")
    body.fill("Dear {{ customer_nmae }}, please pay {{ total }}.")
    page.locator("#preview").get_by_text("customer_nmae").wait_for()
    shot(page, "dunning-template-error")
    body.fill("Dear {{ customer_name }}, please pay {{ total }} ({{ total_upper }}) by {{ final_payment_date }}.")
    page.locator("#preview").get_by_text("please pay").wait_for()
    assert "customer_nmae" not in page.locator("#preview").inner_text()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Template saved.").wait_for()
    tpl.refresh_from_db()
    assert "{{ customer_name }}" in tpl.body

    page.goto(f"{live_server.url}/dunning/")
    page.locator("input[name=as_of]").fill("2026-02-12")
    page.get_by_role("button", name="Run dunning now").click()
    page.get_by_text("By step").wait_for()
    shot(page, "dunning-run")
    notice = Notice.objects.get(customer=customer)
    assert notice.offset_days == 7
    page.get_by_role("link", name=notice.number).click()
    page.get_by_text("wang@example.cn").wait_for()
    shot(page, "dunning-notice")
