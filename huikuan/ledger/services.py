"""Every write to the receivables ledger.

Each public service is one durable transaction that takes row locks in the project-wide order
(customer → instalments by pk → credits by pk, see ``locks``), updates denormalised balances with
``F()`` under those locks, records an audit event, and leaves side effects to ``on_commit``.
Amounts are ``Decimal`` at the currency's minor unit; anything else raises ``InvalidAmount``.
Business dates (``document_date``, ``date``) are dates in the company's time zone. Payments and credit
notes may not be dated after ``today`` (a payment only when confirmed as post-dated): callers at the
edge pass ``today``; when they do not, the service reads the company's clock itself, so no path can
skip the rule (fapiao: ``ledger.fapiao``; acceptance bills and cheques: ``ledger.instruments``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import DateField, F, Q, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, clock
from huikuan.common.calendar import next_working_day
from huikuan.common.money import ZERO, has_valid_scale, money_value, to_decimal
from huikuan.common.numbering import next_number
from huikuan.customers.models import Customer, PaymentTerm

from . import calculations as calc
from . import locks
from .errors import (
    AlreadyReversed,
    CurrencyMismatch,
    DuplicateNumber,
    DuplicateSubmission,
    FutureDate,
    InvalidAmount,
    InvalidSchedule,
    LedgerError,
    OverAllocation,
    SelfApproval,
    TermsBeyondGrade,
    WrongCustomer,
)
from .models import (
    Allocation,
    BillStatus,
    ChequeStatus,
    Credit,
    CreditKind,
    DocumentKind,
    DocumentLine,
    EntryKind,
    Instalment,
    LedgerEntry,
    Method,
    ReceivableDocument,
    Status,
    WriteOffRequest,
    WriteOffStatus,
)
from .periods import check_open

SERIES = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.OPENING: "OB",
    DocumentKind.CHARGE: "CHG",
    CreditKind.PAYMENT: "RCV",
    CreditKind.CREDIT_NOTE: "CN",
    CreditKind.DISCOUNT: "DSC",
    CreditKind.WRITE_OFF: "WO",
    CreditKind.BANK_CHARGE: "BC",
}
# credits that settle part of an instalment on behalf of a payment or a decision; reversed as a whole,
# never allocation by allocation
SETTLING_KINDS = (CreditKind.DISCOUNT, CreditKind.WRITE_OFF, CreditKind.BANK_CHARGE)


@dataclass(frozen=True)
class LineInput:
    description: str
    amount: Decimal
    quantity: str = ""
    unit_price: str = ""


@dataclass(frozen=True)
class ScheduleInput:
    due_date: dt.date
    amount: Decimal
    discount_amount: Decimal = ZERO
    discount_date: dt.date | None = None


@dataclass(frozen=True)
class AllocationInput:
    instalment_id: int
    amount: Decimal


# ---------------------------------------------------------------- helpers

# One amount may not exceed 1,000,000,000,000 (a trillion); balances are sums of BIGINT fen.
MAX_AMOUNT = Decimal("999999999999.99")


def _amount(value, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    try:
        d = to_decimal(value)
    except (ValueError, TypeError) as exc:
        raise InvalidAmount(_("Enter a valid amount."), field=field) from exc
    if not d.is_finite():
        raise InvalidAmount(_("Enter a valid amount."), field=field)
    if d < 0 or (d == 0 and not allow_zero):
        raise InvalidAmount(_("The amount must be greater than zero."), field=field)
    if d > MAX_AMOUNT:  # also keeps quantize() and the BIGINT fen columns (and their sums) in range
        raise InvalidAmount(_("The amount is too large."), field=field)
    if not has_valid_scale(d, currency):
        raise InvalidAmount(
            _("%(currency)s amounts cannot have more decimals than the currency allows.") % {"currency": currency},
            field=field,
        )
    return d.quantize(Decimal("0.01"))


def term_spec(term: PaymentTerm | None) -> calc.TermSpec:
    if term is None:
        return calc.TermSpec(kind="net", days=0)
    return calc.TermSpec(
        kind=term.kind,
        days=term.days,
        split=tuple((to_decimal(str(x["percent"])), int(x["days"])) for x in term.split_lines or ()),
        discount_percent=to_decimal(str(term.discount_percent)),
        discount_days=term.discount_days,
    )


def proposed_schedule(
    *, company, total: Decimal, document_date: dt.date, term: PaymentTerm | None, currency: str = "CNY"
) -> list[calc.ScheduleLine]:
    """The schedule a document would get from its terms (shown, editable, before posting)."""
    roll = None
    if (term is not None and term.roll_to_working_day) or company.roll_due_to_working_day:
        roll = next_working_day
    return calc.build_schedule(
        total=total, document_date=document_date, terms=term_spec(term), currency=currency, roll=roll
    )


def _entry(*, customer: Customer, date, kind, debit=ZERO, credit=ZERO, document=None, credit_obj=None, summary=""):
    """Append a ledger entry dated ``date``; PeriodClosed when that date is in a closed month (checked
    after the insert, see ``periods``: every posting, credit, write-off and reversal writes one)."""
    entry = LedgerEntry.objects.create(
        company_id=customer.company_id,
        customer=customer,
        date=date,
        kind=kind,
        debit_amount=debit,
        credit_amount=credit,
        document=document,
        credit=credit_obj,
        summary=str(summary)[:200],
    )
    check_open(customer.company_id, date)
    return entry


def _bump_customer(customer_id: int, *, open_delta: Decimal = ZERO, unapplied_delta: Decimal = ZERO) -> None:
    changes = {}
    if open_delta:
        changes["open_amount"] = F("open_amount") + money_value(open_delta)
    if unapplied_delta:
        changes["unapplied_amount"] = F("unapplied_amount") + money_value(unapplied_delta)
    if changes:
        # balances are not master data: leave ``version`` (the edit-conflict check of the customer form) alone;
        # ``updated_at`` moves so an API sync (``updated_since``) sees the new balances
        Customer.objects.filter(pk=customer_id).update(**changes, updated_at=timezone.now())


def touch_documents(*, document_ids=(), instalment_ids=()) -> None:
    """Move ``updated_at`` of the documents given, and of those of the instalments given: an instalment's
    amounts and dates are part of its document for an API sync (``updated_since``)."""
    now = timezone.now()
    if document_ids:
        ReceivableDocument.objects.filter(pk__in=list(document_ids)).update(updated_at=now)
    if instalment_ids:
        ReceivableDocument.objects.filter(
            pk__in=Instalment.objects.filter(pk__in=list(instalment_ids)).values("document_id")
        ).update(updated_at=now)


def _allocated_on(on: dt.date) -> dict:
    """Instalment updates for an allocation row dated ``on`` (first/last allocation dates, see the model)."""
    day = Value(on, output_field=DateField())
    return {"first_allocated_on": Least(Coalesce(F("first_allocated_on"), day), day),
            "last_allocated_on": Greatest(Coalesce(F("last_allocated_on"), day), day)}


# A confirmed post-dated payment may lie at most this far ahead (a typo guard: 2062 for 2026).
POST_DATED_MAX_DAYS = 366


def today_of(company, today: dt.date | None) -> dt.date:
    """``today`` as given by the caller (views, commands and tasks read the clock), else the company's."""
    return today or clock.today(company)


