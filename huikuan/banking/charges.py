"""Bank charges (手续费) by month: what the banks kept of customers' payments, read from the ledger's
``bank_charge`` credits (``ledger.settlements.record_bank_charge``). One grouped query; reversed
charges are counted apart so the month's net figure matches the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from huikuan.common.money import ZERO, MoneyField
from huikuan.ledger.models import Credit, CreditKind, Status


@dataclass(frozen=True)
class MonthCharges:
    month: dt.date  # first day of the month
    count: int
    amount: Decimal  # standing charges
    reversed_count: int
    reversed_amount: Decimal
    customers: int


def bank_charges_by_month(*, company, year: int) -> list[MonthCharges]:
    """Bank charges dated in ``year``, per month (only months that have some), oldest first."""
    posted, rev = Q(status=Status.POSTED), Q(status=Status.REVERSED)
    rows = (Credit.objects.filter(company=company, kind=CreditKind.BANK_CHARGE, date__year=year)
            .annotate(month=TruncMonth("date")).values("month").order_by("month")
            .annotate(n=Count("id", filter=posted), total=Sum("amount", filter=posted, output_field=MoneyField()),
                      rn=Count("id", filter=rev), rtotal=Sum("amount", filter=rev, output_field=MoneyField()),
                      customers=Count("customer_id", filter=posted, distinct=True)))
    out = []
    for r in rows:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        out.append(MonthCharges(month, r["n"], r["total"] or ZERO, r["rn"], r["rtotal"] or ZERO, r["customers"]))
    return out
