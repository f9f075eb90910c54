"""Issue 12 point 4 (rest): commercial acceptance bills not yet honoured are shown apart in the credit
exposure (a bill is not cash until honoured), and a bill register lists bills by maturity with a
reminder before each one matures."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from huikuan.credit import services as credit
from huikuan.credit.models import CreditProfile
from huikuan.ledger import instruments
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


def _bill(company, customer, finance, *, amount, number, maturity, method="commercial_acceptance", acceptor="华东机械"):
    return ledger.record_payment(company=company, customer_id=customer.pk, amount=D(amount), date=dt.date(2026, 2, 1),
                                 actor=finance, method=method, bill_number=number, bill_acceptor=acceptor,
                                 bill_maturity_date=maturity)


@pytest.fixture
def bills(company, customer, other_customer, finance):
    for c in (customer, other_customer):
        ledger.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5), total=D("50000.00"),
                             actor=finance)
    return {
        "soon": _bill(company, customer, finance, amount="12000.00", number="230000000001", maturity=TODAY + dt.timedelta(days=5)),
        "bank": _bill(company, customer, finance, amount="8000.00", number="130000000002", maturity=TODAY + dt.timedelta(days=40),
                      method="bank_acceptance", acceptor="工商银行"),
        "late": _bill(company, customer, finance, amount="3000.00", number="230000000003", maturity=TODAY - dt.timedelta(days=2)),
        "west": _bill(company, other_customer, finance, amount="999.00", number="230000000004", maturity=TODAY + dt.timedelta(days=1)),
    }


def test_unmatured_commercial_bills_count_in_exposure_until_honoured(company, customer, finance, bills):
    credit.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, limit_amount=D("100000"))
    customer.refresh_from_db()
    check = credit.evaluate(company=company, customer=customer, amount=D("1"), as_of=TODAY)
    # open AR 50,000 − 23,000 paid by bills = 27,000; + the 15,000 of commercial bills not yet honoured
    assert check.unmatured_bills_amount == D("15000.00")
    assert check.exposure_amount == D("42000.00") and check.available_amount == D("58000.00")
    instruments.set_instrument_status(company=company, credit_id=bills["late"].pk, status="honoured", actor=finance,
                                      on=TODAY)
    customer.refresh_from_db()
    check = credit.evaluate(company=company, customer=customer, amount=D("1"), as_of=TODAY)
    assert check.unmatured_bills_amount == D("12000.00") and check.exposure_amount == D("39000.00")


def test_register_by_maturity_with_a_reminder(client, company, customer, users, bills, finance):
    client.force_login(users["sales_east"])
    r = client.get(reverse("web:bill-register"), HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert r.status_code == 200
    order = [html.index(n) for n in ("230000000003", "230000000001", "130000000002")]
    assert order == sorted(order) and "230000000004" not in html  # by maturity; another salesperson's bill hidden
    assert "present for payment" in html and "matured" in html
    reminder = html[html.index('id="bill-reminder"'):html.index("</section>", html.index('id="bill-reminder"'))]
    assert "12,000.00" in reminder and "3,000.00" in reminder  # due within 10 days; matured, not honoured
    r = client.get(reverse("web:bill-register") + "?soon=1&remind=3", HTTP_ACCEPT_LANGUAGE="en")
    assert "230000000001" not in r.content.decode() and "230000000003" in r.content.decode()
    instruments.set_instrument_status(company=company, credit_id=bills["late"].pk, status="honoured", actor=finance,
                                      on=TODAY)
    r = client.get(reverse("web:bill-register") + "?format=xlsx")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    numbers = [row[2] for row in ws.iter_rows(min_row=2, values_only=True) if row[2]]
    assert numbers == ["230000000001", "130000000002"]  # honoured bills leave the open register
    r = client.get(reverse("web:bill-register") + "?status=all&format=xlsx")
    assert len([row for row in load_workbook(io.BytesIO(b"".join(r.streaming_content))).active.iter_rows(min_row=2, values_only=True)
                if row[2]]) == 3
