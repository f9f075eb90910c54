"""What a signed-in contact does in the portal, each through the owning app's service.

The owning service (``statements.record_reply``, ``collections.open_dispute`` / ``record_promise``,
``customers.upload_customer_file``) runs in its own durable transaction with the portal's service
account as actor; the portal's own record (the confirmation with its stamped PDF, the ``portal.*``
audit event naming the contact, the owner's notification) follows in a second one. Inputs are checked
before the first write so a refusal changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from huikuan.collections import services as coll
from huikuan.common import audit
from huikuan.common.money import to_decimal
from huikuan.common.texts import Text
from huikuan.credit.models import Notification
from huikuan.customers import services as customer_services
from huikuan.customers.models import DocumentKind
from huikuan.ledger.models import Instalment
from huikuan.statements import services as statement_services
from huikuan.statements.models import ReplyStatus, Statement

from .models import Confirmation, PortalAccess
from .services import PortalError, customers_of, service_actor

MAX_LINES = 10


def _clean(value, *, field: str, max_length: int, required: bool = False) -> str:
    import unicodedata

    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise PortalError(_("Control characters are not allowed."), field=field)
    if required and not text:
        raise PortalError(_("This field is required."), field=field)
    return text[:max_length]


def _money(value, *, field: str, required: bool = True) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise PortalError(_("Enter a valid amount."), field=field)
        return None
    try:
        amount = to_decimal(str(value).replace(",", "").replace("，", ""))
    except (ValueError, TypeError) as exc:
        raise PortalError(_("Enter a valid amount."), field=field) from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) > Decimal("999999999999.99"):
        raise PortalError(_("Enter a valid amount."), field=field)
    return amount.quantize(Decimal("0.01"))


def _notify_owner(customer, message: Text) -> None:
    if customer.owner_id:
        Notification.objects.create(company_id=customer.company_id, user_id=customer.owner_id, customer=customer,
                                    message=message)


def _event(access: PortalAccess, customer, verb: str, summary: Text, data: dict, target=None) -> None:
    audit.record(actor=None, verb=verb, target=target or customer, company_id=customer.company_id, customer_id=customer.pk,
                 summary=summary, data={"contact_id": access.contact_id, "contact": access.contact.name, **data})
    _notify_owner(customer, summary)


def statement_of(access: PortalAccess, statement_id) -> Statement:
    st = Statement.objects.filter(pk=statement_id, customer__in=customers_of(access)).select_related(
        "customer", "company").first()
    if st is None:
        raise PortalError(_("Unknown statement."))
    return st


# ---------------------------------------------------------------- statements


def stamp_pdf(pdf: bytes, *, lines: list[str]) -> bytes:
    """The issued PDF with a confirmation stamp drawn on its last page (the pages themselves unchanged)."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    from huikuan.statements.pdf import FONT_NAME, _font

    reader = PdfReader(io.BytesIO(pdf))
    last = reader.pages[-1]
    width, height = float(last.mediabox.width), float(last.mediabox.height)
    buf = io.BytesIO()
    _font()
    c = canvas.Canvas(buf, pagesize=(width, height))
    box_w, line_h = 250, 13
    box_h = line_h * len(lines) + 14
    x, y = width - box_w - 36, 60
    c.setStrokeColorRGB(0.75, 0.1, 0.1)
    c.setFillColorRGB(0.75, 0.1, 0.1)
    c.setLineWidth(1.5)
    c.roundRect(x, y, box_w, box_h, 6)
    for i, text in enumerate(lines):
        c.setFont(FONT_NAME, 10 if i == 0 else 8)
        c.drawString(x + 8, y + box_h - 16 - i * line_h, text)
    c.save()
    stamp = PdfReader(io.BytesIO(buf.getvalue())).pages[0]
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.pages[-1].merge_page(stamp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def reply_to_statement(*, access: PortalAccess, statement_id: int, agree: bool, signer_name: str, signer_title: str = "",
                       their_balance=None, lines=(), note: str = "", ip: str | None = None, user_agent: str = "",
                       now: dt.datetime, today: dt.date) -> Confirmation:
    """对账确认 in the portal: confirm the statement's closing balance (信息证明无误) or disagree (信息不符)
    with their balance and the lines that differ. Recorded as a statement reply (so a confirmation restarts
    the limitation date exactly as a recorded paper reply does), plus who signed, when, from which IP and
    browser; a confirmation also keeps the issued PDF stamped with those facts (SHA-256 kept).
    Raises PortalError (nothing written) on bad input, statement errors from ``record_reply``."""
    st = statement_of(access, statement_id)
    name = _clean(signer_name, field="signer_name", max_length=100, required=True)
    title = _clean(signer_title, field="signer_title", max_length=100)
    note = _clean(note, field="note", max_length=400)
    clean_lines = []
    for i, line in enumerate(list(lines)[:MAX_LINES]):
        ref = _clean(line.get("reference"), field=f"line_{i}", max_length=40)
        ours = _money(line.get("ours"), field=f"line_{i}", required=False)
        theirs = _money(line.get("theirs"), field=f"line_{i}", required=False)
        why = _clean(line.get("note"), field=f"line_{i}", max_length=100)
        if ref or ours is not None or theirs is not None or why:
            clean_lines.append({"reference": ref, "ours": ours, "theirs": theirs, "note": why})
    amount = st.closing_amount if agree else _money(their_balance, field="their_balance")
    if not agree and amount == st.closing_amount and not (note or clean_lines):
        raise PortalError(_("Tell us which lines or amounts differ."), field="note")
    actor = service_actor(st.company)
    pdf = sha = b""
    if agree:
        pdf = stamp_pdf(statement_services.issued_pdf(statement=st, user=actor), lines=[
            f"已确认 CONFIRMED · {st.number}",
            f"{st.customer.name}",
            f"{name}{' · ' + title if title else ''}",
            f"{amount} {st.customer.currency} · {now.isoformat(timespec='seconds')}",
            f"IP {ip or '-'}",
        ])
        sha = hashlib.sha256(pdf).hexdigest()
    detail = "; ".join(f"{ln['reference']} {ln['ours'] if ln['ours'] is not None else ''}→"
                       f"{ln['theirs'] if ln['theirs'] is not None else ''} {ln['note']}".strip() for ln in clean_lines)
    recorded = statement_services.record_reply(
        user=actor, statement_id=st.pk, company=st.company, status=ReplyStatus.CONFIRMED if agree else ReplyStatus.DISPUTED,
        replied_on=today, replied_by=f"{name} ({title})"[:100] if title else name, confirmed_amount=amount,
        note=" | ".join(p for p in (note, detail) if p)[:500], today=today, unless_confirmed=True)
    return _keep_confirmation(access=access, st=st, reply=recorded.recorded_reply, agree=agree, name=name, title=title, amount=amount, pdf=pdf, sha=sha,
                              ip=ip, user_agent=user_agent, now=now, lines=clean_lines)


@transaction.atomic(durable=True)
def _keep_confirmation(*, access, st, reply, agree, name, title, amount, pdf, sha, ip, user_agent, now, lines) -> Confirmation:
    conf = Confirmation.objects.create(
        statement=st, reply=reply, access=access, signer_name=name, signer_title=title, confirmed=agree and reply.status == ReplyStatus.CONFIRMED,
        amount=amount, at=now, ip=ip or None, user_agent=(user_agent or "")[:400], pdf=pdf if agree else b"",
        sha256=sha if agree else "", lines=[{k: str(v) if isinstance(v, Decimal) else v for k, v in ln.items()} for ln in lines])
    if conf.confirmed:
        _event(access, st.customer, "portal.statement.confirmed", target=st,
               summary=Text("portal.event.confirmed", name=name, title=title or "-", number=st.number, amount=amount),
               data={"statement": st.number, "ip": ip or "", "user_agent": conf.user_agent, "sha256": sha,
                     "confirmation_id": conf.pk})
    else:
        _event(access, st.customer, "portal.statement.disputed", target=st,
               summary=Text("portal.event.disputed", name=name, number=st.number, amount=amount),
               data={"statement": st.number, "ip": ip or "", "user_agent": conf.user_agent, "confirmation_id": conf.pk,
                     "lines": conf.lines})
    return conf


# ---------------------------------------------------------------- disputes, promises, remittance advice


def _customer_of(access: PortalAccess, customer_id):
    customer = customers_of(access).filter(pk=customer_id).select_related("company").first()
    if customer is None:
        raise PortalError(_("Unknown customer."))
    return customer


def raise_dispute(*, access: PortalAccess, customer_id: int, instalment_id: int, reason: str, amount, note: str = "",
                  upload=None, today: dt.date):
    """Dispute ``amount`` of one open item, with a reason and (optionally) a supporting file, which is kept
    on the customer's file (``customers.upload_customer_file``). Returns the dispute."""
    customer = _customer_of(access, customer_id)
    if not Instalment.objects.filter(pk=instalment_id, customer=customer).exists():
        raise PortalError(_("Unknown item."))
    note = _clean(note, field="note", max_length=400, required=True)
    if upload is not None:
        customer_services.check_upload(upload)  # refuse a bad file before anything is written
    actor = service_actor(customer.company)
    dispute = coll.open_dispute(company=customer.company, customer_id=customer.pk, reason=reason, amount=amount,
                                actor=actor, today=today, instalment_id=instalment_id, owner=customer.owner,
                                note=f"{access.contact.name}: {note}")
    file_id = None
    if upload is not None:
        upload.seek(0)
        file_id = customer_services.upload_customer_file(
            customer_id=customer.pk, actor=actor, upload=upload, kind=DocumentKind.OTHER,
            title=f"{dispute.document.number} · {access.contact.name}"[:200]).pk
    with transaction.atomic():
        _event(access, customer, "portal.dispute.raised", target=dispute,
               summary=Text("portal.event.dispute", name=access.contact.name, amount=dispute.amount,
                            number=dispute.document.number),
               data={"dispute_id": dispute.pk, "file_id": file_id, "reason": reason})
    return dispute


def promise_to_pay(*, access: PortalAccess, customer_id: int, amount, promised_date: dt.date | None, note: str = "",
                   today: dt.date):
    """A promise to pay ``amount`` (≤ what is open and not yet promised) by ``promised_date`` (not in the past)."""
    customer = _customer_of(access, customer_id)
    note = _clean(note, field="note", max_length=200)
    actor = service_actor(customer.company)
    promise = coll.record_promise(company=customer.company, customer_id=customer.pk, amount=amount,
                                  promised_date=promised_date, today=today, actor=actor,
                                  note=f"{access.contact.name}{': ' + note if note else ''}")
    with transaction.atomic():
        _event(access, customer, "portal.promise.made", target=promise,
               summary=Text("portal.event.promise", name=access.contact.name, amount=promise.amount,
                            date=promise.promised_date),
               data={"promise_id": promise.pk})
    return promise


def send_remittance_advice(*, access: PortalAccess, customer_id: int, amount, paid_on: dt.date | None, upload,
                           payer_name: str = "", payer_account: str = "", memo: str = "", today: dt.date):
    """A remittance advice (水单) for a payment made: kept for the cash-application review queue as a hint
    beside the incoming bank line of that amount (``banking.hints``). The file is required and checked
    like every upload (type by content, size)."""
    from huikuan.banking import hints

    customer = _customer_of(access, customer_id)
    if upload is None:
        raise PortalError(_("Attach the remittance advice (a photo or PDF)."), field="upload")
    _ext, content_type = customer_services.check_upload(upload)
    upload.seek(0)
    hint = hints.record_hint(
        company=customer.company, customer_id=customer.pk, amount=amount, paid_on=paid_on, today=today,
        actor=service_actor(customer.company), payer_name=_clean(payer_name, field="payer_name", max_length=200),
        payer_account=_clean(payer_account, field="payer_account", max_length=60),
        memo=_clean(memo, field="memo", max_length=300), upload=upload, content_type=content_type,
        submitted_by=access.contact.name)
    with transaction.atomic():
        _event(access, customer, "portal.remittance.uploaded", target=hint,
               summary=Text("portal.event.remittance", name=access.contact.name, amount=hint.amount, date=hint.paid_on),
               data={"hint_id": hint.pk})
    return hint
