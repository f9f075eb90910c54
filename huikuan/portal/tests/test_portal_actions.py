"""Portal actions go through the owning services and leave evidence: statement confirmation (stamped PDF,
IP, user agent, limitation restarted), disagreement with lines, dispute with attachment, promise ≤ open;
each on the customer's timeline with the owner notified; reminders carry a personal link."""

import datetime as dt
import hashlib
import io
from decimal import Decimal as D

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from huikuan.collections.models import Dispute, Promise
from huikuan.credit.models import Notification
from huikuan.customers.models import Contact, CustomerFile
from huikuan.ledger import services as ledger
from huikuan.ledger.selectors import customer_timeline
from huikuan.portal import links
from huikuan.portal import services as portal
from huikuan.portal.models import Confirmation, SignInToken
from huikuan.statements.models import IssuedCopy, StatementReply
from huikuan.statements.selectors import limitation
from huikuan.statements.services import issue_statement

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 2, 10, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def signed_in(client, company, customer, finance):
    with time_machine.travel(NOW, tick=False):
        doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                                   total=D("1000.00"), actor=finance)
        st = issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1),
                             period_to=dt.date(2026, 1, 31), today=dt.date(2026, 2, 1))
        contact = Contact.objects.create(customer=customer, name="李会计", title="财务经理", email="li@example.cn")
        access = portal.grant_access(actor=finance, contact_id=contact.pk)
        with transaction.atomic():
            secret = portal.issue_token(access=access, purpose="invite", now=timezone.now()).secret
        assert client.post(f"/portal/in/{secret}/").status_code == 302
    return {"doc": doc, "st": st, "contact": contact, "customer": customer, "inst": doc.instalments.get()}


@time_machine.travel(NOW, tick=False)
def test_confirm_statement_stamps_pdf_records_who_and_restarts_limitation(client, signed_in):
    c, st = signed_in["customer"], signed_in["st"]
    assert limitation(customer=c).last_confirmed is None
    resp = client.post(f"/portal/c/{c.pk}/statements/{st.pk}/reply/",
                       {"agree": "1", "signer_name": "李会计", "signer_title": "财务经理"},
                       HTTP_USER_AGENT="Mobile Safari 17", REMOTE_ADDR="203.0.113.9")
    assert resp.status_code == 302
    st.refresh_from_db()
    assert st.status == "confirmed" and st.confirmed_amount == D("1000.00")
    assert limitation(customer=c).last_confirmed == dt.date(2026, 2, 10)  # Asia/Shanghai business date
    conf = Confirmation.objects.get()
    assert (conf.signer_name, conf.signer_title, conf.ip, conf.user_agent) == ("李会计", "财务经理", "203.0.113.9",
                                                                             "Mobile Safari 17")
    pdf = bytes(conf.pdf)
    assert hashlib.sha256(pdf).hexdigest() == conf.sha256
    issued = bytes(IssuedCopy.objects.get(statement=st).pdf)
    assert pdf != issued and len(PdfReader(io.BytesIO(pdf)).pages) == len(PdfReader(io.BytesIO(issued)).pages)
    assert "CONFIRMED" in PdfReader(io.BytesIO(pdf)).pages[-1].extract_text()
    assert client.get(f"/portal/c/{c.pk}/statements/{st.pk}/confirmed.pdf").content == pdf
    titles = [i.title for i in customer_timeline(customer=c)]
    assert "Statement confirmed in the customer portal" in titles or "客户在门户中确认了对账单" in titles
    from django.contrib.auth import get_user_model

    service = get_user_model().objects.get(username=portal.SERVICE_USERNAME)
    assert not service.has_usable_password() and not service.companies.exists()  # in nobody's people lists
    note = Notification.objects.get(user=c.owner)
    assert "李会计" in str(note.message) and st.number in str(note.message)


@time_machine.travel(NOW, tick=False)
def test_disagree_with_lines_and_amount(client, signed_in):
    c, st = signed_in["customer"], signed_in["st"]
    nothing = client.post(f"/portal/c/{c.pk}/statements/{st.pk}/reply/",
                          {"agree": "0", "signer_name": "李会计", "their_balance": "1000.00"})
    assert nothing.status_code == 422 and not StatementReply.objects.exists()
    resp = client.post(f"/portal/c/{c.pk}/statements/{st.pk}/reply/", {
        "agree": "0", "signer_name": "李会计", "their_balance": "900.00",
        "ref_0": signed_in["doc"].number, "ours_0": "1000.00", "theirs_0": "900.00", "why_0": "少收货 10 件"})
    assert resp.status_code == 302
    reply = StatementReply.objects.get()
    assert reply.status == "disputed" and reply.difference_amount == D("-100.00") and "少收货" in reply.note
    conf = Confirmation.objects.get()
    assert not conf.confirmed and conf.sha256 == "" and conf.lines[0]["theirs"] == "900.00"
    assert limitation(customer=c).last_confirmed is None


