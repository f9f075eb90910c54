"""Dunning writes: defaults, policies, templates, pauses, the exactly-once run and send-now.

The run (``run_dunning``):
1. selects in one SQL query the open, unpaused, not-replaced instalments (less their disputed part) that reached the
   first step of any policy, with the highest step offset each was already dunned at (``last_offset``);
2. gives each instalment the latest step of its customer's policy it reached (customer override →
   credit grade → default policy) and keeps it only if it was not dunned at that offset or later;
3. groups by (customer, step): one consolidated notice listing all those items, if ≥ the step minimum;
4. writes, per chunk of customers in one transaction: notices (INSERT … ON CONFLICT DO NOTHING on
   (customer, step, cycle)), their items (ON CONFLICT DO NOTHING on (instalment, offset)), outbox
   deliveries and audit events. Rows another concurrent run got first are simply not ours: a notice
   whose items all went elsewhere is deleted in the same transaction. A crash loses at most the chunk
   in flight, which the next run redoes.
5. after commit, the outbox task sends (``outbox.process``).

A run beats a heartbeat after every chunk. A process killed in the middle (SIGKILL, machine lost) leaves its
run "running" with committed chunks: the next run of the company closes it as *interrupted* with the
counts of what it did commit (``close_interrupted``) and creates the rest (issue 19).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.models import AuditEvent
from huikuan.common.money import from_minor, to_decimal, to_minor
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import Instalment

from . import defaults
from .models import (
    Action,
    Channel,
    CustomerDunning,
    Delivery,
    DeliveryStatus,
    DunningPolicy,
    DunningRun,
    DunningStep,
    DunningTemplate,
    GradePolicy,
    Notice,
    NoticeItem,
    RunStatus,
    Tone,
)
from .render import compile_template

CHUNK_CUSTOMERS = 20000
STALE_RUN = dt.timedelta(minutes=10)  # a running run without a heartbeat for this long belongs to a process that is gone
MAX_AMOUNT = Decimal("999999999999.99")


class DunningError(DomainError):
    code = "dunning_error"


class TemplateExists(DunningError):
    code = "template_exists"


def _require(actor, perm: str) -> None:
    if actor is not None and not actor.can(perm):
        raise NotAllowed(_("You are not allowed to do this."))


# ---------------------------------------------------------------- defaults


def ensure_defaults(company) -> DunningPolicy:
    """The company's default policy and templates (zh/en), created on first use. Returns the default policy."""
    policy = DunningPolicy.objects.filter(company=company, is_default=True).first()
    if policy is not None:
        return policy
    with transaction.atomic():
        policy, created = DunningPolicy.objects.get_or_create(company=company, is_default=True,
                                                              defaults={"name": str(_("Standard"))})
        if created:
            DunningStep.objects.bulk_create([
                DunningStep(policy=policy, offset_days=o, channels=[str(c) for c in ch], template_key=key, tone=tone,
                            action=action, min_amount=Decimal(m))
                for o, ch, key, tone, action, m in defaults.DEFAULT_STEPS])
        for key, by_channel in defaults.TEMPLATES.items():
            for channel, by_lang in by_channel.items():
                for lang, (subject, body) in by_lang.items():
                    DunningTemplate.objects.get_or_create(company=company, key=key, channel=str(channel), language=lang,
                                                          defaults={"subject": subject, "body": body})
    return policy


# ---------------------------------------------------------------- policies and templates


