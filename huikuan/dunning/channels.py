"""Delivery channels behind one small interface: ``send(message) -> Result``.

* email: Django's mail backend (SMTP in production, console/file for the demo), PDF letter attached;
* SMS: ``SmsProvider`` with Aliyun (RPC signature v1, HMAC-SHA1), Tencent Cloud (TC3-HMAC-SHA256) and
  Twilio (basic auth, form POST) adapters using provider template ids and parameters, plus a file
  provider for the demo. The delivery's idempotency key travels as the provider's out id / session
  context. A timeout after the request went out is an *unknown* outcome (the provider may have
  accepted it): it is never retried automatically, a user checks the provider and retries by hand;
* WeCom / DingTalk group-robot webhooks (DingTalk signed: timestamp + secret, HMAC-SHA256).

A ``Result`` is sent, bounced (permanent: bad address, refused), failed (temporary: retried) or
unknown (no answer after sending: not retried automatically, so never a duplicate).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

SENT, BOUNCED, FAILED, UNKNOWN = "sent", "bounced", "failed", "unknown"
TIMEOUT = 10


@dataclass
class Result:
    status: str
    provider_id: str = ""
    error: str = ""


@dataclass
class Message:
    to: str
    subject: str = ""
    text: str = ""
    html: str = ""
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    template_id: str = ""
    params: dict = field(default_factory=dict)
    key: str = ""  # idempotency key of the delivery


# ---------------------------------------------------------------- email


def send_email(msg: Message) -> Result:
    email = EmailMultiAlternatives(subject=msg.subject, body=msg.text, to=[msg.to],
                                   from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
                                   headers={"X-Huikuan-Delivery": msg.key})
    if msg.html:
        email.attach_alternative(msg.html, "text/html")
    for name, content, mime in msg.attachments:
        email.attach(name, content, mime)
    try:
        get_connection(fail_silently=False).send_messages([email])
    except smtplib.SMTPRecipientsRefused as exc:
        return Result(BOUNCED, error=f"recipient refused: {exc.recipients}"[:500])
    except smtplib.SMTPResponseException as exc:
        status = BOUNCED if 500 <= exc.smtp_code < 600 else FAILED
        return Result(status, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500])
    except (smtplib.SMTPException, OSError) as exc:
        return Result(FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
    return Result(SENT, provider_id=email.extra_headers.get("Message-ID", "") or msg.key)


# ---------------------------------------------------------------- HTTP helper


def _http(req: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - configured provider URL
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _pct(value: str) -> str:
    return urllib.parse.quote(str(value), safe="-_.~")


def _sms_conf() -> dict:
    return dict(getattr(settings, "HUIKUAN_SMS", {}) or {})


class SmsProvider:
    name = "base"

    def __init__(self, conf: dict):
        self.conf = conf

    def send(self, msg: Message) -> Result:  # pragma: no cover - interface
        raise NotImplementedError

    def deliver(self, msg: Message) -> Result:
        try:
            return self.send(msg)
        except TimeoutError as exc:  # the request may have reached the provider: outcome unknown
            return Result(UNKNOWN, error=f"timeout: {exc}"[:500])
        except (urllib.error.URLError, OSError, ValueError) as exc:  # incl. connect timeouts: nothing was sent
            return Result(FAILED, error=f"{type(exc).__name__}: {exc}"[:500])


class FileSms(SmsProvider):
    """Demo provider: appends the message to <data dir>/outbox/sms.log."""

    name = "file"

    def send(self, msg: Message) -> Result:
        folder = Path(self.conf.get("path") or Path(settings.DATA_DIR) / "outbox")
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "sms.log", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"to": msg.to, "text": msg.text, "template": msg.template_id, "params": msg.params,
                                 "key": msg.key}, ensure_ascii=False) + "\n")
        return Result(SENT, provider_id=f"file:{msg.key}")


class AliyunSms(SmsProvider):
    """Aliyun Dysms SendSms, RPC style, signature version 1.0 (HMAC-SHA1)."""

    name = "aliyun"

    @staticmethod
    def sign(params: dict, secret: str, method: str = "GET") -> str:
        canonical = "&".join(f"{_pct(k)}={_pct(params[k])}" for k in sorted(params))
        to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
        digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def send(self, msg: Message) -> Result:
        c = self.conf
        params = {
            "AccessKeyId": c["access_key"], "Action": "SendSms", "Format": "JSON", "PhoneNumbers": msg.to.lstrip("+"),
            "RegionId": c.get("region") or "cn-hangzhou", "SignName": c["sign_name"], "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0", "TemplateCode": msg.template_id,
            "TemplateParam": json.dumps(msg.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25", "OutId": msg.key,
        }
        params["Signature"] = self.sign(params, c["secret"])
        url = c.get("endpoint", "https://dysmsapi.aliyuncs.com").rstrip("/") + "/?" + "&".join(
            f"{_pct(k)}={_pct(v)}" for k, v in params.items())
        status, body = _http(urllib.request.Request(url, method="GET"))
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return Result(FAILED, error=f"HTTP {status}: not JSON")
        if status == 200 and data.get("Code") == "OK":
            return Result(SENT, provider_id=str(data.get("BizId", "")))
        code = str(data.get("Code", status))
        permanent = code.startswith("isv.MOBILE") or code in {"isv.INVALID_PARAMETERS", "isv.BLACK_KEY_CONTROL_LIMIT"}
        return Result(BOUNCED if permanent else FAILED, error=f"{code}: {data.get('Message', '')}"[:500])


class TencentSms(SmsProvider):
    """Tencent Cloud SMS SendSms 2021-01-11, TC3-HMAC-SHA256."""

    name = "tencent"
    service = "sms"

    @classmethod
    def authorization(cls, *, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int) -> str:
        date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
        canonical = ("POST\n/\n\n" f"content-type:application/json; charset=utf-8\nhost:{host}\n\n"
                     "content-type;host\n" + hashlib.sha256(payload).hexdigest())
        scope = f"{date}/{cls.service}/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()

        def _h(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode(), hashlib.sha256).digest()

        k = _h(_h(_h(f"TC3{secret_key}".encode(), date), cls.service), "tc3_request")
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"

    def send(self, msg: Message) -> Result:
        c = self.conf
        endpoint = c.get("endpoint", "https://sms.tencentcloudapi.com").rstrip("/")
        host = urllib.parse.urlsplit(endpoint).netloc
        payload = json.dumps({
            "PhoneNumberSet": [msg.to if msg.to.startswith("+") else f"+86{msg.to}"], "SmsSdkAppId": c["app_id"],
            "SignName": c["sign_name"], "TemplateId": msg.template_id, "TemplateParamSet": [str(v) for v in msg.params.values()],
            "SessionContext": msg.key,
        }, ensure_ascii=False).encode()
        ts = int(time.time())
        req = urllib.request.Request(endpoint + "/", data=payload, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(ts), "X-TC-Region": c.get("region") or "ap-guangzhou",
            "Authorization": self.authorization(secret_id=c["access_key"], secret_key=c["secret"], host=host, payload=payload,
                                                timestamp=ts)})
        status, body = _http(req)
        try:
            resp = json.loads(body or b"{}").get("Response", {})
        except ValueError:
            return Result(FAILED, error=f"HTTP {status}: not JSON")
        if "Error" in resp:
            err = resp["Error"]
            return Result(FAILED, error=f"{err.get('Code')}: {err.get('Message', '')}"[:500])
        sent = (resp.get("SendStatusSet") or [{}])[0]
        if sent.get("Code") == "Ok":
            return Result(SENT, provider_id=str(sent.get("SerialNo", "")))
        code = str(sent.get("Code", status))
        return Result(BOUNCED if "PhoneNumber" in code else FAILED, error=f"{code}: {sent.get('Message', '')}"[:500])


class TwilioSms(SmsProvider):
    """Twilio Programmable Messaging: form POST with basic auth; a template id is a Content SID."""

    name = "twilio"

    def send(self, msg: Message) -> Result:
        c = self.conf
        sid = c["access_key"]
        endpoint = c.get("endpoint", "https://api.twilio.com").rstrip("/")
        form = {"To": msg.to}
        if c.get("messaging_service"):
            form["MessagingServiceSid"] = c["messaging_service"]
        else:
            form["From"] = c.get("from", "")
        if msg.template_id:
            form["ContentSid"] = msg.template_id
            form["ContentVariables"] = json.dumps({str(i + 1): str(v) for i, v in enumerate(msg.params.values())},
                                                  ensure_ascii=False)
        else:
            form["Body"] = msg.text
        auth = base64.b64encode(f"{sid}:{c['secret']}".encode()).decode()
        req = urllib.request.Request(f"{endpoint}/2010-04-01/Accounts/{sid}/Messages.json",
                                     data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Authorization": f"Basic {auth}",
                                              "Content-Type": "application/x-www-form-urlencoded",
                                              "I-Twilio-Idempotency-Token": msg.key})
        status, body = _http(req)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return Result(FAILED, error=f"HTTP {status}: not JSON")
        if status in (200, 201) and data.get("sid"):
            return Result(SENT, provider_id=data["sid"])
        code = data.get("code")
        permanent = status == 400 and code in (21211, 21614, 21610)
        return Result(BOUNCED if permanent else FAILED, error=f"HTTP {status} {code}: {data.get('message', '')}"[:500])


PROVIDERS = {p.name: p for p in (FileSms, AliyunSms, TencentSms, TwilioSms)}


def sms_provider() -> SmsProvider:
    conf = _sms_conf()
    return PROVIDERS.get(conf.get("provider") or "file", FileSms)(conf)


# ---------------------------------------------------------------- group robots


def dingtalk_url(webhook: str, secret: str, *, timestamp_ms: int | None = None) -> str:
    if not secret:
        return webhook
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    sep = "&" if "?" in webhook else "?"
    return f"{webhook}{sep}timestamp={ts}&sign={sign}"


def send_robot(url: str, text: str) -> Result:
    """WeCom and DingTalk robots take the same text message shape."""
    payload = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        status, body = _http(req)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Result(FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    if status == 200 and data.get("errcode", 0) == 0:
        return Result(SENT, provider_id="robot")
    return Result(FAILED, error=f"HTTP {status} {data.get('errcode')}: {data.get('errmsg', '')}"[:500])
