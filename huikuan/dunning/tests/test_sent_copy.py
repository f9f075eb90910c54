"""Issue 12 point 16: a sent notice stays what was sent — the subject, text and letter PDF are frozen at
the first send attempt and stored append-only; retries, the notice page and the run's letters use them,
whatever happens to the template or the ledger afterwards."""

import datetime as dt
import io
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfReader

from huikuan.dunning import outbox, services
from huikuan.dunning.models import Delivery, DeliveryStatus, DunningTemplate, Notice, SentCopy
from huikuan.ledger import services as ledger

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2026, 3, 6)  # due 2026-02-04 + 30: the demand step (e-mail, letter, robot)
OFFICE = dt.datetime(2026, 3, 6, 10, 0, tzinfo=SH)


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_what_was_sent_stays_what_was_sent(client, company, customer, invoice, users, finance, mailoutbox):
    type(customer).objects.filter(pk=customer.pk).update(address="上海市浦东新区张江路 88 号")
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    notice = Notice.objects.get()
    email = SentCopy.objects.get(notice=notice, channel="email")
    letter = SentCopy.objects.get(notice=notice, channel="letter")
    assert bytes(letter.pdf).startswith(b"%PDF") and notice.number in _text(bytes(letter.pdf))
    sent = mailoutbox[0]
    assert (sent.subject, sent.body) == (email.subject, email.text)
    assert sent.attachments[0][1] == bytes(email.pdf)
    # later: every template of the step is edited and the customer pays part
    for tpl in DunningTemplate.objects.filter(company=company, key=notice.step.template_key):
        services.save_template(company=company, actor=users["admin"], template_id=tpl.pk, key=tpl.key, channel=tpl.channel,
                               language=tpl.language, subject="EDITED {{ notice_number }}", body="EDITED LATER {{ total }}")
    ledger.record_payment(company=company, customer_id=customer.pk, amount=D("2500.00"), date=AS_OF, actor=finance)
    client.force_login(users["finance"])
    r = client.get(reverse("dunning:notice-letter", args=[notice.pk]))
    assert r.status_code == 200 and r.content == bytes(letter.pdf) and "EDITED" not in _text(r.content)
    r = client.get(reverse("dunning:run-letters", args=[notice.run_id]))
    assert _text(r.content) == _text(bytes(letter.pdf))
    # the copies themselves cannot be changed or removed
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        SentCopy.objects.filter(pk=email.pk).update(text="forged")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        SentCopy.objects.filter(pk=letter.pk).delete()


def test_a_failed_attempt_is_retried_with_the_frozen_text(company, customer, invoice, users, settings, mailoutbox):
    settings.EMAIL_BACKEND = "huikuan.dunning.tests.test_sent_copy.FailingBackend"
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    d = Delivery.objects.get(channel="email")
    assert d.status == DeliveryStatus.PENDING and d.attempts == 1
    frozen = SentCopy.objects.get(notice=d.notice, channel="email")
    tpl = DunningTemplate.objects.get(company=company, key=d.notice.step.template_key, channel="email",
                                      language=d.notice.language)
    services.save_template(company=company, actor=users["admin"], template_id=tpl.pk, key=tpl.key, channel="email",
                           language=tpl.language,
                           subject="EDITED", body="EDITED")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outbox.process(now=OFFICE + dt.timedelta(minutes=2))
    assert Delivery.objects.get(pk=d.pk).status == DeliveryStatus.SENT
    assert (mailoutbox[-1].subject, mailoutbox[-1].body) == (frozen.subject, frozen.text) != ("EDITED", "EDITED")
    assert SentCopy.objects.filter(notice=d.notice, channel="email").count() == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return None

    def close(self):
        return None

    def send_messages(self, messages):
        raise OSError("connection refused")
