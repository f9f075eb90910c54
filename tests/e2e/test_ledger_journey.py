"""Browser journey through the ledger screens: post an invoice with an edited schedule (htmx preview),
record a payment, see it on the customer 360 page. Screenshots go to test-artifacts/."""

import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.ledger.models import Credit, ReceivableDocument

pytestmark = pytest.mark.django_db(transaction=True)


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])


def test_a_field_typed_into_keeps_its_focus_when_its_table_is_wrapped(page, live_server, customer, finance):
    """app.js wraps each list table in its own scroll container on htmx:load, which fires a little after the swap:
    a field the user is already typing into (a schedule row just previewed) keeps its focus and selection, so no
    keystroke is lost (seen in CI as a schedule amount that kept its old value)."""
    _login(page, live_server, finance)
    page.goto(f"{live_server.url}/documents/new/?customer={customer.pk}")
    kept = page.evaluate("""() => {
        const box = document.createElement("div");
        box.innerHTML = '<table class="list"><thead><tr><th>Amount</th></tr></thead>'
                      + '<tbody><tr><td><input name="probe" value="1000.00"></td></tr></tbody></table>';
        document.querySelector("main, body").appendChild(box);
        const input = box.querySelector("input");
        input.focus();
        input.setSelectionRange(0, 4);
        document.body.dispatchEvent(new CustomEvent("htmx:load", {bubbles: true}));
        return [box.querySelector(".table-scroll") !== null, document.activeElement === input,
                input.selectionStart, input.selectionEnd];
    }""")
    assert kept == [True, True, 0, 4]
    page.keyboard.type("4")
    assert page.input_value("input[name=probe]") == "4.00"


def test_invoice_schedule_payment_and_customer_360(page, live_server, shot, customer, finance):
    _login(page, live_server, finance)
    page.goto(f"{live_server.url}/documents/new/?customer={customer.pk}")
    page.fill("input[name=document_date]", "2026-03-02")
    page.fill("input[name=total]", "1,000.00")
    page.click("text=Preview schedule")
    amount = page.locator("input[name=sched_amount]").first
    amount.wait_for()
    page.locator("#schedule .table-scroll").wait_for()  # htmx has settled the swap (app.js wrapped the table)
    assert amount.input_value() == "1000.00"
    # split the single instalment in two by hand
    amount.fill("400.00")
    rows_due = page.locator("input[name=sched_due]")
    rows_due.nth(1).fill("2026-05-01")
    page.locator("input[name=sched_amount]").nth(1).fill("500.00")
    page.click("button.primary:has-text('Post')")
    # 400 + 500 ≠ 1000: the form comes back (htmx, 422) with the error and nothing stored
    page.wait_for_selector("text=not the document total")
    assert not ReceivableDocument.objects.exists()
    shot(page, "ledger-document-schedule-error")
    page.locator("input[name=sched_amount]").nth(1).fill("600.00")
    page.click("button.primary:has-text('Post')")
    page.wait_for_url(re.compile(r"/documents/\d+/$"))
    doc = ReceivableDocument.objects.get()
    assert [i.amount for i in doc.instalments.order_by("seq")] == [D("400.00"), D("600.00")]
    shot(page, "ledger-document-detail")

    page.goto(f"{live_server.url}/payments/new/?customer={customer.pk}")
    page.fill("input[name=amount]", "４５０")
    page.fill("input[name=date]", "2026-03-05")
    page.click("button.primary:has-text('Record')")
    page.wait_for_url(re.compile(r"/payments/\d+/$"))
    pay = Credit.objects.get()
    assert pay.amount == D("450.00") and pay.unapplied_amount == 0
    shot(page, "ledger-payment-detail")

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    assert page.locator(".kpi .value").first.inner_text().replace(",", "") == "550.00"
    assert page.locator(".aging-strip > div").count() == 6
    shot(page, "ledger-customer-360")


def test_manual_apply_over_allocation_and_write_off_queue(page, live_server, shot, company, customer, finance, users):
    import datetime as dt

    from huikuan.ledger import services as s

    doc = s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                          total=D("300.00"), actor=finance)
    inst = doc.instalments.get()
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("100.00"), date=dt.date(2026, 2, 1),
                           actor=finance, auto_allocate=False)
    _login(page, live_server, finance)
    page.goto(f"{live_server.url}/payments/{pay.pk}/apply/")
    page.fill(f"input[name=amt_{inst.pk}]", "150")
    page.click("button:has-text('Apply these amounts')")
    page.wait_for_selector("text=more than the 100.00 unapplied")
    assert page.input_value(f"input[name=amt_{inst.pk}]") == "150"  # typed value kept
    shot(page, "ledger-apply-over-allocation")
    page.fill(f"input[name=amt_{inst.pk}]", "60")
    page.click("button:has-text('Apply these amounts')")
    page.wait_for_url(re.compile(rf"/payments/{pay.pk}/$"))
    inst.refresh_from_db()
    assert inst.open_amount == D("240.00")

    s.request_write_off(company=company, instalment_id=inst.pk, amount=D("40.00"), reason="small balance",
                        actor=finance)
    page.goto(f"{live_server.url}/write-offs/")
    page.click("button:has-text('Approve')")
    page.wait_for_selector("text=your own write-off request")
    shot(page, "ledger-writeoff-self-approval")
