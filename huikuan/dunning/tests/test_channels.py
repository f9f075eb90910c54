"""Channels against real local servers: SMTP (aiosmtpd) and HTTP (SMS providers, robots)."""

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from huikuan.dunning import channels, outbox, services
from huikuan.dunning.models import Delivery, DeliveryStatus, DunningTemplate

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.date(2026, 2, 12)  # due 2026-02-04 + 8 → step +7 (a Thursday, working day)
OFFICE = dt.datetime(2026, 2, 12, 10, 0, tzinfo=SH)


# ---------------------------------------------------------------- SMTP


class _Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    sink = _Sink()
    port = _free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "ar@huikuan.example"
    yield sink
    ctl.stop()


def test_email_over_smtp_with_pdf_letter_and_chinese(company, customer, invoice, smtp):
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    counts = outbox.process(now=OFFICE)
    assert counts.get("sent", 0) >= 1
    assert len(smtp.messages) == 1
    rcpt, raw = smtp.messages[0]
    assert rcpt == ["wang@example.cn"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert "催款通知" in msg["Subject"] and "上海华东机械有限公司" in msg["Subject"]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "上海华东机械有限公司" in text and "壹万元整" in text and "招商银行" in text
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename().startswith("DN20260212-")
    assert pdfs[0].get_content().startswith(b"%PDF")
    d = Delivery.objects.get(channel="email")
    assert d.status == DeliveryStatus.SENT and d.attempts == 1 and d.sent_at is not None
    # processing again sends nothing more
    outbox.process(now=OFFICE + dt.timedelta(hours=1))
    assert len(smtp.messages) == 1


def test_demand_sent_records_written_demand(company, customer, invoice, smtp):
    from huikuan.collections.models import WrittenDemand

    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    wd = WrittenDemand.objects.get(customer=customer)
    assert wd.date == AS_OF and wd.reference.startswith("DN20260212-")


def test_refused_recipient_is_bounced(company, customer, invoice, settings):
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 5.1.1 no such user"

    port = _free_port()
    ctl = Controller(Refuse(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
        outbox.process(now=OFFICE)
    finally:
        ctl.stop()
    d = Delivery.objects.get(channel="email")
    assert d.status == DeliveryStatus.BOUNCED and "refused" in d.last_error


# ---------------------------------------------------------------- quiet hours


def test_quiet_hours_and_holidays_defer_not_drop(company, customer, invoice, mailoutbox):
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    night = dt.datetime(2026, 2, 12, 22, 30, tzinfo=SH)
    outbox.process(now=night)
    d = Delivery.objects.get(channel="email")
    assert d.status == DeliveryStatus.DEFERRED and d.attempts == 0
    assert d.next_attempt_at.astimezone(SH) == dt.datetime(2026, 2, 13, 8, 0, tzinfo=SH)
    assert mailoutbox == []
    # internal channels are not deferred: the phone task / robot go at once (none at +7) — sms is deferred too
    assert Delivery.objects.get(channel="sms").status == DeliveryStatus.DEFERRED
    outbox.process(now=dt.datetime(2026, 2, 13, 8, 1, tzinfo=SH))
    assert len(mailoutbox) == 1
    assert Delivery.objects.get(channel="email").status == DeliveryStatus.SENT


def test_next_allowed_skips_weekend():
    conf = type("C", (), {"quiet_start": dt.time(21), "quiet_end": dt.time(8), "working_days_only": True})()
    saturday = dt.datetime(2026, 3, 7, 11, 0, tzinfo=SH)
    assert outbox.next_allowed(saturday, conf, "Asia/Shanghai") == dt.datetime(2026, 3, 9, 8, 0, tzinfo=SH)
    assert outbox.next_allowed(dt.datetime(2026, 3, 9, 7, 59, tzinfo=SH), conf, "Asia/Shanghai") == \
        dt.datetime(2026, 3, 9, 8, 0, tzinfo=SH)
    assert outbox.next_allowed(dt.datetime(2026, 3, 9, 8, 0, tzinfo=SH), conf, "Asia/Shanghai") is None


# ---------------------------------------------------------------- HTTP providers


class _Server:
    def __init__(self, respond):
        self.requests = []
        server = self

        class H(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                status, payload, delay = respond(server.requests[-1])
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = do_POST = _handle  # noqa: N815

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    servers = []

    def make(respond):
        s = _Server(respond)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def _aliyun_expected(params: dict, secret: str) -> str:
    """Independent reading of Aliyun's RPC signature v1: RFC 3986 encoding, sorted, HMAC-SHA1 with secret + '&'."""
    def enc(s):
        return urllib.parse.quote(s, safe="~")

    canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
    sts = "GET&" + enc("/") + "&" + enc(canon)
    return base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), "sha1").digest()).decode()


def _sms_setup(company, settings, conf):
    settings.HUIKUAN_SMS = conf
    DunningTemplate.objects.filter(company=company, channel="sms").update(provider_template_id="SMS_123456")


def test_aliyun_signature_and_params(company, customer, invoice, settings, http_server):
    def respond(req):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(req["path"]).query))
        sig = q.pop("Signature")
        ok = sig == _aliyun_expected(q, "ali-secret") and q["Action"] == "SendSms" and q["SignatureMethod"] == "HMAC-SHA1"
        return (200, {"Code": "OK", "BizId": "biz-1", "Message": "OK"} if ok else {"Code": "SignatureDoesNotMatch"}, 0)

    srv = http_server(respond)
    services.ensure_defaults(company)
    _sms_setup(company, settings, {"provider": "aliyun", "access_key": "ali-key", "secret": "ali-secret",
                                   "sign_name": "回款科技", "endpoint": srv.url})
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    d = Delivery.objects.get(channel="sms")
    assert (d.status, d.provider_id) == (DeliveryStatus.SENT, "biz-1"), d.last_error
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(srv.requests[0]["path"]).query))
    assert q["PhoneNumbers"] == "8613800000001" and q["TemplateCode"] == "SMS_123456" and q["SignName"] == "回款科技"
    assert json.loads(q["TemplateParam"])["customer"] == "上海华东机械有限公司"
    assert q["OutId"] == d.idempotency_key


