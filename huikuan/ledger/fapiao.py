"""Fapiao records: tax fapiao issued in the tax system (Huikuan issues none), linked to receivables.

Rules (each refusal a ``LedgerError`` naming its field, in the user's language):
- no issue date after ``today`` (default: the company's today), and a red fapiao not before its original;
- against a document, the net fapiao amount — issued fapiao less their red reversals, void ones ignored —
  never exceeds the document's amount (``OverFapiao``); a reversed document takes no new fapiao;
- a red fapiao (红字发票) reverses all or part of one issued fapiao: several partial ones are allowed
  while something is left; the original is ``partly_red`` until nothing is left, then ``red_reversed``.

Every write locks the customer first (the ledger's lock order), which serialises the sums above.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.money import ZERO, MoneyField

from .errors import AlreadyReversed, DuplicateNumber, LedgerError, OverFapiao, WrongCustomer
from .models import Fapiao, FapiaoStatus, FapiaoType, ReceivableDocument, Status
from .services import _amount, _customer_for, check_not_future, today_of

REDUCIBLE = (FapiaoStatus.ISSUED, FapiaoStatus.PARTLY_RED)


def net_fapiao_amount(document_id: int) -> Decimal:
    """Σ fapiao on the document, red ones negative, void ones ignored (SQL)."""
    total = (Fapiao.objects.filter(document_id=document_id).exclude(status=FapiaoStatus.VOID)
             .aggregate(s=Sum("amount", output_field=MoneyField()))["s"])
    return total or ZERO


def fapiao_room(document_ids) -> dict[int, tuple[Decimal, str]]:
    """For each document: (how much fapiao it may still take, why none when it is reversed — else ""),
    in one grouped query per 1,000 documents (the import preview checks a whole file with it)."""
    ids = sorted(set(document_ids))
    out: dict[int, tuple[Decimal, str]] = {}
    for start in range(0, len(ids), 1000):
        rows = (ReceivableDocument.objects.filter(pk__in=ids[start : start + 1000])
                .annotate(net=Sum("fapiaos__amount", filter=~Q(fapiaos__status=FapiaoStatus.VOID),
                                  output_field=MoneyField()))
                .values_list("pk", "number", "total_amount", "status", "net"))
        for pk, number, total, status, net in rows:
            why = (str(_("%(number)s has been reversed; record no fapiao against it.") % {"number": number})
                   if status == Status.REVERSED else "")
            out[pk] = (max(total - (net or ZERO), ZERO), why)
    return out


def red_left(fapiao: Fapiao) -> Decimal:
    """What is still reversible on an issued fapiao: its amount less the red fapiao recorded against it."""
    reds = fapiao.red_reversals.aggregate(s=Sum("amount", output_field=MoneyField()))["s"] or ZERO
    return fapiao.amount + reds  # reds are negative


def _duplicate(number: str, field: str) -> DuplicateNumber:
    return DuplicateNumber(_("Fapiao %(number)s is already recorded.") % {"number": number}, field=field)


@transaction.atomic(durable=True)
def record_fapiao(*, company, customer_id: int, number: str, fapiao_type: str, issue_date: dt.date, amount,
                  actor, document_id: int | None = None, today: dt.date | None = None) -> Fapiao:
    """Record a fapiao issued in the tax system. Against a document, the document's net fapiao amount may
    not go above its amount (OverFapiao on ``amount``). Locks the customer."""
    customer = _customer_for(company, customer_id)
    amount = _amount(amount, customer.currency)
    number = (number or "").strip()
    if not number:
        raise LedgerError(_("Enter the fapiao number."), field="number")
    if fapiao_type not in FapiaoType.values:
        raise LedgerError(_("Choose the fapiao type."), field="fapiao_type")
    if issue_date is None:
        raise LedgerError(_("Enter the issue date."), field="issue_date")
    check_not_future(issue_date, today=today_of(company, today), field="issue_date")
    if document_id is not None:
        doc = ReceivableDocument.objects.filter(pk=document_id, customer=customer).first()
        if doc is None:
            raise WrongCustomer(_("The document belongs to another customer."), field="document")
        if doc.status == Status.REVERSED:
            raise OverFapiao(_("%(number)s has been reversed; record no fapiao against it.") % {"number": doc.number},
                             field="document")
        already = net_fapiao_amount(doc.pk)
        if already + amount > doc.total_amount:
            raise OverFapiao(
                _("%(number)s is for %(total)s and already has fapiao for %(already)s (net of red reversals): at "
                  "most %(left)s more can be recorded against it.")
                % {"number": doc.number, "total": doc.total_amount, "already": already,
                   "left": max(doc.total_amount - already, ZERO)},
                field="amount")
    if Fapiao.objects.filter(company=company, number=number).exists():
        raise _duplicate(number, "number")
    try:
        with transaction.atomic():
            f = Fapiao.objects.create(company=company, customer=customer, document_id=document_id, number=number,
                                      fapiao_type=fapiao_type, issue_date=issue_date, amount=amount, created_by=actor)
    except IntegrityError as exc:
        raise _duplicate(number, "number") from exc
    audit.record(actor=actor, verb="ledger.fapiao.recorded", target=f, summary=f"{number} {amount}",
                 data={"amount": amount, "document_id": document_id, "issue_date": issue_date})
    return f


@transaction.atomic(durable=True)
def red_reverse_fapiao(*, company, fapiao_id: int, red_number: str, issue_date: dt.date, actor, amount=None,
                       today: dt.date | None = None) -> Fapiao:
    """Record a red-letter fapiao (红字发票) reversing ``amount`` of an issued fapiao (default: all that is
    left of it). Partial reversals may follow one another until nothing is left (OverFapiao beyond it).
    Dated from the original's issue date to ``today``. Locks the customer, then the fapiao."""
    try:
        head = Fapiao.objects.only("customer_id").get(pk=fapiao_id, company=company)
    except Fapiao.DoesNotExist as exc:
        raise LedgerError(_("Unknown fapiao.")) from exc
    customer = _customer_for(company, head.customer_id)
    orig = Fapiao.objects.select_for_update().get(pk=fapiao_id)
    if orig.status not in REDUCIBLE or orig.amount < 0:
        raise AlreadyReversed(_("This fapiao has already been reversed."))
    red_number = (red_number or "").strip()
    if not red_number or Fapiao.objects.filter(company=company, number=red_number).exists():
        raise DuplicateNumber(_("Enter a new, unused red fapiao number."), field="red_number")
    if issue_date is None:
        raise LedgerError(_("Enter the issue date."), field="issue_date")
    check_not_future(issue_date, today=today_of(company, today), field="issue_date")
    if issue_date < orig.issue_date:
        raise LedgerError(_("A red fapiao cannot be dated before the fapiao it reverses (%(date)s).")
                          % {"date": orig.issue_date.isoformat()}, field="issue_date")
    left = red_left(orig)
    amount = left if amount in (None, "") else _amount(amount, customer.currency)
    if amount > left:
        raise OverFapiao(_("Only %(left)s of fapiao %(number)s is left to reverse.")
                         % {"left": left, "number": orig.number}, field="amount")
    try:
        with transaction.atomic():
            red = Fapiao.objects.create(company=company, customer_id=orig.customer_id, document_id=orig.document_id,
                                        number=red_number, fapiao_type=orig.fapiao_type, issue_date=issue_date,
                                        amount=-amount, red_of=orig, created_by=actor)
    except IntegrityError as exc:
        raise DuplicateNumber(_("Enter a new, unused red fapiao number."), field="red_number") from exc
    orig.status = FapiaoStatus.RED_REVERSED if amount == left else FapiaoStatus.PARTLY_RED
    orig.save(update_fields=["status", "updated_at"])
    audit.record(actor=actor, verb="ledger.fapiao.red_reversed", target=orig, summary=f"{red_number} {amount}",
                 data={"red": red_number, "amount": amount, "left": left - amount})
    return red