def _parse_steps(rows) -> list[dict]:
    out, seen = [], set()
    for r in rows:
        try:
            offset = int(r["offset_days"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DunningError(_("Enter the days after the due date as a whole number."), field="steps") from exc
        if not -365 <= offset <= 3650:
            raise DunningError(_("Days after the due date must be between -365 and 3650."), field="steps")
        if offset in seen:
            raise DunningError(_("Two steps have the same day."), field="steps")
        seen.add(offset)
        channels = [c for c in r.get("channels") or [] if c in Channel.values]
        if r.get("tone") not in Tone.values:
            raise DunningError(_("Choose a tone."), field="steps")
        if r.get("action") not in Action.values:
            raise DunningError(_("Choose an action."), field="steps")
        if not channels and r.get("action") == Action.NOTIFY:
            raise DunningError(_("A step needs at least one channel or an action."), field="steps")
        try:
            minimum = to_decimal(r.get("min_amount") or "0")
        except (TypeError, ValueError) as exc:
            raise DunningError(_("Enter a valid amount."), field="steps") from exc
        if not minimum.is_finite() or minimum < 0 or minimum > MAX_AMOUNT or minimum != minimum.quantize(Decimal("0.01")):
            raise DunningError(_("Enter a valid amount."), field="steps")
        key = str(r.get("template_key") or "").strip()[:40]
        if not key:
            raise DunningError(_("Choose a template."), field="steps")
        out.append({"offset_days": offset, "channels": channels, "tone": r["tone"], "action": r["action"],
                    "min_amount": minimum, "template_key": key})
    if not out:
        raise DunningError(_("A policy needs at least one step."), field="steps")
    return sorted(out, key=lambda s: s["offset_days"])


@transaction.atomic(durable=True)
def save_policy(*, company, actor, name: str, steps, policy_id: int | None = None, is_default: bool = False,
                grades=(), start_date: dt.date | None = None) -> DunningPolicy:
    """Create or replace a policy and its steps; ``grades`` are credit grade codes assigned to it.

    ``start_date`` (go-live): the policy sends nothing before it; None starts at once."""
    _require(actor, "dunning.policy")
    name = (name or "").strip()[:100]
    if not name:
        raise DunningError(_("Enter a name."), field="name")
    parsed = _parse_steps(steps)
    if policy_id:
        policy = DunningPolicy.objects.select_for_update().filter(company=company, pk=policy_id).first()
        if policy is None:
            raise DunningError(_("Unknown policy."), field="policy")
    else:
        policy = DunningPolicy(company=company)
    if DunningPolicy.objects.filter(company=company, name=name).exclude(pk=policy.pk).exists():
        raise DunningError(_("A policy with this name exists."), field="name")
    if is_default:
        DunningPolicy.objects.filter(company=company, is_default=True).exclude(pk=policy.pk).update(is_default=False)
    policy.name = name
    policy.is_default = is_default or policy.is_default
    policy.start_date = start_date
    policy.save()
    existing = {s.offset_days: s for s in policy.steps.all()}
    keep = set()
    for s in parsed:
        step = existing.get(s["offset_days"]) or DunningStep(policy=policy, offset_days=s["offset_days"])
        for k, v in s.items():
            setattr(step, k, v)
        step.save()
        keep.add(step.pk)
    # steps that already produced notices are kept in history (PROTECT): they are only dropped when unused
    for step in policy.steps.exclude(pk__in=keep):
        if step.notices.exists():
            raise DunningError(_("A step that already produced notices cannot be removed; change it instead."), field="steps")
        step.delete()
    grades = sorted({str(g).strip()[:10] for g in grades if str(g).strip()})
    GradePolicy.objects.filter(company=company, policy=policy).exclude(grade__in=grades).delete()
    for g in grades:
        GradePolicy.objects.update_or_create(company=company, grade=g, defaults={"policy": policy})
    audit.record(actor=actor, verb="dunning.policy.saved", target=policy, summary=name,
                 data={"steps": [{**s, "min_amount": str(s["min_amount"])} for s in parsed], "grades": grades,
                       "start_date": start_date.isoformat() if start_date else None})
    return policy


@transaction.atomic(durable=True)
def save_template(*, company, actor, key: str, channel: str, language: str, subject: str, body: str,
                  provider_template_id: str = "", template_id: int | None = None) -> DunningTemplate:
    """Create a template (``template_id`` None) or change the one with ``template_id``.

    A template is found by (key, channel, language), so a new one with the key, channel and language of
    an existing template is refused (TemplateExists) instead of silently replacing it, and so is
    changing a template into another one's key, channel and language. Editing changes only notices
    not sent yet: what was sent is kept as sent (``SentCopy``).
    """
    _require(actor, "dunning.policy")
    key = (key or "").strip()[:40]
    if not key or not key.replace("-", "").replace("_", "").isalnum():
        raise DunningError(_("Enter a template name (letters, digits, - and _)."), field="key")
    if channel not in Channel.values or channel == Channel.DINGTALK or channel in (Channel.PHONE, Channel.VISIT):
        raise DunningError(_("Choose a channel."), field="channel")
    if language not in ("zh-hans", "en"):
        raise DunningError(_("Choose a language."), field="language")
    if not (body or "").strip():
        raise DunningError(_("Enter the text."), field="body")
    compile_template(subject or "")
    compile_template(body)
    same = DunningTemplate.objects.select_for_update().filter(company=company, key=key, channel=channel,
                                                             language=language).exclude(pk=template_id).first()
    if same is not None:
        raise TemplateExists(
            _("A template “%(key)s” for %(channel)s in %(language)s already exists: open it to change it, or choose "
              "another name.") % {"key": key, "channel": Channel(channel).label, "language": dict(settings.LANGUAGES)[language]},
            field="key")
    values = {"key": key, "channel": channel, "language": language, "subject": (subject or "")[:200], "body": body,
              "provider_template_id": (provider_template_id or "")[:60]}
    if template_id is None:
        try:
            with transaction.atomic():
                tpl = DunningTemplate.objects.create(company=company, **values)
        except IntegrityError as exc:  # created by someone else meanwhile
            raise TemplateExists(_("This template was just created by someone else: open it to change it."),
                                 field="key") from exc
        before = None
    else:
        tpl = DunningTemplate.objects.select_for_update().filter(company=company, pk=template_id).first()
        if tpl is None:
            raise DunningError(_("Unknown template."))
        before = {k: getattr(tpl, k) for k in values}
        for k, v in values.items():
            setattr(tpl, k, v)
        tpl.save()
    audit.record(actor=actor, verb="dunning.template.saved", target=tpl, summary=str(tpl),
                 data={"before": before, "after": values} if before else {"created": values})
    return tpl


@transaction.atomic(durable=True)
def set_customer_dunning(*, company, customer_id: int, actor, paused_until: dt.date | None, reason: str = "",
                         policy_id: int | None = None) -> CustomerDunning:
    """Pause a customer's reminders until a date (None resumes) and/or assign a policy (None: by grade/default)."""
    _require(actor, "dunning.pause")
    customer = Customer.objects.select_for_update().filter(company=company, pk=customer_id).first()
    if customer is None:
        raise DunningError(_("Unknown customer."), field="customer")
    if policy_id and not DunningPolicy.objects.filter(company=company, pk=policy_id).exists():
        raise DunningError(_("Unknown policy."), field="policy")
    cd, _c = CustomerDunning.objects.get_or_create(customer=customer, defaults={"company": company})
    cd.paused_until = paused_until
    cd.pause_reason = (reason or "").strip()[:200] if paused_until else ""
    cd.policy_id = policy_id or None
    cd.save()
    audit.record(actor=actor, verb="dunning.customer.paused" if paused_until else "dunning.customer.settings", target=cd,
                 customer_id=customer.pk, summary=f"{paused_until or '-'} {cd.pause_reason}",
                 data={"paused_until": paused_until, "policy": policy_id})
    return cd


# ---------------------------------------------------------------- the run


class _Plan:
    """Which policy and steps apply to each customer."""

    def __init__(self, company):
        self.default = ensure_defaults(company)
        policies = DunningPolicy.objects.filter(company=company, active=True).prefetch_related("steps")
        self.steps = {p.pk: sorted(p.steps.all(), key=lambda s: s.offset_days) for p in policies}
        self.start = {p.pk: p.start_date for p in policies if p.start_date}
        self.grade_policy = dict(GradePolicy.objects.filter(company=company, policy__active=True).values_list("grade", "policy_id"))
        self.customer_policy: dict[int, int] = {}
        self.paused: dict[int, dt.date] = {}
        for cid, pid, until in CustomerDunning.objects.filter(company=company).values_list("customer_id", "policy_id", "paused_until"):
            if pid and pid in self.steps:
                self.customer_policy[cid] = pid
            if until:
                self.paused[cid] = until
        self.grades: dict[int, str] = {}
        if self.grade_policy:
            from huikuan.credit.models import CreditProfile

            self.grades = dict(CreditProfile.objects.filter(company=company).exclude(grade="").values_list("customer_id", "grade"))
        from huikuan.collections.models import Case, CaseStatus

        # an open case that stops dunning (a bankruptcy: claims go to the administrator) leaves the customer out
        self.stopped = set(Case.objects.filter(company=company, stops_dunning=True).exclude(status=CaseStatus.CLOSED)
                           .values_list("customer_id", flat=True))
        all_steps = [s for steps in self.steps.values() for s in steps]
        self.min_offset = min((s.offset_days for s in all_steps), default=None)

    def policy_for(self, customer_id: int) -> int:
        pid = self.customer_policy.get(customer_id) or self.grade_policy.get(self.grades.get(customer_id, ""))
        return pid if pid in self.steps else self.default.pk

    def steps_for(self, customer_id: int, as_of: dt.date | None = None) -> list[DunningStep]:
        """The customer's policy steps; none before the policy's start date (go-live)."""
        pid = self.policy_for(customer_id)
        start = self.start.get(pid)
        if as_of is not None and start is not None and as_of < start:
            return []
        return self.steps.get(pid, [])


def _candidates(company, as_of: dt.date, plan: _Plan, customer_ids=None):
    """(instalment id, customer id, due date, amount, last dunned offset) in SQL, ordered by customer."""
    last = (NoticeItem.objects.filter(instalment=OuterRef("pk")).order_by("-offset_days").values("offset_days")[:1])
    # a disputed part is left out, the rest of the item is still chased (issue 12 point 10)
    qs = (Instalment.objects.filter(company=company, open_amount__gt=0, replaced_on__isnull=True,
                                    due_date__lte=as_of - dt.timedelta(days=plan.min_offset))
          .filter(open_amount__gt=F("disputed_amount"))  # open_amount > 0 stays for the partial index
          .filter(Q(dunning_paused_until__isnull=True) | Q(dunning_paused_until__lt=as_of)))
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=list(customer_ids))
    # amounts stay in minor units (int) through the run: no Decimal conversion per row at 1M rows
    return (qs.annotate(last_offset=Subquery(last), minor=ExpressionWrapper(F("open_amount") - F("disputed_amount"),
                                                                                   output_field=BigIntegerField()))
            .order_by("customer_id", "due_date", "pk")
            .values_list("pk", "customer_id", "due_date", "minor", "last_offset").iterator(chunk_size=20000))


def select(company, as_of: dt.date, *, customer_ids=None):
    """({(customer id, step id): [(instalment id, amount in minor units), ...]}, {step id: step}) of what is due now
    (step minimum applied)."""
    plan = _Plan(company)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    steps_by_id: dict[int, DunningStep] = {}
    if plan.min_offset is None:
        return {}, {}
    cache_cid, cache_steps = None, []
    for iid, cid, due, amount, last_offset in _candidates(company, as_of, plan, customer_ids):
        until = plan.paused.get(cid)
        if (until is not None and until >= as_of) or cid in plan.stopped:
            continue
        if cid != cache_cid:
            cache_cid, cache_steps = cid, plan.steps_for(cid, as_of)
        days = (as_of - due).days
        step = None
        for s in cache_steps:
            if s.offset_days <= days:
                step = s
            else:
                break
        if step is None or (last_offset is not None and last_offset >= step.offset_days):
            continue
        steps_by_id[step.pk] = step
        groups[(cid, step.pk)].append((iid, amount))
    out = {}
    minimum = {sid: to_minor(step.min_amount) for sid, step in steps_by_id.items()}
    for key, items in groups.items():
        if sum(a for _i, a in items) >= minimum[key[1]]:
            out[key] = items
    return out, steps_by_id


def _number(cycle: dt.date, customer_id: int, step_id: int) -> str:
    return f"DN{cycle:%Y%m%d}-{customer_id}-{step_id}"


def _key(notice_id: int, channel: str) -> str:
    """Idempotency key of a delivery (sent to providers as out id / session context): one per notice and channel."""
    return f"dn{notice_id}-{channel}"


def _contacts(customer_ids) -> dict[int, dict]:
    """First email / phone of each customer's active contacts (primary first). ``customer_ids`` sorted: one range scan."""
    out: dict[int, dict] = {}
    wanted = set(customer_ids)
    rows = (Contact.objects.filter(customer_id__gte=min(wanted), customer_id__lte=max(wanted), is_active=True)
            .order_by("customer_id", "-is_primary", "pk").values_list("customer_id", "email", "phone", "language"))
    for cid, email, phone, lang in rows:
        if cid not in wanted:
            continue
        d = out.setdefault(cid, {"email": "", "phone": "", "language": lang or "zh-hans"})
        if email and not d["email"]:
            d["email"] = email
        if phone and not d["phone"]:
            d["phone"] = phone
    return out


def _after_chunk(run: DunningRun, chunk_no: int) -> None:
    """Test hook (crash injection): called after each committed chunk."""


def _beat(run: DunningRun) -> None:
    DunningRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())


