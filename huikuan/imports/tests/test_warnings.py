"""Warnings are not errors (issue 11 point 4): the row imports, the customer is flagged "check this"."""

import pytest
from django.urls import reverse
from django.utils import translation

from huikuan.common.models import AuditEvent
from huikuan.common.texts import render
from huikuan.customers import review
from huikuan.customers.models import Contact, Customer
from huikuan.imports.models import JobStatus
from huikuan.imports.services import commit_job, preview_job

from .helpers import job_for, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

GOOD_USCC = "91350100M000100Y43"
BAD_USCC = "91350100M000100Y44"  # last character changed: the check character fails


def _import(path, *, company, actor, kind):
    job = preview_job(job=job_for(path, company=company, actor=actor, kind=kind), actor=actor)
    return job


def test_bad_registration_code_and_duplicate_name_import_with_warnings(tmp_path, company, finance, customer):
    from huikuan.common.identifiers import is_valid_uscc

    assert is_valid_uscc(GOOD_USCC) and not is_valid_uscc(BAD_USCC)
    rows = [["客户档案"], ["客户编码", "客户名称", "统一社会信用代码"],
            ["K001", "杭州西湖贸易有限公司", BAD_USCC],
            ["K002", customer.name, GOOD_USCC],              # same name as C001 already in the company
            ["K003", "南京紫金科技有限公司", ""],
            ["K004", "南京紫金科技有限公司", ""],              # same name as K003 above
            ["K005", "成都天府软件有限公司", "not-a-code"]]
    job = _import(write_xlsx(tmp_path / "客户.xlsx", rows), company=company, actor=finance, kind="customers")
    assert job.status == JobStatus.READY, job.errors
    assert job.error_rows == 0 and job.warning_rows == 4
    by_line = {w["line"]: w for w in job.warnings}
    assert set(by_line) == {3, 4, 6, 7}
    assert by_line[3]["value"] == BAD_USCC and "check character" in render(by_line[3]["reason"])
    assert "C001" in render(by_line[4]["reason"]) and "K003" in render(by_line[6]["reason"]) and by_line[7]["value"] == "NOT-A-CODE"
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    assert job.created_count == 5 and job.warning_rows == 4
    k1, k2, k3, k4 = (Customer.objects.get(code=c) for c in ("K001", "K002", "K003", "K004"))
    assert k1.credit_code == "" and k2.credit_code == GOOD_USCC  # an invalid code is never stored
    with translation.override("en"):
        assert [str(r) for r in k1.review_reasons] == [
            f"The unified social credit code {BAD_USCC} in the imported file fails its check character and was "
            "not saved: compare it with the business licence and enter it."]
        assert "C001" in str(k2.review_reasons[0]) and "K003" in str(k4.review_reasons[0])
    with translation.override("zh-hans"):
        assert BAD_USCC in str(k1.review_reasons[0]) and "营业执照" in str(k1.review_reasons[0])
    assert k3.review_notes == []
    assert AuditEvent.objects.filter(verb="customers.customer.flagged", customer_id=k1.pk).count() == 1
    # importing the same file again flags nobody twice
    job = commit_job(job_id=_import(write_xlsx(tmp_path / "again.xlsx", rows), company=company, actor=finance,
                                    kind="customers").pk, actor=finance)
    assert job.status == JobStatus.DONE and job.created_count == 0
    k1.refresh_from_db()
    assert len(k1.review_notes) == 1
    review.mark_reviewed(customer_id=k1.pk, actor=finance)
    k1.refresh_from_db()
    assert k1.review_notes == []


def test_odd_phone_is_a_warning_contact_imported_without_it(tmp_path, company, finance, customer):
    rows = [["客户编码", "联系人", "手机"], ["C001", "王经理", "13800138000"], ["C001", "李会计", "8888"]]
    job = _import(write_csv(tmp_path / "c.csv", rows, "gbk"), company=company, actor=finance, kind="contacts")
    assert job.status == JobStatus.READY, job.errors
    assert [(w["line"], w["value"]) for w in job.warnings] == [(3, "8888")]
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    assert Contact.objects.get(name="李会计").phone == ""
    assert Contact.objects.get(name="王经理").phone == "+8613800138000"
    customer.refresh_from_db()
    with translation.override("en"):
        assert "8888" in str(customer.review_reasons[0]) and "李会计" in str(customer.review_reasons[0])


