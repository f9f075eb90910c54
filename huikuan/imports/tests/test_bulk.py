import datetime as dt
from decimal import Decimal

import pytest

from huikuan.common.models import AuditEvent
from huikuan.ledger.bulk import DocumentInput, post_documents
from huikuan.ledger.errors import DuplicateNumber, InvalidSchedule
from huikuan.ledger.models import Instalment, LedgerEntry, ReceivableDocument
from huikuan.ledger.services import ScheduleInput

pytestmark = pytest.mark.django_db


def test_bulk_posting_matches_post_document(company, finance, customer, other_customer):
    day = dt.date(2026, 3, 2)
    docs = post_documents(company=company, actor=finance, documents=[
        DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("100.00"), number="B1"),
        DocumentInput(customer_id=other_customer.pk, document_date=day, total=Decimal("50.50"), number="",
                      schedule=[ScheduleInput(dt.date(2026, 4, 1), Decimal("20.50")),
                                ScheduleInput(dt.date(2026, 5, 1), Decimal("30.00"))]),
    ])
    assert [d.number for d in docs][0] == "B1" and docs[1].number  # numbered from the series
    assert Instalment.objects.get(document_id=docs[0].pk).due_date == dt.date(2026, 4, 1)  # net 30 from the customer
    assert [(i.seq, i.due_date, i.amount, i.open_amount, i.customer_id) for i in Instalment.objects.filter(
        document_id=docs[1].pk).order_by("seq")] == [
        (1, dt.date(2026, 4, 1), Decimal("20.50"), Decimal("20.50"), other_customer.pk),
        (2, dt.date(2026, 5, 1), Decimal("30.00"), Decimal("30.00"), other_customer.pk)]
    entry = LedgerEntry.objects.get(document_id=docs[1].pk)
    assert (entry.debit_amount, entry.credit_amount, entry.date, entry.kind) == (Decimal("50.50"), 0, day, "document")
    assert entry.created_at is not None
    event = AuditEvent.objects.get(target_id=docs[1].pk, verb="ledger.document.posted")
    assert event.actor_id == finance.pk and event.data["total"] == "50.50" and event.at is not None
    assert LedgerEntry.objects.filter(document_id__in=[d.pk for d in docs]).count() == 2
    assert AuditEvent.objects.filter(verb="ledger.document.posted", target_id__in=[d.pk for d in docs]).count() == 2
    doc = ReceivableDocument.objects.get(pk=docs[1].pk)
    assert (doc.total_amount, doc.status, doc.customer_id, doc.created_by_id) == (
        Decimal("50.50"), "posted", other_customer.pk, finance.pk)
    assert doc.created_at is not None and doc.request_key is None
    customer.refresh_from_db()
    other_customer.refresh_from_db()
    assert customer.open_amount == Decimal("100.00") and other_customer.open_amount == Decimal("50.50")


def test_bulk_refusal_names_the_input_and_writes_nothing(company, finance, customer):
    day = dt.date(2026, 3, 2)
    post_documents(company=company, actor=finance,
                   documents=[DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="X")])
    with pytest.raises(DuplicateNumber) as exc:
        post_documents(company=company, actor=finance, documents=[
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="Y"),
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("1"), number="X"),
        ])
    assert exc.value.params["index"] == 1
    with pytest.raises(InvalidSchedule) as exc:
        post_documents(company=company, actor=finance, documents=[
            DocumentInput(customer_id=customer.pk, document_date=day, total=Decimal("10"), number="Z",
                          schedule=[ScheduleInput(day, Decimal("9"))]),
        ])
    assert exc.value.params["index"] == 0
    assert ReceivableDocument.objects.count() == 1


def _run(path, *, company, actor, kind):
    from huikuan.imports.models import JobStatus
    from huikuan.imports.services import commit_job, preview_job

    from .helpers import job_for

    job = preview_job(job=job_for(path, company=company, actor=actor, kind=kind), actor=actor)
    if job.status == JobStatus.READY:
        job = commit_job(job_id=job.pk, actor=actor)
    return job


def test_payments_file_goes_through_the_bulk_service(tmp_path, company, finance, customer, other_customer, monkeypatch):
    from huikuan.imports import pipeline
    from huikuan.ledger import services as ledger_services
    from huikuan.ledger.models import Allocation, Credit

    from .helpers import write_csv

    for c, total in ((customer, "300"), (other_customer, "50")):
        ledger_services.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5), total=total,
                                      actor=finance)
    calls = []
    real_inner = pipeline.inner

    def spy(service):  # every service the commit calls, with its arguments
        return lambda **kw: calls.append((service.__name__, kw)) or real_inner(service)(**kw)

    monkeypatch.setattr(pipeline, "inner", spy)
    header = ["客户编码", "收款日期", "收款金额", "收款单号", "结算方式", "票据号", "票据到期日"]
    rows = [header,
            ["C001", "2026-02-01", "100", "R1", "银行转账", "", ""],
            ["C002", "2026-02-01", "80", "R2", "银行承兑汇票", "B-1", "2026-05-01"],
            ["C001", "2026-02-02", "250", "", "现金", "", ""]]
    rows[3][3] = "R3"
    job = _run(write_csv(tmp_path / "p.csv", rows), company=company, actor=finance, kind="payments")
    assert job.status == "done", (job.errors, job.message)
    # one bulk call, not one record_payment per row (≈ 50 rows/s)
    assert [name for name, _kw in calls] == ["record_payments"] and len(calls[0][1]["payments"]) == 3
    r3 = Credit.objects.get(number="R3")
    assert r3.unapplied_amount == Decimal("50.00") and Credit.objects.get(number="R2").bill_status == "received"
    assert list(Allocation.objects.filter(credit=r3).values_list("amount", flat=True)) == [Decimal("200.00")]
    customer.refresh_from_db()
    assert (customer.open_amount, customer.unapplied_amount) == (0, Decimal("50.00"))

    job = _run(write_csv(tmp_path / "again.csv", rows), company=company, actor=finance, kind="payments")
    assert job.status == "done" and (job.created_count, job.unchanged_count) == (0, 3) and len(calls) == 1

    bad = [header,
           ["C001", "2026-02-01", "10", "R10", "银行承兑汇票", "B-2", "2026-12-01"],  # matures beyond 6 months
           ["C001", "2026-02-01", "10", "R11", "银行承兑汇票", "", "2026-03-01"],    # no bill number
           ["C001", "2026-02-01", "10", "R12", "商业承兑汇票", "B-3", "2026-01-01"],  # matures before the receipt
           ["C001", "2026-02-01", "10", "R13", "银行转账", "", ""]]
    job = _run(write_csv(tmp_path / "bad.csv", bad), company=company, actor=finance, kind="payments")
    assert job.status == "invalid" and sorted(e["line"] for e in job.errors) == [2, 3, 4]
    assert [e["column"] for e in sorted(job.errors, key=lambda e: e["line"])] == ["票据到期日", "票据号", "票据到期日"]
    assert not Credit.objects.filter(number__in=["R10", "R11", "R12", "R13"]).exists()