def _tc3_ok(req, secret_id, secret_key) -> bool:
    h = {k.lower(): v for k, v in req["headers"].items()}
    auth = h["authorization"]
    ts = int(h["x-tc-timestamp"])
    date = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    creq = "\n".join(["POST", "/", "", f"content-type:{h['content-type']}", f"host:{h['host']}", "", "content-type;host",
                      hashlib.sha256(req["body"]).hexdigest()])
    sts = "\n".join(["TC3-HMAC-SHA256", str(ts), f"{date}/sms/tc3_request", hashlib.sha256(creq.encode()).hexdigest()])
    key = hmac.new(("TC3" + secret_key).encode(), date.encode(), "sha256").digest()
    key = hmac.new(key, b"sms", "sha256").digest()
    key = hmac.new(key, b"tc3_request", "sha256").digest()
    sig = hmac.new(key, sts.encode(), "sha256").hexdigest()
    return auth == f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/sms/tc3_request, SignedHeaders=content-type;host, Signature={sig}"


def test_tencent_tc3_signature(company, customer, invoice, settings, http_server):
    def respond(req):
        ok = _tc3_ok(req, "AKIDtest", "tc-secret") and {k.lower(): v for k, v in req["headers"].items()}["x-tc-action"] == "SendSms"
        if not ok:
            return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}}, 0
        return 200, {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "sn-9"}], "RequestId": "r"}}, 0

    srv = http_server(respond)
    services.ensure_defaults(company)
    _sms_setup(company, settings, {"provider": "tencent", "access_key": "AKIDtest", "secret": "tc-secret", "app_id": "1400000001",
                                   "sign_name": "回款科技", "endpoint": srv.url})
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    d = Delivery.objects.get(channel="sms")
    assert (d.status, d.provider_id) == (DeliveryStatus.SENT, "sn-9"), d.last_error
    body = json.loads(srv.requests[0]["body"])
    assert body["PhoneNumberSet"] == ["+8613800000001"] and body["TemplateId"] == "SMS_123456"
    assert body["SessionContext"] == d.idempotency_key and "上海华东机械有限公司" in body["TemplateParamSet"]


def test_twilio_basic_auth_form_and_retry_after_error(company, customer, invoice, settings, http_server):
    calls = []

    def respond(req):
        calls.append(req)
        auth = req["headers"].get("Authorization", "")
        assert auth == "Basic " + base64.b64encode(b"ACtest:tw-token").decode()
        assert req["path"] == "/2010-04-01/Accounts/ACtest/Messages.json"
        if len(calls) == 1:
            return 503, {"code": 20503, "message": "Service unavailable"}, 0
        return 201, {"sid": "SM42"}, 0

    srv = http_server(respond)
    services.ensure_defaults(company)
    _sms_setup(company, settings, {"provider": "twilio", "access_key": "ACtest", "secret": "tw-token", "from": "+15005550006",
                                   "endpoint": srv.url})
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    d = Delivery.objects.get(channel="sms")
    assert d.status == DeliveryStatus.PENDING and d.attempts == 1 and "20503" in d.last_error
    assert d.next_attempt_at == OFFICE + outbox.BACKOFF
    outbox.process(now=OFFICE + dt.timedelta(seconds=30))  # not due yet: nothing sent
    assert len(calls) == 1
    outbox.process(now=OFFICE + dt.timedelta(minutes=2))
    d.refresh_from_db()
    assert (d.status, d.provider_id, d.attempts) == (DeliveryStatus.SENT, "SM42", 2)
    form = dict(urllib.parse.parse_qsl(calls[1]["body"].decode()))
    assert form["To"] == "+8613800000001" and form["ContentSid"] == "SMS_123456"
    assert calls[0]["headers"]["I-Twilio-Idempotency-Token"] == calls[1]["headers"]["I-Twilio-Idempotency-Token"]
    assert [e["result"] for e in d.log] == ["failed", "sent"]


