"""The outbox: deliveries are sent only after the run committed, by the task worker.

Claiming: a short transaction takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` and leases them to
this worker (``next_attempt_at`` = now + ``LEASE``: the other workers leave them alone meanwhile, but they
stay pending). Just before its network call each row turns ``sending`` (attempts + 1) by a conditional
UPDATE that only one worker can win, so two workers never send the same row, and a worker killed in the
middle of a batch leaves only the row it was sending in doubt: the rest of its batch was never attempted
and is sent by the next worker once the lease ends (issue 19: a kill loses nothing). Customer-facing
channels inside quiet hours or on a non-working day are moved to ``deferred`` with the next allowed time —
deferred, not dropped. After the call the result is recorded: sent, bounced (permanent), or failed →
retried with exponential backoff (1, 2, 4, 8 … minutes) until ``MAX_ATTEMPTS``, then failed with the reason.
A row found still ``sending`` after ``STALE`` (the worker died mid-call) is not resent automatically:
it is marked failed "interrupted" so a person checks the provider and retries by hand — never a duplicate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from huikuan.common.calendar import is_working_day
from huikuan.common.texts import Text

from . import channels
from .context import letter_pdf, notice_context, render, settings_of, template_for
from .models import CUSTOMER_FACING, Action, Channel, Delivery, DeliveryStatus, Notice, SentCopy, Tone
from .render import to_html

MAX_ATTEMPTS = 6
BACKOFF = dt.timedelta(minutes=1)
STALE = dt.timedelta(minutes=15)
LEASE = dt.timedelta(minutes=15)  # a claimed row is this worker's until then (a batch is sent well within it)
BATCH = 200


def _allowed(local: dt.datetime, conf) -> bool:
    start, end, t = conf.quiet_start, conf.quiet_end, local.time()
    if start == end:
        quiet = False
    elif start > end:  # overnight window, e.g. 21:00-08:00
        quiet = t >= start or t < end
    else:
        quiet = start <= t < end
    return not quiet and (not conf.working_days_only or is_working_day(local.date()))


def next_allowed(now: dt.datetime, conf, tz: str) -> dt.datetime | None:
    """None when customer messages may go out at ``now``; else the next moment they may (end of quiet hours
    on the next working day)."""
    zone = ZoneInfo(tz or "Asia/Shanghai")
    local = now.astimezone(zone)
    if _allowed(local, conf):
        return None
    candidate = dt.datetime.combine(local.date(), conf.quiet_end, tzinfo=zone)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    for _i in range(60):
        if _allowed(candidate, conf):
            return candidate
        candidate += dt.timedelta(days=1)
    return candidate


def address_for(d: Delivery) -> str:
    from huikuan.customers.models import Contact

    contacts = Contact.objects.filter(customer_id=d.notice.customer_id, is_active=True).order_by("-is_primary", "pk")
    if d.channel == Channel.EMAIL:
        return next((c.email for c in contacts if c.email), "")
    if d.channel == Channel.SMS:
        return next((c.phone for c in contacts if c.phone), "")
    if d.channel == Channel.LETTER:
        return d.notice.customer.address or ""
    return ""


def _claim(now: dt.datetime, company_id=None, limit: int = BATCH) -> list[int]:
    with transaction.atomic():
        # worker died mid-send: never resend blindly
        Delivery.objects.filter(status=DeliveryStatus.SENDING, updated_at__lt=now - STALE).update(
            status=DeliveryStatus.FAILED, last_error=gettext_noop("Interrupted while sending; check the provider before retrying."),
            updated_at=now)
        qs = (Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEFERRED])
              .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
        if company_id:
            qs = qs.filter(company_id=company_id)
        rows = list(qs.select_for_update(skip_locked=True, of=("self",)).select_related("company").order_by("next_attempt_at", "pk")[:limit])
        claimed, confs = [], {}
        for d in rows:
            if d.channel in CUSTOMER_FACING:
                conf = confs.get(d.company_id) or confs.setdefault(d.company_id, settings_of(d.company))
                later = next_allowed(now, conf, d.company.timezone)
                if later is not None:
                    Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.DEFERRED, next_attempt_at=later, updated_at=now)
                    continue
            claimed.append(d.pk)
        if claimed:  # leased, not "sending": nothing is attempted yet (``_start`` marks each row just before its call)
            Delivery.objects.filter(pk__in=claimed).update(next_attempt_at=now + LEASE, updated_at=now)
    return claimed


def _start(d: Delivery, now: dt.datetime) -> bool:
    """Mark a leased row ``sending`` (attempts + 1) just before its call; False when it is no longer waiting
    (another worker took it after this worker's lease ended, or someone decided it meanwhile)."""
    started = Delivery.objects.filter(pk=d.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEFERRED]).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, updated_at=now)
    if started:
        d.attempts += 1
    return bool(started)


