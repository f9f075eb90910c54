"""Errors never cost the user their input (issue 13): a refused call log and a refused payment application
come back with every typed value, every field at fault marked, all problems of the submission at once."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.collections.models import Activity, Promise
from huikuan.common import clock
from huikuan.ledger import services as ls
from huikuan.ledger.models import Allocation

pytestmark = pytest.mark.django_db


def test_refused_call_log_keeps_all_six_inputs_and_names_every_problem(client, users, company, customer, finance):
    today = clock.today(company)
    ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=60),
                     total=D("8000.00"), actor=finance)
    client.force_login(users["collector"])
    client.cookies["django_language"] = "en"
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    sent = {"kind": "call", "form_style": "quick", "next": "/collections/", "outcome": "promised",
            "note": "王经理: 周五付", "next_action_date": yesterday, "promise_amount": "5,000.00x",
            "promise_date": yesterday, "pause": "1"}
    r = client.post(f"/collections/customers/{customer.pk}/activity/", sent)
    assert r.status_code == 422
    html = r.content.decode()
    # all three problems at once, each field marked
    assert "The next action date cannot be in the past." in html
    assert "The promised date cannot be in the past." in html
    assert "Enter a valid amount." in html
    assert html.count('aria-invalid="true"') == 3
    # every typed value is still there, the decision unchanged
    assert '<option value="promised" selected>' in html
    assert 'value="王经理: 周五付"' in html and 'value="5,000.00x"' in html and html.count(f'value="{yesterday}"') == 2
    assert 'name="pause" value="1" checked' in html
    assert (Activity.objects.count(), Promise.objects.count()) == (0, 0)


def test_refused_call_log_through_htmx_answers_the_form_alone(client, users, company, customer):
    client.force_login(users["collector"])
    r = client.post(f"/collections/customers/{customer.pk}/activity/", {"kind": "call", "outcome": "promised", "note": "x"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 422
    html = r.content.decode()
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert '<option value="promised" selected>' in html and ">x</textarea>" in html


def test_accepted_call_log_through_htmx_redirects_to_the_worklist(client, users, company, customer, finance):
    ls.post_document(company=company, customer_id=customer.pk, document_date=clock.today(company) - dt.timedelta(days=60),
                     total=D("800.00"), actor=finance)
    client.force_login(users["collector"])
    promised = (clock.today(company) + dt.timedelta(days=3)).isoformat()
    r = client.post(f"/collections/customers/{customer.pk}/activity/",
                    {"kind": "call", "outcome": "promised", "promise_amount": "300", "promise_date": promised,
                     "next": "/collections/"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r["HX-Redirect"] == "/collections/"
    assert Promise.objects.get().amount == D("300.00")


def test_refused_application_keeps_every_amount_and_marks_each_row(client, users, company, customer, finance):
    today = clock.today(company)
    docs = [ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=90 - i),
                             total=D(total), actor=finance) for i, total in enumerate(["1000.00", "2000.00", "3000.00"])]
    a, b, c = (d.instalments.get() for d in docs)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("2500.00"), date=today, actor=finance,
                            auto_allocate=False)
    client.force_login(finance)
    client.cookies["django_language"] = "en"
    r = client.post(f"/payments/{pay.pk}/apply/", {"mode": "manual", f"amt_{a.pk}": "1,200.00", f"amt_{b.pk}": "abc",
                                                   f"amt_{c.pk}": "2,000"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "2 rows need correcting" in html
    assert "More than the open amount (1,000.00)." in html and "Not an amount." in html
    assert html.count('aria-invalid="true"') == 2 and html.count('class="has-error"') == 2
    assert 'value="1,200.00"' in html and 'value="abc"' in html and 'value="2,000"' in html
    assert not Allocation.objects.filter(credit=pay).exists()


def test_application_over_the_unapplied_amount_names_the_totals(client, users, company, customer, finance):
    today = clock.today(company)
    docs = [ls.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=90 - i),
                             total=D("3000.00"), actor=finance) for i in range(2)]
    a, b = (d.instalments.get() for d in docs)
    pay = ls.record_payment(company=company, customer_id=customer.pk, amount=D("2500.00"), date=today, actor=finance,
                            auto_allocate=False)
    client.force_login(finance)
    client.cookies["django_language"] = "en"
    r = client.post(f"/payments/{pay.pk}/apply/", {"mode": "manual", f"amt_{a.pk}": "2000", f"amt_{b.pk}": "1000"})
    assert r.status_code == 422
    assert "The amounts add up to 3,000.00, more than the 2,500.00 unapplied." in r.content.decode()