def check_not_future(day: dt.date | None, *, today: dt.date, field: str = "date") -> None:
    """Refuse a business date after ``today`` (FutureDate on ``field``)."""
    if day is not None and day > today:
        raise FutureDate(_("The date %(date)s is after today (%(today)s).")
                         % {"date": day.isoformat(), "today": today.isoformat()}, field=field)


def check_payment_date(day: dt.date | None, *, today: dt.date, post_dated: bool = False) -> None:
    """A payment dated after ``today`` only when confirmed as post-dated, and then at most a year ahead."""
    if day is None or day <= today:
        return
    if not post_dated:
        raise FutureDate(
            _("The date %(date)s is after today (%(today)s). If the money really arrives on that date, confirm it "
              "as a post-dated payment.") % {"date": day.isoformat(), "today": today.isoformat()},
            field="date", post_dated=True)
    if (day - today).days > POST_DATED_MAX_DAYS:
        raise FutureDate(_("A post-dated payment can be at most a year ahead."), field="date")


def _check_request_key(model, request_key):
    if request_key and model.objects.filter(request_key=request_key).exists():
        raise DuplicateSubmission()


def _customer_for(company, customer_id) -> Customer:
    try:
        return locks.customer(customer_id, company_id=company.pk)
    except Customer.DoesNotExist as exc:
        raise WrongCustomer(_("Unknown customer."), field="customer") from exc


def _open_items(instalments: Sequence[Instalment]) -> list[calc.OpenItem]:
    return [
        calc.OpenItem(
            instalment_id=i.pk,
            due_date=i.due_date,
            open_amount=i.open_amount,
            amount=i.amount,
            discount_amount=i.discount_amount,
            discount_date=i.discount_date,
        )
        for i in instalments
    ]


# ---------------------------------------------------------------- documents


# The credit app (a higher layer) registers the check that keeps a document's own terms within the customer's
# grade: ``check(customer=, days=) -> message | None``, where ``days`` is the longest credit the document gives
# (its last due date − its document date). Only documents that depart from the customer's terms are checked:
# another payment term or a hand-made schedule (the customer's own terms went through the terms control).
_DOCUMENT_TERMS_CHECKS: list[Callable] = []


def register_document_terms_check(check: Callable) -> None:
    if check not in _DOCUMENT_TERMS_CHECKS:
        _DOCUMENT_TERMS_CHECKS.append(check)


def document_terms_problem(*, customer, document_date: dt.date, parts, own_terms: bool,
                           memo: dict | None = None) -> str | None:
    """The refusal message when a document's own terms exceed what the customer's grade allows, else None.
    ``memo`` (one dict per check, kept by a bulk caller for its batch) lets a check read each customer once."""
    if own_terms or not parts or not _DOCUMENT_TERMS_CHECKS:
        return None
    days = (max(p.due_date for p in parts) - document_date).days
    for n, check in enumerate(_DOCUMENT_TERMS_CHECKS):
        problem = check(customer=customer, days=days, memo=None if memo is None else memo.setdefault(n, {}))
        if problem:
            return problem
    return None


