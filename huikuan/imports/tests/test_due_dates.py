"""Due dates and terms (issue 11 point 5): disagreements are shown per row and decided by the user;
early-payment discounts survive either way (asserted on the instalments)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from huikuan.common.texts import render
from huikuan.customers.models import PaymentTerm
from huikuan.imports.models import JobStatus
from huikuan.imports.services import commit_job, preview_job, set_options
from huikuan.ledger.models import ReceivableDocument

from .helpers import job_for, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_ten(company):
    return PaymentTerm.objects.create(company=company, code="2/10N30", name="2/10 net 30", kind="net", days=30,
                                      discount_percent=Decimal(2), discount_days=10)


HEADER = ["客户编码", "单据编号", "业务日期", "价税合计", "收款条件", "到期日"]


def _instalments(number):
    doc = ReceivableDocument.objects.get(number=number)
    return [(i.due_date, i.amount, i.discount_amount, i.discount_date) for i in doc.instalments.order_by("seq")]


def test_agreeing_due_date_keeps_the_discount(tmp_path, company, finance, customer, two_ten):
    rows = [HEADER, ["C001", "D-1", "2026-01-05", "10,000.00", "2/10 N30", "2026-02-04"]]
    job = preview_job(job=job_for(write_csv(tmp_path / "d.csv", rows), company=company, actor=finance,
                                  kind="documents"), actor=finance)
    assert job.status == JobStatus.READY and job.warnings == [] and job.due_date_conflicts == 0
    assert commit_job(job_id=job.pk, actor=finance).status == JobStatus.DONE
    assert _instalments("D-1") == [(dt.date(2026, 2, 4), Decimal("10000.00"), Decimal("200.00"), dt.date(2026, 1, 15))]


@pytest.mark.parametrize(("choice", "due"), [("file", dt.date(2026, 2, 28)), ("terms", dt.date(2026, 2, 4))])
def test_disagreeing_due_date_user_chooses_discount_kept(tmp_path, company, finance, customer, two_ten, choice, due):
    rows = [HEADER, ["C001", "D-2", "2026-01-05", "10,000.00", "2/10 N30", "2026-02-28"],
            ["C001", "D-3", "2026-01-06", "500.00", "2/10 N30", "2026-02-05"]]
    job = preview_job(job=job_for(write_csv(tmp_path / "d.csv", rows, "gbk"), company=company, actor=finance,
                                  kind="documents"), actor=finance)
    assert job.status == JobStatus.INVALID and job.due_date_conflicts == 1
    assert [(w["line"], w["value"]) for w in job.warnings] == [(2, "2026-02-28")]
    assert "2026-02-04" in render(job.warnings[0]["reason"])
    assert "choose" in render(job.errors[0]["reason"]) and ReceivableDocument.objects.count() == 0
    job = set_options(job=job, actor=finance, due_dates=choice)
    assert job.status == JobStatus.READY, job.errors
    assert commit_job(job_id=job.pk, actor=finance).status == JobStatus.DONE
    assert _instalments("D-2") == [(due, Decimal("10000.00"), Decimal("200.00"), dt.date(2026, 1, 15))]
    assert _instalments("D-3") == [(dt.date(2026, 2, 5), Decimal("500.00"), Decimal("10.00"), dt.date(2026, 1, 16))]


def test_due_date_choice_on_the_web(client, tmp_path, company, finance, customer, two_ten):
    rows = [HEADER, ["C001", "D-4", "2026-01-05", "1,000.00", "2/10 N30", "2026-03-01"]]
    job = preview_job(job=job_for(write_csv(tmp_path / "d.csv", rows), company=company, actor=finance,
                                  kind="documents"), actor=finance)
    client.force_login(finance)
    client.cookies["django_language"] = "en"
    url = reverse("imports:job", args=[job.pk])
    page = client.get(url).content.decode()
    assert job.due_date_conflicts == 1
    assert "id=\"due-date-choice\"" in page, page[page.find("<main"):][:3000]
    assert "Use the terms" in page and 'value="terms"' in page
    resp = client.post(url, {"due_dates": "terms"})
    assert resp.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.options["due_dates"] == "terms"
