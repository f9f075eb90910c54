"""Period close (关账): nothing dated in a closed month is written, by any path; reopening is an
administrator's, audited act. Runs on SQLite and (with DATABASE_URL) on PostgreSQL."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.ledger import bulk, instruments, periods, plans
from huikuan.ledger import services as s
from huikuan.ledger.errors import LedgerError, PeriodClosed
from huikuan.ledger.models import (
    Allocation,
    Credit,
    Instalment,
    LedgerEntry,
    PeriodEvent,
    ReceivableDocument,
    WriteOffRequest,
)

pytestmark = pytest.mark.django_db

JAN = dt.date(2026, 1, 1)
TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def book(company, customer, finance):
    """An invoice and a partly applied payment in January, then January closed."""
    doc = s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                          total=D("1000.00"), actor=finance)
    pay = s.record_payment(company=company, customer_id=customer.pk, amount=D("300.00"), date=dt.date(2026, 1, 20),
                           actor=finance)
    periods.close_month(company=company, month=JAN, actor=finance, today=TODAY)
    return doc, pay


def _counts():
    return (ReceivableDocument.objects.count(), Credit.objects.count(), Allocation.objects.count(),
            LedgerEntry.objects.count(), Instalment.objects.filter(open_amount__gt=0).count())


def _refused(call, lock="2026-01-31"):
    before = _counts()
    with pytest.raises(PeriodClosed) as exc:
        call()
    assert lock in str(exc.value.message) and exc.value.params["lock_date"] == lock
    assert _counts() == before
    return exc.value


def test_close_sets_the_lock_date_and_is_audited(company, finance, book):
    assert periods.lock_date(company.pk) == dt.date(2026, 1, 31)
    ev = AuditEvent.objects.get(verb="ledger.period.closed")
    assert ev.actor == finance and ev.data["after"] == {"lock_date": "2026-01-31"} and ev.data["month"] == "2026-01"


def test_every_writer_refuses_a_date_in_a_closed_month(company, customer, finance, users, book):
    doc, pay = book
    inst = Instalment.objects.get(document=doc)
    jan = dt.date(2026, 1, 31)
    err = _refused(lambda: s.post_document(company=company, customer_id=customer.pk, document_date=jan,
                                           total=D("10"), actor=finance))
    assert err.field == "document_date"
    _refused(lambda: s.record_payment(company=company, customer_id=customer.pk, amount=D("10"), date=jan, actor=finance))
    _refused(lambda: s.issue_credit_note(company=company, customer_id=customer.pk, amount=D("10"), date=jan,
                                         reason="折让", actor=finance))
    extra = s.record_payment(company=company, customer_id=customer.pk, amount=D("50"), date=dt.date(2026, 2, 3),
                             actor=finance, auto_allocate=False)
    _refused(lambda: s.allocate(company=company, credit_id=extra.pk, actor=finance, on=jan,
                                plan=[s.AllocationInput(inst.pk, D("10"))]))
    _refused(lambda: s.allocate(company=company, credit_id=extra.pk, actor=finance, on=jan))
    alloc = Allocation.objects.get(credit=pay)
    _refused(lambda: s.reverse_allocation(company=company, allocation_id=alloc.pk, actor=finance, on=jan))
    _refused(lambda: s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=jan, reason="错"))
    _refused(lambda: s.reverse_document(company=company, document_id=doc.pk, actor=finance, on=jan, reason="错"))
    req = s.request_write_off(company=company, instalment_id=inst.pk, amount=D("20"), reason="无法收回",
                              actor=users["collector"])
    _refused(lambda: s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=finance, on=jan))
    assert WriteOffRequest.objects.get(pk=req.pk).status == "pending"
    _refused(lambda: plans.replace_instalments(company=company, instalment_ids=[inst.pk], on=jan, actor=finance,
                                               plan_id=1, lines=[(dt.date(2026, 4, 1), inst.open_amount)]))
    # the same operations dated after the lock date go through
    s.allocate(company=company, credit_id=extra.pk, actor=finance, on=dt.date(2026, 2, 3),
               plan=[s.AllocationInput(inst.pk, D("10"))])
    s.reverse_credit(company=company, credit_id=pay.pk, actor=finance, on=dt.date(2026, 2, 4), reason="退票")
    s.decide_write_off(company=company, request_id=req.pk, approve=True, actor=finance, on=dt.date(2026, 2, 5))


def test_a_bill_status_and_a_dishonour_in_a_closed_month_are_refused(company, customer, finance, book):
    bill = s.record_payment(company=company, customer_id=customer.pk, amount=D("100"), date=dt.date(2026, 2, 2),
                            actor=finance, method="bank_acceptance", bill_number="B-77",
                            bill_maturity_date=dt.date(2026, 5, 1))
    _refused(lambda: instruments.set_instrument_status(company=company, credit_id=bill.pk, status="dishonoured",
                                                       actor=finance, on=dt.date(2026, 1, 30)))
    assert Credit.objects.get(pk=bill.pk).bill_status == "received"


def test_bulk_paths_refuse_with_the_row_index(company, customer, finance, book):
    docs = [bulk.DocumentInput(customer_id=customer.pk, document_date=dt.date(2026, 2, 1), total=D("5")),
            bulk.DocumentInput(customer_id=customer.pk, document_date=dt.date(2026, 1, 9), total=D("5"))]
    err = _refused(lambda: bulk.post_documents(company=company, documents=docs, actor=finance))
    assert err.params["index"] == 1 and err.field == "document_date"
    pays = [bulk.PaymentInput(customer_id=customer.pk, amount=D("5"), date=dt.date(2026, 1, 2))]
    err = _refused(lambda: bulk.record_payments(company=company, payments=pays, actor=finance, today=TODAY))
    assert err.params["index"] == 0


def test_the_refusal_speaks_the_users_language(company, customer, finance, book):
    with translation.override("zh-hans"), pytest.raises(PeriodClosed) as exc:
        s.record_payment(company=company, customer_id=customer.pk, amount=D("1"), date=dt.date(2026, 1, 3),
                         actor=finance)
    text = str(exc.value.message)
    assert "2026-01-31" in text and "关账" in text


def test_close_rules(company, finance, users, book):
    translation.activate("en")
    with pytest.raises(LedgerError, match="already closed"):
        periods.close_month(company=company, month=JAN, actor=finance, today=TODAY)
    with pytest.raises(LedgerError, match="not ended"):
        periods.close_month(company=company, month=dt.date(2026, 3, 1), actor=finance, today=TODAY)
    with pytest.raises(NotAllowed):
        periods.close_month(company=company, month=dt.date(2026, 2, 1), actor=users["collector"], today=TODAY)
    periods.close_month(company=company, month=dt.date(2026, 2, 1), actor=finance, today=TODAY)
    assert periods.lock_date(company.pk) == dt.date(2026, 2, 28)


def test_reopen_needs_an_administrator_and_a_reason(company, customer, finance, users, book):
    translation.activate("en")
    admin = users["admin"]
    with pytest.raises(NotAllowed):
        periods.reopen_month(company=company, month=JAN, actor=finance, reason="补录")
    with pytest.raises(LedgerError):
        periods.reopen_month(company=company, month=JAN, actor=admin, reason="  ")
    with pytest.raises(LedgerError, match="not closed"):
        periods.reopen_month(company=company, month=dt.date(2026, 2, 1), actor=admin, reason="补录")
    assert periods.lock_date(company.pk) == dt.date(2026, 1, 31)
    event = periods.reopen_month(company=company, month=JAN, actor=admin, reason="补录一月发票")
    assert periods.lock_date(company.pk) == dt.date(2025, 12, 31)
    assert (event.actor, event.reason, event.action) == (admin, "补录一月发票", "reopen")
    audit = AuditEvent.objects.get(verb="ledger.period.reopened")
    assert audit.actor == admin and audit.data["reason"] == "补录一月发票"
    assert audit.data["before"] == {"lock_date": "2026-01-31"} and audit.data["after"] == {"lock_date": "2025-12-31"}
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 28), total=D("7"),
                    actor=finance)
    assert list(PeriodEvent.objects.order_by("at", "id").values_list("action", flat=True)) == ["close", "reopen"]


def test_command_closes_reopens_and_shows(company, finance, users, capsys):
    call_command("period", "close", "2026-01", "--user", "finance")
    assert periods.lock_date(company.pk) == dt.date(2026, 1, 31)
    with pytest.raises(CommandError):
        call_command("period", "reopen", "2026-01", "--reason", "x", "--user", "finance")
    call_command("period", "reopen", "2026-01", "--reason", "补录")  # the first administrator by default
    assert periods.lock_date(company.pk) == dt.date(2025, 12, 31)
    call_command("period", "status")
    out = capsys.readouterr().out
    assert "2026-01" in out and "补录" in out


def test_page_close_reopen_and_xlsx(client, company, users):
    client.force_login(users["finance"])
    page = client.get("/periods/")
    assert page.status_code == 200 and b"reopen-form" not in page.content
    r = client.post("/periods/", {"action": "close", "month": "2026-01"})
    assert r.status_code == 302 and periods.lock_date(company.pk) == dt.date(2026, 1, 31)
    r = client.post("/periods/", {"action": "close", "month": "2026-01"})
    assert r.status_code == 422 and "2026-01-31" in r.content.decode()
    assert client.post("/periods/", {"action": "reopen", "month": "2026-01", "reason": "x"}).status_code == 403
    client.force_login(users["admin"])
    r = client.post("/periods/", {"action": "reopen", "month": "2026-01", "reason": "补录"})
    assert r.status_code == 302 and periods.lock_date(company.pk) == dt.date(2025, 12, 31)
    xlsx = client.get("/periods/?format=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    client.force_login(users["auditor"])
    assert client.get("/periods/").status_code == 200
    assert client.post("/periods/", {"action": "close", "month": "2026-02"}).status_code == 403
    client.force_login(users["salesperson"])
    assert client.get("/periods/").status_code == 403