@transaction.atomic(durable=True)
def post_document(
    *,
    company,
    customer_id: int,
    document_date: dt.date,
    actor,
    kind: str = DocumentKind.INVOICE,
    number: str = "",
    total=None,
    lines: Sequence[LineInput] = (),
    currency: str | None = None,
    salesperson_id: int | None = None,
    payment_term_id: int | None = None,
    schedule: Sequence[ScheduleInput] | None = None,
    reference: str = "",
    description: str = "",
    request_key: str | None = None,
    external_source: str = "",
    external_key: str = "",
) -> ReceivableDocument:
    """Post a receivable document with its instalment schedule.

    The schedule is derived from the payment terms unless given; it must sum exactly to the total.
    Locks the customer. Raises InvalidAmount, CurrencyMismatch, InvalidSchedule, DuplicateNumber.
    """
    _check_request_key(ReceivableDocument, request_key)
    check_open(company.pk, document_date, field="document_date")
    customer = _customer_for(company, customer_id)
    currency = currency or customer.currency
    if currency != customer.currency:
        raise CurrencyMismatch(
            _("This customer's account is kept in %(currency)s.") % {"currency": customer.currency}, field="currency"
        )
    if kind not in DocumentKind.values:
        raise LedgerError(_("Unknown document kind."), field="kind")
    clean_lines = [
        LineInput(
            description=ln.description,
            amount=_amount(ln.amount, currency, field="lines"),
            quantity=ln.quantity,
            unit_price=ln.unit_price,
        )
        for ln in lines
    ]
    if clean_lines:
        line_total = sum((ln.amount for ln in clean_lines), ZERO)
        if total not in (None, "") and _amount(total, currency, field="total") != line_total:
            raise InvalidAmount(_("The total does not equal the sum of the lines."), field="total")
        total = line_total
    if total in (None, ""):
        raise InvalidAmount(_("Enter the total or at least one line."), field="total")
    total = _amount(total, currency, field="total")

    term = None
    if payment_term_id:
        term = PaymentTerm.objects.filter(pk=payment_term_id, company=company).first()
        if term is None:
            raise LedgerError(_("Unknown payment terms."), field="payment_term")
    elif customer.payment_term_id:
        term = customer.payment_term

    if schedule:
        parts = []
        for i, s in enumerate(schedule, start=1):
            amt = _amount(s.amount, currency, field="schedule")
            disc = _amount(s.discount_amount or ZERO, currency, field="schedule", allow_zero=True)
            if disc >= amt:
                raise InvalidSchedule(_("A discount must be smaller than its instalment."), field="schedule")
            parts.append(calc.ScheduleLine(i, s.due_date, amt, disc, s.discount_date if disc else None))
        if sum((p.amount for p in parts), ZERO) != total:
            raise InvalidSchedule(
                _("The instalments add up to %(sum)s, not the document total %(total)s.")
                % {"sum": sum((p.amount for p in parts), ZERO), "total": total},
                field="schedule",
            )
    else:
        parts = proposed_schedule(company=company, total=total, document_date=document_date, term=term, currency=currency)
        if any(p.amount <= 0 for p in parts):  # e.g. 0.10 split 20 × 5 %: the rounded parts overshoot
            raise InvalidSchedule(
                _("This total is too small to split by these payment terms; enter the schedule by hand."),
                field="schedule",
            )

    own = not schedule and (not payment_term_id or payment_term_id == customer.payment_term_id)
    problem = document_terms_problem(customer=customer, document_date=document_date, parts=parts, own_terms=own)
    if problem:
        raise TermsBeyondGrade(problem, field="schedule" if schedule else "payment_term")

    number = (number or "").strip()
    if not number:
        number = next_number(company_id=company.pk, series=SERIES[kind], year=document_date.year)
    elif ReceivableDocument.objects.filter(company=company, number=number).exists():
        raise DuplicateNumber(_("Document number %(number)s already exists.") % {"number": number}, field="number")

    salesperson_id = salesperson_id or customer.owner_id
    try:
        with transaction.atomic():
            doc = ReceivableDocument.objects.create(
                company=company,
                customer=customer,
                kind=kind,
                number=number,
                document_date=document_date,
                currency=currency,
                total_amount=total,
                salesperson_id=salesperson_id,
                payment_term=term,
                reference=reference,
                description=description,
                request_key=request_key or None,
                external_source=external_source,
                external_key=external_key,
                created_by=actor,
            )
    except IntegrityError as exc:
        if request_key and ReceivableDocument.objects.filter(request_key=request_key).exists():
            raise DuplicateSubmission() from exc
        raise DuplicateNumber(_("Document number %(number)s already exists.") % {"number": number}, field="number") from exc
    DocumentLine.objects.bulk_create(
        [DocumentLine(document=doc, description=ln.description, quantity=ln.quantity, unit_price=ln.unit_price, amount=ln.amount) for ln in clean_lines]
    )
    Instalment.objects.bulk_create(
        [
            Instalment(
                company=company,
                customer=customer,
                document=doc,
                seq=p.seq,
                document_date=document_date,
                due_date=p.due_date,
                amount=p.amount,
                open_amount=p.amount,
                discount_amount=p.discount_amount,
                discount_date=p.discount_date,
                salesperson_id=salesperson_id,
                currency=currency,
            )
            for p in parts
        ]
    )
    _entry(customer=customer, date=document_date, kind=EntryKind.DOCUMENT, debit=total, document=doc,
           summary=description or doc.get_kind_display())
    _bump_customer(customer.pk, open_delta=total)
    audit.record(
        actor=actor, verb="ledger.document.posted", target=doc, summary=f"{number} {total} {currency}",
        data={"total": total, "kind": kind, "instalments": [[p.due_date, p.amount] for p in parts]},
        business_date=document_date,
    )
    return doc


# ---------------------------------------------------------------- credits & allocation


