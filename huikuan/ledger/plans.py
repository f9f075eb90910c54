"""Payment plans (分期 / 展期) at the ledger level: replace open instalments with a new schedule.

What is owed does not change: each replaced instalment keeps only what was already allocated to it
(its ``amount`` drops to amount − open, its ``open_amount`` to 0, ``replaced_on`` records the day) and
new instalments (next ``seq`` of the same document, ``plan_id`` set) carry exactly the open amount that
was replaced. Document totals, customer balances and ledger entries are untouched, so ``check_ledger``
stays clean; the history stays readable (the replaced rows and their allocations are kept). The past is
kept too: the replaced row records the open amount it handed over (``replaced_amount``) and the new rows
the day they began (``plan_from``), so aging as of a date before the plan is what it was (aging.py).

The collections app approves plans (maker-checker) and calls this inside its own transaction so the
approval and the schedule change commit together; hence ``atomic`` without ``durable``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.money import ZERO, money_value

from . import locks
from .errors import InvalidSchedule, LedgerError, WrongCustomer
from .models import Instalment, Status
from .periods import check_open
from .services import touch_documents


def _split(parts: Sequence[tuple[int, Decimal]], lines: Sequence[tuple[dt.date, Decimal]]):
    """Fill each (document, open amount) in order from the dated lines in order → [(document, date, amount)]."""
    out = []
    queue = [[d, a] for d, a in lines]
    i = 0
    for key, need in parts:
        while need > 0:
            d, avail = queue[i]
            take = min(avail, need)
            out.append((key, d, take))
            need -= take
            queue[i][1] = avail - take
            if queue[i][1] == 0:
                i += 1
    return out


@transaction.atomic
def replace_instalments(*, company, instalment_ids: Sequence[int], lines: Sequence[tuple[dt.date, Decimal]], on: dt.date,
                        actor, plan_id: int) -> list[Instalment]:
    """Replace the open part of ``instalment_ids`` (one customer) by ``lines`` [(due_date, amount)].

    Locks the customer, then the instalments by pk. Refuses (InvalidSchedule) lines that do not sum to the
    open amount replaced, non-positive amounts and dates before ``on``; items of another customer or
    company (WrongCustomer), closed, reversed or already replaced items (LedgerError). When the items span
    several documents the new lines fill the documents in the order of their earliest due date, so each
    document's instalments still sum to its total. Returns the new instalments.
    """
    ids = sorted({int(i) for i in instalment_ids})
    if not ids:
        raise LedgerError(_("Choose the instalments to replace."), field="instalments")
    heads = list(Instalment.objects.filter(pk__in=ids, company=company).order_by().values_list("customer_id", flat=True).distinct())
    if len(heads) != 1:
        raise WrongCustomer(_("A payment plan covers items of one customer."), field="instalments")
    locks.customer(heads[0], company_id=company.pk)
    rows = locks.instalments(ids)
    if len(rows) != len(ids):
        raise WrongCustomer(_("Unknown instalment."), field="instalments")
    for r in rows:
        if r.open_amount <= 0 or r.replaced_on is not None or r.document.status != Status.POSTED:
            raise LedgerError(_("Only open items that are not already in a plan can be replaced."), field="instalments")
        if r.disputed_amount > 0:
            raise LedgerError(_("Resolve the dispute on an item before putting it in a plan."), field="instalments")
    clean = []
    for d, a in lines:
        if a is None or a <= 0 or a != a.quantize(Decimal("0.01")):
            raise InvalidSchedule(_("Each new instalment needs an amount greater than zero."), field="lines")
        if d < on:
            raise InvalidSchedule(_("A new instalment cannot be due before the plan starts."), field="lines")
        clean.append((d, a.quantize(Decimal("0.01"))))
    clean.sort()
    open_total = sum((r.open_amount for r in rows), ZERO)
    line_total = sum((a for _d, a in clean), ZERO)
    if not clean or line_total != open_total:
        raise InvalidSchedule(
            _("The new instalments add up to %(total)s, but %(open)s is open on the items replaced.")
            % {"total": line_total, "open": open_total}, field="lines")

    per_doc: dict[int, Decimal] = defaultdict(lambda: ZERO)
    first_due: dict[int, tuple] = {}
    sample: dict[int, Instalment] = {}
    for r in rows:
        per_doc[r.document_id] += r.open_amount
        first_due[r.document_id] = min(first_due.get(r.document_id, (r.due_date, r.pk)), (r.due_date, r.pk))
        sample.setdefault(r.document_id, r)
    order = sorted(per_doc, key=lambda k: first_due[k])
    pieces = _split([(k, per_doc[k]) for k in order], clean)

    for r in rows:
        Instalment.objects.filter(pk=r.pk).update(
            amount=money_value(r.amount - r.open_amount), open_amount=money_value(ZERO), replaced_on=on,
            replaced_amount=money_value(r.open_amount),
            discount_amount=money_value(ZERO), discount_date=None,
        )
    next_seq = {k: v for k, v in Instalment.objects.filter(document_id__in=order).order_by().values("document_id")
                .annotate(m=Max("seq")).values_list("document_id", "m")}
    made = []
    for doc_id, due, amount in pieces:
        next_seq[doc_id] += 1
        s = sample[doc_id]
        made.append(Instalment(
            company_id=s.company_id, customer_id=s.customer_id, document_id=doc_id, seq=next_seq[doc_id],
            document_date=s.document_date, due_date=due, amount=amount, open_amount=amount,
            salesperson_id=s.salesperson_id, currency=s.currency, plan_id=plan_id, plan_from=on,
        ))
    made = Instalment.objects.bulk_create(made)
    touch_documents(document_ids=order)
    check_open(company.pk, on, field="on")
    audit.record(actor=actor, verb="ledger.instalments.replaced", target=rows[0], customer_id=rows[0].customer_id,
                 summary=f"{open_total} → {len(clean)}",
                 data={"plan_id": plan_id, "replaced": [[r.pk, r.open_amount] for r in rows],
                       "lines": [[d, a] for d, a in clean]})
    return made
