"""Named emergency procedures a manager triggers for one customer; each step is recorded (PlaybookStep).

A step that fails is recorded as failed with its reason and the remaining steps still run: in an
emergency the other steps must not wait for one that cannot be done (e.g. no open items to escalate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role, User
from huikuan.common import audit, texts
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.texts import Text
from huikuan.credit import services as credit
from huikuan.ledger.models import Instalment

from . import services
from .models import PlaybookRun, PlaybookStep, StepStatus, TaskKind


@dataclass(frozen=True)
class Step:
    code: str
    label: object
    run: Callable[..., Text]


texts.register({
    "collections.playbook.reason": _("Playbook: %(title)s"),
    "collections.playbook.reason_note": _("Playbook: %(title)s — %(note)s"),
    "collections.playbook.held": _("Credit hold placed"),
    "collections.playbook.orders_rejected": _("%(n)s open orders rejected"),
    "collections.playbook.case_opened": _("Case %(no)s with %(n)s open items"),
    "collections.playbook.notified": _("%(n)s people notified"),
    "collections.playbook.nothing_open": _("Nothing is open: no case opened"),
    "collections.playbook.claim": _("Claim %(principal)s + interest %(interest)s to %(date)s; dunning stopped"),
    "collections.playbook.no_claim": _("No open case: no claim to file"),
    "collections.playbook.run": _("%(title)s: %(steps)s"),
    "collections.playbook.step_result": _("%(step)s (%(status)s)"),
})


def _hold(*, company, customer, actor, reason, today, **_kw):
    credit.place_hold(company=company, customer_id=customer.pk, reason=reason, source="playbook", actor=actor)
    return Text("collections.playbook.held")


def _reject_orders(*, company, customer, actor, reason, today, **_kw):
    n = credit.reject_open_orders(company=company, customer_id=customer.pk, reason=reason, actor=actor)
    return Text("collections.playbook.orders_rejected", n=n)


class Skip(Exception):
    """A step with nothing to do: recorded as skipped with the reason (a Text)."""

    def __init__(self, detail: Text):
        super().__init__(str(detail))
        self.detail = detail


def _escalate(*, company, customer, actor, reason, today, **_kw):
    ids = list(Instalment.objects.filter(customer=customer, open_amount__gt=0).values_list("pk", flat=True))
    if not ids:  # a customer with nothing open gets no empty case
        raise Skip(Text("collections.playbook.nothing_open"))
    case = services.open_case(company=company, customer_id=customer.pk, instalment_ids=ids, kind="legal", actor=actor,
                              note=reason, today=today)
    return Text("collections.playbook.case_opened", no=case.number, n=len(ids))


def _claim(*, company, customer, actor, reason, today, claim=None, **_kw):
    from .models import Case, CaseStatus

    if not Case.objects.filter(customer=customer).exclude(status=CaseStatus.CLOSED).exists():
        raise Skip(Text("collections.playbook.no_claim"))
    claim = claim or {}
    case = services.prepare_claim(company=company, customer_id=customer.pk, actor=actor, today=today,
                                  accepted_on=claim.get("accepted_on"), deadline=claim.get("deadline"),
                                  administrator=claim.get("administrator") or "")
    return Text("collections.playbook.claim", principal=case.claim_principal_amount,
                interest=case.claim_interest_amount, date=case.court_accepted_on or today)


def _notify(*, company, customer, actor, reason, today, **_kw):
    from .models import Task, TaskStatus

    people = [customer.owner] if customer.owner_id else []
    people += list(User.objects.filter(companies=company, role=Role.LEGAL, is_active=True).order_by("pk"))
    # running a playbook again does not duplicate the open notifications of an earlier run
    waiting = set(Task.objects.filter(customer=customer, source="playbook", status=TaskStatus.OPEN)
                  .values_list("owner_id", flat=True))
    for user in dict.fromkeys(people):
        if user.pk in waiting:
            continue
        services.create_task(company=company, customer_id=customer.pk, kind=TaskKind.OTHER, due=today, owner=user,
                             note=reason, source="playbook", actor=None)
    return Text("collections.playbook.notified", n=len(dict.fromkeys(people)))


PLAYBOOKS: dict[str, tuple[object, tuple[Step, ...]]] = {
    "bankruptcy": (_("Customer bankruptcy / insolvency"), (
        Step("hold", _("Place a credit hold"), _hold),
        Step("reject_orders", _("Reject open orders"), _reject_orders),
        Step("escalate", _("Open a legal case for every open item"), _escalate),
        Step("claim", _("Stop dunning and prepare the claim (债权申报)"), _claim),
        Step("notify", _("Notify the owner and the legal team"), _notify),
    )),
    "fraud": (_("Suspected fraud"), (
        Step("hold", _("Place a credit hold"), _hold),
        Step("reject_orders", _("Reject open orders"), _reject_orders),
        Step("notify", _("Notify the owner and the legal team"), _notify),
    )),
}


texts.register_choices("collections.step_status", StepStatus)
for _code, (_title, _steps) in PLAYBOOKS.items():
    texts.register({f"collections.playbook.{_code}": _title})
    texts.register({f"collections.playbook_step.{s.code}": s.label for s in _steps})


def run_playbook(*, company, customer, code: str, actor, today: dt.date, note: str = "", claim: dict | None = None) -> PlaybookRun:
    """Run every step of playbook ``code`` for ``customer`` (already loaded in the actor's scope).

    ``claim`` (bankruptcy): ``accepted_on`` (the court's acceptance date), ``deadline``, ``administrator``.
    Running it again is harmless: the hold and the case are kept, the claim re-stated, open notifications
    not duplicated; a step with nothing to do is recorded as skipped."""
    if actor is None or not actor.can("collections.playbook"):
        raise NotAllowed(_("You are not allowed to do this."))
    if code not in PLAYBOOKS:
        raise services.CollectionsError(_("Unknown playbook."))
    _title, steps = PLAYBOOKS[code]
    note = str(note or "").strip()[:250]
    title = Text(f"collections.playbook.{code}")
    reason = (Text("collections.playbook.reason_note", title=title, note=note) if note
              else Text("collections.playbook.reason", title=title))
    with transaction.atomic():
        run = PlaybookRun.objects.create(company=company, customer=customer, playbook=code, note=str(note)[:300],
                                         started_by=actor)
    results = []
    for seq, step in enumerate(steps, start=1):
        try:
            detail, status = step.run(company=company, customer=customer, actor=actor, reason=reason, today=today,
                                      claim=claim), "done"
        except Skip as exc:
            detail, status = exc.detail, "skipped"
        except DomainError as exc:
            with translation.override("en"):  # a formatted message is at least kept in the source language
                detail, status = texts.from_error(exc), "failed"
        results.append((seq, step.code, status, detail))
    with transaction.atomic():
        PlaybookStep.objects.bulk_create([PlaybookStep(run=run, seq=s, code=c, status=st, detail=d)
                                          for s, c, st, d in results])
        audit.record(actor=actor, verb="collections.playbook.run", target=run, customer_id=customer.pk,
                     summary=run_summary(code, [(c, st) for _s, c, st, _d in results]),
                     data={"playbook": code, "steps": [[c, st, texts.dump(d)] for _s, c, st, d in results]})
    return run


def run_summary(code: str, steps) -> Text:
    """"<playbook>: <step> (<status>), …" as a Text (also rebuilds old audit events from their data)."""
    parts = [Text("collections.playbook.step_result", step=_step_text(code, c), status=Text(f"collections.step_status.{st}"))
             for c, st in steps if texts.is_registered(f"collections.step_status.{st}")]
    title = Text(f"collections.playbook.{code}") if texts.is_registered(f"collections.playbook.{code}") else ""
    return Text("collections.playbook.run", title=title, steps=parts)


def _step_text(code: str, step_code: str):
    key = f"collections.playbook_step.{step_code}"
    return Text(key) if texts.is_registered(key) else step_code


def step_label(code: str, step_code: str):
    for s in PLAYBOOKS.get(code, ("", ()))[1]:
        if s.code == step_code:
            return s.label
    return _step_text(code, step_code)


audit.register_verb_details({
    "collections.playbook.run": lambda ev: run_summary((ev.data or {}).get("playbook", ""),
                                                       [(s[0], s[1]) for s in (ev.data or {}).get("steps", []) if len(s) >= 2]),
})