def _apply_plan(*, credit: Credit, customer: Customer, by_id: dict[int, Instalment], plan, on: dt.date, actor, manual: bool) -> list[Allocation]:
    made: list[Allocation] = []
    cash_total = ZERO
    open_total = ZERO
    for line in plan:
        inst = by_id[line.instalment_id]
        if line.amount > 0:
            made.append(Allocation.objects.create(
                company_id=credit.company_id, customer=customer, credit=credit, instalment=inst,
                amount=line.amount, date=on, is_manual=manual, created_by=actor,
            ))
        if line.discount > 0:
            disc = Credit.objects.create(
                company_id=credit.company_id, customer=customer, kind=CreditKind.DISCOUNT,
                number=next_number(company_id=credit.company_id, series=SERIES[CreditKind.DISCOUNT], year=on.year),
                date=on, currency=credit.currency, amount=line.discount, unapplied_amount=ZERO,
                parent=credit, document_id=inst.document_id, created_by=actor,
                memo=str(_("Early-payment discount")),
            )
            made.append(Allocation.objects.create(
                company_id=credit.company_id, customer=customer, credit=disc, instalment=inst,
                amount=line.discount, date=on, is_manual=manual, created_by=actor,
            ))
            _entry(customer=customer, date=on, kind=EntryKind.DISCOUNT, credit=line.discount, credit_obj=disc,
                   summary=_("Early-payment discount"))
        Instalment.objects.filter(pk=inst.pk).update(open_amount=F("open_amount") - money_value(line.amount + line.discount),
                                                     **_allocated_on(on))
        cash_total += line.amount
        open_total += line.amount + line.discount
    if made:
        check_open(credit.company_id, on)  # allocations without a ledger entry (a manual allocation)
    if cash_total:
        Credit.objects.filter(pk=credit.pk).update(unapplied_amount=F("unapplied_amount") - money_value(cash_total),
                                                   updated_at=timezone.now())
    touch_documents(instalment_ids=[a.instalment_id for a in made])
    _bump_customer(customer.pk, open_delta=-open_total, unapplied_delta=-cash_total)
    return made


BILL_METHODS = (Method.BANK_ACCEPTANCE, Method.COMMERCIAL_ACCEPTANCE)


def normalise_bill_number(value: str) -> str:
    """Bill numbers are printed in groups ("1304 5678 …"): spaces dropped, letters in capitals."""
    return "".join((value or "").split()).upper()


def live_bills(company_id: int):
    """Credits whose acceptance-bill number is taken: a bill we hold or passed on (posted), or one that was
    dishonoured (its payment reversed). A payment reversed as a mistake frees its number for a correct entry.
    The same condition backs the ``credit_bill_number_unique`` index."""
    return (Credit.objects.filter(company_id=company_id).exclude(bill_number="")
            .filter(Q(status=Status.POSTED) | Q(bill_status=BillStatus.DISHONOURED)))


def _bill_taken_error(number: str, receipt: str) -> DuplicateNumber:
    return DuplicateNumber(_("Acceptance bill %(bill)s is already recorded (receipt %(receipt)s).")
                           % {"bill": number, "receipt": receipt}, field="bill_number")


def _check_bill_unique(company_id: int, bill_number: str) -> None:
    taken = live_bills(company_id).filter(bill_number=bill_number).values_list("number", flat=True).first()
    if taken is not None:
        raise _bill_taken_error(bill_number, taken)


def _validate_bill(method, bill_number, bill_maturity_date, date):
    if method in BILL_METHODS:
        if not bill_number:
            raise LedgerError(_("An acceptance bill needs its bill number."), field="bill_number")
        if bill_maturity_date is None:
            raise LedgerError(_("An acceptance bill needs its maturity date."), field="bill_maturity_date")
        if bill_maturity_date <= date:
            raise LedgerError(_("The bill's maturity must be after the receipt date."), field="bill_maturity_date")
        limit = _add_months(date, 6)
        if bill_maturity_date > limit:
            raise LedgerError(_("Acceptance bills mature within 6 months."), field="bill_maturity_date")


def _add_months(day: dt.date, months: int) -> dt.date:
    import calendar as _cal

    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    m += 1
    return day.replace(year=y, month=m, day=min(day.day, _cal.monthrange(y, m)[1]))


@transaction.atomic(durable=True)
def record_payment(
    *,
    company,
    customer_id: int,
    amount,
    date: dt.date,
    actor,
    method: str = Method.TRANSFER,
    currency: str | None = None,
    number: str = "",
    reference: str = "",
    memo: str = "",
    bill_number: str = "",
    bill_acceptor: str = "",
    bill_maturity_date: dt.date | None = None,
    auto_allocate: bool = True,
    request_key: str | None = None,
    external_source: str = "",
    external_key: str = "",
    today: dt.date | None = None,
    post_dated: bool = False,
) -> Credit:
    """Record money received. With ``auto_allocate`` it is applied oldest-due-first; any rest stays
    as unapplied cash on the customer's account.

    ``date`` after ``today`` (default: the company's today) is refused (FutureDate) unless ``post_dated``
    confirms it, and then at most a year ahead. An acceptance bill needs its number — unique among the
    company's live bills (DuplicateNumber on ``bill_number``) — and a maturity after the date, within
    6 months. Locks the customer, then its open instalments by pk, then the new payment row.
    """
    _check_request_key(Credit, request_key)
    check_payment_date(date, today=today_of(company, today), post_dated=post_dated)
    check_open(company.pk, date)
    customer = _customer_for(company, customer_id)
    currency = currency or customer.currency
    if currency != customer.currency:
        raise CurrencyMismatch(
            _("The payment is in %(paid)s but this customer's account is in %(account)s.")
            % {"paid": currency, "account": customer.currency},
            field="currency",
        )
    amount = _amount(amount, currency)
    if method not in Method.values or method == Method.NONE:
        raise LedgerError(_("Choose a payment method."), field="method")
    is_bill = method in BILL_METHODS
    bill_number = normalise_bill_number(bill_number) if is_bill else ""
    _validate_bill(method, bill_number, bill_maturity_date, date)
    if is_bill:
        _check_bill_unique(company.pk, bill_number)  # under the customer lock; the unique index backs it
    number = (number or "").strip() or next_number(company_id=company.pk, series=SERIES[CreditKind.PAYMENT], year=date.year)
    try:
        with transaction.atomic():
            credit = Credit.objects.create(
                company=company, customer=customer, kind=CreditKind.PAYMENT, number=number, date=date,
                currency=currency, amount=amount, unapplied_amount=amount, method=method, reference=reference,
                memo=memo, bill_number=bill_number, bill_acceptor=bill_acceptor,
                bill_maturity_date=bill_maturity_date,
                bill_status=BillStatus.RECEIVED if is_bill else "",
                cheque_status=ChequeStatus.PENDING if method == Method.CHEQUE else "",
                request_key=request_key or None, external_source=external_source, external_key=external_key,
                created_by=actor,
            )
    except IntegrityError as exc:
        if request_key and Credit.objects.filter(request_key=request_key).exists():
            raise DuplicateSubmission() from exc
        if is_bill:  # another customer's payment took the bill meanwhile (our lock is per customer)
            _check_bill_unique(company.pk, bill_number)
        raise DuplicateNumber(_("Receipt number %(number)s already exists.") % {"number": number}, field="number") from exc
    _entry(customer=customer, date=date, kind=EntryKind.PAYMENT, credit=amount, credit_obj=credit,
           summary=memo or credit.get_method_display())
    _bump_customer(customer.pk, unapplied_delta=amount)
    audit.record(actor=actor, verb="ledger.payment.recorded", target=credit, summary=f"{number} {amount} {currency}",
                 data={"amount": amount, "method": method, "date": date}, business_date=date)
    if auto_allocate:
        _auto_allocate(credit=credit, customer=customer, on=date, actor=actor)
    credit.refresh_from_db()
    return credit


