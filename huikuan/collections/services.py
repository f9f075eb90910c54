"""Every write of the collections casework.

Each public service is one durable transaction (never call it inside another atomic block) that locks
the customer first (the project-wide order customer → instalments by pk → credits by pk), records an
audit event with the customer's id (so it shows on the customer 360 timeline) and raises a
``CollectionsError``/``NotAllowed`` (translated) before changing anything.

Ledger changes go through the ledger's own durable services *after* our transaction commits
(``set_instalment_dispute``, ``pause_instalment_dunning``, ``issue_credit_note``, ``post_document``):
they are idempotent re-statements of our state (the disputed amount of an instalment is Σ of its open
dispute lines; credit notes and charges carry a request key), so a crash between the two steps is
repaired by re-running the step (``sync_disputed_amounts`` in the daily job). Payment plans change the
schedule inside our transaction through ``ledger.plans.replace_instalments``.

``actor=None`` means the system (daily job, dunning run): no permission check, audit without a user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, clock
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.money import ZERO, to_decimal
from huikuan.common.numbering import next_number
from huikuan.common.texts import Text
from huikuan.customers.models import Customer
from huikuan.customers.models import DocumentKind as CustomerDocumentKind
from huikuan.customers.services import check_upload, save_staged_file, stage_customer_file
from huikuan.ledger import locks
from huikuan.ledger import services as ledger
from huikuan.ledger.models import DocumentKind, Instalment, ReceivableDocument
from huikuan.ledger.models import Status as LedgerStatus

from . import calculations as calc
from .models import (
    Activity,
    ActivityKind,
    Case,
    CaseKind,
    CaseStatus,
    ClaimStatus,
    DemandChannel,
    Dispute,
    DisputeLine,
    DisputeReason,
    DisputeStatus,
    InterestCharge,
    InterestRule,
    Outcome,
    PaymentPlan,
    PlanStatus,
    Promise,
    PromiseStatus,
    QueueEntry,
    Resolution,
    Task,
    TaskKind,
    TaskStatus,
    WrittenDemand,
)
from .texts import choice


class CollectionsError(DomainError):
    code = "collections_error"


class InvalidPromise(CollectionsError):
    code = "invalid_promise"


class InvalidPlan(CollectionsError):
    code = "invalid_plan"


MAX_AMOUNT = Decimal("999999999999.99")


def _require(actor, perm: str) -> None:
    if actor is not None and not actor.can(perm):
        raise NotAllowed(_("You are not allowed to do this."))


def _customer(company, customer_id) -> Customer:
    try:
        return locks.customer(customer_id, company_id=company.pk)
    except (Customer.DoesNotExist, ValueError, TypeError) as exc:
        raise CollectionsError(_("Unknown customer."), field="customer") from exc


def _amount(value, *, field: str = "amount") -> Decimal:
    try:
        d = to_decimal(value)
    except (ValueError, TypeError) as exc:
        raise CollectionsError(_("Enter a valid amount."), field=field) from exc
    if not d.is_finite() or d <= 0:
        raise CollectionsError(_("The amount must be greater than zero."), field=field)
    if d > MAX_AMOUNT:
        raise CollectionsError(_("The amount is too large."), field=field)
    if d != d.quantize(Decimal("0.01")):
        raise CollectionsError(_("Amounts have at most two decimals."), field=field)
    return d.quantize(Decimal("0.01"))


def _instalments_of(customer: Customer, ids: Iterable[int], *, field: str = "instalments") -> list[Instalment]:
    """Lock the given instalments (by pk) and check they belong to the customer."""
    ids = {int(i) for i in ids}
    if not ids:
        return []
    rows = locks.instalments(ids)
    if len(rows) != len(ids) or any(r.customer_id != customer.pk for r in rows):
        raise CollectionsError(_("Choose items of this customer."), field=field)
    return rows


def _queue(customer: Customer) -> QueueEntry:
    entry, _created = QueueEntry.objects.get_or_create(
        customer_id=customer.pk, defaults={"company_id": customer.company_id, "owner_id": customer.owner_id})
    return entry


# ---------------------------------------------------------------- tasks


@transaction.atomic(durable=True)
def create_task(*, company, customer_id: int, kind: str, due: dt.date, owner=None, note: str = "", source: str = "manual",
                actor, instalment_ids: Sequence[int] = ()) -> Task:
    """A follow-up task (call, visit, letter, email, other) for ``owner`` (default: the customer's owner).

    Used by the dunning run for phone and visit steps (``source="dunning"``) and by broken promises/plans.
    """
    _require(actor, "collections.work")
    customer = _customer(company, customer_id)
    if kind not in TaskKind.values:
        raise CollectionsError(_("Unknown task kind."), field="kind")
    if due is None:
        raise CollectionsError(_("Enter a due date."), field="due")
    _instalments_of(customer, instalment_ids)
    task = Task.objects.create(
        company=company, customer=customer, kind=kind, due=due, owner=owner or customer.owner, note=_note(note, 500),
        source=str(source)[:20], instalment_ids=sorted({int(i) for i in instalment_ids}), created_by=actor,
    )
    audit.record(actor=actor, verb="collections.task.created", target=task,
                 summary=Text("collections.event.task", kind=choice("task_kind", kind), due=due, note=task.note or ""),
                 data={"kind": kind, "due": due, "owner": task.owner_id, "source": source})
    return task


def _task_locked(company, task_id: int) -> Task:
    try:
        head = Task.objects.only("customer_id").get(pk=task_id, company=company)
    except (Task.DoesNotExist, ValueError, TypeError) as exc:
        raise CollectionsError(_("Unknown task.")) from exc
    _customer(company, head.customer_id)
    return Task.objects.select_for_update().get(pk=task_id)


@transaction.atomic(durable=True)
def complete_task(*, company, task_id: int, actor, cancel: bool = False) -> Task:
    _require(actor, "collections.work")
    task = _task_locked(company, task_id)
    if task.status != TaskStatus.OPEN:
        raise CollectionsError(_("This task is already closed."))
    task.status = TaskStatus.CANCELLED if cancel else TaskStatus.DONE
    task.done_at = timezone.now()
    task.save(update_fields=["status", "done_at", "updated_at"])
    audit.record(actor=actor, verb="collections.task.closed", target=task, summary=task.get_status_display(),
                 data={"status": task.status})
    return task


def _note(note, limit: int):
    """A note to store: the system's ``Text`` as it is, a person's words trimmed to ``limit``."""
    return note if isinstance(note, Text) else str(note or "")[:limit]


# ---------------------------------------------------------------- activities


def _alert_owner(*, customer: Customer, due: dt.date, note: Text, source: str) -> Task:
    """An alert to the customer's owner: a call task on their worklist (inside the caller's transaction)."""
    return Task.objects.create(company_id=customer.company_id, customer=customer, kind=TaskKind.CALL, due=due,
                               owner=customer.owner, note=note, source=source)


def log_activity(*, company, customer_id: int, kind: str, outcome: str = "", note: str = "", actor,
                 next_action_date: dt.date | None = None, contact_name: str = "", at: dt.datetime | None = None,
                 today: dt.date | None = None, promise_amount=None, promise_date: dt.date | None = None,
                 promise_instalment_ids: Sequence[int] = (), pause_dunning: bool = False,
                 attachment=None, attachment_title: str = "") -> Activity:
    """Record a call, visit, e-mail or note with its outcome code and the next action date, and optionally
    the promise to pay made in it (``promise_amount`` by ``promise_date``) — both or neither (one transaction).

    ``today`` (the business date) bounds the next action and promised dates: they cannot be in the past.
    The created promise is on ``activity.promise`` (None without one).

    ``attachment``: an uploaded photo or scan (the statement the customer signed at the visit), checked and
    filed on the customer's documents (kind "signed statement") like any other upload, in the same
    transaction as the activity: a refused upload saves nothing, a refused activity leaves no file.
    """
    staged = None
    if attachment is not None:
        _require(actor, "collections.work")
        staged = stage_customer_file(customer_id=customer_id, actor=actor, upload=attachment,
                                     title=attachment_title, kind=CustomerDocumentKind.SIGNED_STATEMENT)
    try:
        act, promise = _log_tx(company=company, customer_id=customer_id, kind=kind, outcome=outcome, note=note,
                               actor=actor, next_action_date=next_action_date, contact_name=contact_name, at=at,
                               today=today, promise_amount=promise_amount, promise_date=promise_date,
                               promise_instalment_ids=promise_instalment_ids, pause_dunning=pause_dunning,
                               staged=staged)
    except BaseException:
        if staged is not None:
            staged.file.storage.delete(staged.file.name)
        raise
    if promise is not None and pause_dunning:
        _pause_for(promise, company=company, actor=actor)
    act.promise = promise
    return act


@transaction.atomic(durable=True)
def _log_tx(*, company, customer_id, kind, outcome, note, actor, next_action_date, contact_name, at, today,
            promise_amount, promise_date, promise_instalment_ids, pause_dunning, staged=None):
    _require(actor, "collections.work")
    customer = _customer(company, customer_id)
    with_promise = promise_amount not in (None, "")
    if with_promise and not outcome:
        outcome = Outcome.PROMISED
    if outcome == Outcome.PROMISED and not with_promise:
        raise InvalidPromise(_('"Promised to pay" needs the promise: enter the amount and the date promised.'),
                             field="promise_amount")
    if with_promise and outcome != Outcome.PROMISED:
        raise InvalidPromise(_('A promise goes with the outcome "Promised to pay".'), field="outcome")
    act = _log_locked(company=company, customer=customer, kind=kind, outcome=outcome, note=note, actor=actor,
                      next_action_date=next_action_date, contact_name=contact_name, at=at, today=today)
    if staged is not None:
        act.attachment = save_staged_file(staged, company_id=company.pk, actor=actor)
        act.save(update_fields=["attachment"])
    promise = None
    if with_promise:
        promise = _promise_locked(company=company, customer=customer, amount=promise_amount, promised_date=promise_date,
                                  today=today or clock.today(company), actor=actor, instalment_ids=promise_instalment_ids,
                                  pause_dunning=pause_dunning, note="", activity_id=act.pk)
    return act, promise


def _log_locked(*, company, customer, kind, outcome, note, actor, next_action_date, contact_name, at, today) -> Activity:
    if kind not in ActivityKind.values:
        raise CollectionsError(_("Unknown activity kind."), field="kind")
    if outcome not in Outcome.values:
        raise CollectionsError(_("Unknown outcome."), field="outcome")
    if next_action_date is not None and today is not None and next_action_date < today:
        raise CollectionsError(_("The next action date cannot be in the past."), field="next_action_date")
    if kind == ActivityKind.NOTE and not (note or "").strip():
        raise CollectionsError(_("Write the note."), field="note")
    if kind == ActivityKind.NOTE and outcome:
        raise CollectionsError(_("A note has no outcome: log the call, visit or e-mail that had one."), field="outcome")
    act = Activity.objects.create(
        company=company, customer=customer, kind=kind, outcome=outcome, note=str(note)[:1000],
        contact_name=str(contact_name)[:100], next_action_date=next_action_date, occurred_at=at or timezone.now(),
        actor=actor,
    )
    entry = _queue(customer)
    fields = []
    if kind != ActivityKind.NOTE:  # a note is not a contact: the last outcome and the broken promise stay
        entry.last_contact_at = act.occurred_at
        entry.broken_promise_on = None  # the broken promise has been followed up
        fields += ["last_contact_at", "broken_promise_on"]
        if outcome:
            entry.last_outcome = outcome
            fields.append("last_outcome")
    if next_action_date is not None or outcome:
        entry.next_action_date = next_action_date
        fields.append("next_action_date")
    entry.save(update_fields=fields)
    audit.record(actor=actor, verb="collections.activity.logged", target=act,
                 summary=(Text("collections.event.activity_outcome", kind=choice("activity_kind", kind),
                               outcome=choice("outcome", outcome), note=str(note)[:200]) if outcome else
                          Text("collections.event.activity", kind=choice("activity_kind", kind), note=str(note)[:200])),
                 data={"kind": kind, "outcome": outcome, "next_action_date": next_action_date})
    return act


@transaction.atomic(durable=True)
def set_next_action(*, company, customer_id: int, on: dt.date | None, actor, today: dt.date | None = None) -> QueueEntry:
    _require(actor, "collections.work")
    customer = _customer(company, customer_id)
    if on is not None and today is not None and on < today:
        raise CollectionsError(_("The next action date cannot be in the past."), field="next_action_date")
    entry = _queue(customer)
    entry.next_action_date = on
    entry.save(update_fields=["next_action_date"])
    audit.record(actor=actor, verb="collections.next_action.set", target=customer, customer_id=customer.pk,
                 summary=str(on or "—"), data={"on": on})
    return entry


# ---------------------------------------------------------------- promises


def _open_amount(instalments: Sequence[Instalment]) -> Decimal:
    return sum((i.open_amount - min(i.disputed_amount, i.open_amount) for i in instalments), ZERO)


def _refresh_promise_columns(customer: Customer) -> None:
    nxt = (Promise.objects.filter(customer=customer, status=PromiseStatus.OPEN).order_by("promised_date")
           .values_list("promised_date", flat=True).first())
    QueueEntry.objects.filter(customer_id=customer.pk).update(promise_date=nxt)


@transaction.atomic(durable=True)
def _create_promise(*, company, customer_id, amount, promised_date, today, actor, instalment_ids, pause_dunning, note,
                    activity_id) -> Promise:
    _require(actor, "collections.work")
    customer = _customer(company, customer_id)
    return _promise_locked(company=company, customer=customer, amount=amount, promised_date=promised_date, today=today,
                           actor=actor, instalment_ids=instalment_ids, pause_dunning=pause_dunning, note=note,
                           activity_id=activity_id)


def _promise_locked(*, company, customer, amount, promised_date, today, actor, instalment_ids, pause_dunning, note,
                    activity_id) -> Promise:
    amount = _amount(amount, field="promise_amount" if activity_id else "amount")
    if promised_date is None:
        raise InvalidPromise(_("Enter the promised date."), field="promised_date")
    if promised_date < today:
        raise InvalidPromise(_("The promised date cannot be in the past."), field="promised_date")
    items = _instalments_of(customer, instalment_ids)
    if items:
        open_ = _open_amount(items)
    else:
        open_ = sum((i.open_amount - min(i.disputed_amount, i.open_amount)
                     for i in Instalment.objects.filter(customer=customer, open_amount__gt=0)), ZERO)
    promised = Promise.objects.filter(customer=customer, status=PromiseStatus.OPEN)
    if items:
        promised = promised.filter(instalments__in=[i.pk for i in items]).distinct()
    already = promised.aggregate(s=Sum("amount"))["s"] or ZERO
    if amount + already > open_:
        raise InvalidPromise(
            _("Only %(open)s is open (of which %(promised)s already promised); a promise cannot be for more.")
            % {"open": open_, "promised": already}, field="amount")
    p = Promise.objects.create(company=company, customer=customer, amount=amount, promised_date=promised_date,
                               made_on=today, pause_dunning=pause_dunning, note=str(note)[:300], created_by=actor,
                               activity_id=activity_id)
    if items:
        p.instalments.set(items)
    _queue(customer)
    _refresh_promise_columns(customer)
    audit.record(actor=actor, verb="collections.promise.made", target=p, summary=f"{amount} → {promised_date}",
                 data={"amount": amount, "promised_date": promised_date, "instalments": [i.pk for i in items]})
    return p


def record_promise(*, company, customer_id: int, amount, promised_date: dt.date, today: dt.date, actor,
                   instalment_ids: Sequence[int] = (), pause_dunning: bool = False, note: str = "",
                   activity_id: int | None = None) -> Promise:
    """A promise to pay ``amount`` by ``promised_date`` for the given instalments (none: the account).

    Refuses a past date and more than is open (less disputed parts and other open promises on the same
    items). With ``pause_dunning`` the linked open instalments get no reminders until the promised date
    (``ledger.services.pause_instalment_dunning`` after commit of the promise).
    """
    p = _create_promise(company=company, customer_id=customer_id, amount=amount, promised_date=promised_date,
                        today=today, actor=actor, instalment_ids=instalment_ids, pause_dunning=pause_dunning,
                        note=note, activity_id=activity_id)
    if pause_dunning:
        _pause_for(p, company=company, actor=actor)
    return p


def _pause_for(p: Promise, *, company, actor) -> None:
    """No reminders for the promise's items (or the account's open items) until the promised date."""
    ids = list(p.instalments.values_list("pk", flat=True)) or list(
        Instalment.objects.filter(customer_id=p.customer_id, open_amount__gt=0).values_list("pk", flat=True))
    for iid in ids:
        ledger.pause_instalment_dunning(company=company, instalment_id=iid, until=p.promised_date, actor=actor,
                                        reason=gettext("Promise to pay"))


def promise_paid(promise: Promise, *, as_of: dt.date | None = None) -> Decimal:
    """Money counted towards the promise as of ``as_of`` (default: its promised date) under the consumption
    rule (``calculations.consume_promises``): the customer's other promises take their share first when due earlier."""
    from .promises import consumption

    day = promise.promised_date if as_of is None else as_of
    return consumption(customer_ids=[promise.customer_id], as_of=day).get(promise.pk, ZERO)


