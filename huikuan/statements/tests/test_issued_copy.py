"""Issue 12 point 16: an issued statement stays what was issued — the PDF is rendered once when the
statement is issued, stored append-only, and served, e-mailed and packed from the stored bytes."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfReader

from huikuan.customers.models import Contact
from huikuan.ledger import services as s
from huikuan.statements import hooks
from huikuan.statements import services as st
from huikuan.statements.models import IssuedCopy
from huikuan.statements.pdf import render_statement_pdf
from huikuan.statements.selectors import statement_data

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 4, 2)


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def booked(company, customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("10000.00"),
                    actor=finance, number="INV-A")
    Contact.objects.create(customer=customer, name="王经理", email="wang@example.cn", is_primary=True, language="zh-hans")
    return customer


@pytest.fixture
def extra_line():
    """A demand figure that appears after issue (like an interest rule added later)."""
    def late_interest(customer, as_of):
        return [hooks.ExtraLine(label="罚息 late interest", amount=D("123.45"))]

    yield late_interest
    if late_interest in hooks.EXTRA_LINE_SOURCES:
        hooks.EXTRA_LINE_SOURCES.remove(late_interest)


def test_the_issued_pdf_never_changes(client, company, booked, finance, extra_line):
    statement = st.issue_statement(user=finance, customer=booked, period_from=dt.date(2026, 1, 1),
                                   period_to=dt.date(2026, 3, 31), today=TODAY)
    copy = IssuedCopy.objects.get(statement=statement)
    issued = bytes(copy.pdf)
    assert copy.language == "zh-hans" and not copy.late and "10,000.00" in _text(issued)
    # afterwards: a back-dated payment inside the period and an interest rule change what a render gives today
    s.record_payment(company=company, customer_id=booked.pk, amount=D("4000.00"), date=dt.date(2026, 3, 1), actor=finance)
    hooks.register_extra_lines(extra_line)
    today = render_statement_pdf(data=statement_data(user=finance, customer=booked, period_from=statement.period_from,
                                                      period_to=statement.period_to), statement=statement)
    assert today != issued and "6,000.00" in _text(today)
    # … but the statement is served as issued, e-mailed as issued
    client.force_login(finance)
    r = client.get(reverse("web:statement-pdf", args=[statement.pk]))
    assert r.status_code == 200 and r.content == issued
    st.email_statement(statement=statement, user=finance)
    assert mail.outbox[-1].attachments[0][1] == issued
    # and the stored copy cannot be changed or removed
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        IssuedCopy.objects.filter(pk=copy.pk).update(pdf=b"%PDF-forged")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        IssuedCopy.objects.filter(pk=copy.pk).delete()
    assert bytes(IssuedCopy.objects.get(pk=copy.pk).pdf) == issued


def test_issued_in_the_customers_language_and_a_new_version_is_a_new_statement(company, booked, finance):
    Contact.objects.filter(customer=booked).update(language="en")
    first = st.issue_statement(user=finance, customer=booked, period_from=dt.date(2026, 1, 1),
                               period_to=dt.date(2026, 3, 31), today=TODAY)
    assert first.issued_copy.language == "en" and "Statement of account" in _text(bytes(first.issued_copy.pdf))
    s.record_payment(company=company, customer_id=booked.pk, amount=D("4000.00"), date=dt.date(2026, 3, 1), actor=finance)
    second = st.issue_statement(user=finance, customer=booked, period_from=dt.date(2026, 1, 1),
                                period_to=dt.date(2026, 3, 31), today=TODAY)
    assert second.number != first.number and second.closing_amount == D("6000.00")
    assert "6,000.00" in _text(bytes(second.issued_copy.pdf)) and "10,000.00" in _text(bytes(first.issued_copy.pdf))


def test_a_statement_issued_before_copies_were_kept_gets_one_at_first_download(company, booked, finance):
    statement = st.issue_statement(user=finance, customer=booked, period_from=dt.date(2026, 1, 1),
                                   period_to=dt.date(2026, 3, 31), today=TODAY)
    with transaction.atomic():  # as if issued by the earlier version (no copy)
        from django.db import connection

        table = IssuedCopy._meta.db_table
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("SET LOCAL session_replication_role = replica")
            else:
                cur.execute(f"DROP TRIGGER {table}_append_only_del")
            cur.execute(f"DELETE FROM {table}")
            if connection.vendor == "postgresql":
                # SET LOCAL outlives this savepoint (it lasts to the test's own transaction): the ledger's
                # triggers — the aging running sums among them — must fire again for what follows
                cur.execute("SET LOCAL session_replication_role = origin")
            if connection.vendor == "sqlite":
                cur.execute(f"""CREATE TRIGGER {table}_append_only_del BEFORE DELETE ON {table}
                    BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END""")
    first = st.issued_pdf(statement=statement, user=finance)
    s.record_payment(company=company, customer_id=booked.pk, amount=D("4000.00"), date=dt.date(2026, 3, 1), actor=finance)
    assert st.issued_pdf(statement=statement, user=finance) == first
    assert IssuedCopy.objects.get(statement=statement).late
