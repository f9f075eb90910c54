"""Credit journey (issue 4): a salesperson enters an order over the customer's limit and it is held; the credit
manager releases part of it from the credit-hold queue; the salesperson sees the decision — all through the UI.
"""

import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.common.models import AuditEvent
from huikuan.credit import services
from huikuan.credit.models import CreditProfile, Notification, SalesOrder
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])


def _context(browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def test_journey_order_over_limit_held_partly_released(browser, live_server, shot, company, customer, users):
    services.policy_of(company)
    users["sales_east"].language = "en"  # notifications are written in the recipient's language
    users["sales_east"].save(update_fields=["language"])
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("50000"), grade="A")

    # ---- the salesperson enters an order for more than the available credit
    ctx, page = _context(browser)
    try:
        _login(page, live_server, users["sales_east"])
        page.goto(f"{live_server.url}/credit/orders/new/")
        form = page.locator("#order-form")
        form.locator("input[name=customer]").fill(customer.code)  # the picker box takes the code
        form.locator("input[name=reference]").fill("SO-2026-001")
        form.locator("input[name=amount]").fill("80000.00")
        form.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/credit/orders/\d+/$"))
        assert "credit hold" in page.locator(".messages").inner_text()
        assert page.locator("#order-status").inner_text().strip() == "On credit hold"
        assert "Over the credit limit by 30,000.00" in page.content()
        shot(page, "credit-order-held")
    finally:
        ctx.close()
    order = SalesOrder.objects.get(reference="SO-2026-001")
    assert order.status == "held"

    # ---- the credit manager releases 50,000 of it from the queue
    ctx, page = _context(browser)
    try:
        _login(page, live_server, users["credit_manager"])
        page.goto(f"{live_server.url}/credit/queue/")
        row = page.locator("table.list tbody tr", has_text="SO-2026-001")
        assert row.count() == 1
        shot(page, "credit-hold-queue")
        decision = row.locator("form.decision-form")
        decision.locator("select[name=action]").select_option("partial")
        decision.locator("input[name=amount]").fill("50,000.00")
        decision.locator("input[name=reason]").fill("Release what the limit covers; rest after payment")
        decision.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/credit/queue/$"))
        assert "Decision recorded for SO-2026-001" in page.locator(".messages").inner_text()
        # the unreleased 30,000 stays on hold as its own order, still in the queue
        rest_row = page.locator("table.list tbody tr", has_text="SO-2026-001-R1")
        assert rest_row.count() == 1 and "30,000.00" in rest_row.inner_text()
    finally:
        ctx.close()
    order.refresh_from_db()
    assert (order.status, order.amount, order.requested_amount) == ("open", D("50000.00"), D("80000.00"))
    assert AuditEvent.objects.filter(customer_id=customer.pk, verb="credit.order.partly_released").exists()
    rest = SalesOrder.objects.get(reference="SO-2026-001-R1")
    assert (rest.status, rest.amount) == ("held", D("30000.00"))

    # ---- the salesperson sees the decision
    ctx, page = _context(browser)
    try:
        _login(page, live_server, users["sales_east"])
        page.goto(f"{live_server.url}/credit/orders/")
        notes = page.locator("#notifications").inner_text()
        assert "SO-2026-001 was released for 50,000.00 of 80,000.00" in notes
        page.get_by_role("link", name="SO-2026-001", exact=True).first.click()
        page.wait_for_url(re.compile(rf"/credit/orders/{order.pk}/$"))
        assert page.locator("#order-status").inner_text().strip() == "Open (approved)"
        assert "Release what the limit covers" in page.locator("#order-decision").inner_text()
        shot(page, "credit-order-decision")
    finally:
        ctx.close()
    assert Notification.objects.filter(user=users["sales_east"], order=order).count() == 1