def _render_copy(notice: Notice, channel: str) -> dict:
    """Render what ``channel`` carries for ``notice`` now (subject, text, provider parameters and, for
    e-mail and letters, the letter PDF) — done once per (notice, channel), see ``frozen_copy``."""
    ctx = notice_context(notice, personal_link=True)  # the copy that is sent carries the contact's own portal link
    with translation.override(notice.language):
        key = notice.step.template_key
        tpl_channel = Channel.LETTER if channel == Channel.LETTER else channel
        tpl = template_for(notice.company, key, tpl_channel, notice.language)
        if tpl is None:
            raise ValueError(f"no template {key}/{tpl_channel}")
        rendered = render(tpl, ctx)
        pdf = b""
        if channel in (Channel.EMAIL, Channel.LETTER):
            letter_tpl = template_for(notice.company, key, Channel.LETTER, notice.language)
            pdf = letter_pdf(ctx, render(letter_tpl, ctx, subject=notice.number, body=""), language=notice.language)
    return {"subject": rendered.subject, "text": rendered.text, "template_id": tpl.provider_template_id or "",
            "params": {"customer": ctx["customer_name"], "amount": ctx["total"], "date": ctx["final_payment_date"],
                       "number": ctx["notice_number"]},
            "pdf": pdf}


def frozen_copy(notice: Notice, channel: str) -> SentCopy:
    """The copy of what ``channel`` sends for ``notice``: rendered at the first attempt and stored
    (append-only); every retry and every later view uses these same bytes."""
    copy = SentCopy.objects.filter(notice=notice, channel=channel).first()
    if copy is not None:
        return copy
    values = _render_copy(notice, channel)
    values["params"] = {k: str(v) for k, v in values["params"].items()}
    try:
        with transaction.atomic():
            return SentCopy.objects.create(notice=notice, channel=channel,
                                           sha256=hashlib.sha256(values["pdf"] + values["text"].encode()).hexdigest(),
                                           **values)
    except IntegrityError:  # another worker froze it first: theirs is the one
        return SentCopy.objects.get(notice=notice, channel=channel)


def _message_for(d: Delivery, copy: SentCopy) -> channels.Message:
    msg = channels.Message(to=d.address, subject=copy.subject, text=copy.text, html=to_html(copy.text),
                           key=d.idempotency_key, template_id=copy.template_id)
    msg.params = dict(copy.params)
    return msg


def _send(d: Delivery) -> channels.Result:
    notice = Notice.objects.select_related("company", "customer__owner", "step").get(pk=d.notice_id)
    company = notice.company
    if d.channel in (Channel.PHONE, Channel.VISIT, Action.TASK, Action.HOLD, Action.CASE):
        return _action(d, notice)
    copy = frozen_copy(notice, d.channel)
    msg = _message_for(d, copy)
    if d.channel == Channel.EMAIL:
        msg.attachments.append((f"{notice.number}.pdf", bytes(copy.pdf), "application/pdf"))
        return channels.send_email(msg)
    if d.channel == Channel.SMS:
        return channels.sms_provider().deliver(msg)
    if d.channel == Channel.LETTER:  # the letter is printed from the stored copy (notice page, run letters)
        return channels.Result(channels.SENT, provider_id="print")
    conf = settings_of(company)
    if d.channel == Channel.WECOM:
        if not conf.wecom_webhook:
            return channels.Result(DeliveryStatus.SKIPPED, error=gettext_noop("No WeCom robot webhook configured."))
        return channels.send_robot(conf.wecom_webhook, msg.text)
    if d.channel == Channel.DINGTALK:
        if not conf.dingtalk_webhook:
            return channels.Result(DeliveryStatus.SKIPPED, error=gettext_noop("No DingTalk robot webhook configured."))
        return channels.send_robot(channels.dingtalk_url(conf.dingtalk_webhook, conf.dingtalk_secret), msg.text)
    return channels.Result(channels.BOUNCED, error=f"unknown channel {d.channel}")


