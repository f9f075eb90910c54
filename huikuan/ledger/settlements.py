"""Settling the short rest of an instalment a payment almost paid: bank charges and rounded discounts.

- ``record_bank_charge``: the customer paid an instalment but the banks deducted their charge (手续费)
  on the way. The missing amount is settled by a ``bank_charge`` credit whose parent is the payment:
  it is audited, shown on the customer statement as a bank charge, and reversed with the payment
  (``reverse_credit`` reverses a credit's children; ``reverse_allocation`` the children on the same
  instalment).
- ``allocate_with_discount``: the customer took the early-payment discount but computed it with the
  other rounding (98 % of 1,234.57); the discount granted is what settles the instalment, allowed to
  differ from the stated discount by at most ``rounding`` (one minor unit per item at most).

Both are durable services for the ledger's own callers and run inside the bank application's
transaction through their undecorated bodies (``__wrapped__``), as ``record_payment`` does. Locks:
customer → instalment → payment (the project-wide order).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.money import ZERO, money_value
from huikuan.common.numbering import next_number

from . import calculations as calc
from . import locks
from .errors import AlreadyReversed, LedgerError, OverAllocation, WrongCustomer
from .models import Allocation, Credit, CreditKind, EntryKind, Status
from .services import (
    SERIES,
    _allocated_on,
    _amount,
    _apply_plan,
    _bump_customer,
    _customer_for,
    _entry,
    touch_documents,
)

# a bank charge larger than this share of the instalment is not a bank charge but a short payment
MAX_CHARGE_SHARE = Decimal("0.10")
MAX_DISCOUNT_ROUNDING = Decimal("0.01")  # one minor unit per item


def _payment_and_instalment(company, payment_id: int, instalment_id: int):
    try:
        head = Credit.objects.only("customer_id").get(pk=payment_id, company=company)
    except Credit.DoesNotExist as exc:
        raise LedgerError(_("Unknown payment."), field="credit") from exc
    customer = _customer_for(company, head.customer_id)
    insts = locks.instalments([instalment_id])
    if not insts or insts[0].company_id != company.pk:
        raise WrongCustomer(_("Unknown instalment."), field="instalment")
    inst = insts[0]
    if inst.customer_id != head.customer_id:
        raise WrongCustomer(_("A payment can only be applied to its own customer's items."), field="instalment")
    payment = locks.credit(payment_id)
    if payment.status != Status.POSTED:
        raise AlreadyReversed(_("This payment has been reversed."))
    if payment.kind != CreditKind.PAYMENT:
        raise LedgerError(_("Only a payment can carry a bank charge or an early-payment discount."), field="credit")
    return customer, inst, payment


@transaction.atomic(durable=True)
def record_bank_charge(*, company, payment_id: int, instalment_id: int, amount, actor, on: dt.date,
                       tolerance: Decimal) -> Credit:
    """Settle ``amount`` of an instalment as the bank charge deducted from ``payment``.

    The payment must already be allocated to the instalment (the charge is what the banks kept of it).
    Refuses (``OverAllocation``) a charge above ``tolerance``, above the instalment's open amount or
    above ``MAX_CHARGE_SHARE`` of the instalment. Returns the ``bank_charge`` credit (child of the payment).
    """
    customer, inst, payment = _payment_and_instalment(company, payment_id, instalment_id)
    fee = _amount(amount, payment.currency, field="amount")
    if fee > tolerance:
        raise OverAllocation(_("A bank charge of %(fee)s is more than the tolerance %(tolerance)s.")
                             % {"fee": fee, "tolerance": tolerance}, field="amount")
    if fee > inst.open_amount:
        raise OverAllocation(_("The allocation exceeds the instalment's open amount."), field="amount")
    if fee > inst.amount * MAX_CHARGE_SHARE:
        raise OverAllocation(_("A bank charge of %(fee)s is too large a part of the item (%(amount)s).")
                             % {"fee": fee, "amount": inst.amount}, field="amount")
    if not Allocation.objects.filter(credit=payment, instalment=inst, reverses__isnull=True,
                                     reversed_by__isnull=True).exists():
        raise LedgerError(_("Apply the payment to the item before recording its bank charge."), field="instalment")
    charge = Credit.objects.create(
        company_id=company.pk, customer=customer, kind=CreditKind.BANK_CHARGE,
        number=next_number(company_id=company.pk, series=SERIES[CreditKind.BANK_CHARGE], year=on.year),
        date=on, currency=payment.currency, amount=fee, unapplied_amount=ZERO, parent=payment,
        document_id=inst.document_id, created_by=actor, reference=payment.reference, memo=payment.number,
    )
    Allocation.objects.create(company_id=company.pk, customer=customer, credit=charge, instalment=inst, amount=fee,
                              date=on, is_manual=False, created_by=actor)
    type(inst).objects.filter(pk=inst.pk).update(open_amount=F("open_amount") - money_value(fee), **_allocated_on(on))
    touch_documents(document_ids=[inst.document_id])
    _bump_customer(customer.pk, open_delta=-fee)
    # the summary is the payment's number; the label (手续费 / bank charge) is the entry kind's, in the reader's language
    _entry(customer=customer, date=on, kind=EntryKind.BANK_CHARGE, credit=fee, credit_obj=charge, summary=payment.number)
    audit.record(actor=actor, verb="ledger.bank_charge.recorded", target=charge, customer_id=customer.pk,
                 summary=f"{charge.number} {fee} ← {payment.number}",
                 data={"amount": fee, "payment": payment.number, "instalment_id": inst.pk})
    return charge


@transaction.atomic(durable=True)
def allocate_with_discount(*, company, payment_id: int, instalment_id: int, cash, discount, actor, on: dt.date,
                           rounding: Decimal = ZERO) -> list[Allocation]:
    """Settle an untouched instalment with ``cash`` from the payment and an early-payment discount.

    The discount must still be available on ``on`` and differ from the instalment's stated discount by
    at most ``rounding`` (≤ one minor unit); ``cash + discount`` must equal the open amount exactly, so
    nothing is ever over-applied and no fen is left open. Raises ``OverAllocation`` otherwise.
    """
    if rounding < 0 or rounding > MAX_DISCOUNT_ROUNDING:
        raise LedgerError(_("The discount rounding may be at most one minor unit."), field="rounding")
    customer, inst, payment = _payment_and_instalment(company, payment_id, instalment_id)
    cash = _amount(cash, payment.currency, field="amount")
    disc = _amount(discount, payment.currency, field="amount", allow_zero=True)
    stated = calc.discount_available(calc.OpenItem(inst.pk, inst.due_date, inst.open_amount, inst.amount,
                                                   inst.discount_amount, inst.discount_date), on)
    if stated <= 0 or disc <= 0 or abs(disc - stated) > rounding or cash + disc != inst.open_amount:
        raise OverAllocation(_("The early-payment discount of %(number)s is not available.")
                             % {"number": inst.document.number}, field="amount")
    if cash > payment.unapplied_amount:
        raise OverAllocation(_("The allocation exceeds the unapplied amount %(left)s.")
                             % {"left": payment.unapplied_amount}, field="amount")
    made = _apply_plan(credit=payment, customer=customer, by_id={inst.pk: inst},
                       plan=[calc.PlanLine(inst.pk, cash, disc)], on=on, actor=actor, manual=False)
    audit.record(actor=actor, verb="ledger.credit.allocated", target=payment, customer_id=customer.pk,
                 summary=f"{payment.number} → 1",
                 data={"auto": False, "plan": [[inst.pk, cash, disc]], "stated_discount": stated})
    return made