@transaction.atomic(durable=True)
def review_promises(*, company, as_of: dt.date, customer_id: int | None = None) -> dict:
    """Settle open promises: kept when the money counted towards them (``promises.consumption``: earliest
    promise first, each unit of money for one promise, unapplied cash included, items followed through payment
    plans) reaches the amount; broken when the date has passed without it.

    A broken promise alerts the owner (a call task due ``as_of``) and marks the customer's worklist row.
    Idempotent: only open promises move. Returns counts.
    """
    from .promises import consumption

    qs = Promise.objects.filter(company=company, status=PromiseStatus.OPEN)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    kept = broken = 0
    touched: set[int] = set()
    customer_ids = sorted(set(qs.values_list("customer_id", flat=True)))
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start:start + 500]
        counted = consumption(customer_ids=chunk, as_of=as_of)
        for p in qs.filter(customer_id__in=chunk).select_related("customer").order_by("customer_id", "pk"):
            paid = counted.get(p.pk, ZERO)
            state = calc.promise_state(amount=p.amount, paid=paid, promised_date=p.promised_date, as_of=as_of)
            if state == "kept":
                Promise.objects.filter(pk=p.pk).update(status=PromiseStatus.KEPT, paid_amount=paid, settled_on=as_of)
                audit.record(actor=None, verb="collections.promise.kept", target=p, summary=f"{p.amount} ({paid})",
                             data={"paid": paid})
                kept += 1
            elif state == "broken":
                Promise.objects.filter(pk=p.pk).update(status=PromiseStatus.BROKEN, paid_amount=paid, settled_on=as_of)
                _alert_owner(customer=p.customer, due=as_of, source="promise",
                             note=Text("collections.note.promise_broken", amount=p.amount, date=p.promised_date, paid=paid))
                QueueEntry.objects.update_or_create(customer_id=p.customer_id,
                                                    defaults={"company_id": company.pk, "broken_promise_on": as_of},
                                                    create_defaults={"company_id": company.pk, "broken_promise_on": as_of,
                                                                     "owner_id": p.customer.owner_id})
                audit.record(actor=None, verb="collections.promise.broken", target=p, summary=f"{p.amount} ({paid})",
                             data={"paid": paid})
                broken += 1
            else:
                continue
            touched.add(p.customer_id)
    for cid in touched:
        _refresh_promise_columns(Customer(pk=cid, company_id=company.pk))
    return {"kept": kept, "broken": broken}


