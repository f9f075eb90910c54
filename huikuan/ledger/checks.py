"""Ledger invariants, recomputed in SQL and compared with the denormalised balances.

- instalment.open_amount = amount − Σ allocations (0 when its document is reversed)
- credit.unapplied_amount = amount − Σ allocations (0 when reversed)
- customer.open_amount = Σ instalment.open_amount; customer.unapplied_amount = Σ credit.unapplied_amount
- customer.open_amount − customer.unapplied_amount = Σ entry.debit − Σ entry.credit
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from huikuan.common.money import ZERO, MoneyField
from huikuan.customers.models import Customer

from .models import Allocation, Credit, Instalment, LedgerEntry, Status


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    object_id: int
    stored: Decimal
    expected: Decimal

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
    return problems
