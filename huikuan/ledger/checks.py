"""Ledger invariants, recomputed in SQL and compared with the denormalised balances.

- instalment.open_amount = amount − Σ allocations (0 when its document is reversed)
- credit.unapplied_amount = amount − Σ allocations (0 when reversed)
- customer.open_amount = Σ instalment.open_amount; customer.unapplied_amount = Σ credit.unapplied_amount
- customer.open_amount − customer.unapplied_amount = Σ entry.debit − Σ entry.credit
- instalment.first/last_allocated_on = min/max date of its allocation rows; reversed_on = the date of
  its document's reversal entry (NULL when none)
- PostgreSQL: the aging's running sums (``AgingFlow``, kept by triggers) = the changes re-derived from the
  instalments and allocations, per company, due date and day
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Case, DateField, F, Max, Min, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from huikuan.common.money import ZERO, MoneyField, from_minor
from huikuan.customers.models import Customer

from .models import Allocation, Credit, EntryKind, Instalment, LedgerEntry, Status


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    object_id: int
    stored: Decimal | dt.date
    expected: Decimal | dt.date

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}: stored {self.stored}, expected {self.expected}"


def _sum_sub(model, filter_field: str, value_field: str, **extra):
    return Coalesce(
        Subquery(
            model.objects.filter(**{filter_field: OuterRef("pk")}, **extra)
            .order_by()
            .values(filter_field)
            .annotate(s=Sum(value_field))
            .values("s"),
            output_field=MoneyField(),
        ),
        Value(ZERO, output_field=MoneyField()),
    )


def check_ledger(*, company_id: int | None = None) -> list[Discrepancy]:
    problems: list[Discrepancy] = []
    inst = Instalment.objects.all()
    cred = Credit.objects.all()
    cust = Customer.objects.all()
    if company_id is not None:
        inst, cred, cust = inst.filter(company_id=company_id), cred.filter(company_id=company_id), cust.filter(company_id=company_id)

    zero = Value(ZERO, output_field=MoneyField())
    inst_q = inst.annotate(
        allocated=_sum_sub(Allocation, "instalment", "amount"),
    ).annotate(
        expected=Case(
            When(document__status=Status.REVERSED, then=zero),
            default=F("amount") - F("allocated"),
            output_field=MoneyField(),
        )
    ).filter(~Q(open_amount=F("expected")))
    problems += [Discrepancy("instalment.open_amount", i.pk, i.open_amount, i.expected) for i in inst_q]

    # the dates the as-of reads rely on: first/last allocation row, document reversal
    never = Value(dt.date(1, 1, 1), output_field=DateField())

    def _date_sub(model, filter_field, outer, agg, **extra):
        return Coalesce(Subquery(model.objects.filter(**{filter_field: OuterRef(outer)}, **extra).order_by()
                                 .values(filter_field).annotate(d=agg("date")).values("d"), output_field=DateField()),
                        never)

    dates_q = inst.annotate(
        first_exp=_date_sub(Allocation, "instalment", "pk", Min),
        last_exp=_date_sub(Allocation, "instalment", "pk", Max),
        rev_exp=_date_sub(LedgerEntry, "document", "document_id", Max, kind=EntryKind.REVERSAL),
        first_got=Coalesce("first_allocated_on", never),
        last_got=Coalesce("last_allocated_on", never),
        rev_got=Coalesce("reversed_on", never),
    ).filter(~Q(first_got=F("first_exp")) | ~Q(last_got=F("last_exp")) | ~Q(rev_got=F("rev_exp")))
    for i in dates_q:
        for name in ("first", "last", "rev"):
            got, exp = getattr(i, f"{name}_got"), getattr(i, f"{name}_exp")
            if got != exp:
                label = {"first": "first_allocated_on", "last": "last_allocated_on", "rev": "reversed_on"}[name]
                problems.append(Discrepancy(f"instalment.{label}", i.pk, got, exp))

    cred_q = cred.annotate(allocated=_sum_sub(Allocation, "credit", "amount")).annotate(
        expected=Case(
            When(status=Status.REVERSED, then=zero),
            default=F("amount") - F("allocated"),
            output_field=MoneyField(),
        )
    ).filter(~Q(unapplied_amount=F("expected")))
    problems += [Discrepancy("credit.unapplied_amount", c.pk, c.unapplied_amount, c.expected) for c in cred_q]

    cust_q = cust.annotate(
        inst_open=_sum_sub(Instalment, "customer", "open_amount"),
        cred_open=_sum_sub(Credit, "customer", "unapplied_amount"),
        debits=_sum_sub(LedgerEntry, "customer", "debit_amount"),
        credits_=_sum_sub(LedgerEntry, "customer", "credit_amount"),
    ).filter(
        ~Q(open_amount=F("inst_open"))
        | ~Q(unapplied_amount=F("cred_open"))
        | ~Q(inst_open=F("cred_open") + F("debits") - F("credits_"))
    )
    for c in cust_q:
        if c.open_amount != c.inst_open:
            problems.append(Discrepancy("customer.open_amount", c.pk, c.open_amount, c.inst_open))
        if c.unapplied_amount != c.cred_open:
            problems.append(Discrepancy("customer.unapplied_amount", c.pk, c.unapplied_amount, c.cred_open))
        if c.inst_open - c.cred_open != c.debits - c.credits_:
            problems.append(Discrepancy("customer.entries_balance", c.pk, c.inst_open - c.cred_open, c.debits - c.credits_))
    problems += _flow_problems(company_id)
    return problems


def _flow_problems(company_id: int | None) -> list[Discrepancy]:
    """``ledger_agingflow`` against the changes re-derived with the very SQL its migration filled it with."""
    if connection.vendor != "postgresql":
        return []
    flow = importlib.import_module("huikuan.ledger.migrations.0020_aging_flow")
    where, params = ("WHERE company_id = %s", [company_id]) if company_id is not None else ("", [])
    rows = f"(SELECT * FROM ledger_instalment {where})"
    expected = flow.summed(flow.own_events(rows, ""), flow.alloc_events(rows, "ledger_allocation", ""))
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COALESCE(e.company_id, f.company_id), COALESCE(e.due_date, f.due_date), COALESCE(e.day, f.day), "
            f"f.amount, e.amount FROM ({expected}) e FULL JOIN (SELECT company_id, due_date, day, SUM(amount) "
            f"AS amount FROM ledger_agingflow {where} GROUP BY company_id, due_date, day HAVING SUM(amount) <> 0) f "
            f"ON f.company_id = e.company_id AND f.due_date = e.due_date AND f.day = e.day "
            f"WHERE e.amount IS DISTINCT FROM f.amount", params * 3)  # the instalments twice, the flow once
        return [Discrepancy(f"aging_flow due {due} on {day}", company, from_minor(stored or 0),
                            from_minor(exp or 0)) for company, due, day, stored, exp in cur.fetchall()]
