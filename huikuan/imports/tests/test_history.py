"""The ``history`` import kind: settled invoices posted with their real dates, all or nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from huikuan.common.texts import render
from huikuan.imports.models import JobStatus
from huikuan.imports.services import commit_job, preview_job
from huikuan.imports.tests.helpers import job_for, write_csv
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Allocation, Credit, Instalment, ReceivableDocument
from huikuan.prediction.models import DocumentFacts

pytestmark = pytest.mark.django_db

HEAD = ["客户编码", "单据编号", "单据日期", "到期日", "金额", "币种", "收款日期", "收款金额", "是否争议", "发票形式", "地区"]


def run(path, *, company, actor):
    with translation.override("en"):
        job = preview_job(job=job_for(path, company=company, actor=actor, kind="history"), actor=actor)
        if job.status == JobStatus.READY:
            job = commit_job(job_id=job.pk, actor=actor)
    return job


def test_history_posts_documents_and_payments_on_their_own_dates(tmp_path, company, finance, customer, other_customer):
    rows = [HEAD,
            ["C001", "H1", "2024-01-05", "2024-02-04", "1,000.00", "人民币", "2024-02-20", "400.00", "否", "纸质", "华东"],
            ["C001", "H1", "2024-01-05", "2024-02-04", "1,000.00", "人民币", "2024-03-01", "", "否", "纸质", "华东"],
            ["C001", "H2", "2024-01-10", "2024-02-09", "500.00", "", "2024-02-01", "", "是", "电子", ""],
            ["C002", "H3", "2024-03-01", "2024-03-31", "300.00", "CNY", "2024-05-15", "", "", "", ""]]
    job = run(write_csv(tmp_path / "h.csv", rows), company=company, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    h1 = ReceivableDocument.objects.get(number="H1")
    inst = Instalment.objects.get(document=h1)
    assert (inst.due_date, inst.amount, inst.open_amount) == (dt.date(2024, 2, 4), Decimal("1000.00"), 0)
    assert (inst.first_allocated_on, inst.last_allocated_on) == (dt.date(2024, 2, 20), dt.date(2024, 3, 1))
    # each payment applied to its own invoice (H2 is older-due than nothing, but H1's first payment
    # must not go to H2 and vice versa)
    h2 = Instalment.objects.get(document__number="H2")
    assert list(Allocation.objects.filter(instalment=h2).values_list("date", "amount")) == [
        (dt.date(2024, 2, 1), Decimal("500.00"))]
    assert sorted(Allocation.objects.filter(instalment=inst).values_list("date", "amount")) == [
        (dt.date(2024, 2, 20), Decimal("400.00")), (dt.date(2024, 3, 1), Decimal("600.00"))]
    assert Credit.objects.filter(kind="payment").count() == 4
    assert Credit.objects.filter(unapplied_amount__gt=0).count() == 0
    facts = {f.document.number: (f.disputed, f.delivery, f.region) for f in DocumentFacts.objects.select_related("document")}
    assert facts == {"H1": (False, "paper", "华东"), "H2": (True, "electronic", "")}
    customer.refresh_from_db()
    assert customer.open_amount == 0
    assert check_ledger() == []
    # importing the same file again changes nothing
    again = run(write_csv(tmp_path / "h2.csv", rows), company=company, actor=finance)
    assert again.status == JobStatus.DONE and again.created_count == 0 and again.unchanged_count == 3
    assert Credit.objects.filter(kind="payment").count() == 4


def test_bad_history_rows_reported_and_nothing_written(tmp_path, company, finance, customer):
    rows = [HEAD,
            ["C001", "G1", "2024-01-05", "2024-02-04", "100.00", "", "2024-02-10", "", "", "", ""],   # 2 fine
            ["C001", "B1", "2024-01-05", "2024-02-04", "100.00", "", "2023-12-31", "", "", "", ""],   # 3 settled before
            ["C001", "B2", "2024-01-05", "2024-02-04", "-100.00", "", "2024-02-10", "", "", "", ""],  # 4 negative
            ["C001", "B3", "2024-01-05", "2024-02-04", "100.00", "XYZ", "2024-02-10", "", "", "", ""],  # 5 currency
            ["C001", "B4", "2024-01-05", "2024-02-04", "100.00", "", "2024-02-10", "80", "", "", ""],   # 6 fine
            ["C001", "B4", "2024-01-05", "2024-02-04", "100.00", "", "2024-02-11", "80", "", "", ""],   # 7 too much
            ["NOPE", "B5", "2024-01-05", "2024-02-04", "100.00", "", "2024-02-10", "", "", "", ""],    # 8 customer
            ["C001", "B6", "2024-01-05", "2023-12-04", "100.00", "", "2024-02-10", "", "", "", ""]]    # 9 due before
    before = (ReceivableDocument.objects.count(), Credit.objects.count(), DocumentFacts.objects.count())
    job = run(write_csv(tmp_path / "bad.csv", rows), company=company, actor=finance)
    assert job.status == JobStatus.INVALID
    by_line = {e["line"]: e for e in job.errors}
    assert sorted(by_line) == [3, 4, 5, 7, 8, 9]
    assert by_line[3]["column"] == "收款日期" and "before the document date" in render(by_line[3]["reason"])
    assert by_line[4]["column"] == "金额"
    assert by_line[5]["column"] == "币种" and by_line[5]["value"] == "XYZ"
    assert "more than its amount" in render(by_line[7]["reason"])
    assert by_line[8]["column"] == "客户编码"
    assert by_line[9]["column"] == "到期日"
    assert (ReceivableDocument.objects.count(), Credit.objects.count(), DocumentFacts.objects.count()) == before


def test_history_commit_writes_each_ledger_table_set_wise(tmp_path, company, finance, customer):
    """900 settled invoices (one chunk of the bulk path): each table gets one prepared INSERT bound to every row
    on SQLite, a COPY on PostgreSQL — never a statement per few hundred rows nor per document."""
    import re
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = [HEAD] + [["C001", f"N{i:04d}", "2024-01-05", "2024-02-04", "10.00", "", "2024-02-10", "",
                      "是" if i % 3 == 0 else "否", "", ""] for i in range(900)]
    with translation.override("en"):
        job = preview_job(job=job_for(write_csv(tmp_path / "n.csv", rows), company=company, actor=finance,
                                      kind="history"), actor=finance)
        assert job.status == JobStatus.READY, job.errors
        with CaptureQueriesContext(connection) as queries:
            job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE and job.created_count == 900
    inserts = Counter(t for q in queries.captured_queries for t in re.findall(r'INSERT INTO "(\w+)"', q["sql"]))
    once = 1 if connection.vendor == "sqlite" else 0  # PostgreSQL: COPY, not seen as a query
    for table in ("ledger_receivabledocument", "ledger_instalment", "ledger_credit", "ledger_allocation",
                  "prediction_documentfacts"):
        assert inserts[table] == once, (table, inserts)
    assert inserts["ledger_ledgerentry"] == 2 * once  # the documents' debits, then the payments' credits
    assert Allocation.objects.filter(instalment__document__number__startswith="N").count() == 900
    assert DocumentFacts.objects.filter(disputed=True).count() == 300
    assert check_ledger() == []