@transaction.atomic(durable=True)
def cancel_promise(*, company, promise_id: int, actor) -> Promise:
    _require(actor, "collections.work")
    try:
        head = Promise.objects.only("customer_id").get(pk=promise_id, company=company)
    except (Promise.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidPromise(_("Unknown promise.")) from exc
    customer = _customer(company, head.customer_id)
    p = Promise.objects.select_for_update().get(pk=promise_id)
    if p.status != PromiseStatus.OPEN:
        raise InvalidPromise(_("Only an open promise can be cancelled."))
    p.status = PromiseStatus.CANCELLED
    p.save(update_fields=["status"])
    _refresh_promise_columns(customer)
    audit.record(actor=actor, verb="collections.promise.cancelled", target=p, summary=f"{p.amount}")
    return p


# ---------------------------------------------------------------- disputes


def _spread(amount: Decimal, items: Sequence[Instalment]) -> list[tuple[Instalment, Decimal]]:
    """Put a document-level disputed amount on its instalments, earliest due first, within each open amount.

    What is disputed already is read from the open dispute lines, not only ``disputed_amount``: that column is
    synced after the dispute's transaction commits, so a dispute racing it (the caller holds the customer's
    lock) would otherwise see the item as undisputed and dispute more than is open."""
    out = []
    left = amount
    lined = dict(DisputeLine.objects.filter(instalment_id__in=[i.pk for i in items], dispute__status=DisputeStatus.OPEN)
                 .values("instalment_id").annotate(s=Sum("amount")).values_list("instalment_id", "s"))
    for i in sorted(items, key=lambda x: (x.due_date, x.pk)):
        room = i.open_amount - max(i.disputed_amount, lined.get(i.pk) or ZERO)
        if left <= 0:
            break
        if room > 0:
            take = min(room, left)
            out.append((i, take))
            left -= take
    if left > 0:
        raise CollectionsError(_("The disputed amount is more than is open and undisputed on these items."), field="amount")
    return out


@transaction.atomic(durable=True)
def _open_dispute(*, company, customer_id, reason, amount, actor, today, document_id, instalment_id, owner, note) -> Dispute:
    _require(actor, "collections.dispute")
    customer = _customer(company, customer_id)
    if reason not in DisputeReason.values:
        raise CollectionsError(_("Choose a reason."), field="reason")
    amount = _amount(amount)
    if instalment_id:
        items = _instalments_of(customer, [instalment_id], field="instalment")
        document_id = items[0].document_id
    else:
        try:
            ReceivableDocument.objects.get(pk=document_id, customer=customer, status=LedgerStatus.POSTED)
        except (ReceivableDocument.DoesNotExist, ValueError, TypeError) as exc:
            raise CollectionsError(_("Choose a document of this customer."), field="document") from exc
        items = locks.instalments(Instalment.objects.filter(document_id=document_id, open_amount__gt=0).values_list("pk", flat=True))
    lines = _spread(amount, items)
    d = Dispute.objects.create(company=company, customer=customer, document_id=document_id,
                               instalment_id=instalment_id or None, reason=reason, amount=amount,
                               owner=owner or (actor if getattr(actor, "pk", None) else customer.owner),
                               note=str(note)[:500], opened_on=today, created_by=actor)
    DisputeLine.objects.bulk_create([DisputeLine(dispute=d, instalment=i, amount=a) for i, a in lines])
    audit.record(actor=actor, verb="collections.dispute.opened", target=d,
                 summary=Text("collections.event.dispute", reason=choice("dispute_reason", reason), amount=amount),
                 data={"amount": amount, "reason": reason, "lines": [[i.pk, a] for i, a in lines]})
    return d


def sync_disputed_amounts(*, company, instalment_ids: Iterable[int], actor=None) -> int:
    """Set each instalment's ``disputed_amount`` to Σ of its open dispute lines (ledger service, idempotent)."""
    changed = 0
    for iid in sorted(set(instalment_ids)):
        want = (DisputeLine.objects.filter(instalment_id=iid, dispute__status=DisputeStatus.OPEN)
                .aggregate(s=Sum("amount"))["s"] or ZERO)
        inst = Instalment.objects.only("disputed_amount", "amount").get(pk=iid)
        want = min(want, inst.amount)
        if inst.disputed_amount != want:
            ledger.set_instalment_dispute(company=company, instalment_id=iid, amount=want, actor=actor)
            changed += 1
    return changed


def sync_all_disputed(*, company) -> int:
    """Repair step of the daily job: every instalment whose disputed amount differs from its open dispute lines."""
    lined = set(DisputeLine.objects.filter(dispute__company=company, dispute__status=DisputeStatus.OPEN)
                .values_list("instalment_id", flat=True))
    marked = set(Instalment.objects.filter(company=company, disputed_amount__gt=0).values_list("pk", flat=True))
    return sync_disputed_amounts(company=company, instalment_ids=lined | marked)


def open_dispute(*, company, customer_id: int, reason: str, amount, actor, today: dt.date, document_id: int | None = None,
                 instalment_id: int | None = None, owner=None, note: str = "") -> Dispute:
    """Dispute ``amount`` of one instalment or of a document (spread over its open instalments, earliest first).

    Disputed parts are excluded from dunning and shown separately in aging (Instalment.disputed_amount).
    """
    d = _open_dispute(company=company, customer_id=customer_id, reason=reason, amount=amount, actor=actor, today=today,
                      document_id=document_id, instalment_id=instalment_id, owner=owner, note=note)
    sync_disputed_amounts(company=company, instalment_ids=d.lines.values_list("instalment_id", flat=True), actor=actor)
    return d


@transaction.atomic(durable=True)
def _close_dispute(*, company, dispute_id, resolution, note, actor, today, credit_id=None) -> Dispute:
    try:
        head = Dispute.objects.only("customer_id").get(pk=dispute_id, company=company)
    except (Dispute.DoesNotExist, ValueError, TypeError) as exc:
        raise CollectionsError(_("Unknown dispute.")) from exc
    _customer(company, head.customer_id)
    d = Dispute.objects.select_for_update().get(pk=dispute_id)
    if d.status != DisputeStatus.OPEN:
        raise CollectionsError(_("This dispute is already resolved."))
    d.status = DisputeStatus.RESOLVED
    d.resolution = resolution
    d.resolution_note = str(note)[:300]
    d.resolved_on = today
    d.resolved_by = actor
    d.credit_id = credit_id
    d.save(update_fields=["status", "resolution", "resolution_note", "resolved_on", "resolved_by", "credit", "updated_at"])
    audit.record(actor=actor, verb="collections.dispute.resolved", target=d,
                 summary=Text("collections.event.resolution", resolution=choice("resolution", resolution), note=str(note)[:200]),
                 data={"resolution": resolution, "credit_id": credit_id})
    return d


def resolve_dispute(*, company, dispute_id: int, resolution: str, actor, today: dt.date, note: str = "",
                    credit_amount=None) -> Dispute:
    """Close a dispute: ``credit_note`` issues a credit note (default: the disputed amount) on the document through
    ``ledger.services.issue_credit_note`` (request key per dispute, so a retry never issues two); ``rejected`` and
    ``corrected`` close it without money. The instalments' disputed amounts are re-synchronised.
    """
    _require(actor, "collections.dispute.resolve")
    if resolution not in (Resolution.CREDIT_NOTE, Resolution.REJECTED, Resolution.CORRECTED):
        raise CollectionsError(_("Choose a resolution."), field="resolution")
    try:
        d = Dispute.objects.get(pk=dispute_id, company=company)
    except (Dispute.DoesNotExist, ValueError, TypeError) as exc:
        raise CollectionsError(_("Unknown dispute.")) from exc
    if d.status != DisputeStatus.OPEN:
        raise CollectionsError(_("This dispute is already resolved."))
    credit_id = None
    if resolution == Resolution.CREDIT_NOTE:
        from huikuan.ledger.models import Credit

        amount = _amount(credit_amount, field="credit_amount") if credit_amount not in (None, "") else d.amount
        if amount > d.amount:
            raise CollectionsError(_("The credit note cannot exceed the disputed amount."), field="credit_amount")
        key = f"dispute-{d.pk}-credit-note"
        credit = Credit.objects.filter(request_key=key).first()
        if credit is None:
            credit = ledger.issue_credit_note(
                company=company, customer_id=d.customer_id, amount=amount, date=today, actor=actor,
                reason=(gettext("Dispute %(no)s: %(reason)s") % {"no": d.pk, "reason": d.get_reason_display()})[:300],
                document_id=d.document_id, request_key=key)
        credit_id = credit.pk
    d = _close_dispute(company=company, dispute_id=dispute_id, resolution=resolution, note=note, actor=actor, today=today,
                       credit_id=credit_id)
    sync_disputed_amounts(company=company, instalment_ids=d.lines.values_list("instalment_id", flat=True), actor=actor)
    return d


# ---------------------------------------------------------------- written demands and cases


@transaction.atomic(durable=True)
def record_written_demand(*, company, customer_id: int, date: dt.date, reference: str, actor, channel: str = "",
                          proof=None, note: str = "", by_hand: bool = False, today: dt.date | None = None) -> WrittenDemand:
    """A dunning letter / demand was sent in writing on ``date``: restarts the 3-year limitation period of the
    customer's items issued by then (collections.limitation; statements.limitation through statements.hooks).
    Idempotent per (customer, reference).

    ``by_hand`` (the form on the collections page): the channel and the proof of delivery are required (the
    evidence a court asks for) and the date may not be after ``today``. Raises ``CollectionsError``."""
    customer = _customer(company, customer_id)
    reference = (reference or "").strip()[:100]
    if not reference or date is None:
        raise CollectionsError(_("A written demand needs its date and reference."), field="reference")
    if by_hand:
        _require(actor, "collections.work")
        if channel not in DemandChannel.values:
            raise CollectionsError(_("Choose how the demand was delivered."), field="channel")
        if not proof:
            raise CollectionsError(_("Attach the proof of delivery (signed receipt, tracking page, sent email)."),
                                   field="proof")
        check_upload(proof)  # size, type and content checked as every uploaded file
        if date > (today or clock.today(company)):
            raise CollectionsError(_("A demand cannot be dated after today."), field="date")
    existing = WrittenDemand.objects.filter(customer=customer, reference=reference).first()
    if existing is not None:
        if by_hand:
            raise CollectionsError(_("A demand with this reference is already recorded for the customer."), field="reference")
        return existing
    wd = WrittenDemand.objects.create(company=company, customer=customer, date=date, reference=reference,
                                      channel=channel if channel in DemandChannel.values else "",
                                      note=str(note or "").strip()[:300],
                                      created_by=actor if getattr(actor, "pk", None) else None,
                                      **({"proof": proof} if proof else {}))
    audit.record(actor=actor, verb="collections.demand.recorded", target=wd, summary=f"{reference} {date}",
                 data={"date": date, "reference": reference, "channel": wd.channel, "proof": wd.proof.name or ""})
    return wd


def _case_number(company, on: dt.date) -> str:
    return next_number(company_id=company.pk, series="CASE", year=on.year)


@transaction.atomic(durable=True)
def open_case(*, company, customer_id: int, instalment_ids: Sequence[int] = (), kind: str = CaseKind.LEGAL, actor,
              note: str = "", today: dt.date | None = None, firm: str = "") -> Case:
    """Escalate to legal or an agency. Returns the customer's open case if there is one (adding the items)."""
    _require(actor, "collections.case")
    customer = _customer(company, customer_id)
    if kind not in CaseKind.values:
        raise CollectionsError(_("Unknown case kind."), field="kind")
    items = _instalments_of(customer, instalment_ids)
    today = today or clock.today(company)
    case = Case.objects.filter(customer=customer).exclude(status=CaseStatus.CLOSED).first()
    created = case is None
    if created:
        case = Case.objects.create(company=company, customer=customer, number=_case_number(company, today), kind=kind,
                                   firm=str(firm)[:200], owner=actor if getattr(actor, "pk", None) else None,
                                   note=_note(note, 1000), opened_on=today,
                                   opened_by=actor if getattr(actor, "pk", None) else None)
    if items:
        case.instalments.add(*items)
    claim = case.instalments.aggregate(s=Sum("open_amount"))["s"] or ZERO
    Case.objects.filter(pk=case.pk).update(claim_amount=claim, updated_at=timezone.now())
    case.claim_amount = claim
    if created:
        audit.record(actor=actor, verb="collections.case.opened", target=case,
                     summary=Text("collections.event.case", number=case.number, kind=choice("case_kind", kind)),
                     data={"kind": kind, "instalments": [i.pk for i in items]})
    elif items:
        audit.record(actor=actor, verb="collections.case.items_added", target=case, summary=case.number,
                     data={"instalments": [i.pk for i in items]})
    return case


@transaction.atomic(durable=True)
def update_case(*, company, case_id: int, actor, status: str, firm: str = "", fee_amount=None,
                commission_percent=None, recovered_amount=None, note: str = "", today: dt.date) -> Case:
    _require(actor, "collections.case")
    try:
        head = Case.objects.only("customer_id").get(pk=case_id, company=company)
    except (Case.DoesNotExist, ValueError, TypeError) as exc:
        raise CollectionsError(_("Unknown case.")) from exc
    _customer(company, head.customer_id)
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status == CaseStatus.CLOSED:
        raise CollectionsError(_("This case is closed."))
    if status not in CaseStatus.values:
        raise CollectionsError(_("Unknown status."), field="status")
    before = case.status
    case.status = status
    case.firm = str(firm or case.firm)[:200]
    for field, value in (("fee_amount", fee_amount), ("recovered_amount", recovered_amount)):
        if value not in (None, ""):
            v = to_decimal(value) if not isinstance(value, Decimal) else value
            if v != 0:
                v = _amount(v, field=field)
            setattr(case, field, v)
    if commission_percent not in (None, ""):
        try:
            pct = to_decimal(commission_percent)
        except (ValueError, TypeError) as exc:
            raise CollectionsError(_("Enter a percentage between 0 and 100."), field="commission_percent") from exc
        if not (0 <= pct <= 100):
            raise CollectionsError(_("Enter a percentage between 0 and 100."), field="commission_percent")
        case.commission_percent = pct
    if note:
        case.note = _note(note, 1000)
    if status == CaseStatus.CLOSED:
        case.closed_on = today
    case.save()
    audit.record(actor=actor, verb="collections.case.updated", target=case,
                 summary=Text("collections.event.case_status", number=case.number, old=choice("case_status", before),
                              new=choice("case_status", status)),
                 data={"before": before, "after": status, "fee": case.fee_amount, "recovered": case.recovered_amount})
    return case


# ---------------------------------------------------------------- payment plans


def _parse_lines(lines) -> list[tuple[dt.date, Decimal]]:
    out = []
    for d, a in lines:
        if isinstance(d, str):
            try:
                d = dt.date.fromisoformat(d)
            except ValueError as exc:
                raise InvalidPlan(_("Enter valid dates."), field="lines") from exc
        out.append((d, _amount(a, field="lines")))
    return sorted(out)


def _plan_error(exc: calc.PlanLinesError) -> InvalidPlan:
    if exc.code == "sum":
        return InvalidPlan(_("The new instalments add up to %(total)s, but %(open)s is open on the items replaced.")
                           % {"total": exc.params["total"], "open": exc.params["open"]}, field="lines")
    if exc.code == "past_date":
        return InvalidPlan(_("A new instalment cannot be due before the plan starts."), field="lines")
    if exc.code == "empty":
        return InvalidPlan(_("Enter at least one new instalment."), field="lines")
    return InvalidPlan(_("Each new instalment needs an amount greater than zero."), field="lines")


@transaction.atomic(durable=True)
def request_plan(*, company, customer_id: int, instalment_ids: Sequence[int], lines, actor, today: dt.date,
                 note: str = "", grace_days: int = 5) -> PaymentPlan:
    """Propose a payment plan; another user approves it (maker-checker). Nothing changes in the ledger yet."""
    _require(actor, "collections.plan.request")
    customer = _customer(company, customer_id)
    items = _instalments_of(customer, instalment_ids)
    if not items:
        raise InvalidPlan(_("Choose the items the plan replaces."), field="instalments")
    if any(i.open_amount <= 0 or i.replaced_on is not None for i in items):
        raise InvalidPlan(_("Only open items that are not already in a plan can be replaced."), field="instalments")
    parsed = _parse_lines(lines)
    open_ = sum((i.open_amount for i in items), ZERO)
    try:
        calc.check_plan_lines(lines=parsed, replaced_open=open_, on=today)
    except calc.PlanLinesError as exc:
        raise _plan_error(exc) from exc
    if PaymentPlan.objects.filter(status=PlanStatus.PENDING, instalments__in=[i.pk for i in items]).exists():
        raise InvalidPlan(_("Some of these items already wait in another plan."), field="instalments")
    plan = PaymentPlan.objects.create(company=company, customer=customer, lines=[[d.isoformat(), str(a)] for d, a in parsed],
                                      total_amount=open_, requested_by=actor, note=str(note)[:500], grace_days=grace_days)
    plan.instalments.set(items)
    audit.record(actor=actor, verb="collections.plan.requested", target=plan, summary=f"{open_} → {len(parsed)}",
                 data={"lines": plan.lines, "instalments": [i.pk for i in items]})
    return plan


@transaction.atomic(durable=True)
def decide_plan(*, company, plan_id: int, approve: bool, actor, today: dt.date, note: str = "") -> PaymentPlan:
    """Approve (the ledger schedule is replaced in the same transaction) or reject a plan. Not by its requester."""
    from huikuan.ledger.plans import replace_instalments

    _require(actor, "collections.plan.approve")
    try:
        head = PaymentPlan.objects.only("customer_id").get(pk=plan_id, company=company)
    except (PaymentPlan.DoesNotExist, ValueError, TypeError) as exc:
        raise InvalidPlan(_("Unknown payment plan.")) from exc
    _customer(company, head.customer_id)
    plan = PaymentPlan.objects.select_for_update().get(pk=plan_id)
    if plan.status != PlanStatus.PENDING:
        raise InvalidPlan(_("This plan has already been decided."))
    if actor is not None and plan.requested_by_id == actor.pk:
        raise NotAllowed(_("You cannot approve or reject your own payment plan."))
    plan.decided_by = actor
    plan.decided_at = timezone.now()
    plan.decision_note = str(note)[:300]
    if approve:
        lines = _parse_lines(plan.lines)
        items = locks.instalments(plan.instalments.values_list("pk", flat=True))
        open_now = sum((i.open_amount for i in items), ZERO)
        if open_now != plan.total_amount:
            raise InvalidPlan(_("The open amount of these items changed from %(then)s to %(now)s since the plan was "
                                "proposed (a payment or credit arrived); reject it and propose a new one.")
                              % {"then": plan.total_amount, "now": open_now})
        replace_instalments(company=company, instalment_ids=list(plan.instalments.values_list("pk", flat=True)), lines=lines,
                            on=today, actor=actor, plan_id=plan.pk)
        plan.status = PlanStatus.ACTIVE
        plan.effective_on = today
    else:
        plan.status = PlanStatus.REJECTED
    plan.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "effective_on", "updated_at"])
    audit.record(actor=actor, verb="collections.plan.approved" if approve else "collections.plan.rejected", target=plan,
                 summary=f"{plan.total_amount}", data={"note": note, "requested_by": plan.requested_by_id})
    return plan


