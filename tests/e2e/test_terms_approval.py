"""Issue 12 point 1: payment terms beyond the customer's grade maximum are never set directly — not
from the customer form, the API or an import; each records a terms request (an exception, two
approvers), and an approved terms request changes the terms new invoices use."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from huikuan.api.services import issue_api_key
from huikuan.credit import services as credit
from huikuan.credit.models import CreditProfile, CreditRequest, RequestStatus
from huikuan.customers import services as customer_services
from huikuan.customers.models import Customer, PaymentTerm
from huikuan.imports.services import commit_job, preview_job
from huikuan.imports.tests.helpers import job_for, write_csv
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.fixture
def net90(company):
    return PaymentTerm.objects.create(company=company, code="N90", name="Net 90", kind="net", days=90)


@pytest.fixture
def grade_c(company, customer):
    credit.policy_of(company)  # default grades: C allows at most 15 days
    return CreditProfile.objects.create(company=company, customer=customer, grade="C")


@pytest.fixture
def admin2(company):
    from huikuan.accounts.models import Role, User

    u = User.objects.create_user(username="admin2", password="pw-123456", role=Role.ADMIN, display_name="admin2")
    u.companies.add(company)
    return u


def _approve(company, req, users, admin2):
    req = credit.decide_request(company=company, request_id=req.pk, approve=True, actor=users["credit_manager"], as_of=DAY)
    if req.status == RequestStatus.PARTLY:
        req = credit.decide_request(company=company, request_id=req.pk, approve=True, actor=admin2, as_of=DAY)
    assert req.status == RequestStatus.APPROVED
    return req


def _invoice_due(company, customer, finance):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=DAY, total=D("1000"),
                               actor=finance)
    return doc.instalments.get().due_date


def test_longest_days_of_each_kind_of_terms(company):
    assert PaymentTerm(kind="net", days=45).longest_days() == 45
    assert PaymentTerm(kind="eom", days=30).longest_days() == 60
    assert PaymentTerm(kind="split", split_lines=[{"percent": "30", "days": 0}, {"percent": "70", "days": 120}]
                       ).longest_days() == 120


def test_customer_form_beyond_the_grade_makes_a_request_and_keeps_the_terms(
        client, company, users, customer, grade_c, net90, net30, finance, admin2):
    client.force_login(users["sales_east"])
    with translation.override("en"):
        r = client.post(reverse("web:customer-edit", args=[customer.pk]), {
            "code": customer.code, "name": customer.name, "owner": users["sales_east"].pk,
            "payment_term": net90.pk, "currency": "CNY", "status": "active", "region": "华东",
            "version": customer.version}, follow=True)
    assert r.status_code == 200
    text = r.content.decode()
    assert "sent for approval" in text or "已提交账期变更申请待审批" in text  # the reader's language
    customer.refresh_from_db()
    assert customer.payment_term_id == net30.pk and customer.region == "华东"  # the rest was saved
    req = CreditRequest.objects.get(customer=customer, kind="terms")
    assert (req.payment_term_id, req.terms_days, req.exception, req.needs_second, req.channel, req.status) == (
        net90.pk, 90, True, True, "web", "pending")
    assert _invoice_due(company, customer, finance) == DAY + dt.timedelta(days=30)
    # the same change again does not pile up requests
    customer_services.update_customer(customer_id=customer.pk, actor=users["sales_east"],
                                      expected_version=customer.version, payment_term=net90)
    assert CreditRequest.objects.filter(customer=customer, kind="terms").count() == 1
    # approved by two people: the customer's terms change, and new invoices use them
    _approve(company, req, users, admin2)
    customer.refresh_from_db()
    assert customer.payment_term_id == net90.pk
    assert CreditProfile.objects.get(customer=customer).terms_days == 90
    assert _invoice_due(company, customer, finance) == DAY + dt.timedelta(days=90)


def test_no_role_sets_them_directly_but_terms_within_the_grade_are_set(company, users, customer, grade_c, net30):
    net10 = PaymentTerm.objects.create(company=company, code="N10", name="Net 10", kind="net", days=10)
    eom = PaymentTerm.objects.create(company=company, code="EOM0", name="月结0天", kind="eom", days=0)
    c = customer_services.update_customer(customer_id=customer.pk, actor=users["admin"],
                                          expected_version=customer.version, payment_term=net10)
    assert c.terms_request is None and Customer.objects.get(pk=customer.pk).payment_term_id == net10.pk
    c = customer_services.update_customer(customer_id=customer.pk, actor=users["admin"],
                                          expected_version=c.version, payment_term=eom)  # up to 30 days: beyond 15
    assert c.terms_request is not None and Customer.objects.get(pk=customer.pk).payment_term_id == net10.pk


def test_api_refuses_to_set_them_and_reports_the_request(company, users, customer, grade_c, net90, net30):
    _key, raw = issue_api_key(actor=users["admin"], user=users["finance"], company=company, name="erp")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    r = api.patch(f"/api/v1/customers/{customer.pk}/", {"payment_terms": "N90", "version": customer.version},
                  format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["payment_terms"] == "N30"
    assert body["terms_request"]["payment_terms"] == "N90" and body["terms_request"]["status"] == "pending"
    assert CreditRequest.objects.get(pk=body["terms_request"]["id"]).channel == "api"
    assert Customer.objects.get(pk=customer.pk).payment_term_id == net30.pk


def test_import_refuses_to_set_them_and_records_requests(tmp_path, company, users, customer, grade_c, net90, net30,
                                                         finance):
    rows = [["客户编码", "客户名称", "收款条件", "地区"],
            ["C001", "上海华东机械有限公司", "N90", "华东"]]
    job = job_for(write_csv(tmp_path / "customers.csv", rows), company=company, actor=finance, kind="customers",
                  preset="kingdee")
    job = preview_job(job=job, actor=finance)
    assert not job.errors, job.errors
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == "done", job.errors
    customer.refresh_from_db()
    assert customer.payment_term_id == net30.pk and customer.region == "华东"
    req = CreditRequest.objects.get(customer=customer, kind="terms")
    assert (req.channel, req.payment_term_id, req.status) == ("import", net90.pk, "pending")


def test_approved_terms_request_in_days_puts_net_days_on_the_customer(company, users, customer, finance, admin2):
    credit.policy_of(company)
    CreditProfile.objects.create(company=company, customer=customer, grade="A")  # up to 45 days
    req = credit.request_change(company=company, customer_id=customer.pk, kind="terms", reason="tender", as_of=DAY,
                                actor=users["sales_east"], terms_days=45)
    _approve(company, req, users, admin2)
    customer.refresh_from_db()
    assert (customer.payment_term.kind, customer.payment_term.days) == ("net", 45)
    assert _invoice_due(company, customer, finance) == DAY + dt.timedelta(days=45)
    # approved terms may be set again later without another request
    assert customer_services.update_customer(customer_id=customer.pk, actor=users["sales_east"],
                                             expected_version=customer.version,
                                             payment_term=PaymentTerm.objects.get(code="N30")).terms_request is None