def test_sms_timeout_is_not_resent_automatically_and_a_manual_retry_keeps_the_key(
        company, customer, invoice, settings, http_server, monkeypatch, users):
    monkeypatch.setattr(channels, "TIMEOUT", 0.3)
    seen = []

    def respond(req):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(req["path"]).query))
        seen.append(q["OutId"])
        return 200, {"Code": "OK", "BizId": "b"}, (1.0 if len(seen) == 1 else 0)

    srv = http_server(respond)
    services.ensure_defaults(company)
    _sms_setup(company, settings, {"provider": "aliyun", "access_key": "k", "secret": "s", "sign_name": "x", "endpoint": srv.url})
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    outbox.process(now=OFFICE)
    d = Delivery.objects.get(channel="sms")
    # the provider may have accepted the timed-out request: failed with "check the provider", no automatic resend
    assert d.status == DeliveryStatus.FAILED and "may have gone out" in d.last_error
    assert "timed out" in d.log[-1]["error"].lower()
    outbox.process(now=OFFICE + dt.timedelta(hours=2))
    assert len(seen) == 1
    services.retry_delivery(company=company, delivery_id=d.pk, actor=users["admin"])
    outbox.process(now=OFFICE + dt.timedelta(hours=3))
    d.refresh_from_db()
    assert d.status == DeliveryStatus.SENT and seen[0] == seen[1] == d.idempotency_key


def test_contact_without_phone_skipped_with_reason(company, customer, invoice, contact):
    contact.phone = ""
    contact.save()
    services.run_dunning(company=company, as_of=AS_OF, enqueue=False)
    d = Delivery.objects.get(channel="sms")
    assert d.status == DeliveryStatus.SKIPPED and "mobile" in d.last_error


def test_dingtalk_signed_robot(company, customer, invoice, http_server):
    from huikuan.dunning.context import settings_of

    def respond(req):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(req["path"]).query))
        expect = base64.b64encode(hmac.new(b"SECabc", f"{q['timestamp']}\nSECabc".encode(), "sha256").digest()).decode()
        ok = q.get("sign") == expect and json.loads(req["body"])["msgtype"] == "text"
        return 200, {"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"}, 0

    srv = http_server(respond)
    conf = settings_of(company)
    conf.dingtalk_webhook, conf.dingtalk_secret = f"{srv.url}/robot/send?access_token=t", "SECabc"
    conf.save()
    services.run_dunning(company=company, as_of=dt.date(2026, 4, 5), enqueue=False)  # +60: email, letter, dingtalk, case
    outbox.process(now=dt.datetime(2026, 4, 7, 10, tzinfo=SH))
    d = Delivery.objects.get(channel="dingtalk")
    assert d.status == DeliveryStatus.SENT, d.last_error
    assert "上海华东机械有限公司" in json.loads(srv.requests[0]["body"])["text"]["content"]
    # +60 action: an escalation case with the items — on the customer's first run only proposed (issue 11
    # point 8), applied once approved
    from huikuan.collections.models import Case

    proposed = Delivery.objects.get(channel="case")
    assert proposed.status == DeliveryStatus.PROPOSED and not Case.objects.filter(customer=customer).exists()
    services.decide_proposals(company=company, actor=None, delivery_ids=[proposed.pk], approve=True)
    outbox.process(now=dt.datetime(2026, 4, 7, 10, 5, tzinfo=SH))
    case = Case.objects.get(customer=customer)
    assert case.instalments.count() == 1
    assert Delivery.objects.get(channel="case").status == DeliveryStatus.SENT


def test_phone_task_and_credit_hold_actions(company, customer, invoice, mailoutbox):
    from huikuan.collections.models import Task
    from huikuan.credit.models import CreditProfile

    services.run_dunning(company=company, as_of=dt.date(2026, 2, 20), enqueue=False)  # +15: phone task
    services.run_dunning(company=company, as_of=dt.date(2026, 3, 6), enqueue=False)  # +30: hold
    outbox.process(now=dt.datetime(2026, 3, 6, 10, tzinfo=SH))
    task = Task.objects.get(customer=customer, source="dunning")
    assert task.kind == "call" and task.owner == customer.owner
    assert CreditProfile.objects.get(customer=customer).on_hold
    # no robot webhook configured: skipped with a reason, not a crash
    d = Delivery.objects.get(channel="wecom")
    assert d.status == DeliveryStatus.SKIPPED and "webhook" in d.last_error.lower()
