import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core import mail
from pypdf import PdfReader

from huikuan.customers.models import Contact
from huikuan.ledger import services as s
from huikuan.statements import services as st
from huikuan.statements.models import BatchStatus, ReplyStatus, Statement, StatementBatch
from huikuan.statements.pdf import render_statement_pdf
from huikuan.statements.selectors import limitation, statement_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                    actor=finance, number="INV-A", description="设备款")
    s.record_payment(company=company, customer_id=customer.pk, amount=D("3590.98"), date=dt.date(2026, 2, 10), actor=finance)
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 20), total=D("6000.00"),
                    actor=finance, number="INV-B")
    s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("0.00") + D("1.00"), date=dt.date(2026, 3, 5),
                        reason="折让", actor=finance)
    return customer


def test_statement_golden(booked, finance):
    data = statement_data(user=finance, customer=booked, period_from=dt.date(2026, 2, 1), period_to=dt.date(2026, 3, 31))
    assert data.opening == D("10000.00")
    assert [(m.reference, m.debit, m.credit, m.balance) for m in data.movements] == [
        ("RCV-2026-000001", D("0.00"), D("3590.98"), D("6409.02")),
        ("INV-B", D("6000.00"), D("0.00"), D("12409.02")),
        ("CN-2026-000001", D("0.00"), D("1.00"), D("12408.02")),
    ]
    assert data.closing == D("12408.02")
    assert data.closing_words == "人民币壹万贰仟肆佰零捌元零贰分"
    assert sum(data.aging_values) == data.closing
    empty = statement_data(user=finance, customer=booked, period_from=dt.date(2025, 1, 1), period_to=dt.date(2025, 12, 31))
    assert empty.opening == empty.closing == D("0.00") and empty.movements == []


def test_pdf_contains_chinese_headings_and_closing_balance(booked, finance):
    data = statement_data(user=finance, customer=booked, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 31))
    pdf = render_statement_pdf(data=data)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "往来款项对账确认函" in text
    assert "信息证明无误" in text and "信息不符" in text
    assert "12,408.02" in text
    assert "壹万贰仟肆佰零捌元零贰分" in text


def test_pdf_of_2000_movements_paginates(company, customer, finance):
    for i in range(40):
        s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
                        total=D("10.00"), actor=finance)
    data = statement_data(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 1))
    reader = PdfReader(io.BytesIO(render_statement_pdf(data=data)))
    assert len(reader.pages) >= 2
    assert f"/ {len(reader.pages)}" in reader.pages[-1].extract_text()


def test_issue_reply_and_limitation(booked, finance):
    stmt = st.issue_statement(user=finance, customer=booked, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 31),
                              today=dt.date(2026, 4, 1))
    assert stmt.closing_amount == D("12408.02") and stmt.reply_deadline == dt.date(2026, 4, 16)
    with pytest.raises(st.StatementError):
        st.record_reply(user=finance, statement_id=stmt.pk, company=booked.company, status=ReplyStatus.DISPUTED,
                        replied_on=dt.date(2026, 4, 10), note="")
    st.record_reply(user=finance, statement_id=stmt.pk, company=booked.company, status=ReplyStatus.CONFIRMED,
                    replied_on=dt.date(2026, 4, 10), replied_by="李会计")
    lim = limitation(customer=booked)
    assert lim.last_confirmed == dt.date(2026, 4, 10)
    assert lim.last_confirmed_amount == D("12408.02")
    assert lim.limitation_date == dt.date(2029, 4, 10)


def test_auditor_cannot_issue(booked, users):
    from huikuan.common.errors import NotAllowed

    with pytest.raises(NotAllowed):
        st.issue_statement(user=users["auditor"], customer=booked, period_from=dt.date(2026, 1, 1),
                           period_to=dt.date(2026, 3, 31), today=dt.date(2026, 4, 1))


def test_a_batch_cut_off_by_a_killed_worker_resumes_without_issuing_or_emailing_twice(
        booked, other_customer, company, finance, settings, client, django_capture_on_commit_callbacks):
    from django.urls import reverse
    from django.utils import timezone

    from huikuan.statements.tasks import run_statement_batch

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 5), total=D("5.00"), actor=finance)
    Contact.objects.create(customer=booked, name="王会计", email="wang@example.com", is_primary=True)
    # the worker issued and e-mailed the first customer's statement, then was killed (heartbeat stopped)
    batch = StatementBatch.objects.create(company=company, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 31),
                                          selection={"with_balance": True}, send_email=True, created_by=finance,
                                          status=BatchStatus.RUNNING, total=2, done=0, heartbeat_at=timezone.now())
    first = st.issue_statement(user=finance, customer=booked, period_from=batch.period_from, period_to=batch.period_to,
                               today=dt.date(2026, 4, 1), batch=batch)
    st.email_statement(statement=first, user=finance)
    assert len(mail.outbox) == 1
    # while the heartbeat is fresh another worker may be on it: neither a resume nor a second worker takes it
    assert not batch.resumable
    with pytest.raises(st.StatementError):
        st.resume_batch(user=finance, batch=batch)
    run_statement_batch.call(batch.pk)
    assert Statement.objects.filter(batch=batch).count() == 1
    StatementBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - StatementBatch.STALE_AFTER)
    batch.refresh_from_db()
    assert batch.resumable
    client.force_login(finance)
    page = client.get(reverse("web:statement-batch", args=[batch.pk]))
    assert reverse("web:statement-batch-resume", args=[batch.pk]).encode() in page.content
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("web:statement-batch-resume", args=[batch.pk]))
    assert r.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and (batch.total, batch.done, batch.emailed) == (2, 2, 1)
    assert sorted(Statement.objects.filter(batch=batch).values_list("customer_id", flat=True)) == sorted(
        [booked.pk, other_customer.pk])
    assert len(mail.outbox) == 1  # the first customer was not e-mailed again
    assert [x["customer"] for x in batch.skipped] == [other_customer.code]
    with pytest.raises(st.StatementError):  # done: nothing to resume
        st.resume_batch(user=finance, batch=batch)


def test_bulk_batch_emails_pdfs_and_reports_skips(booked, other_customer, company, finance, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 1, 5), total=D("5.00"), actor=finance)
    Contact.objects.create(customer=booked, name="王会计", email="wang@example.com", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        batch = st.start_batch(user=finance, company=company, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 3, 31),
                               selection={"with_balance": True}, send_email=True)
    batch = StatementBatch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.DONE and batch.total == 2 and batch.done == 2 and batch.emailed == 1
    assert [x["customer"] for x in batch.skipped] == [other_customer.code]
    assert Statement.objects.count() == 2
    (msg,) = mail.outbox
    assert msg.to == ["wang@example.com"]
    name, content, mime = msg.attachments[0]
    assert mime == "application/pdf" and content[:4] == b"%PDF"