@transaction.atomic(durable=True)
def review_plans(*, company, as_of: dt.date) -> dict:
    """Active plans: completed when every new instalment is paid; broken when one is unpaid past its date + grace (alert)."""
    done = broken = 0
    for plan in PaymentPlan.objects.filter(company=company, status=PlanStatus.ACTIVE).select_related("customer"):
        rows = Instalment.objects.filter(plan_id=plan.pk, replaced_on__isnull=True)
        if not rows.filter(open_amount__gt=0).exists():
            PaymentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.COMPLETED, updated_at=timezone.now())
            audit.record(actor=None, verb="collections.plan.completed", target=plan, summary=f"{plan.total_amount}")
            done += 1
            continue
        late = rows.filter(open_amount__gt=0, due_date__lt=as_of - dt.timedelta(days=plan.grace_days)).first()
        if late is not None:
            PaymentPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.BROKEN, broken_on=as_of, updated_at=timezone.now())
            _alert_owner(customer=plan.customer, due=as_of, source="plan",
                         note=Text("collections.note.plan_broken", amount=late.open_amount, date=late.due_date))
            audit.record(actor=None, verb="collections.plan.broken", target=plan, summary=f"{late.due_date} {late.open_amount}",
                         data={"instalment_id": late.pk})
            broken += 1
    return {"completed": done, "broken": broken}