def test_errors_still_refuse_everything_and_warnings_are_counted_apart(tmp_path, company, finance):
    rows = [["客户编码", "客户名称", "统一社会信用代码", "结算币别"],
            ["K001", "杭州西湖贸易有限公司", BAD_USCC, "人民币"], ["K002", "南京紫金科技", "", "火星币"]]
    job = _import(write_csv(tmp_path / "c.csv", rows), company=company, actor=finance, kind="customers")
    assert job.status == JobStatus.INVALID
    assert (job.error_rows, job.warning_rows) == (1, 1)
    assert commit_job(job_id=job.pk, actor=finance).status == JobStatus.INVALID
    assert not Customer.objects.filter(code__startswith="K").exists()


def test_customer_page_shows_check_this(client, company, finance, customer):
    customer.review_notes = [review.note("same_name", other="C009")]
    customer.save()
    client.force_login(finance)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("web:customer-detail", args=[customer.pk])).content.decode()
    assert 'id="customer-check-this"' in page and "C009" in page and "customers.review" not in page


def test_customers_import_records_bank_accounts(tmp_path, company, finance, customer):
    from huikuan.customers.models import CustomerBankAccount

    CustomerBankAccount.objects.create(company=company, customer=customer, account_number="6222000011112222")
    rows = [["客户编码", "客户名称", "开户银行", "银行账号", "户名"],
            ["K001", "杭州西湖贸易有限公司", "招商银行杭州分行", "6225 8812 3456 7890", ""],
            ["K002", "南京紫金科技有限公司", "工商银行", "6222-0000-1111-2222", ""],   # C001's account
            ["K003", "成都天府软件有限公司", "建设银行", "6225881234567890", ""],     # K001's, line 2
            ["K004", "苏州园区电子有限公司", "", "12", ""]]                            # not an account number
    job = _import(write_csv(tmp_path / "b.csv", rows), company=company, actor=finance, kind="customers")
    assert job.status == JobStatus.INVALID
    by_line = {e["line"]: render(e["reason"]) for e in job.errors}
    assert set(by_line) == {3, 4, 5} and "C001" in by_line[3] and "K001" in by_line[4]
    good = rows[:2] + [["C001", customer.name, "工商银行", "6222000011112222", ""]]
    job = commit_job(job_id=_import(write_csv(tmp_path / "g.csv", good), company=company, actor=finance,
                                    kind="customers").pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    acct = CustomerBankAccount.objects.get(account_number="6225881234567890")
    assert (acct.customer.code, acct.bank_name, acct.account_name) == ("K001", "招商银行杭州分行", "杭州西湖贸易有限公司")
    assert CustomerBankAccount.objects.filter(customer=customer).count() == 1


def test_the_report_lists_every_warning_with_its_row(tmp_path, company, finance, customer, client):
    """The preview shows the first warnings; the XLSX report has all of them, marked as warnings, with the cells."""
    import io

    from openpyxl import load_workbook

    finance.language = "en"  # the report is written in the reader's language
    finance.save(update_fields=["language"])
    rows = [["客户编码", "客户名称", "统一社会信用代码"]] + [
        [f"K{i:03d}", f"南京紫金科技第{i}有限公司", BAD_USCC] for i in range(1, 61)]
    job = _import(write_xlsx(tmp_path / "客户.xlsx", rows), company=company, actor=finance, kind="customers")
    assert job.error_rows == 0 and job.warning_rows == 60
    client.force_login(finance)
    page = client.get(reverse("imports:job", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="warnings-report"' in page
    report = client.get(reverse("imports:errors", args=[job.pk]), HTTP_ACCEPT_LANGUAGE="en")
    ws = load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(body) == 60 and {r[4] for r in body} == {"Warning"}
    first = body[0]
    assert first[0] == 2 and first[2] == BAD_USCC and "check character" in first[3]
    assert first[5:8] == ("K001", "南京紫金科技第1有限公司", BAD_USCC)  # the original cells follow