def close_interrupted(company, *, now: dt.datetime | None = None) -> list[int]:
    """Close the company's runs left "running" by a process that is gone (no heartbeat for ``STALE_RUN``):
    status interrupted, with the counts of the chunks they committed (a chunk is one transaction, so what a
    run wrote is whole). Returns their ids. Called by every run; the next real run creates what they did not."""
    now = now or timezone.now()
    stale = Q(heartbeat_at__lt=now - STALE_RUN) | Q(heartbeat_at__isnull=True, started_at__lt=now - STALE_RUN)
    closed = []
    for run in DunningRun.objects.filter(stale, company=company, status=RunStatus.RUNNING).order_by("pk"):
        with transaction.atomic():
            if _finish(run, status=RunStatus.INTERRUPTED, only_running=True):
                audit.record(actor=None, verb="dunning.run.interrupted", target=run,
                             summary=f"#{run.pk} {run.as_of}", data={"as_of": run.as_of, "started_at": run.started_at})
                closed.append(run.pk)
    return closed


# actions that change the customer's standing: on a customer's first run under a policy they wait for approval
PROPOSED_ACTIONS = (Action.HOLD, Action.CASE)


def _delivery_rows(notice_id: int, step: DunningStep, contact: dict | None, address: str,
                   first: bool = False) -> list[tuple[str, str, str, str]]:
    """(channel, address, status, reason) of a notice's outbox rows: its channels, then its action.

    ``first``: the customer's first notice under this policy (go-live, or a newly assigned policy) — a hold
    or case is then only proposed (status "awaiting approval") until someone approves it.
    """
    out = []
    for ch in list(step.channels) + ([step.action] if step.action != Action.NOTIFY else []):
        to, skip = "", ""
        if ch == Channel.EMAIL:
            to = (contact or {}).get("email", "")
            skip = "" if to else gettext_noop("No contact with an email address.")
        elif ch == Channel.SMS:
            to = (contact or {}).get("phone", "")
            skip = "" if to else gettext_noop("No contact with a mobile number.")
        elif ch == Channel.LETTER:
            to = address
            skip = "" if to else gettext_noop("The customer has no postal address.")
        status = DeliveryStatus.SKIPPED if skip else DeliveryStatus.PENDING
        if first and ch in PROPOSED_ACTIONS:
            status = DeliveryStatus.PROPOSED
        out.append((ch, to[:300], status, skip))
    return out


