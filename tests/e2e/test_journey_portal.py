"""Customer portal journey (issue 17) on a phone (390×844): the contact opens the personal link from a
reminder, downloads the statement, confirms it, promises to pay; the owner sees both on the customer's
timeline."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.collections.models import Promise
from huikuan.common import clock
from huikuan.customers.models import Contact
from huikuan.dunning.context import build_context
from huikuan.ledger import services as ls
from huikuan.portal import services as portal
from huikuan.portal.models import Confirmation
from huikuan.statements.services import issue_statement
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"


def test_journey_portal_reminder_link_statement_confirm_promise(browser, live_server, shot, settings, tmp_path, company,
                                                                customer, users, finance):
    settings.HUIKUAN_PUBLIC_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path
    today = clock.today(company)
    ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=45),
                     total=D("8000.00"), actor=finance)
    period_to = today - dt.timedelta(days=1)
    st = issue_statement(user=finance, customer=customer, period_from=period_to.replace(day=1) - dt.timedelta(days=60),
                         period_to=period_to, today=today)
    contact = Contact.objects.create(customer=customer, name="Li Na", title="Finance manager", email="li@example.cn",
                                     language="en", is_primary=True)
    portal.grant_access(actor=finance, contact_id=contact.pk)
    # what the dunning outbox puts into the reminder it sends: the contact's own one-time link
    link = build_context(company=company, customer=customer, items=[], as_of=today, number="N-1", offset_days=0,
                         language="en", personal_link=True)["portal_link"]
    assert link.startswith(f"{live_server.url}/portal/in/")

    phone_ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", accept_downloads=True,
                              has_touch=True, is_mobile=True, user_agent=phone_ua)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(rf"/portal/c/{customer.pk}/$"), timeout=TIMEOUT_MS)
        assert "8,000.00" in page.locator("#open-amount").inner_text()
        assert page.locator("#transfer-reference").inner_text() == customer.code
        _fits(page)
        shot(page, "portal-account-phone")

        with page.expect_download(timeout=TIMEOUT_MS) as dl:
            page.locator("#statements").get_by_role("link", name="PDF").click()
        assert dl.value.suggested_filename == f"{st.number}.pdf"
        with open(dl.value.path(), "rb") as fh:
            assert fh.read(5) == b"%PDF-"

        page.get_by_role("link", name="Confirm or disagree").click()
        page.wait_for_url(re.compile(r"/reply/$"), timeout=TIMEOUT_MS)
        assert page.locator("#signer_name").input_value() == "Li Na"
        _fits(page)
        page.locator("#confirm-button").click()
        page.wait_for_url(re.compile(rf"/portal/c/{customer.pk}/#statements$"), timeout=TIMEOUT_MS)
        assert page.locator("#statements").get_by_text("Confirmed copy").count() == 1

        page.get_by_role("link", name="Tell us when you will pay").click()
        page.wait_for_url(re.compile(r"/promise/$"), timeout=TIMEOUT_MS)
        page.locator("#amount").fill("3,000.00")
        page.locator("#promised_date").fill((today + dt.timedelta(days=7)).isoformat())
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(re.compile(rf"/portal/c/{customer.pk}/#promises$"), timeout=TIMEOUT_MS)
        assert "3,000.00" in page.locator("#promises").inner_text()
        shot(page, "portal-after-promise-phone")
    finally:
        ctx.close()

    conf = Confirmation.objects.get()
    assert conf.confirmed and conf.signer_name == "Li Na" and conf.ip == "127.0.0.1" and conf.user_agent == phone_ua
    assert Promise.objects.get().amount == D("3000.00")

    # the owner's view: both actions on the customer's timeline
    staff = browser.new_context(viewport={"width": 1366, "height": 900})
    spage = staff.new_page()
    spage.set_default_timeout(TIMEOUT_MS)
    try:
        c = Client()
        c.force_login(users["sales_east"])
        staff.add_cookies([
            {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
             "url": live_server.url},
            {"name": "django_language", "value": "en", "url": live_server.url}])
        spage.goto(f"{live_server.url}/customers/{customer.pk}/")
        body = spage.locator("body").inner_text()
        assert "Statement confirmed in the customer portal" in body
        assert "Promise to pay made in the customer portal" in body
        assert "Li Na" in body
        shot(spage, "portal-staff-timeline")
    finally:
        staff.close()