# ---------------------------------------------------------------- interest rules and charges


@transaction.atomic(durable=True)
def save_interest_rule(*, company, actor, basis: str, rate, grace_days: int = 0, lpr_percent=ZERO, cap_kind: str = "",
                       cap_value=ZERO, customer_id: int | None = None, document_id: int | None = None) -> InterestRule:
    """Create or replace the company's, a customer's or a document's penalty interest rule."""
    from .models import CapKind, InterestBasis

    _require(actor, "collections.interest.rules")
    if basis not in InterestBasis.values:
        raise CollectionsError(_("Choose a basis."), field="basis")
    if cap_kind not in CapKind.values:
        raise CollectionsError(_("Choose a cap."), field="cap_kind")
    try:
        rate, lpr_percent, cap_value = (to_decimal(x or 0) for x in (rate, lpr_percent, cap_value))
    except (ValueError, TypeError) as exc:
        raise CollectionsError(_("Enter valid numbers."), field="rate") from exc
    if not (0 <= rate <= 100) or not (0 <= lpr_percent <= 100) or cap_value < 0 or not (0 <= int(grace_days) <= 365):
        raise CollectionsError(_("Enter valid numbers."), field="rate")
    customer = None
    if customer_id or document_id:
        if document_id:
            doc = ReceivableDocument.objects.filter(pk=document_id, company=company).first()
            if doc is None:
                raise CollectionsError(_("Unknown document."), field="document")
            customer_id = doc.customer_id
        customer = _customer(company, customer_id)
    key = {"company": company, "customer": customer if not document_id else customer, "document_id": document_id}
    if customer is None:
        key = {"company": company, "customer__isnull": True, "document__isnull": True}
        existing = InterestRule.objects.filter(**key).first()
    elif document_id:
        existing = InterestRule.objects.filter(document_id=document_id).first()
    else:
        existing = InterestRule.objects.filter(customer=customer, document__isnull=True).first()
    rule = existing or InterestRule(company=company, customer=customer, document_id=document_id)
    rule.basis, rule.rate, rule.lpr_percent, rule.grace_days = basis, rate, lpr_percent, int(grace_days)
    rule.cap_kind, rule.cap_value, rule.updated_by = cap_kind, cap_value, actor
    rule.save()
    audit.record(actor=actor, verb="collections.interest_rule.saved", target=rule, customer_id=customer.pk if customer else None,
                 summary=Text("collections.event.interest_rule", basis=choice("interest_basis", basis), rate=str(rate)),
                 data={"basis": basis, "rate": rate, "grace": grace_days, "cap": [cap_kind, cap_value]})
    return rule