def _deliveries_for(notice_id: int, step: DunningStep, contact: dict | None, address: str, company, now,
                    first: bool = False) -> list[Delivery]:
    return [Delivery(company=company, notice_id=notice_id, channel=ch, address=to, status=st, last_error=why,
                     next_attempt_at=None, idempotency_key=_key(notice_id, ch))
            for ch, to, st, why in _delivery_rows(notice_id, step, contact, address, first)]


def _first_runs(run, chunk, steps) -> set[tuple[int, int]]:
    """(customer id, policy id) pairs of the chunk with no notice from an earlier run under that policy."""
    seen = set(Notice.objects.filter(customer_id__in=chunk).exclude(run=run)
               .values_list("customer_id", "step__policy_id").distinct())
    policies = {s.policy_id for s in steps.values()}
    return {(cid, pid) for cid in chunk for pid in policies if (cid, pid) not in seen}


def check_as_of(*, as_of: dt.date, today: dt.date, dry_run: bool) -> None:
    """A real run is for today or a past day; a future day only as a dry run (a preview)."""
    if as_of > today and not dry_run:
        raise DunningError(_("%(day)s is in the future: a real run cannot be dated after today (%(today)s); use a dry "
                             "run to preview it.") % {"day": as_of.isoformat(), "today": today.isoformat()},
                           field="as_of")