@time_machine.travel(NOW, tick=False)
def test_dispute_with_attachment_and_promise_not_above_open(client, signed_in, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    c, inst = signed_in["customer"], signed_in["inst"]
    bad = client.post(f"/portal/c/{c.pk}/items/{inst.pk}/dispute/", {
        "reason": "quality", "amount": "200.00", "note": "破损",
        "attachment": SimpleUploadedFile("x.pdf", b"not a pdf", content_type="application/pdf")})
    assert bad.status_code == 422 and not Dispute.objects.exists()  # a bad file: nothing written
    resp = client.post(f"/portal/c/{c.pk}/items/{inst.pk}/dispute/", {
        "reason": "quality", "amount": "200.00", "note": "外包装破损",
        "attachment": SimpleUploadedFile("photo.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")})
    assert resp.status_code == 302
    d = Dispute.objects.get()
    assert d.amount == D("200.00") and d.reason == "quality" and "外包装破损" in d.note
    assert CustomerFile.objects.filter(customer=c, kind="other").count() == 1
    inst.refresh_from_db()
    assert inst.disputed_amount == D("200.00")
    too_much = client.post(f"/portal/c/{c.pk}/promise/", {"amount": "900.00", "promised_date": "2026-02-20"})
    assert too_much.status_code == 422 and not Promise.objects.exists()  # 800 open and undisputed
    past = client.post(f"/portal/c/{c.pk}/promise/", {"amount": "100.00", "promised_date": "2026-02-01"})
    assert past.status_code == 422
    ok = client.post(f"/portal/c/{c.pk}/promise/", {"amount": "800.00", "promised_date": "2026-02-20"})
    assert ok.status_code == 302
    p = Promise.objects.get()
    assert (p.amount, p.promised_date) == (D("800.00"), dt.date(2026, 2, 20))
    assert Notification.objects.filter(user=c.owner).count() == 2


@time_machine.travel(NOW, tick=False)
def test_reminder_link_is_personal_and_signs_in(client, company, customer, finance, settings):
    settings.HUIKUAN_PUBLIC_URL = "https://ar.example.cn"
    assert links.reminder_link(customer=customer) == ""  # nobody invited: no personal link
    contact = Contact.objects.create(customer=customer, name="王", email="w@example.cn", is_primary=True)
    portal.grant_access(actor=finance, contact_id=contact.pk)
    url = links.reminder_link(customer=customer)
    assert url.startswith("https://ar.example.cn/portal/in/")
    token = SignInToken.objects.get(purpose="reminder")
    assert token.access.contact == contact and token.expires_at == NOW + dt.timedelta(days=14)
    assert client.post(url.removeprefix("https://ar.example.cn")).status_code == 302
    assert client.get(f"/portal/c/{customer.pk}/").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_remittance_advice_reaches_the_review_queue(client, signed_in, settings, tmp_path, company, users):
    from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus, RemittanceHint

    settings.MEDIA_ROOT = tmp_path
    c = signed_in["customer"]
    url = f"/portal/c/{c.pk}/remittance/"
    future = client.post(url, {"amount": "600.00", "paid_on": "2026-02-12",
                               "upload": SimpleUploadedFile("s.pdf", b"%PDF-1.4 x", content_type="application/pdf")})
    no_file = client.post(url, {"amount": "600.00", "paid_on": "2026-02-09"})
    assert future.status_code == no_file.status_code == 422 and not RemittanceHint.objects.exists()
    ok = client.post(url, {"amount": "600.00", "paid_on": "2026-02-09", "memo": c.code,
                           "upload": SimpleUploadedFile("水单.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")})
    assert ok.status_code == 302
    hint = RemittanceHint.objects.get()
    assert (hint.amount, hint.customer, hint.submitted_by) == (D("600.00"), c, "李会计")
    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="9", currency="CNY")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="x", file_hash="h")
    ln = BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 2, 11), amount=D("600.00"),
                                 counterparty_name="个人代付", dedupe_key="k", status=LineStatus.UNMATCHED)
    BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 2, 11), amount=D("601.00"),
                            counterparty_name="别人", dedupe_key="k2", status=LineStatus.UNMATCHED)
    clerk = type(client)()
    clerk.force_login(users["finance"])
    queue = clerk.get("/bank/queue/").content.decode()
    assert queue.split('id="recent-hints"')[0].count(c.name) == 1  # beside the 600.00 line only
    page = clerk.get(f"/bank/lines/{ln.pk}/").content.decode()
    assert f"/bank/hints/{hint.pk}/file/" in page
    assert clerk.get(f"/bank/hints/{hint.pk}/file/").getvalue() == b"%PDF-1.4 receipt"
    titles = [i.title for i in customer_timeline(customer=c)]
    assert any("门户中上传了水单" in t or "Remittance advice uploaded" in t for t in titles)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("automatic", [False, True])
