"""An import dated in a closed month fails as a whole and names the row (the ledger's period check)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.ledger import periods
from huikuan.ledger import services as s
from huikuan.ledger.models import Credit

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("1000.00"),
                    actor=finance)
    periods.close_month(company=company, month=dt.date(2026, 1, 1), actor=finance, today=dt.date(2026, 3, 10))


def test_an_import_into_a_closed_month_fails_whole_and_names_the_line(tmp_path, company, customer, finance, book):
    from huikuan.imports.models import JobStatus
    from huikuan.imports.services import commit_job, preview_job
    from huikuan.imports.tests.helpers import job_for, write_csv

    rows = [["客户编码", "收款日期", "收款金额", "收款单号"],
            ["C001", "2026-02-01", "10", "R-OK"],
            ["C001", "2026-01-15", "10", "R-JAN"]]
    job = preview_job(job=job_for(write_csv(tmp_path / "p.csv", rows), company=company, actor=finance, kind="payments"),
                      actor=finance)
    if job.status == JobStatus.READY:
        job = commit_job(job_id=job.pk, actor=finance)
    assert job.status in ("invalid", "failed"), job.status
    problems = job.errors or []
    assert any(p["line"] == 3 and "2026-01-31" in p["reason"] for p in problems), (problems, job.message)
    assert not Credit.objects.filter(number__in=["R-OK", "R-JAN"]).exists()