def run_dunning(*, company, as_of: dt.date, dry_run: bool = False, actor=None, trigger: str = "manual",
                customer_ids=None, progress: Callable[[int, int], None] | None = None, enqueue: bool = True) -> DunningRun:
    """One dunning run for ``as_of`` (the cycle). Safe to run twice at once or again after a crash."""
    _require(actor, "dunning.run")
    close_interrupted(company)
    run = DunningRun.objects.create(company=company, as_of=as_of, dry_run=dry_run, trigger=trigger,
                                    actor=actor if getattr(actor, "pk", None) else None, heartbeat_at=timezone.now())
    try:
        groups, steps = select(company, as_of, customer_ids=customer_ids)
        if dry_run:
            _finish_dry(run, groups, steps)
            run.refresh_from_db()
            return run
        by_customer: dict[int, list[tuple[int, list]]] = defaultdict(list)
        for (cid, sid), items in groups.items():
            by_customer[cid].append((sid, items))
        cids = sorted(by_customer)
        total = len(cids)
        done = 0
        for n, start in enumerate(range(0, total, CHUNK_CUSTOMERS)):
            chunk = cids[start:start + CHUNK_CUSTOMERS]
            _write_chunk(run, company, as_of, chunk, by_customer, steps)
            _beat(run)
            done += len(chunk)
            if progress:
                progress(done, total)
            _after_chunk(run, n)
        _finish(run)
    except Exception as exc:
        DunningRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                    error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    run.refresh_from_db()
    if enqueue:
        _enqueue_outbox()
    return run


def _enqueue_outbox() -> None:
    from .tasks import process_outbox

    try:
        process_outbox.enqueue()
    except Exception:  # noqa: BLE001 - the daily job and the worker's next sweep pick the rows up anyway
        import logging

        logging.getLogger("huikuan.dunning").exception("could not enqueue the outbox task")


def _write_chunk(run, company, as_of, chunk, by_customer, steps) -> None:
    if connection.vendor == "postgresql":
        return _write_chunk_pg(run, company, as_of, chunk, by_customer, steps)
    return _write_chunk_orm(run, company, as_of, chunk, by_customer, steps)