def _auto_allocate(*, credit: Credit, customer: Customer, on: dt.date, actor, document_id: int | None = None) -> list[Allocation]:
    instalments = locks.open_instalments_of(customer.pk, document_id=document_id)
    credit = locks.credit(credit.pk)
    items = _open_items(instalments)
    if credit.kind != CreditKind.PAYMENT:
        # an early-payment discount is earned by paying early, not by a credit note (a return or
        # 折让 settling an untouched invoice inside the window must not also grant the 2 %)
        items = [dataclasses.replace(i, discount_amount=ZERO, discount_date=None) for i in items]
    plan = calc.plan_oldest_first(available=credit.unapplied_amount, items=items, on=on)
    if not plan:
        return []
    made = _apply_plan(credit=credit, customer=customer, by_id={i.pk: i for i in instalments}, plan=plan, on=on,
                       actor=actor, manual=False)
    audit.record(actor=actor, verb="ledger.credit.allocated", target=credit,
                 summary=f"{credit.number} → {len(plan)}", data={"auto": True, "plan": [[p.instalment_id, p.amount, p.discount] for p in plan]})
    return made


@transaction.atomic(durable=True)
def allocate(
    *, company, credit_id: int, actor, on: dt.date, plan: Sequence[AllocationInput] | None = None,
    document_id: int | None = None,
) -> list[Allocation]:
    """Apply unapplied cash or credit to instalments of the same customer.

    ``plan=None`` applies oldest-due-first (only to ``document_id``'s instalments when given), granting
    an early-payment discount still available on ``on`` exactly as a recorded payment does; a manual
    plan never grants one. A manual plan must not exceed the credit's unapplied
    amount nor any instalment's open amount (OverAllocation) and must stay within one customer and
    currency (WrongCustomer, CurrencyMismatch).
    """
    try:
        head = Credit.objects.only("customer_id").get(pk=credit_id, company=company)
    except Credit.DoesNotExist as exc:
        raise LedgerError(_("Unknown payment."), field="credit") from exc
    customer = _customer_for(company, head.customer_id)
    if plan is None:
        credit = Credit.objects.get(pk=credit_id)
        if credit.status != Status.POSTED:
            raise AlreadyReversed(_("This payment has been reversed."))
        return _auto_allocate(credit=credit, customer=customer, on=on, actor=actor, document_id=document_id)
    if document_id is not None:
        raise LedgerError(_("The allocation is not valid."), field="plan")
    instalments = locks.instalments(line.instalment_id for line in plan)
    credit = locks.credit(credit_id)
    if credit.status != Status.POSTED:
        raise AlreadyReversed(_("This payment has been reversed."))
    if credit.kind not in (CreditKind.PAYMENT, CreditKind.CREDIT_NOTE):
        raise LedgerError(_("Only payments and credit notes can be allocated."))
    if len(instalments) != len({line.instalment_id for line in plan}):
        raise WrongCustomer(_("Unknown instalment."), field="plan")
    for inst in instalments:
        if inst.customer_id != credit.customer_id:
            raise WrongCustomer(_("A payment can only be applied to its own customer's items."), field="plan")
        if inst.currency != credit.currency:
            raise CurrencyMismatch(_("The payment and the instalment are in different currencies."), field="plan")
    clean = [calc.PlanLine(line.instalment_id, _amount(line.amount, credit.currency, field="plan")) for line in plan]
    try:
        calc.check_plan(available=credit.unapplied_amount, items=_open_items(instalments), plan=clean)
    except calc.PlanError as exc:
        if exc.code == "over_credit":
            raise OverAllocation(
                _("The allocation exceeds the unapplied amount %(left)s.") % {"left": credit.unapplied_amount}, field="plan"
            ) from exc
        if exc.code == "over_instalment":
            raise OverAllocation(_("The allocation exceeds the instalment's open amount."), field="plan") from exc
        raise LedgerError(_("The allocation is not valid."), field="plan") from exc
    made = _apply_plan(credit=credit, customer=customer, by_id={i.pk: i for i in instalments}, plan=clean, on=on,
                       actor=actor, manual=True)
    audit.record(actor=actor, verb="ledger.credit.allocated", target=credit, summary=f"{credit.number} → {len(clean)}",
                 data={"auto": False, "plan": [[p.instalment_id, p.amount] for p in clean]})
    return made


