"""Issuing statements, recording customers' replies, bulk batches."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, clock
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.money import to_decimal
from huikuan.common.numbering import next_number
from huikuan.customers.models import Contact, Customer

from .models import IssuedCopy, ReplyStatus, Statement, StatementBatch, StatementReply
from .pdf import render_statement_pdf
from .selectors import statement_data

REPLY_DAYS = 15


class StatementError(DomainError):
    code = "statement_error"


def _check_period(period_from, period_to):
    if period_from is None or period_to is None or period_from > period_to:
        raise StatementError(_("The period's start must be on or before its end."), field="period_from")


@transaction.atomic(durable=True)
def issue_statement(*, user, customer: Customer, period_from: dt.date, period_to: dt.date, today: dt.date,
                    reply_days: int = REPLY_DAYS, batch: StatementBatch | None = None) -> Statement:
    """Record that a statement with its closing balance was issued (numbered), awaiting the reply."""
    if not user.can("ledger.post") and not user.can("customer.edit"):
        raise NotAllowed(_("You cannot issue statements."))
    _check_period(period_from, period_to)
    data = statement_data(user=user, customer=customer, period_from=period_from, period_to=period_to)
    st = Statement.objects.create(
        company=customer.company, customer=customer,
        number=next_number(company_id=customer.company_id, series="ST", year=period_to.year),
        period_from=period_from, period_to=period_to, closing_amount=data.closing,
        reply_deadline=today + dt.timedelta(days=reply_days), batch=batch, created_by=user,
    )
    language = customer_language(customer)
    copy = _keep_copy(st, data, language=language)
    audit.record(actor=user, verb="statement.issued", target=st, summary=f"{st.number} {data.closing}",
                 data={"closing": data.closing, "period_from": period_from, "period_to": period_to,
                       "language": language, "sha256": copy.sha256})
    return st


def customer_language(customer: Customer) -> str:
    """The language a document for ``customer`` is issued in: its primary (or first active) contact's."""
    lang = (Contact.objects.filter(customer=customer, is_active=True).order_by("-is_primary", "pk")
            .values_list("language", flat=True).first())
    return lang or translation.get_language() or "zh-hans"


def _keep_copy(st: Statement, data, *, language: str, late: bool = False) -> IssuedCopy:
    with translation.override(language):
        pdf = render_statement_pdf(data=data, statement=st)
    return IssuedCopy.objects.create(statement=st, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
                                     language=language, late=late)


class CopyDamaged(StatementError):
    code = "copy_damaged"


def issued_pdf(*, statement: Statement, user) -> bytes:
    """The statement's PDF exactly as issued (checked against its SHA-256).

    A statement issued before copies were kept gets its copy now (rendered from the ledger as it is
    today, marked ``late``) and keeps that one from then on. Raises CopyDamaged if the stored bytes no
    longer match their hash."""
    copy = IssuedCopy.objects.filter(statement=statement).first()
    if copy is None:
        with transaction.atomic():
            locked = Statement.objects.select_for_update().get(pk=statement.pk)
            copy = IssuedCopy.objects.filter(statement=locked).first()
            if copy is None:
                data = statement_data(user=user, customer=statement.customer, period_from=statement.period_from,
                                      period_to=statement.period_to)
                copy = _keep_copy(locked, data, language=customer_language(statement.customer), late=True)
    pdf = bytes(copy.pdf)
    if hashlib.sha256(pdf).hexdigest() != copy.sha256:
        raise CopyDamaged(_("The stored copy of statement %(number)s does not match its fingerprint.")
                          % {"number": statement.number})
    return pdf


def email_statement(*, statement: Statement, user) -> str:
    """E-mail the PDF to the customer's primary (or first) contact with an address. Returns the address.
    Raises StatementError when the customer has no contact with an e-mail address."""
    contact = (
        Contact.objects.filter(customer=statement.customer, is_active=True).exclude(email="")
        .order_by("-is_primary", "pk").first()
    )
    if contact is None:
        raise StatementError(_("No contact of this customer has an e-mail address."))
    pdf = issued_pdf(statement=statement, user=user)
    subject = gettext("Statement of account %(number)s — %(company)s") % {"number": statement.number, "company": statement.company.name}
    body = gettext(
        "Dear %(name)s,\n\nPlease find attached our statement of account to %(date)s. The closing balance is %(amount)s %(cur)s.\n"
        "Please confirm it or tell us the differences by %(deadline)s.\n\n%(company)s"
    ) % {"name": contact.name, "date": statement.period_to, "amount": statement.closing_amount, "cur": statement.customer.currency,
         "deadline": statement.reply_deadline, "company": statement.company.name}
    msg = EmailMessage(subject=subject, body=body, to=[contact.email])
    msg.attach(f"{statement.number}.pdf", pdf, "application/pdf")
    msg.send()
    Statement.objects.filter(pk=statement.pk).update(sent_to=contact.email, sent_at=timezone.now(), send_error="")
    return contact.email