@transaction.atomic
def _write_chunk_pg(run, company, as_of, chunk, by_customer, steps) -> None:
    """The same writes as ``_write_chunk_orm``, set-based: COPY the chosen items into a temporary table, then
    INSERT … SELECT … ON CONFLICT DO NOTHING for notices and items (the constraints decide who wins),
    and COPY the outbox rows and audit events of the notices that are ours."""
    import json

    now = timezone.now()
    contacts = _contacts(chunk)
    addresses = dict(Customer.objects.filter(company=company, pk__gte=chunk[0], pk__lte=chunk[-1]).exclude(address="")
                     .values_list("pk", "address"))
    with connection.cursor() as cur:
        raw = cur.cursor
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS dunning_tmp (customer_id bigint, step_id bigint, instalment_id bigint, "
                    "amount bigint, offset_days int, lang varchar(10)) ON COMMIT DELETE ROWS")
        with raw.copy("COPY dunning_tmp (customer_id, step_id, instalment_id, amount, offset_days, lang) FROM STDIN") as cp:
            for cid in chunk:
                lang = (contacts.get(cid) or {}).get("language") or "zh-hans"
                lang = lang if lang in ("zh-hans", "en") else "zh-hans"
                for sid, items in by_customer[cid]:
                    off = steps[sid].offset_days
                    for iid, amount in items:
                        cp.write_row((cid, sid, iid, amount, off, lang))
        cur.execute(
            "INSERT INTO dunning_notice (company_id, customer_id, step_id, cycle, run_id, number, offset_days, tone, total, "
            "language, created_at) "
            "SELECT %s, t.customer_id, t.step_id, %s, %s, 'DN' || %s || '-' || t.customer_id || '-' || t.step_id, "
            "t.offset_days, s.tone, SUM(t.amount), MIN(t.lang), %s FROM dunning_tmp t "
            "JOIN dunning_dunningstep s ON s.id = t.step_id GROUP BY t.customer_id, t.step_id, t.offset_days, s.tone "
            "ORDER BY t.customer_id, t.step_id ON CONFLICT DO NOTHING",
            [company.pk, as_of, run.pk, as_of.strftime("%Y%m%d"), now])
        cur.execute(
            "INSERT INTO dunning_noticeitem (notice_id, instalment_id, offset_days, amount) "
            "SELECT n.id, t.instalment_id, t.offset_days, t.amount FROM dunning_tmp t JOIN dunning_notice n "
            "ON n.run_id = %s AND n.customer_id = t.customer_id AND n.step_id = t.step_id "
            "ORDER BY t.instalment_id, t.offset_days ON CONFLICT DO NOTHING", [run.pk])
        inserted = cur.rowcount
        cur.execute("SELECT COUNT(*) FROM dunning_tmp")
        if inserted != cur.fetchone()[0]:
            # a concurrent run got some notices or items first: drop our notices left without items, and make the
            # totals follow the items we did get
            mine = ("SELECT id FROM dunning_notice WHERE run_id = %s AND customer_id IN "
                    "(SELECT DISTINCT customer_id FROM dunning_tmp)")
            cur.execute(f"DELETE FROM dunning_notice n WHERE n.id IN ({mine}) AND NOT EXISTS "
                        "(SELECT 1 FROM dunning_noticeitem i WHERE i.notice_id = n.id)", [run.pk])
            cur.execute(f"UPDATE dunning_notice n SET total = x.s FROM (SELECT i.notice_id, SUM(i.amount) AS s "
                        f"FROM dunning_noticeitem i WHERE i.notice_id IN ({mine}) GROUP BY i.notice_id) x "
                        "WHERE n.id = x.notice_id AND n.total <> x.s", [run.pk])
        ours = list(Notice.objects.filter(run=run, customer_id__in=chunk).values_list("pk", "customer_id", "step_id", "number"))
        cols = ("company_id", "notice_id", "channel", "address", "status", "attempts", "next_attempt_at", "last_error",
                "provider_id", "idempotency_key", "sent_at", "log", "updated_at")
        first = _first_runs(run, chunk, steps)
        with raw.copy(f"COPY dunning_delivery ({', '.join(cols)}) FROM STDIN") as cp:
            for nid, cid, sid, _number in ours:
                is_first = (cid, steps[sid].policy_id) in first
                for ch, to, st, why in _delivery_rows(nid, steps[sid], contacts.get(cid), addresses.get(cid) or "",
                                                      is_first):
                    cp.write_row((company.pk, nid, ch, to, str(st), 0, None, why, "", _key(nid, ch), None, "[]", now))
        cols = ("at", "actor_id", "company_id", "customer_id", "verb", "target_type", "target_id", "summary", "data")
        with raw.copy(f"COPY common_auditevent ({', '.join(cols)}) FROM STDIN") as cp:
            for nid, cid, sid, number in ours:
                step = steps[sid]
                cp.write_row((now, None, company.pk, cid, "dunning.notice.created", "dunning.notice", nid,
                              f"{number} {step.offset_days:+d} {step.tone}"[:300],
                              json.dumps({"run": run.pk, "step": step.offset_days, "channels": step.channels})))