@transaction.atomic(durable=True)
def issue_credit_note(
    *,
    company,
    customer_id: int,
    amount,
    date: dt.date,
    reason: str,
    actor,
    number: str = "",
    document_id: int | None = None,
    apply: bool = True,
    request_key: str | None = None,
    external_source: str = "",
    external_key: str = "",
    keep_rest_as_credit: bool = False,
    today: dt.date | None = None,
) -> Credit:
    """Issue a credit note (returns, price reductions, 折让, 以货抵款), dated no later than ``today``
    (default: the company's today; FutureDate otherwise).

    Against a document (``document_id``) the amount may not exceed what is still open on it
    (OverAllocation on ``amount``) unless ``keep_rest_as_credit``: then, with ``apply``, the document is
    settled and the rest stays as credit on the account — it never settles other documents. Without a
    document, ``apply`` settles the customer's oldest items and any rest stays as credit.
    Locks the customer, then the document's instalments by pk.
    """
    _check_request_key(Credit, request_key)
    check_not_future(date, today=today_of(company, today))
    check_open(company.pk, date)
    customer = _customer_for(company, customer_id)
    amount = _amount(amount, customer.currency)
    if not (reason or "").strip():
        raise LedgerError(_("A credit note needs a reason."), field="reason")
    if document_id is not None:
        doc = ReceivableDocument.objects.filter(pk=document_id, customer=customer).first()
        if doc is None:
            raise WrongCustomer(_("The document belongs to another customer."), field="document")
        open_on_doc = sum((i.open_amount for i in locks.open_instalments_of(customer.pk, document_id=document_id)), ZERO)
        if amount > open_on_doc and not keep_rest_as_credit:
            raise OverAllocation(
                _("Only %(open)s is still open on %(number)s. Lower the amount, or choose to keep the rest "
                  "(%(rest)s) as credit on the customer's account.")
                % {"open": open_on_doc, "number": doc.number, "rest": amount - open_on_doc},
                field="amount", open=open_on_doc)
    number = (number or "").strip() or next_number(company_id=company.pk, series=SERIES[CreditKind.CREDIT_NOTE], year=date.year)
    try:
        with transaction.atomic():
            credit = Credit.objects.create(
                company=company, customer=customer, kind=CreditKind.CREDIT_NOTE, number=number, date=date,
                currency=customer.currency, amount=amount, unapplied_amount=amount, memo=reason,
                document_id=document_id, method=Method.NONE, request_key=request_key or None,
                external_source=external_source, external_key=external_key, created_by=actor,
            )
    except IntegrityError as exc:
        if request_key and Credit.objects.filter(request_key=request_key).exists():
            raise DuplicateSubmission() from exc
        raise DuplicateNumber(_("Credit note number %(number)s already exists.") % {"number": number}, field="number") from exc
    _entry(customer=customer, date=date, kind=EntryKind.CREDIT_NOTE, credit=amount, credit_obj=credit, summary=reason)
    _bump_customer(customer.pk, unapplied_delta=amount)
    audit.record(actor=actor, verb="ledger.credit_note.issued", target=credit, summary=f"{number} {amount}",
                 data={"amount": amount, "reason": reason, "document_id": document_id,
                       "keep_rest_as_credit": keep_rest_as_credit}, business_date=date)
    if apply:
        # against a document: that document only (the rest, if kept, stays as credit); else oldest first
        _auto_allocate(credit=credit, customer=customer, on=date, actor=actor, document_id=document_id)
    credit.refresh_from_db()
    return credit


# ---------------------------------------------------------------- write-offs


@transaction.atomic(durable=True)
def request_write_off(*, company, instalment_id: int, amount, reason: str, actor) -> WriteOffRequest:
    """Ask for part or all of an instalment to be written off; another user must approve it."""
    try:
        head = Instalment.objects.only("customer_id").get(pk=instalment_id, company=company)
    except Instalment.DoesNotExist as exc:
        raise LedgerError(_("Unknown instalment."), field="instalment") from exc
    customer = _customer_for(company, head.customer_id)
    (inst,) = locks.instalments([instalment_id])
    amount = _amount(amount, inst.currency)
    if not (reason or "").strip():
        raise LedgerError(_("A write-off needs a reason."), field="reason")
    pending = sum(
        WriteOffRequest.objects.filter(instalment=inst, status=WriteOffStatus.PENDING).values_list("amount", flat=True),
        ZERO,
    )
    if amount + pending > inst.open_amount:
        raise OverAllocation(
            _("You cannot write off more than is open (%(open)s, of which %(pending)s already requested).")
            % {"open": inst.open_amount, "pending": pending},
            field="amount",
        )
    req = WriteOffRequest.objects.create(
        company=company, customer=customer, instalment=inst, amount=amount, reason=reason, requested_by=actor
    )
    audit.record(actor=actor, verb="ledger.write_off.requested", target=req, summary=f"{amount} {reason}"[:300],
                 data={"amount": amount, "instalment_id": inst.pk, "reason": reason})
    return req


@transaction.atomic(durable=True)
def set_instalment_dispute(*, company, instalment_id: int, amount, actor, reason: str = "") -> Instalment:
    """Mark ``amount`` of an instalment as disputed (0 clears it). Does not change what is owed.

    Aging shows the disputed part separately and dunning skips it; the collections app keeps the
    dispute itself (reason, owner, resolution) and calls this on open, change and resolution.
    """
    try:
        head = Instalment.objects.only("customer_id").get(pk=instalment_id, company=company)
    except Instalment.DoesNotExist as exc:
        raise LedgerError(_("Unknown instalment."), field="instalment") from exc
    _customer_for(company, head.customer_id)
    (inst,) = locks.instalments([instalment_id])
    amount = _amount(amount, inst.currency, allow_zero=True)
    if amount > inst.amount:
        raise OverAllocation(_("The disputed amount cannot exceed the instalment (%(amount)s).") % {"amount": inst.amount},
                             field="amount")
    Instalment.objects.filter(pk=inst.pk).update(disputed_amount=amount)
    inst.disputed_amount = amount
    audit.record(actor=actor, verb="ledger.instalment.disputed" if amount else "ledger.instalment.dispute_cleared",
                 target=inst, summary=f"{amount} {reason}"[:300], data={"amount": amount, "reason": reason})
    return inst


