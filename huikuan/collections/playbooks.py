"""Named emergency procedures a manager triggers for one customer; each step is recorded (PlaybookStep).

A step that fails is recorded as failed with its reason and the remaining steps still run: in an
emergency the other steps must not wait for one that cannot be done (e.g. no open items to escalate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role, User
from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.credit import services as credit
from huikuan.ledger.models import Instalment

from . import services
from .models import PlaybookRun, PlaybookStep, TaskKind


@dataclass(frozen=True)
class Step:
    code: str
    label: object
    run: Callable[..., str]


def _hold(*, company, customer, actor, reason, today):
    credit.place_hold(company=company, customer_id=customer.pk, reason=reason, source="playbook", actor=actor)
    return gettext("Credit hold placed")


def _reject_orders(*, company, customer, actor, reason, today):
    n = credit.reject_open_orders(company=company, customer_id=customer.pk, reason=reason, actor=actor)
    return gettext("%(n)s open orders rejected") % {"n": n}


def _escalate(*, company, customer, actor, reason, today):
    ids = list(Instalment.objects.filter(customer=customer, open_amount__gt=0).values_list("pk", flat=True))
    case = services.open_case(company=company, customer_id=customer.pk, instalment_ids=ids, kind="legal", actor=actor,
                              note=reason, today=today)
    return gettext("Case %(no)s with %(n)s open items") % {"no": case.number, "n": len(ids)}


def _notify(*, company, customer, actor, reason, today):
    people = [customer.owner] if customer.owner_id else []
    people += list(User.objects.filter(companies=company, role=Role.LEGAL, is_active=True).order_by("pk"))
    for user in dict.fromkeys(people):
        services.create_task(company=company, customer_id=customer.pk, kind=TaskKind.OTHER, due=today, owner=user,
                             note=reason, source="playbook", actor=None)
    return gettext("%(n)s people notified") % {"n": len(dict.fromkeys(people))}


PLAYBOOKS: dict[str, tuple[object, tuple[Step, ...]]] = {
    "bankruptcy": (_("Customer bankruptcy / insolvency"), (
        Step("hold", _("Place a credit hold"), _hold),
        Step("reject_orders", _("Reject open orders"), _reject_orders),
        Step("escalate", _("Open a legal case for every open item"), _escalate),
        Step("notify", _("Notify the owner and the legal team"), _notify),
    )),
    "fraud": (_("Suspected fraud"), (
        Step("hold", _("Place a credit hold"), _hold),
        Step("reject_orders", _("Reject open orders"), _reject_orders),
        Step("notify", _("Notify the owner and the legal team"), _notify),
    )),
}


def run_playbook(*, company, customer, code: str, actor, today: dt.date, note: str = "") -> PlaybookRun:
    """Run every step of playbook ``code`` for ``customer`` (already loaded in the actor's scope)."""
    if actor is None or not actor.can("collections.playbook"):
        raise NotAllowed(_("You are not allowed to do this."))
    if code not in PLAYBOOKS:
        raise services.CollectionsError(_("Unknown playbook."))
    title, steps = PLAYBOOKS[code]
    reason = (gettext("Playbook: %(title)s") % {"title": title} + (f" — {note}" if note else ""))[:300]
    with transaction.atomic():
        run = PlaybookRun.objects.create(company=company, customer=customer, playbook=code, note=str(note)[:300],
                                         started_by=actor)
    results = []
    for seq, step in enumerate(steps, start=1):
        try:
            detail, status = step.run(company=company, customer=customer, actor=actor, reason=reason, today=today), "done"
        except DomainError as exc:
            detail, status = str(exc), "failed"
        results.append((seq, step.code, status, detail))
    with transaction.atomic():
        PlaybookStep.objects.bulk_create([PlaybookStep(run=run, seq=s, code=c, status=st, detail=str(d)[:500])
                                          for s, c, st, d in results])
        audit.record(actor=actor, verb="collections.playbook.run", target=run, customer_id=customer.pk,
                     summary=f"{title}: " + ", ".join(f"{c} {st}" for _s, c, st, _d in results),
                     data={"playbook": code, "steps": [[c, st, str(d)] for _s, c, st, d in results]})
    return run


def step_label(code: str, step_code: str):
    for s in PLAYBOOKS.get(code, ("", ()))[1]:
        if s.code == step_code:
            return s.label
    return step_code