@transaction.atomic
def _write_chunk_orm(run, company, as_of, chunk, by_customer, steps) -> None:
    now = timezone.now()
    contacts = _contacts(chunk)
    addresses = dict(Customer.objects.filter(pk__in=chunk).values_list("pk", "address"))
    notices = []
    for cid in chunk:
        lang = (contacts.get(cid) or {}).get("language") or "zh-hans"
        for sid, items in by_customer[cid]:
            step = steps[sid]
            notices.append(Notice(company=company, customer_id=cid, step_id=sid, cycle=as_of, run=run,
                                  number=_number(as_of, cid, sid), offset_days=step.offset_days, tone=step.tone,
                                  total=from_minor(sum(a for _i, a in items)), language=lang if lang in ("zh-hans", "en") else "zh-hans"))
    Notice.objects.bulk_create(notices, ignore_conflicts=True, batch_size=2000)
    ours = dict(((cid, sid), pk) for pk, cid, sid in
                Notice.objects.filter(run=run, customer_id__in=chunk).values_list("pk", "customer_id", "step_id"))
    if not ours:
        return
    items, expected = [], {}
    for (cid, sid), nid in ours.items():
        group = next(g for s, g in by_customer[cid] if s == sid)
        expected[nid] = (len(group), from_minor(sum(a for _i, a in group)))
        items.extend(NoticeItem(notice_id=nid, instalment_id=iid, offset_days=steps[sid].offset_days, amount=from_minor(a))
                     for iid, a in group)
    items.sort(key=lambda i: (i.instalment_id, i.offset_days))  # one global order: concurrent runs never deadlock
    NoticeItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=5000)
    got = {r["notice_id"]: (r["n"], r["s"]) for r in NoticeItem.objects.filter(notice_id__in=list(expected))
           .values("notice_id").annotate(n=Count("pk"), s=Sum("amount"))}
    empty = [nid for nid in expected if nid not in got]
    if empty:  # all its items were dunned by a concurrent run
        Notice.objects.filter(pk__in=empty).delete()
    for nid, (n, s) in got.items():
        if n != expected[nid][0]:
            Notice.objects.filter(pk=nid).update(total=s)
    deliveries, events = [], []
    first = _first_runs(run, chunk, steps)
    for (cid, sid), nid in ours.items():
        if nid in empty:
            continue
        step = steps[sid]
        deliveries.extend(_deliveries_for(nid, step, contacts.get(cid), addresses.get(cid) or "", company, now,
                                          first=(cid, step.policy_id) in first))
        events.append(AuditEvent(company_id=company.pk, customer_id=cid, verb="dunning.notice.created",
                                 target_type="dunning.notice", target_id=nid,
                                 summary=f"{_number(as_of, cid, sid)} {step.offset_days:+d} {step.get_tone_display()}"[:300],
                                 data={"run": run.pk, "step": step.offset_days, "channels": step.channels}))
    Delivery.objects.bulk_create(deliveries, batch_size=5000)
    AuditEvent.objects.bulk_create(events, batch_size=5000)


def _finish(run: DunningRun, *, status: str = RunStatus.DONE, only_running: bool = False) -> bool:
    """Store the run's counts (from its notices and deliveries) and its final status; ``only_running``: leave a
    run that finished meanwhile alone. Returns whether the run was updated."""
    counts: dict[str, int] = {}
    for off, n in Notice.objects.filter(run=run).values_list("offset_days").annotate(n=Count("pk")):
        counts[f"step:{off:+d}"] = n
    for ch, st, n in (Delivery.objects.filter(notice__run=run).values_list("channel", "status").annotate(n=Count("pk"))):
        counts[f"channel:{ch}"] = counts.get(f"channel:{ch}", 0) + n
        if st == DeliveryStatus.SKIPPED:
            counts["skipped"] = counts.get("skipped", 0) + n
    notices = Notice.objects.filter(run=run).count()
    items = NoticeItem.objects.filter(notice__run=run).count()
    qs = DunningRun.objects.filter(pk=run.pk)
    if only_running:
        qs = qs.filter(status=RunStatus.RUNNING)
    return bool(qs.update(status=status, finished_at=timezone.now(), notices=notices, items=items, counts=counts))