@transaction.atomic(durable=True)
def pause_instalment_dunning(*, company, instalment_id: int, until: dt.date | None, actor, reason: str = "") -> Instalment:
    """Pause reminders for one instalment until a date (None resumes them)."""
    try:
        head = Instalment.objects.only("customer_id").get(pk=instalment_id, company=company)
    except Instalment.DoesNotExist as exc:
        raise LedgerError(_("Unknown instalment."), field="instalment") from exc
    _customer_for(company, head.customer_id)
    (inst,) = locks.instalments([instalment_id])
    Instalment.objects.filter(pk=inst.pk).update(dunning_paused_until=until)
    inst.dunning_paused_until = until
    audit.record(actor=actor, verb="ledger.instalment.dunning_paused" if until else "ledger.instalment.dunning_resumed",
                 target=inst, summary=f"{until or ''} {reason}".strip()[:300], data={"until": until, "reason": reason})
    return inst


@transaction.atomic(durable=True)
def decide_write_off(*, company, request_id: int, approve: bool, actor, note: str = "", on: dt.date) -> WriteOffRequest:
    """Approve (posting a write-off credit against the instalment) or reject a write-off request.
    The requester cannot decide their own request (SelfApproval)."""
    try:
        head = WriteOffRequest.objects.get(pk=request_id, company=company)
    except WriteOffRequest.DoesNotExist as exc:
        raise LedgerError(_("Unknown write-off request.")) from exc
    customer = _customer_for(company, head.customer_id)
    (inst,) = locks.instalments([head.instalment_id])
    req = WriteOffRequest.objects.select_for_update().get(pk=request_id)
    if req.status != WriteOffStatus.PENDING:
        raise AlreadyReversed(_("This request has already been decided."))
    if req.requested_by_id == actor.pk:
        raise SelfApproval(_("You cannot approve or reject your own write-off request."))
    req.decided_by = actor
    req.decided_at = timezone.now()
    req.decision_note = note
    if not approve:
        req.status = WriteOffStatus.REJECTED
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(actor=actor, verb="ledger.write_off.rejected", target=req, data={"note": note})
        return req
    if req.amount > inst.open_amount:
        raise OverAllocation(_("Only %(open)s is still open on this instalment.") % {"open": inst.open_amount})
    credit = Credit.objects.create(
        company=company, customer=customer, kind=CreditKind.WRITE_OFF,
        number=next_number(company_id=company.pk, series=SERIES[CreditKind.WRITE_OFF], year=on.year),
        date=on, currency=inst.currency, amount=req.amount, unapplied_amount=req.amount, memo=req.reason,
        document_id=inst.document_id, created_by=actor,
    )
    _entry(customer=customer, date=on, kind=EntryKind.WRITE_OFF, credit=req.amount, credit_obj=credit, summary=req.reason)
    _bump_customer(customer.pk, unapplied_delta=req.amount)
    _apply_plan(credit=credit, customer=customer, by_id={inst.pk: inst}, plan=[calc.PlanLine(inst.pk, req.amount)],
                on=on, actor=actor, manual=True)
    req.status = WriteOffStatus.APPROVED
    req.credit = credit
    req.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "credit"])
    audit.record(actor=actor, verb="ledger.write_off.approved", target=req, summary=f"{req.amount}",
                 data={"amount": req.amount, "credit": credit.number, "requested_by": req.requested_by_id})
    return req


# ---------------------------------------------------------------- reversals


def _reverse_allocation_row(alloc: Allocation, *, on: dt.date, actor) -> Allocation:
    rev = Allocation.objects.create(
        company_id=alloc.company_id, customer_id=alloc.customer_id, credit_id=alloc.credit_id,
        instalment_id=alloc.instalment_id, amount=-alloc.amount, date=on, reverses=alloc, is_manual=True,
        created_by=actor,
    )
    check_open(alloc.company_id, on)
    Instalment.objects.filter(pk=alloc.instalment_id).update(open_amount=F("open_amount") + money_value(alloc.amount),
                                                             **_allocated_on(on))
    Credit.objects.filter(pk=alloc.credit_id).update(unapplied_amount=F("unapplied_amount") + money_value(alloc.amount),
                                                     updated_at=timezone.now())
    touch_documents(instalment_ids=[alloc.instalment_id])
    _bump_customer(alloc.customer_id, open_delta=alloc.amount, unapplied_delta=alloc.amount)
    return rev


def _active_allocations(**filters):
    return Allocation.objects.filter(reverses__isnull=True, reversed_by__isnull=True, **filters).order_by("pk")


