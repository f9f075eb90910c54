"""Payment instruments along their life: acceptance bills (承兑汇票) and cheques.

A bill is a promise, not cash, until honoured: it can be honoured only on or after its maturity date; a
dishonoured bill or a bounced cheque never became money and its payment is reversed in the same
transaction. Bill numbers are unique among the company's live bills (``services.live_bills``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit

from . import locks
from .errors import AlreadyReversed, LedgerError
from .models import BillStatus, ChequeStatus, Credit, CreditKind, Status
from .periods import check_open
from .services import _active_allocations, _customer_for, _reverse_credit_locked

BILL_NEXT = {
    BillStatus.RECEIVED: {BillStatus.ENDORSED, BillStatus.DISCOUNTED, BillStatus.HONOURED, BillStatus.DISHONOURED},
    BillStatus.ENDORSED: {BillStatus.HONOURED, BillStatus.DISHONOURED},
    BillStatus.DISCOUNTED: {BillStatus.HONOURED, BillStatus.DISHONOURED},
}
CHEQUE_NEXT = {ChequeStatus.PENDING: {ChequeStatus.CLEARED, ChequeStatus.BOUNCED}}
# statuses in which a bill is still not money: we hold it, or passed it on and stay liable until it is paid
OUTSTANDING_BILL = (BillStatus.RECEIVED, BillStatus.ENDORSED, BillStatus.DISCOUNTED)


def status_label(code: str) -> str:
    labels = {**dict(BillStatus.choices), **dict(ChequeStatus.choices)}
    return str(labels.get(code, code))


def next_statuses(credit: Credit) -> list[tuple[str, str]]:
    """The statuses the instrument may move to next, as (code, label) for a choice list."""
    if credit.bill_status:
        nxt, choices = BILL_NEXT.get(credit.bill_status, set()), BillStatus.choices
    elif credit.cheque_status:
        nxt, choices = CHEQUE_NEXT.get(credit.cheque_status, set()), ChequeStatus.choices
    else:
        return []
    return [(v, label) for v, label in choices if v in nxt]


@transaction.atomic(durable=True)
def set_instrument_status(*, company, credit_id: int, status: str, actor, on: dt.date, note: str = "") -> Credit:
    """Move an acceptance bill (received → endorsed / discounted → honoured / dishonoured) or a cheque
    (pending → cleared / bounced) along its life, on the business date ``on``.

    A bill is honoured only on or after its maturity date. A dishonoured bill or a bounced cheque never
    became money: the payment is reversed in the same transaction (its allocations undone, the customer's
    balance restored, a reversal entry written). Locks the customer, then the payment's instalments, then
    the payment.
    """
    try:
        head = Credit.objects.get(pk=credit_id, company=company, kind=CreditKind.PAYMENT)
    except Credit.DoesNotExist as exc:
        raise LedgerError(_("Unknown payment.")) from exc
    _customer_for(company, head.customer_id)
    locks.instalments(_active_allocations(credit_id=credit_id).values_list("instalment_id", flat=True))
    credit = locks.credit(credit_id)
    if credit.status != Status.POSTED:
        raise AlreadyReversed(_("This payment has been reversed."))
    if credit.bill_status:
        field, allowed, current = "bill_status", BILL_NEXT.get(credit.bill_status, set()), credit.bill_status
    elif credit.cheque_status:
        field, allowed, current = "cheque_status", CHEQUE_NEXT.get(credit.cheque_status, set()), credit.cheque_status
    else:
        raise LedgerError(_("Only acceptance bills and cheques have a status to follow."))
    if status not in allowed:
        raise LedgerError(
            _("A %(kind)s cannot go from %(old)s to %(new)s.")
            % {"kind": credit.get_method_display(), "old": status_label(current), "new": status_label(status) or "—"},
            field="status",
        )
    if status == BillStatus.HONOURED and credit.bill_maturity_date and on < credit.bill_maturity_date:
        raise LedgerError(_("Bill %(bill)s matures on %(date)s; it cannot be honoured before then.")
                          % {"bill": credit.bill_number, "date": credit.bill_maturity_date.isoformat()}, field="status")
    Credit.objects.filter(pk=credit.pk).update(**{field: status}, updated_at=timezone.now())
    check_open(company.pk, on, field="on")
    audit.record(actor=actor, verb="ledger.instrument.status", target=credit, summary=f"{credit.number} {current} → {status}",
                 data={"field": field, "before": current, "after": status, "note": note, "on": on})
    if status in (BillStatus.DISHONOURED, ChequeStatus.BOUNCED):
        credit.refresh_from_db()
        reason = str(_("%(number)s %(status)s") % {"number": credit.bill_number or credit.reference or credit.number,
                                                   "status": status_label(status)})
        _reverse_credit_locked(credit, on=on, actor=actor, reason=(note or reason)[:300])
        audit.record(actor=actor, verb="ledger.credit.reversed", target=credit, summary=reason[:300],
                     data={"amount": credit.amount, "reason": reason})
    credit.refresh_from_db()
    return credit