@transaction.atomic(durable=True)
def _record_charge(*, company, customer_id, document_id, up_to, amount, actor) -> InterestCharge:
    customer = _customer(company, customer_id)
    charge = InterestCharge.objects.filter(document_id=document_id).first()
    if charge is None:
        charge = InterestCharge.objects.create(company=company, customer=customer, document_id=document_id, up_to=up_to,
                                               amount=amount, created_by=actor)
        audit.record(actor=actor, verb="collections.interest.posted", target=charge, customer_id=customer.pk,
                     summary=f"{amount} ≤ {up_to}", data={"amount": amount, "up_to": up_to})
    return charge


def post_interest_charge(*, company, customer_id: int, as_of: dt.date, actor) -> InterestCharge:
    """Post the penalty interest to date as a charge document (only when someone asks for it).

    Later interest figures start the day after ``as_of``. One charge per customer and date (request key).
    """
    from .interest import interest_to_date

    _require(actor, "collections.interest.post")
    customer = Customer.objects.get(pk=customer_id, company=company)
    amount = interest_to_date(customer=customer, as_of=as_of)
    if amount <= 0:
        raise CollectionsError(_("There is no interest to post."))
    key = f"interest-{customer.pk}-{as_of.isoformat()}"
    doc = ReceivableDocument.objects.filter(request_key=key).first()
    if doc is None:
        doc = ledger.post_document(
            company=company, customer_id=customer.pk, document_date=as_of, actor=actor, kind=DocumentKind.CHARGE,
            total=amount, description=(gettext("Penalty interest to %(date)s") % {"date": as_of})[:300],
            schedule=[ledger.ScheduleInput(due_date=as_of, amount=amount)], request_key=key)
    return _record_charge(company=company, customer_id=customer.pk, document_id=doc.pk, up_to=as_of, amount=doc.total_amount,
                          actor=actor)