@transaction.atomic(durable=True)
def record_reply(*, user, statement_id: int, company, status: str, replied_on: dt.date, replied_by: str = "",
                 confirmed_amount=None, note: str = "", scan=None, today: dt.date | None = None,
                 unless_confirmed: bool = False) -> Statement:
    """Record a reply of the customer to a statement: a confirmation (信息证明无误) or a disagreement (信息不符).

    Every reply is kept (``StatementReply``); the statement's reply columns show the latest one (by reply date,
    then recording order), so a late-recorded older reply never hides a newer one. A confirmation naming a
    balance different from the closing balance is a disagreement (差异): stored as disputed with the difference
    (their balance − ours). A plain disagreement needs the differences described. Locks the statement row.
    ``unless_confirmed`` (the customer portal) refuses a reply to a statement already confirmed, under that lock,
    so two concurrent confirmations record one. The reply recorded is ``returned_statement.recorded_reply``.
    """
    if not (user.can("ledger.post") or user.can("customer.edit")) or user.is_read_only:
        raise NotAllowed(_("You cannot record statement replies."))
    st = Statement.objects.select_for_update().filter(pk=statement_id, company=company).first()
    if st is None:
        raise StatementError(_("Unknown statement."))
    if status not in (ReplyStatus.CONFIRMED, ReplyStatus.DISPUTED):
        raise StatementError(_("Choose confirmed or disputed."), field="status")
    if unless_confirmed and st.status == ReplyStatus.CONFIRMED:
        raise StatementError(_("This statement is already confirmed."))
    if replied_on is None:
        raise StatementError(_("Enter the reply date."), field="replied_on")
    if replied_on < st.period_to:
        raise StatementError(_("The reply cannot be dated before the statement's cut-off date."), field="replied_on")
    today = today or clock.today(company)  # a reply dated ahead would push the limitation date (诉讼时效) out
    if replied_on > today:
        raise StatementError(_("A reply cannot be dated after today (%(today)s).") % {"today": today.isoformat()},
                             field="replied_on")
    amount = None
    if confirmed_amount not in (None, ""):
        try:
            amount = to_decimal(confirmed_amount)
        except (ValueError, TypeError) as exc:
            raise StatementError(_("Enter a valid amount."), field="confirmed_amount") from exc
        if not amount.is_finite() or amount != amount.quantize(to_decimal("0.01")) or abs(amount) > to_decimal("999999999999.99"):
            raise StatementError(_("Enter a valid amount."), field="confirmed_amount")
        amount = amount.quantize(to_decimal("0.01"))
    elif status == ReplyStatus.CONFIRMED:
        amount = st.closing_amount
    difference = None if amount is None else amount - st.closing_amount
    if status == ReplyStatus.CONFIRMED and difference:
        status = ReplyStatus.DISPUTED  # "confirmed" with another balance is a disagreement (差异)
    elif status == ReplyStatus.DISPUTED and not note.strip() and not difference:
        raise StatementError(_("Describe the differences the customer reported."), field="note")
    reply = StatementReply.objects.create(
        statement=st, status=status, replied_on=replied_on, replied_by=str(replied_by)[:100], confirmed_amount=amount,
        difference_amount=difference, note=str(note)[:500], recorded_by=user, **({"scan": scan} if scan is not None else {}))
    before = {"status": st.status, "confirmed_amount": st.confirmed_amount}
    latest = StatementReply.objects.filter(statement=st).order_by("-replied_on", "-id").first()
    st.status = latest.status
    st.replied_on = latest.replied_on
    st.replied_by = latest.replied_by
    st.confirmed_amount = latest.confirmed_amount
    st.reply_note = latest.note
    st.recorded_by = latest.recorded_by
    if latest.scan:
        st.reply_scan = latest.scan
    st.save(update_fields=["status", "replied_on", "replied_by", "confirmed_amount", "reply_note", "recorded_by", "reply_scan"])
    audit.record(actor=user, verb=f"statement.{status}", target=st, summary=f"{st.number} {amount}",
                 data={"before": before, "status": status, "confirmed_amount": amount, "difference": difference,
                       "replied_on": replied_on, "reply_id": reply.pk})
    st.recorded_reply = reply
    return st


@transaction.atomic(durable=True)
def start_batch(*, user, company, period_from: dt.date, period_to: dt.date, selection: dict, send_email: bool) -> StatementBatch:
    """Queue bulk generation for the customers matching ``selection`` (owner_id, group_id, with_balance)."""
    if not (user.can("ledger.post") or user.can("customer.edit")) or user.is_read_only:
        raise NotAllowed(_("You cannot issue statements."))
    _check_period(period_from, period_to)
    batch = StatementBatch.objects.create(company=company, period_from=period_from, period_to=period_to,
                                          selection=selection, send_email=send_email, created_by=user)
    audit.record(actor=user, verb="statement.batch.started", target=batch, company_id=company.pk, data=selection)
    transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


@transaction.atomic(durable=True)
def resume_batch(*, user, batch: StatementBatch) -> StatementBatch:
    """Queue a batch again after it failed or its worker was cut off (``StatementBatch.resumable``): the worker
    continues with the customers that have no statement in it yet."""
    if not (user.can("ledger.post") or user.can("customer.edit")) or user.is_read_only:
        raise NotAllowed(_("You cannot issue statements."))
    batch = StatementBatch.objects.select_for_update().get(pk=batch.pk)
    if not batch.resumable:
        raise StatementError(_("This batch is not stopped: it is queued, running or done."), field="status")
    audit.record(actor=user, verb="statement.batch.resumed", target=batch, company_id=batch.company_id,
                 data={"status": batch.status, "done": batch.done, "total": batch.total})
    transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


def _enqueue(batch_id: int) -> None:
    from .tasks import run_statement_batch

    run_statement_batch.enqueue(batch_id)
