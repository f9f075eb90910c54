import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from huikuan.imports.models import ImportJob, JobStatus, MappingProfile
from huikuan.ledger.models import ReceivableDocument

from .helpers import write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client, users):
    def login(name):
        client.force_login(users[name])
        client.cookies["django_language"] = "en"
        return client

    return login


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _upload(client, path, kind="documents", **extra):
    with open(path, "rb") as fh:
        data = {"kind": kind, "file": SimpleUploadedFile(path.name, fh.read()), "preset": "", "profile": "", **extra}
    return client.post(reverse("imports:upload"), data)


def test_upload_map_preview_commit_in_background(tmp_path, as_user, customer, immediate_tasks, django_capture_on_commit_callbacks):
    client = as_user("finance")
    rows = [["No.", "Date", "Cust", "Sum"], ["W1", "2026-01-05", "C001", "1,000.00"], ["W2", "2026/1/6", "C001", "20"]]
    resp = _upload(client, write_csv(tmp_path / "w.csv", rows))
    assert resp.status_code == 302
    job = ImportJob.objects.get()
    assert job.mapping == {"document_date": "Date"}  # the rest is not recognisable: the user maps it
    url = reverse("imports:job", args=[job.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"map_customer_code" in page.content

    mapping = {"map_number": "No.", "map_document_date": "Date", "map_customer_code": "Cust", "map_total": "Sum",
               "profile_name": "my ERP"}
    resp = client.post(url, mapping)
    assert resp.status_code == 200, resp.content.decode()[:2000]
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.total_rows == 2
    profile = MappingProfile.objects.get(name="my ERP")
    assert profile.mapping["customer_code"] == "Cust"
    assert ReceivableDocument.objects.count() == 0  # the preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("imports:commit", args=[job.pk]))
    assert resp.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.created_count == 2
    assert ReceivableDocument.objects.count() == 2
    progress = client.get(reverse("imports:progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert progress.status_code == 200 and progress["HX-Redirect"] == url

    # the next upload reuses the saved profile
    resp = _upload(client, write_csv(tmp_path / "w2.csv", rows), profile="my ERP")
    job2 = ImportJob.objects.order_by("-pk").first()
    assert job2.mapping["total"] == "Sum"


def test_preview_with_errors_is_422_and_error_report_lists_them(tmp_path, as_user, customer):
    client = as_user("finance")
    rows = [["单据编号", "业务日期", "客户编码", "价税合计"], ["E1", "someday", "C001", "10"], ["E2", "2026-01-05", "C404", "1x"]]
    _upload(client, write_csv(tmp_path / "e.csv", rows))
    job = ImportJob.objects.get()
    resp = client.post(reverse("imports:job", args=[job.pk]),
                       {"map_number": "单据编号", "map_document_date": "业务日期", "map_customer_code": "客户编码", "map_total": "价税合计"})
    assert resp.status_code == 422
    assert b"someday" in resp.content and b"C404" in resp.content
    assert client.post(reverse("imports:commit", args=[job.pk])).status_code == 422
    report = client.get(reverse("imports:errors", args=[job.pk]))
    wb = load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    ws = wb.active
    lines = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert lines == [2, 3, 3]
    assert ws.cell(row=2, column=3).value == "someday"
    assert ws.cell(row=2, column=5).value == "Error"
    assert ws.cell(row=2, column=6).value == "E1"  # the original row follows


def test_oversize_upload_rejected(tmp_path, as_user, settings):
    settings.HUIKUAN_IMPORT_MAX_BYTES = 100
    client = as_user("finance")
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    resp = _upload(client, path)
    assert resp.status_code == 422 and b"limit" in resp.content
    assert ImportJob.objects.count() == 0


def test_template_has_data_validation(as_user):
    client = as_user("finance")
    resp = client.get(reverse("imports:template", args=["payments"]))
    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "Customer code" and "Receipt date *" in headers
    validations = ws.data_validations.dataValidation
    assert validations and validations[0].type == "list"
    assert "银行转账" in validations[0].formula1
    assert ws.cell(row=2, column=headers.index("Amount *") + 1).value == "5,000.00"


def test_template_in_chinese(client, users):
    client.force_login(users["finance"])
    client.cookies["django_language"] = "zh-hans"
    resp = client.get(reverse("imports:template", args=["customers"]))
    assert resp.status_code == 200


def test_permissions_and_scope(tmp_path, as_user, customer, users):
    sales = as_user("salesperson")
    assert sales.get(reverse("imports:template", args=["documents"])).status_code == 404
    assert sales.get(reverse("imports:template", args=["customers"])).status_code == 200
    resp = _upload(sales, write_csv(tmp_path / "x.csv", [["单据编号"], ["1"]]), kind="documents")
    assert resp.status_code == 422  # not an offered choice
    finance = as_user("finance")
    _upload(finance, write_csv(tmp_path / "y.csv", [["客户编码", "客户名称"], ["Q1", "Q"]]), kind="customers")
    job = ImportJob.objects.get()
    sales = as_user("salesperson")
    assert sales.get(reverse("imports:job", args=[job.pk])).status_code == 404
    assert sales.get(reverse("imports:errors", args=[job.pk])).status_code == 404
    assert as_user("auditor").get(reverse("imports:index")).status_code == 404


def test_index_query_count(tmp_path, as_user, customer, django_assert_max_num_queries):
    client = as_user("finance")
    for i in range(3):
        _upload(client, write_csv(tmp_path / f"c{i}.csv", [["客户编码", "客户名称"], [f"Q{i}", "Q"]]), kind="customers")
    with django_assert_max_num_queries(12):
        resp = client.get(reverse("imports:index"))
    assert resp.status_code == 200 and resp.content.count(b"c0.csv") == 1
    with django_assert_max_num_queries(12):
        resp = client.get(reverse("imports:export"))
    assert resp.status_code == 200


def test_mapping_step_shows_samples_and_unknown_terms_are_decided_once(tmp_path, as_user, customer, net30):
    client = as_user("finance")
    rows = [["应收单列表"], ["客户编码", "单据编号", "单据日期", "价税合计", "收款条件"],
            ["C001", "T-1", "2026年1月5日", "1,000.00", "月结45天"], ["C001", "T-2", "2026年1月6日", "2,000.00", "月结45天"],
            ["C001", "T-3", "2026年1月7日", "3,000.00", "老规矩"]]
    assert _upload(client, write_csv(tmp_path / "t.csv", rows, "gbk")).status_code == 302
    job = ImportJob.objects.get()
    url = reverse("imports:job", args=[job.pk])
    page = client.get(url).content.decode()
    assert "<code>2026年1月5日</code> · <code>2026年1月6日</code> · <code>2026年1月7日</code>" in page
    resp = client.post(url, {f"map_{k}": v for k, v in job.mapping.items()})
    assert resp.status_code == 422
    page = resp.content.decode()
    assert 'id="unknown-terms"' in page and "End of month + 45 days" in page and "Create EOM45" in page
    resp = client.post(url, {"decide_terms": "1", "term_text": ["月结45天", "老规矩"], "term_choice": ["create", "N30"]})
    assert resp.status_code == 200, resp.content.decode()[:2000]
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.options["terms"] == {"月结45天": "create", "老规矩": "N30"}