# ---------------------------------------------------------------- state the other apps read


def behaviour_counts(company, customer_ids, as_of: dt.date) -> dict[int, dict[str, int]]:
    """For credit scoring: broken promises and disputes per customer in the 365 days to ``as_of``."""
    since = as_of - dt.timedelta(days=365)
    ids = list(customer_ids)
    out: dict[int, dict[str, int]] = {cid: {"broken_promises": 0, "disputes": 0} for cid in ids}
    for cid, n in (Promise.objects.filter(company=company, customer_id__in=ids, status=PromiseStatus.BROKEN,
                                          settled_on__gt=since, settled_on__lte=as_of)
                   .values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n")):
        out[cid]["broken_promises"] = n
    for cid, n in (Dispute.objects.filter(company=company, customer_id__in=ids, opened_on__gt=since, opened_on__lte=as_of)
                   .filter(Q(status=DisputeStatus.OPEN) | ~Q(resolution=Resolution.REJECTED))
                   .values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n")):
        out[cid]["disputes"] = n
    return out



# ---------------------------------------------------------------- bankruptcy claims (债权申报)


def _claim_dates(*, accepted_on, deadline, today):
    if accepted_on is not None and accepted_on > today:
        raise CollectionsError(_("The court cannot have accepted the petition after today."), field="court_accepted_on")
    if deadline is not None and accepted_on is not None and deadline < accepted_on:
        raise CollectionsError(_("The filing deadline cannot be before the acceptance date."), field="claim_deadline")


@transaction.atomic(durable=True)
def prepare_claim(*, company, customer_id: int, actor, today: dt.date, accepted_on: dt.date | None = None,
                  deadline: dt.date | None = None, administrator: str = "", filed_on: dt.date | None = None,
                  status: str | None = None) -> Case:
    """The bankruptcy claim (债权申报) on the customer's open case: principal = what is open on the case's items,
    interest = penalty interest up to the day the court accepted the petition (企业破产法 art. 46: it stops
    accruing then; today while the date is unknown). Dunning stops for the customer while the case is open.
    Idempotent: running it again re-states the figures; dates, administrator and status given replace the
    stored ones. Raises when the customer has no open case (nothing open: no empty claim)."""
    from .interest import instalment_interest

    _require(actor, "collections.case")
    customer = _customer(company, customer_id)
    case = Case.objects.select_for_update().filter(customer=customer).exclude(status=CaseStatus.CLOSED).first()
    if case is None:
        raise CollectionsError(_("The customer has no open case: there is nothing to claim."))
    accepted_on = accepted_on or case.court_accepted_on
    deadline = deadline or case.claim_deadline
    _claim_dates(accepted_on=accepted_on, deadline=deadline, today=today)
    if status not in (None, "") and status not in ClaimStatus.values:
        raise CollectionsError(_("Unknown status."), field="claim_status")
    if filed_on is not None and filed_on > today:
        raise CollectionsError(_("The claim cannot be filed after today."), field="claim_filed_on")
    items = set(case.instalments.values_list("pk", flat=True))
    principal = case.instalments.aggregate(s=Sum("open_amount"))["s"] or ZERO
    interest = sum((x.amount for x in instalment_interest(customer=customer, as_of=accepted_on or today)
                    if x.instalment_id in items), ZERO)
    before = {"status": case.claim_status, "principal": case.claim_principal_amount, "interest": case.claim_interest_amount}
    case.stops_dunning = True
    case.court_accepted_on = accepted_on
    case.claim_deadline = deadline
    if administrator:
        case.administrator = str(administrator).strip()[:300]
    if filed_on is not None:
        case.claim_filed_on = filed_on
    case.claim_status = status or case.claim_status or (ClaimStatus.FILED if case.claim_filed_on else ClaimStatus.TO_FILE)
    case.claim_principal_amount = principal
    case.claim_interest_amount = interest
    case.claim_amount = principal
    case.save(update_fields=["stops_dunning", "court_accepted_on", "claim_deadline", "administrator", "claim_filed_on",
                             "claim_status", "claim_principal_amount", "claim_interest_amount", "claim_amount", "updated_at"])
    audit.record(actor=actor, verb="collections.case.claim", target=case,
                 summary=Text("collections.event.claim", number=case.number, principal=principal, interest=interest,
                              status=choice("claim_status", case.claim_status)),
                 data={"before": before, "principal": principal, "interest": interest, "accepted_on": accepted_on,
                       "deadline": deadline, "status": case.claim_status})
    return case
