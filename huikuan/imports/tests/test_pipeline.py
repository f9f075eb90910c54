import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from huikuan.common.models import AuditEvent
from huikuan.common.texts import Text, render
from huikuan.customers.models import Contact, Customer
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.imports.services import commit_job, preview_job
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Credit, Fapiao, Instalment, LedgerEntry, ReceivableDocument

from .helpers import job_for, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def counts():
    return {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "documents": ReceivableDocument.objects.count(),
        "instalments": Instalment.objects.count(),
        "credits": Credit.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "fapiao": Fapiao.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def run(path, *, company, actor, kind, commit=True, **kw):
    job = job_for(path, company=company, actor=actor, kind=kind, **kw)
    job = preview_job(job=job, actor=actor)
    if commit and job.status == JobStatus.READY:
        job = commit_job(job_id=job.pk, actor=actor)
    return job


# ---------------------------------------------------------------- customers


def test_customers_import_then_reimport_updates(tmp_path, company, users, net30):
    actor = users["finance"]
    rows = [["客户编码", "客户名称", "地区", "收款条件", "业务员"],
            ["K001", "杭州西湖贸易有限公司", "浙江", "N30", "sales_east"],
            ["K002", "南京紫金科技有限公司", "江苏", "", ""]]
    job = run(write_csv(tmp_path / "c.csv", rows, "gbk"), company=company, actor=actor, kind="customers")
    assert job.status == JobStatus.DONE, job.errors
    assert (job.created_count, job.updated_count) == (2, 0)
    k1 = Customer.objects.get(code="K001")
    assert k1.region == "浙江" and k1.payment_term == net30 and k1.owner == users["sales_east"]

    rows[1][2] = "上海"
    job = run(write_csv(tmp_path / "c2.csv", rows, "utf-8-sig"), company=company, actor=actor, kind="customers")
    assert job.status == JobStatus.DONE, job.errors
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    assert Customer.objects.filter(code__in=["K001", "K002"]).count() == 2
    k1.refresh_from_db()
    assert k1.region == "上海" and k1.version == 2


def test_zoho_preset_maps_account_columns(tmp_path, company, users):
    rows = [["Account Name", "Account Number", "Billing City", "Industry", "Phone"],
            ["Acme Trading Ltd", "Z-1", "Shanghai", "Retail", "021-1234"]]
    job = run(write_xlsx(tmp_path / "zoho.xlsx", rows), company=company, actor=users["finance"], kind="customers",
              preset="zoho")
    assert job.mapping["code"] == "Account Number" and job.mapping["region"] == "Billing City"
    assert job.status == JobStatus.DONE, job.errors
    assert Customer.objects.get(code="Z-1").name == "Acme Trading Ltd"


# ---------------------------------------------------------------- documents


KINGDEE_HEADER = ["单据编号", "业务日期", "客户编码", "客户", "价税合计", "到期日", "币别", "备注"]


def test_kingdee_style_documents(tmp_path, company, finance, customer, other_customer):
    rows = [KINGDEE_HEADER,
            ["AR001", "2026/1/5", "C001", "上海华东机械有限公司", "11,300.00", "2026年2月4日", "人民币", "一月货款"],
            ["AR002", 46037, "C002", "广州南方贸易有限公司", 5000.5, "", "", ""]]
    job = run(write_xlsx(tmp_path / "k3.xlsx", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.DONE, job.errors
    doc = ReceivableDocument.objects.get(number="AR001")
    assert doc.total_amount == Decimal("11300.00") and doc.document_date == dt.date(2026, 1, 5)
    assert [(i.due_date, i.amount) for i in doc.instalments.all()] == [(dt.date(2026, 2, 4), Decimal("11300.00"))]
    doc2 = ReceivableDocument.objects.get(number="AR002")
    assert doc2.total_amount == Decimal("5000.50") and doc2.document_date == dt.date(2026, 1, 15)
    # net 30 from the customer's terms
    assert doc2.instalments.get().due_date == dt.date(2026, 2, 14)
    assert doc.external_source == "import" and doc.external_key == "AR001"
    customer.refresh_from_db()
    assert customer.open_amount == Decimal("11300.00")


def test_a_large_commit_refreshes_planner_statistics_of_the_tables_it_loaded(tmp_path, company, finance, customer,
                                                                             monkeypatch):
    from huikuan.imports import services

    analyzed = []

    def recording(*tables):
        analyzed.extend(tables)
        real_analyze(*tables)  # the real ANALYZE on this database: the table names must exist

    real_analyze = services.analyze
    monkeypatch.setattr(services, "analyze", recording)
    rows = [KINGDEE_HEADER, ["AR001", "2026/1/5", "C001", "上海华东机械有限公司", "100.00", "", "", ""]]
    job = run(write_xlsx(tmp_path / "a.xlsx", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.DONE and analyzed == []  # one row: autovacuum's business
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 2)
    rows = [KINGDEE_HEADER, ["AR002", "2026/1/5", "C001", "上海华东机械有限公司", "100.00", "", "", ""],
            ["AR003", "2026/1/6", "C001", "上海华东机械有限公司", "200.00", "", "", ""]]
    job = run(write_xlsx(tmp_path / "b.xlsx", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.DONE, job.errors
    assert {Instalment._meta.db_table, ReceivableDocument._meta.db_table, LedgerEntry._meta.db_table} <= set(analyzed)


def test_instalment_rows_grouped_by_document(tmp_path, company, finance, customer):
    rows = [["单据编号", "单据日期", "客户编码", "到期日", "分期金额"],
            ["D1", "2026-01-05", "C001", "2026-03-05", "700"],
            ["D1", "2026-01-05", "C001", "2026-02-05", "300"],
            ["D2", "2026-01-06", "C001", "2026-02-06", "50"]]
    job = run(write_csv(tmp_path / "i.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.DONE, job.errors
    d1 = ReceivableDocument.objects.get(number="D1")
    assert d1.total_amount == Decimal("1000.00")
    assert [(i.seq, i.due_date, i.amount) for i in d1.instalments.order_by("seq")] == [
        (1, dt.date(2026, 2, 5), Decimal("300.00")), (2, dt.date(2026, 3, 5), Decimal("700.00"))]
    # identical re-import: no-op
    before = counts()
    job = run(write_csv(tmp_path / "i2.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.DONE and job.unchanged_count == 2 and job.created_count == 0
    after = counts()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}


def test_changed_amount_of_posted_document_is_a_row_error(tmp_path, company, finance, customer):
    rows = [["单据编号", "业务日期", "客户编码", "价税合计"], ["AR9", "2026-01-05", "C001", "100.00"]]
    assert run(write_csv(tmp_path / "a.csv", rows), company=company, actor=finance, kind="documents").status == "done"
    rows[1][3] = "120.00"
    job = run(write_csv(tmp_path / "b.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.INVALID
    (err,) = job.errors
    assert err["line"] == 2 and err["column"] == "价税合计" and "reversal" in render(err["reason"])
    assert ReceivableDocument.objects.get(number="AR9").total_amount == Decimal("100.00")


def test_every_bad_row_reported_and_nothing_written(tmp_path, company, finance, customer, other_customer):
    from huikuan.ledger.services import post_document

    post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1), actor=finance,
                  number="OLD1", total=Decimal("10"))  # keyed in by hand, not imported
    rows = [["单据编号", "业务日期", "客户编码", "价税合计", "备注"],
            ["OK1", "2026-01-05", "C001", "100.00", ""],              # 2 fine
            ["X1", "2026-01-05", "NOPE", "100.00", ""],               # 3 unknown customer
            ["X2", "2026-02-30", "C001", "100.00", ""],               # 4 bad date
            ["X3", "2026-01-05", "C001", "12a", ""],                  # 5 letters
            ["X4", "2026-01-05", "C001", "1.234", ""],                # 6 too many decimals
            ["X5", "2026-01-05", "C001", "-50", ""],                  # 7 negative
            ["OK1", "2026-01-05", "C001", "100.00", ""],              # 8 duplicate in file
            ["OLD1", "2026-01-05", "C002", "10", ""],                 # 9 duplicate against the database
            ["X6", "2026-01-05", "C001", "100", "=HYPERLINK(\"x\")"],  # 10 formula text
            ["", "2026-01-05", "C001", "100", ""],                    # 11 missing required value
            ["X7", "2026-01-05", "C002", "１，０００．００", ""]]          # 12 fine (full-width)
    before = counts()
    job = run(write_csv(tmp_path / "bad.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.INVALID
    by_line = {e["line"]: e for e in job.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert by_line[3]["column"] == "客户编码" and by_line[3]["value"] == "NOPE"
    assert by_line[4]["column"] == "业务日期"
    assert by_line[5]["column"] == by_line[6]["column"] == by_line[7]["column"] == "价税合计"
    assert "line 2" in render(by_line[8]["reason"])
    assert "already exists" in render(by_line[9]["reason"])
    assert by_line[10]["column"] == "备注"
    assert by_line[11]["column"] == "单据编号"
    assert job.error_rows == 9 and job.total_rows == 11
    assert job.bad_rows["3"][2] == "NOPE"
    assert counts() == before
    assert check_ledger() == []


def test_missing_required_column_is_a_file_error(tmp_path, company, finance, customer):
    rows = [["客户编码", "价税合计"], ["C001", "10"]]
    job = run(write_csv(tmp_path / "m.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.INVALID
    reasons = " ".join(render(e["reason"]) for e in job.errors)
    assert "Document number" in reasons and "Document date" in reasons
    assert job.errors[0]["line"] == 1


def test_all_or_nothing_when_a_service_refuses_mid_commit(tmp_path, company, finance, customer, monkeypatch):
    from huikuan.imports import importers, pipeline
    from huikuan.ledger.errors import LedgerError

    rows = [["单据编号", "业务日期", "客户编码", "价税合计"]] + [[f"M{i}", "2026-01-05", "C001", "10"] for i in range(5)]
    monkeypatch.setattr(importers.DocumentImporter, "batch_size", 2)
    real = pipeline.inner
    calls = {"n": 0}

    def flaky(service):
        body = real(service)

        def wrapped(**kw):
            calls["n"] += 1
            if calls["n"] == 3:  # two batches (four documents) are already written in the transaction
                raise LedgerError("simulated refusal", field="total", index=0)
            return body(**kw)

        return wrapped

    monkeypatch.setattr(pipeline, "inner", flaky)
    before = counts()
    job = run(write_csv(tmp_path / "f.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.FAILED
    assert job.errors[0]["line"] == 6 and job.errors[0]["column"] == "价税合计"
    assert "nothing was imported" in str(job.message)
    # stored as a code: a Chinese reader of the same job reads it in Chinese, from the database
    stored = ImportJob.objects.get(pk=job.pk)
    assert isinstance(stored.message, Text)
    with translation.override("zh-hans"):
        assert "第 6 行" in str(stored.message) and "未导入任何数据" in str(stored.message)
    assert calls["n"] == 3
    assert counts() == before
    customer.refresh_from_db()
    assert customer.open_amount == 0


def test_customers_mid_commit_refusal_rolls_back_earlier_rows(tmp_path, company, users):
    from huikuan.customers.models import Customer as C

    # the preview passes, then a clerk takes code K3 before the commit writes it
    rows = [["客户编码", "客户名称"], ["K1", "一"], ["K2", "二"], ["K3", "三"]]
    job = job_for(write_csv(tmp_path / "c.csv", rows), company=company, actor=users["finance"], kind="customers")
    job = preview_job(job=job, actor=users["finance"])
    assert job.status == JobStatus.READY
    from huikuan.imports import importers

    original = importers.CustomerImporter.finish

    def finish_then_race(self):
        original(self)
        C.objects.create(company=company, code="K3", name="抢先")

    importers.CustomerImporter.finish = finish_then_race
    try:
        job = commit_job(job_id=job.pk, actor=users["finance"])
    finally:
        importers.CustomerImporter.finish = original
    assert job.status == JobStatus.FAILED and job.errors[0]["line"] == 4
    assert set(C.objects.values_list("code", flat=True)) == {"K3"}


# ---------------------------------------------------------------- other kinds


def test_payments_opening_fapiao_contacts(tmp_path, company, finance, customer, other_customer):
    docs = [["单据编号", "业务日期", "客户编码", "价税合计"], ["AR1", "2026-01-05", "C001", "1000"]]
    assert run(write_csv(tmp_path / "d.csv", docs), company=company, actor=finance, kind="documents").status == "done"

    opening = [["客户编码", "期初余额", "期初日期"], ["C001", "500", "2025-12-31"], ["C002", "¥800.00", "2025-12-31"]]
    job = run(write_csv(tmp_path / "o.csv", opening), company=company, actor=finance, kind="opening")
    assert job.status == "done", job.errors
    assert ReceivableDocument.objects.filter(kind="opening").count() == 2
    job = run(write_csv(tmp_path / "o2.csv", opening), company=company, actor=finance, kind="opening")
    assert job.status == "done" and job.unchanged_count == 2
    opening[1][1] = "600"
    job = run(write_csv(tmp_path / "o3.csv", opening), company=company, actor=finance, kind="opening")
    assert job.status == "invalid" and job.errors[0]["line"] == 2

    pays = [["客户编码", "收款日期", "收款金额", "收款单号", "结算方式"],
            ["C001", "2026-02-01", "700", "R1", "银行转账"],
            ["C002", "2026-02-01", "100", "R2", "现金"]]
    job = run(write_csv(tmp_path / "p.csv", pays), company=company, actor=finance, kind="payments")
    assert job.status == "done", job.errors
    r1 = Credit.objects.get(number="R1")
    assert r1.method == "transfer" and r1.external_key == "R1"
    assert r1.unapplied_amount == 0  # applied oldest-first (opening balance 500 then AR1)
    job = run(write_csv(tmp_path / "p2.csv", pays), company=company, actor=finance, kind="payments")
    assert job.status == "done" and job.unchanged_count == 2 and Credit.objects.filter(kind="payment").count() == 2
    bad = [pays[0], ["C001", "2026-02-01", "700", "R3", "比特币"]]
    job = run(write_csv(tmp_path / "p3.csv", bad), company=company, actor=finance, kind="payments")
    assert job.status == "invalid" and job.errors[0]["column"] == "结算方式"

    fp = [["客户编码", "发票号码", "发票类型", "开票日期", "价税合计", "源单编号"],
          ["C001", "2431000001", "专票", "2026-01-06", "1000", "AR1"],
          ["C002", "2431000002", "普票", "2026-01-06", "50", ""]]
    job = run(write_csv(tmp_path / "f.csv", fp), company=company, actor=finance, kind="fapiao")
    assert job.status == "done", job.errors
    f1 = Fapiao.objects.get(number="2431000001")
    assert f1.fapiao_type == "special" and f1.document.number == "AR1"
    fp[2][5] = "AR1"  # AR1 belongs to C001
    job = run(write_csv(tmp_path / "f2.csv", fp), company=company, actor=finance, kind="fapiao")
    assert job.status == "invalid" and job.errors[0]["line"] == 3

    contacts = [["客户编码", "联系人", "手机", "邮箱", "主联系人"],
                ["C001", "王经理", "13800138000", "wang@example.com", "是"],
                ["C002", "李会计", "not-a-phone", "li@", ""]]
    job = run(write_csv(tmp_path / "c.csv", contacts), company=company, actor=finance, kind="contacts")
    assert job.status == "invalid" and job.errors[0]["line"] == 3 and job.errors[0]["column"] == "邮箱"
    assert [(w["line"], w["column"]) for w in job.warnings] == [(3, "手机")]  # an odd phone is only a warning
    contacts[2][2:4] = ["020-12345678", ""]
    job = run(write_csv(tmp_path / "c2.csv", contacts), company=company, actor=finance, kind="contacts")
    assert job.status == "done", job.errors
    assert Contact.objects.get(name="王经理").is_primary
    contacts[1][3] = "wang2@example.com"
    job = run(write_csv(tmp_path / "c3.csv", contacts), company=company, actor=finance, kind="contacts")
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 1)
    assert Contact.objects.get(name="王经理").email == "wang2@example.com"
    assert check_ledger() == []


def test_customer_name_identifies_customer_without_code(tmp_path, company, finance, customer):
    rows = [["往来单位", "日期", "金额", "单据编号"], ["上海华东机械有限公司", "2026-01-05", "10", "N1"],
            ["不存在的公司", "2026-01-05", "10", "N2"]]
    job = run(write_csv(tmp_path / "n.csv", rows), company=company, actor=finance, kind="documents")
    assert job.status == "invalid" and [e["line"] for e in job.errors] == [3]


def test_permissions(tmp_path, company, users, customer):
    from huikuan.common.errors import NotAllowed

    rows = [["单据编号", "业务日期", "客户编码", "价税合计"], ["P1", "2026-01-05", "C001", "10"]]
    with pytest.raises(NotAllowed):
        job_for(write_csv(tmp_path / "p.csv", rows), company=company, actor=users["salesperson"], kind="documents")
    assert ImportJob.objects.count() == 0
