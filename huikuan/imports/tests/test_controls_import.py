"""The ledger controls in imports (issue 12, points 3, 4 and 7), reported per row at preview: payments and
fapiao dated after today, an acceptance bill recorded twice, fapiao beyond a document's amount."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.common.texts import render
from huikuan.imports.models import JobStatus
from huikuan.imports.services import commit_job, preview_job
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, Fapiao

from .helpers import job_for, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC), tick=False)


def _preview(tmp_path, rows, *, company, actor, kind):
    return preview_job(job=job_for(write_csv(tmp_path / f"{kind}.csv", rows), company=company, actor=actor, kind=kind),
                       actor=actor)


def test_payments_after_today_and_repeated_bills(tmp_path, company, finance, customer, other_customer):
    ledger.record_payment(company=company, customer_id=customer.pk, amount=D("5.00"), date=dt.date(2026, 3, 1),
                          actor=finance, method="bank_acceptance", bill_number="130400000001", bill_acceptor="工行",
                          bill_maturity_date=dt.date(2026, 6, 1))
    head = ["客户编码", "收款日期", "收款金额", "收款单号", "结算方式", "票据号码", "票据到期日"]
    rows = [head,
            ["C001", "2026-03-11", "10", "R1", "银行转账", "", ""],
            ["C001", "2026-03-10", "10", "R2", "银承", "1304 0000 0001", "2026-06-01"],
            ["C002", "2026-03-10", "10", "R3", "银承", "130400000009", "2026-06-01"],
            ["C002", "2026-03-10", "10", "R4", "银承", "130400000009", "2026-06-01"],
            ["C002", "2026-03-10", "10", "R5", "银行转账", "", ""]]
    job = _preview(tmp_path, rows, company=company, actor=finance, kind="payments")
    assert job.status == JobStatus.INVALID
    problems = {(e["line"], e["column"]): render(e["reason"]) for e in job.errors}
    assert "after today" in problems[(2, "收款日期")]
    assert "already recorded" in problems[(3, "票据号码")]
    assert "already on line 4" in problems[(5, "票据号码")]
    assert len(problems) == 3 and Credit.objects.count() == 1


def test_fapiao_beyond_the_document_or_after_today(tmp_path, company, finance, customer):
    docs = [["单据编号", "业务日期", "客户编码", "价税合计"], ["AR1", "2026-03-01", "C001", "1000"]]
    job = _preview(tmp_path, docs, company=company, actor=finance, kind="documents")
    assert commit_job(job_id=job.pk, actor=finance).status == JobStatus.DONE
    head = ["客户编码", "发票号码", "发票类型", "开票日期", "价税合计", "源单编号"]
    rows = [head,
            ["C001", "F1", "专票", "2026-03-05", "600", "AR1"],
            ["C001", "F2", "专票", "2026-03-05", "400.01", "AR1"],
            ["C001", "F3", "专票", "2026-03-11", "1", ""]]
    job = _preview(tmp_path, rows, company=company, actor=finance, kind="fapiao")
    problems = {(e["line"], e["column"]): render(e["reason"]) for e in job.errors}
    assert "at most 400.00 more" in problems[(3, "价税合计")]
    assert "after today" in problems[(4, "开票日期")]
    assert len(problems) == 2 and not Fapiao.objects.exists()
    rows[2][4] = "400"
    del rows[3]
    job = _preview(tmp_path, rows, company=company, actor=finance, kind="fapiao")
    assert job.status == JobStatus.READY, job.errors
    assert commit_job(job_id=job.pk, actor=finance).status == JobStatus.DONE
    assert Fapiao.objects.count() == 2