@transaction.atomic(durable=True)
def reverse_allocation(*, company, allocation_id: int, actor, on: dt.date, reason: str = "") -> Allocation:
    """Undo one allocation: the instalment reopens and the credit's unapplied amount grows back."""
    try:
        head = Allocation.objects.select_related("credit").get(pk=allocation_id, company=company)
    except Allocation.DoesNotExist as exc:
        raise LedgerError(_("Unknown allocation.")) from exc
    _customer_for(company, head.customer_id)
    locks.instalments([head.instalment_id])
    locks.credits([head.credit_id])
    if head.reverses_id is not None or Allocation.objects.filter(reverses_id=head.pk).exists():
        raise AlreadyReversed(_("This allocation has already been reversed."))
    if head.credit.kind in SETTLING_KINDS:
        raise LedgerError(_("Reverse the discount, bank charge or write-off itself instead."))
    rev = _reverse_allocation_row(head, on=on, actor=actor)
    # a discount earned together with this allocation no longer holds
    for disc in Credit.objects.filter(parent_id=head.credit_id, status=Status.POSTED, allocations__instalment_id=head.instalment_id).distinct():
        _reverse_credit_locked(disc, on=on, actor=actor, reason=reason or "allocation reversed")
    audit.record(actor=actor, verb="ledger.allocation.reversed", target=head.credit, customer_id=head.customer_id,
                 summary=f"{head.amount}", data={"allocation_id": head.pk, "amount": head.amount, "reason": reason})
    return rev


def _reverse_credit_locked(credit: Credit, *, on: dt.date, actor, reason: str) -> None:
    for alloc in _active_allocations(credit=credit):
        _reverse_allocation_row(alloc, on=on, actor=actor)
    credit.refresh_from_db()
    remaining = credit.unapplied_amount
    Credit.objects.filter(pk=credit.pk).update(
        unapplied_amount=money_value(ZERO), status=Status.REVERSED, reversed_at=timezone.now(),
        reversed_by=actor, reversal_reason=reason[:300], updated_at=timezone.now(),
    )
    _bump_customer(credit.customer_id, unapplied_delta=-remaining)
    customer = Customer.objects.get(pk=credit.customer_id)
    _entry(customer=customer, date=on, kind=EntryKind.REVERSAL, debit=credit.amount, credit_obj=credit,
           summary=_("Reversal of %(number)s") % {"number": credit.number})
    for child in Credit.objects.filter(parent=credit, status=Status.POSTED):
        _reverse_credit_locked(child, on=on, actor=actor, reason=reason)


@transaction.atomic(durable=True)
def reverse_credit(*, company, credit_id: int, actor, on: dt.date, reason: str) -> Credit:
    """Reverse a payment, credit note, discount or write-off: its allocations are undone and the
    customer's balance grows by its amount (a reversal entry). Reversing twice raises AlreadyReversed."""
    if not (reason or "").strip():
        raise LedgerError(_("A reversal needs a reason."), field="reason")
    try:
        head = Credit.objects.get(pk=credit_id, company=company)
    except Credit.DoesNotExist as exc:
        raise LedgerError(_("Unknown payment.")) from exc
    _customer_for(company, head.customer_id)
    locks.instalments(_active_allocations(credit_id=credit_id).values_list("instalment_id", flat=True))
    credit = locks.credit(credit_id)
    if credit.status == Status.REVERSED:
        raise AlreadyReversed(_("%(number)s has already been reversed.") % {"number": credit.number})
    _reverse_credit_locked(credit, on=on, actor=actor, reason=reason)
    audit.record(actor=actor, verb="ledger.credit.reversed", target=credit, summary=f"{credit.number} {reason}"[:300],
                 data={"amount": credit.amount, "reason": reason})
    credit.refresh_from_db()
    return credit


@transaction.atomic(durable=True)
def reverse_document(*, company, document_id: int, actor, on: dt.date, reason: str) -> ReceivableDocument:
    """Reverse a posted document. Payments applied to it become unapplied cash again; discounts
    and write-offs on it are reversed; its instalments close and a reversal entry credits the account."""
    if not (reason or "").strip():
        raise LedgerError(_("A reversal needs a reason."), field="reason")
    try:
        head = ReceivableDocument.objects.get(pk=document_id, company=company)
    except ReceivableDocument.DoesNotExist as exc:
        raise LedgerError(_("Unknown document.")) from exc
    customer = _customer_for(company, head.customer_id)
    instalments = locks.instalments(Instalment.objects.filter(document_id=document_id).values_list("pk", flat=True))
    credit_ids = set(_active_allocations(instalment__document_id=document_id).values_list("credit_id", flat=True))
    locks.credits(credit_ids)
    doc = ReceivableDocument.objects.select_for_update().get(pk=document_id)
    if doc.status == Status.REVERSED:
        raise AlreadyReversed(_("%(number)s has already been reversed.") % {"number": doc.number})
    for alloc in _active_allocations(instalment__document_id=document_id).select_related("credit"):
        if alloc.credit.kind in SETTLING_KINDS:
            continue
        _reverse_allocation_row(alloc, on=on, actor=actor)
    for c in Credit.objects.filter(pk__in=credit_ids, kind__in=SETTLING_KINDS, status=Status.POSTED):
        _reverse_credit_locked(c, on=on, actor=actor, reason=reason)
    remaining = sum((i.open_amount for i in Instalment.objects.filter(document_id=document_id)), ZERO)
    Instalment.objects.filter(document_id=document_id).update(open_amount=money_value(ZERO), reversed_on=on)
    doc.status = Status.REVERSED
    doc.reversed_at = timezone.now()
    doc.reversed_by = actor
    doc.reversal_reason = reason[:300]
    doc.save(update_fields=["status", "reversed_at", "reversed_by", "reversal_reason", "updated_at"])
    _bump_customer(customer.pk, open_delta=-remaining)
    _entry(customer=customer, date=on, kind=EntryKind.REVERSAL, credit=doc.total_amount, document=doc,
           summary=_("Reversal of %(number)s") % {"number": doc.number})
    audit.record(actor=actor, verb="ledger.document.reversed", target=doc, summary=f"{doc.number} {reason}"[:300],
                 data={"total": doc.total_amount, "reason": reason, "instalments": len(instalments)})
    return doc
