"""Outbound webhooks against a real local HTTP receiver: signature, retry after a 500, redelivery with the
same id, idempotent handling by id, automatic disable with a notice, secret rotation, refused targets."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from huikuan.common.errors import NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.integrations import delivery, services, signing
from huikuan.integrations.calculations import WINDOW, next_attempt, retry_delay
from huikuan.integrations.models import Attempt, Delivery, DeliveryStatus, Endpoint, Message
from huikuan.integrations.targets import RefusedTarget, check_url
from huikuan.ledger import services as ledger

from .receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def T0():  # noqa: N802 - a constant per test: a moment just after the deliveries it creates are due
    return timezone.now().replace(microsecond=0) + dt.timedelta(seconds=30)



@pytest.fixture
def allow_local(settings):
    settings.HUIKUAN_WEBHOOK_ALLOW_PRIVATE = True


def _endpoint(company, users, url, events=("payment.recorded",)):
    return services.create_endpoint(actor=users["admin"], company=company, url=url, events=list(events))


def _pay(company, customer, finance, amount="100.00"):
    return ledger.record_payment(company=company, customer_id=customer.pk, amount=D(amount),
                                 date=dt.date(2026, 3, 1), actor=finance)


def test_standard_webhooks_reference_signature():
    # the test vector of the Standard Webhooks reference libraries
    sig = signing.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                       '{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify_refuses_tampering_and_old_timestamps():
    secret = signing.new_secret()
    h = signing.headers([secret], "msg_1", 1000, '{"a":1}')
    signing.verify(secret, h, '{"a":1}', now=1100)
    for body, now in (('{"a":2}', 1100), ('{"a":1}', 1000 + 301)):
        with pytest.raises(signing.InvalidSignature):
            signing.verify(secret, h, body, now=now)


def test_backoff_is_exponential_and_stops_after_24_hours(T0):
    assert [retry_delay(n) for n in (1, 2, 3)] == [dt.timedelta(minutes=1), dt.timedelta(minutes=4),
                                                   dt.timedelta(minutes=16)]
    at, attempts, times = T0, 1, []
    while (nxt := next_attempt(attempts=attempts, window_start=T0, now=at)) is not None:
        assert nxt > at
        times.append(nxt)
        at, attempts = nxt, attempts + 1
    assert times[-1] == T0 + WINDOW and 8 <= len(times) <= 12


def test_delivered_signed_after_commit_to_a_real_receiver(allow_local, company, users, customer, finance, T0):
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url, events=["payment.recorded", "customer.updated"])
        rx.secrets = [ep.secret]
        payment = _pay(company, customer, finance, "1234.56")
        d = Delivery.objects.get(endpoint=ep)
        assert d.status == DeliveryStatus.PENDING and d.message.event_type == "payment.recorded"
        assert delivery.process(now=T0) == {"delivered": 1, "failed": 0}
    [req] = rx.requests
    assert req["valid"] == {ep.secret: True}
    assert req["headers"]["webhook-timestamp"] == str(int(T0.timestamp()))
    body = json.loads(req["body"])
    assert body["type"] == "payment.recorded"
    assert body["data"]["id"] == payment.pk and body["data"]["current"]["amount"] == "1234.56"
    assert body["data"]["customer"] == {"id": customer.pk, "code": "C001", "name": customer.name}
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert Attempt.objects.get(delivery=d).status_code == 200


def test_retry_after_500_keeps_the_id_and_the_receiver_handles_it_once(allow_local, company, users, customer, finance, T0):
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url)
        rx.secrets = [ep.secret]
        rx.statuses = [500]
        _pay(company, customer, finance)
        assert delivery.process(now=T0) == {"delivered": 0, "failed": 1}
        d = Delivery.objects.get(endpoint=ep)
        assert d.status == DeliveryStatus.PENDING and d.next_attempt_at == T0 + dt.timedelta(minutes=1)
        assert delivery.process(now=T0 + dt.timedelta(seconds=30)) == {"delivered": 0, "failed": 0}  # not due yet
        assert delivery.process(now=T0 + dt.timedelta(minutes=1)) == {"delivered": 1, "failed": 0}
        # a manual redelivery sends the very same message again
        services.redeliver(actor=users["admin"], company=company, delivery_id=d.pk, now=T0 + dt.timedelta(hours=1))
        assert delivery.process(now=T0 + dt.timedelta(hours=1)) == {"delivered": 1, "failed": 0}
    ids = [r["headers"]["webhook-id"] for r in rx.requests]
    bodies = {r["body"] for r in rx.requests}
    assert len(ids) == 3 and len(set(ids)) == 1 and len(bodies) == 1
    assert all(r["valid"][ep.secret] for r in rx.requests)
    assert list(rx.handled) == ids[:1]  # handled once by id
    codes = list(Attempt.objects.filter(delivery__endpoint=ep).order_by("at").values_list("status_code", "manual"))
    assert codes == [(500, False), (200, False), (200, True)]


def test_repeated_failures_disable_the_endpoint_and_tell_the_admins(allow_local, settings, company, users, customer,
                                                                    finance, T0):
    settings.HUIKUAN_WEBHOOK_DISABLE_AFTER = 3
    users["admin"].email = "admin@example.com"
    users["admin"].save()
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url)
        rx.secrets = [ep.secret]
        rx.statuses = [500] * 10
        _pay(company, customer, finance)
        _pay(company, customer, finance, "5.00")
        assert delivery.process(now=T0)["failed"] == 2
        ep.refresh_from_db()
        assert ep.is_active and ep.consecutive_failures == 2
        assert delivery.process(now=T0 + dt.timedelta(minutes=1))["failed"] >= 1
    ep.refresh_from_db()
    assert not ep.is_active and ep.consecutive_failures >= 3  # both claimed deliveries failed
    assert AuditEvent.objects.filter(verb="integrations.endpoint.disabled", target_id=ep.pk).exists()
    assert delivery.notify_disabled(ep.pk) == 1
    assert "admin@example.com" in mail.outbox[-1].to and rx.url in mail.outbox[-1].subject
    # nothing more is sent to a disabled endpoint
    assert delivery.process(now=T0 + dt.timedelta(hours=5)) == {"delivered": 0, "failed": 0}
    services.set_active(actor=users["admin"], company=company, endpoint_id=ep.pk, active=True)
    with Receiver() as rx2:
        Endpoint.objects.filter(pk=ep.pk).update(url=rx2.url)
        assert delivery.process(now=T0 + dt.timedelta(hours=5))["delivered"] == 2


def test_rotation_signs_with_both_secrets_during_the_overlap(allow_local, company, users, customer, finance, T0):
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url)
        old = ep.secret
        ep = services.rotate_secret(actor=users["admin"], company=company, endpoint_id=ep.pk, overlap_hours=24,
                                    now=T0)
        rx.secrets = [old, ep.secret]
        _pay(company, customer, finance)
        delivery.process(now=T0 + dt.timedelta(hours=1))
        _pay(company, customer, finance, "7.00")
        delivery.process(now=T0 + dt.timedelta(hours=25))
    first, second = rx.requests
    assert first["valid"] == {old: True, ep.secret: True}
    assert len(first["headers"]["webhook-signature"].split()) == 2
    assert second["valid"] == {old: False, ep.secret: True}


def test_outbox_row_commits_with_the_change_or_not_at_all(allow_local, company, users, customer, finance):
    ep = _endpoint(company, users, "http://127.0.0.1:9/x", events=["customer.updated"])
    _pay(company, customer, finance)  # not subscribed: nothing written
    assert not Message.objects.exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        from huikuan.common import audit

        audit.record(actor=finance, verb="customers.customer.updated", target=customer)
        assert Delivery.objects.filter(endpoint=ep).count() == 1
        raise RuntimeError
    assert not Message.objects.exists()


def test_a_credit_note_applied_is_not_a_payment_applied(allow_local, company, users, customer, finance):
    _endpoint(company, users, "http://127.0.0.1:9/x", events=["payment.applied", "document.posted"])
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 3, 1),
                         total=D("500.00"), actor=finance)
    ledger.issue_credit_note(company=company, customer_id=customer.pk, amount=D("50.00"), date=dt.date(2026, 3, 1),
                             reason="price", actor=finance)
    pay = _pay(company, customer, finance, "100.00")
    types = list(Message.objects.order_by("pk").values_list("event_type", flat=True))
    assert types[0] == "document.posted"
    assert types.count("payment.applied") == 1  # the payment allocated oldest-first; the credit note is not
    assert json.loads(Message.objects.get(event_type="payment.applied").body)["data"]["id"] == pay.pk


@pytest.mark.parametrize("url", ["ftp://example.com/x", "javascript:alert(1)", "http://", "http://u:p@example.com/"])
def test_urls_that_are_not_http_are_refused(company, users, url):
    with pytest.raises(RefusedTarget):
        services.create_endpoint(actor=users["admin"], company=company, url=url, events=["payment.recorded"])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "http://localhost/x", "https://10.1.2.3/", "http://[::1]/",
                                 "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/"])
def test_loopback_and_private_targets_are_refused_when_forbidden(settings, url):
    settings.HUIKUAN_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(RefusedTarget):
        check_url(url)


def test_a_target_that_became_private_is_not_called(settings, company, users, customer, finance, T0):
    settings.HUIKUAN_WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url)
        _pay(company, customer, finance)
        settings.HUIKUAN_WEBHOOK_ALLOW_PRIVATE = False
        assert delivery.process(now=T0) == {"delivered": 0, "failed": 1}
    assert rx.requests == []
    assert "private" in Delivery.objects.get(endpoint=ep).last_error


def test_only_administrators_manage_webhooks(allow_local, company, users):
    for role in ("finance", "credit_manager", "auditor"):
        with pytest.raises(NotAllowed):
            services.create_endpoint(actor=users[role], company=company, url="http://127.0.0.1/x",
                                     events=["payment.recorded"])


def test_screens_add_an_endpoint_and_redeliver(allow_local, client, company, users, customer, finance, T0):
    client.force_login(users["admin"])
    r = client.post(reverse("integrations:webhook-list"), {"url": "ftp://x", "events": ["payment.recorded"]})
    assert r.status_code == 422
    r = client.post(reverse("integrations:webhook-list"), {"url": "http://127.0.0.1:9/x",
                                                           "events": ["payment.recorded"], "description": "CRM"})
    ep = Endpoint.objects.get(description="CRM")
    assert r.status_code == 302 and r.url == reverse("integrations:webhook-detail", args=[ep.pk])
    _pay(company, customer, finance)
    delivery.process(now=T0)
    d = Delivery.objects.get(endpoint=ep)
    assert d.status == DeliveryStatus.PENDING and d.attempts == 1  # nothing listens on port 9
    page = client.get(reverse("integrations:webhook-detail", args=[ep.pk]))
    assert d.message.msg_id in page.content.decode()
    assert client.get(reverse("integrations:webhook-detail", args=[ep.pk]) + "?format=xlsx")["content-type"].startswith(
        "application/vnd.openxml")
    assert client.get(reverse("integrations:webhook-list") + "?format=xlsx").status_code == 200
    assert client.get(reverse("integrations:delivery-detail", args=[d.pk])).status_code == 200
    client.post(reverse("integrations:delivery-redeliver", args=[d.pk]))
    d.refresh_from_db()
    assert d.manual and d.status == DeliveryStatus.PENDING
    client.force_login(users["finance"])
    assert client.get(reverse("integrations:webhook-list")).status_code == 403


def test_warnings_raised_by_the_daily_run_reach_a_subscribed_receiver_once(allow_local, company, users, customer,
                                                                           finance, T0):
    """The early warnings are raised set-wise (no audit event per warning): the run announces them in bulk and
    each becomes one signed "warning.raised" message; a rerun raises nothing and sends nothing."""
    from huikuan.insight import early_warnings as ew
    from huikuan.insight.models import EarlyWarning, WarningKind

    ew.save_rules(company=company, actor=finance, rows=[
        ew.RuleInput(kind=k, enabled=(k == WarningKind.OVERDUE_DAYS),
                     threshold=(D("30") if k == WarningKind.OVERDUE_DAYS else ew.SPECS[k].default),
                     severity=ew.SPECS[k].severity) for k in ew.KINDS])
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 8, 1), total=D("1000"),
                         actor=finance, schedule=[ledger.ScheduleInput(due_date=dt.date(2026, 9, 1), amount=D("1000"))])
    with Receiver() as rx:
        ep = _endpoint(company, users, rx.url, events=["warning.raised"])
        rx.secrets = [ep.secret]
        assert ew.run_warnings(company=company, as_of=dt.date(2026, 11, 16)) == {"overdue_days": 1}
        assert ew.run_warnings(company=company, as_of=dt.date(2026, 11, 16)) == {"overdue_days": 0}
        assert delivery.process(now=T0) == {"delivered": 1, "failed": 0}
    [req] = rx.requests
    assert req["valid"] == {ep.secret: True}
    body = json.loads(req["body"])
    w = EarlyWarning.objects.get()
    assert body["type"] == "warning.raised" and body["data"]["id"] == w.pk
    assert body["data"]["object"] == "insight.earlywarning" and body["data"]["current"]["kind"] == "overdue_days"
    assert body["data"]["customer"] == {"id": customer.pk, "code": "C001", "name": customer.name}


def test_no_subscriber_no_messages_from_the_warnings_run(allow_local, company, users, customer, finance):
    from huikuan.insight import early_warnings as ew

    _endpoint(company, users, "http://127.0.0.1:9/x", events=["payment.recorded"])
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 8, 1), total=D("1000"),
                         actor=finance, schedule=[ledger.ScheduleInput(due_date=dt.date(2026, 9, 1), amount=D("1000"))])
    Message.objects.all().delete()
    assert sum(ew.run_warnings(company=company, as_of=dt.date(2026, 11, 16)).values()) >= 1
    assert not Message.objects.filter(event_type="warning.raised").exists()
