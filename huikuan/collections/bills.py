"""The daily acceptance-bill reminder (票据到期提示付款): a task before each bill we hold matures.

A bill taken in payment and still held (status *received*: not endorsed on, discounted or settled) must be
presented for payment (提示付款) at maturity, or the acceptor may refuse and recourse is at risk. The register
(``/ledger/payments/bills/``) shows bills by maturity; this job makes sure someone is told: once a bill is
within ``REMIND_DAYS`` of its maturity (or past it and still held), one task for the person who recorded the
payment (else the customer's owner), due that day, with the bill's number, acceptor, amount and maturity as a
stored text (rendered in the reader's language). One task per bill, ever (``source`` = ``bill:<id>``), so
re-running the job, or a task closed by hand, never brings it back.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from huikuan.common.texts import Text
from huikuan.ledger.models import BillStatus, Credit, CreditKind, Status

from .models import Task, TaskKind
from .services import create_task

REMIND_DAYS = 10


def bills_to_remind(*, company, as_of: dt.date):
    """Held bills maturing by ``as_of`` + ``REMIND_DAYS`` with no reminder task yet, earliest maturity first."""
    reminded = Task.objects.filter(company=company, source=Concat(Value("bill:"), Cast(OuterRef("pk"), CharField()),
                                                                  output_field=CharField()))
    return (Credit.objects.filter(company=company, kind=CreditKind.PAYMENT, status=Status.POSTED,
                                  bill_status=BillStatus.RECEIVED, bill_maturity_date__isnull=False,
                                  bill_maturity_date__lte=as_of + dt.timedelta(days=REMIND_DAYS))
            .exclude(bill_number="").exclude(Exists(reminded)).select_related("customer", "created_by")
            .order_by("bill_maturity_date", "pk"))


def remind_bills(*, company, as_of: dt.date) -> int:
    """Create the reminder tasks (the daily job). Returns how many."""
    n = 0
    for bill in bills_to_remind(company=company, as_of=as_of):
        owner = bill.created_by if bill.created_by_id and bill.created_by.is_active else None
        create_task(company=company, customer_id=bill.customer_id, kind=TaskKind.BILL, due=as_of, owner=owner,
                    source=f"bill:{bill.pk}", actor=None,
                    note=Text("collections.note.bill_maturing", number=bill.bill_number, acceptor=bill.bill_acceptor,
                              amount=bill.amount, date=bill.bill_maturity_date))
        n += 1
    return n