def _action(d: Delivery, notice: Notice) -> channels.Result:
    """Tasks, credit hold and escalation through the lower apps' services (idempotent by the notice number)."""
    from huikuan.collections import services as coll
    from huikuan.collections.models import Task

    company = notice.company
    ids = list(notice.items.values_list("instalment_id", flat=True))
    if d.channel in (Channel.PHONE, Channel.VISIT, Action.TASK):
        kind = "visit" if d.channel == Channel.VISIT else "call"
        note = f"{notice.number} {notice.total}"  # language-neutral; the task is found again by it on a retry
        existing = Task.objects.filter(customer_id=notice.customer_id, source="dunning", note=note, kind=kind).first()
        task = existing or coll.create_task(company=company, customer_id=notice.customer_id, kind=kind, due=notice.cycle,
                                            note=note, source="dunning", actor=None,
                                            instalment_ids=ids)
        return channels.Result(channels.SENT, provider_id=f"task:{task.pk}")
    if d.channel == Action.HOLD:
        from huikuan.credit import services as credit

        credit.place_hold(company=company, customer_id=notice.customer_id,
                          reason=Text("credit.hold.dunning_notice", number=notice.number), source="dunning", actor=None)
        return channels.Result(channels.SENT, provider_id="hold")
    case = coll.open_case(company=company, customer_id=notice.customer_id, instalment_ids=ids, actor=None,
                          note=notice.number, today=notice.cycle)
    return channels.Result(channels.SENT, provider_id=f"case:{case.pk}")


def _record(d: Delivery, result: channels.Result, now: dt.datetime) -> None:
    log = list(d.log or [])[-20:]
    log.append({"at": now.isoformat(timespec="seconds"), "attempt": d.attempts, "result": result.status, "error": result.error})
    fields = {"log": log, "updated_at": now, "last_error": result.error[:500]}
    if result.status == channels.SENT:
        fields.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=result.provider_id[:100], last_error="")
    elif result.status == channels.BOUNCED:
        fields.update(status=DeliveryStatus.BOUNCED)
    elif result.status == DeliveryStatus.SKIPPED:
        fields.update(status=DeliveryStatus.SKIPPED)
    elif result.status == channels.UNKNOWN:  # never resend blindly what the provider may have accepted
        fields.update(status=DeliveryStatus.FAILED, last_error=gettext_noop(
            "No answer from the provider after sending: the message may have gone out. Check the provider before retrying."))
    elif d.attempts >= MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED)
    else:
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + BACKOFF * (2 ** (d.attempts - 1)))
    Delivery.objects.filter(pk=d.pk, status=DeliveryStatus.SENDING).update(**fields)


def _written_demand(d: Delivery) -> None:
    """A demand or final notice that went out in writing restarts the limitation period (collections)."""
    notice = d.notice
    if notice.tone not in (Tone.DEMAND, Tone.FINAL) or d.channel not in (Channel.EMAIL, Channel.LETTER):
        return
    from huikuan.collections.services import record_written_demand

    record_written_demand(company=notice.company, customer_id=notice.customer_id, date=notice.cycle,
                          reference=notice.number, actor=None, channel=d.channel)


def process(*, now: dt.datetime | None = None, company_id=None, limit: int = BATCH, rounds: int = 50) -> dict:
    """Send what is due. Returns counts by result."""
    counts: dict[str, int] = {}
    for _round in range(rounds):
        now_ = now or timezone.now()
        claimed = _claim(now_, company_id, limit)
        if not claimed:
            break
        for d in Delivery.objects.filter(pk__in=claimed).select_related("notice__company").order_by("pk"):
            if not _start(d, now or timezone.now()):
                continue
            try:
                result = _send(d)
            except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
                result = channels.Result(channels.FAILED, error=f"{type(exc).__name__}: {exc}"[:500])
            _record(d, result, now or timezone.now())
            counts[result.status] = counts.get(result.status, 0) + 1
            if result.status == channels.SENT:
                try:
                    _written_demand(d)
                except Exception:  # noqa: BLE001 - the daily sweep re-records it (idempotent by reference)
                    import logging

                    logging.getLogger("huikuan.dunning").exception("written demand not recorded")
        if now is not None and len(claimed) < limit:
            break
    return counts