def _finish_dry(run: DunningRun, groups, steps) -> None:
    counts: dict[str, int] = {}
    preview = []
    names = dict(Customer.objects.filter(pk__in=[c for c, _s in list(groups)[:200]]).values_list("pk", "name"))
    seen = set(Notice.objects.filter(company_id=run.company_id).values_list("customer_id", "step__policy_id").distinct())
    for (cid, sid), items in groups.items():
        step = steps[sid]
        counts[f"step:{step.offset_days:+d}"] = counts.get(f"step:{step.offset_days:+d}", 0) + 1
        for ch in step.channels:
            counts[f"channel:{ch}"] = counts.get(f"channel:{ch}", 0) + 1
        proposed = [step.action] if step.action in PROPOSED_ACTIONS and (cid, step.policy_id) not in seen else []
        for action in proposed:  # a first run would only propose these, for approval
            counts[f"proposed:{action}"] = counts.get(f"proposed:{action}", 0) + 1
        if len(preview) < 200:
            preview.append({"customer": cid, "name": names.get(cid, ""), "step": step.offset_days, "items": len(items),
                            "total": str(from_minor(sum(a for _i, a in items))), "channels": step.channels,
                            "proposed": proposed})
    DunningRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=timezone.now(), notices=len(groups),
                                                items=sum(len(v) for v in groups.values()), counts=counts, preview=preview)


def proposals(company):
    """Holds and cases proposed by customers' first runs, waiting for a decision (oldest first)."""
    return (Delivery.objects.filter(company=company, status=DeliveryStatus.PROPOSED)
            .select_related("notice__customer", "notice__step").order_by("notice__customer__name", "pk"))


@transaction.atomic(durable=True)
def decide_proposals(*, company, actor, delivery_ids, approve: bool) -> int:
    """Approve (the outbox then applies them) or reject proposed holds and cases; returns how many changed.

    Locks the deliveries by pk; ones already decided are left alone. One audit event per decision.
    """
    _require(actor, "dunning.run")
    rows = list(Delivery.objects.select_for_update().filter(company=company, pk__in=list(delivery_ids),
                                                               status=DeliveryStatus.PROPOSED).order_by("pk"))
    now = timezone.now()
    for d in rows:
        if approve:
            d.status, d.next_attempt_at, d.last_error = DeliveryStatus.PENDING, None, ""
        else:
            d.status, d.last_error = DeliveryStatus.SKIPPED, gettext_noop("Not approved at go-live.")
        d.updated_at = now
    Delivery.objects.bulk_update(rows, ["status", "next_attempt_at", "last_error", "updated_at"])
    customers = dict(Notice.objects.filter(pk__in=[d.notice_id for d in rows]).values_list("pk", "customer_id"))
    AuditEvent.objects.bulk_create([
        AuditEvent(actor=actor if getattr(actor, "pk", None) else None, company_id=company.pk,
                   customer_id=customers.get(d.notice_id), verb="dunning.action.approved" if approve
                   else "dunning.action.rejected", target_type="dunning.delivery", target_id=d.pk,
                   summary=d.channel, data={"action": d.channel, "notice": d.notice_id})
        for d in rows])
    if approve and rows:
        transaction.on_commit(_enqueue_outbox)
    return len(rows)


def send_now(*, company, customer_id: int, actor, as_of: dt.date) -> DunningRun:
    """"Send reminder now" from the worklist: a run for one customer (same exactly-once rules)."""
    _require(actor, "dunning.send")
    if not Customer.objects.filter(company=company, pk=customer_id).exists():
        raise DunningError(_("Unknown customer."), field="customer")
    return run_dunning(company=company, as_of=as_of, actor=None, trigger="send-now", customer_ids=[customer_id])


@transaction.atomic(durable=True)
def retry_delivery(*, company, delivery_id: int, actor) -> Delivery:
    _require(actor, "dunning.run")
    d = Delivery.objects.select_for_update().filter(company=company, pk=delivery_id).first()
    if d is None:
        raise DunningError(_("Unknown delivery."), field="delivery")
    if d.status == DeliveryStatus.SENT:
        raise DunningError(_("This was sent already; it is never sent twice."), field="delivery")
    if d.status == DeliveryStatus.SKIPPED and d.channel in (Channel.EMAIL, Channel.SMS, Channel.LETTER):
        from .outbox import address_for

        d.address = address_for(d)
        if not d.address:
            raise DunningError(_("Still no address for this channel: add it to the customer's contacts first."),
                               field="delivery")
    d.status = DeliveryStatus.PENDING
    d.next_attempt_at = None
    d.save(update_fields=["status", "next_attempt_at", "address", "updated_at"])
    audit.record(actor=actor, verb="dunning.delivery.retry", target=d, customer_id=d.notice.customer_id,
                 summary=f"{d.notice.number} {d.channel}")
    transaction.on_commit(_enqueue_outbox)
    return d