def test_remittance_advice_is_used_when_its_line_is_applied(client, signed_in, settings, tmp_path, company, users,
                                                            other_customer, automatic):
    """Applying the line the advice announced (by a clerk, or automatically) marks it used, audited, shown so on the
    portal, the review queue and the line; it no longer waits beside other lines of that amount; an advice of
    another customer with the same amount stays open; undoing the line puts it back."""
    from huikuan.banking import hints
    from huikuan.banking import services as bs
    from huikuan.banking.models import (
        BankAccount,
        BankLine,
        BankStatement,
        HintStatus,
        LineStatus,
        RemittanceHint,
    )
    from huikuan.common.models import AuditEvent

    settings.MEDIA_ROOT = tmp_path
    c = signed_in["customer"]
    client.post(f"/portal/c/{c.pk}/remittance/", {
        "amount": "600.00", "paid_on": "2026-02-09",
        "upload": SimpleUploadedFile("水单.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")})
    hint = RemittanceHint.objects.get()
    theirs = hints.record_hint(company=company, customer_id=other_customer.pk, amount="600.00",
                               paid_on=dt.date(2026, 2, 9), today=dt.date(2026, 2, 10), actor=users["finance"],
                               source="staff")
    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="9", currency="CNY")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="x", file_hash="h")
    ln = BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 2, 10),
                                 amount=D("600.00"), counterparty_name="个人代付", dedupe_key="k",
                                 status=LineStatus.UNMATCHED)
    later = BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 2, 10),
                                    amount=D("600.00"), counterparty_name="又一笔", dedupe_key="k2",
                                    status=LineStatus.UNMATCHED)
    inst = signed_in["inst"]
    bs.apply_line(company=company, line_id=ln.pk, actor=users["finance"], on=dt.date(2026, 2, 10), automatic=automatic,
                  parts=[bs.Part(customer_id=c.pk, allocations=[(inst.pk, D("600.00"), D("0"))])])
    hint.refresh_from_db()
    theirs.refresh_from_db()
    assert (hint.status, hint.line_id) == (HintStatus.USED, ln.pk) and hint.used_at is not None
    assert theirs.status == HintStatus.OPEN
    event = AuditEvent.objects.get(verb="banking.hint.used")
    assert (event.customer_id, event.data["line_id"]) == (c.pk, ln.pk)
    # the other 600.00 line no longer shows this customer's advice (only the other customer's)
    assert [h.pk for h in hints.hints_for_lines(company=company, lines=[later])[later.pk]] == [theirs.pk]
    portal_page = client.get(f"/portal/c/{c.pk}/").content.decode()
    assert "hint-used" in portal_page
    clerk = type(client)()
    clerk.force_login(users["finance"])
    assert clerk.get("/bank/queue/").content.decode().count("hint-used") == 1
    assert "line-used-hints" in clerk.get(f"/bank/lines/{ln.pk}/").content.decode()

    bs.undo_line(company=company, line_id=ln.pk, actor=users["finance"], on=dt.date(2026, 2, 10), reason="错配")
    hint.refresh_from_db()
    assert (hint.status, hint.line_id, hint.used_at) == (HintStatus.OPEN, None, None)
    assert AuditEvent.objects.filter(verb="banking.hint.reopened", customer_id=c.pk).count() == 1
    assert "hint-used" not in client.get(f"/portal/c/{c.pk}/").content.decode()
