"""Reads of the stored predictions for pages, exports and the API (SQL; reasons rendered per reader)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Sum

from huikuan.common.money import round_money

from .models import ItemPrediction
from .texts import reason

HUNDRED = Decimal(100)


@dataclass
class Row:
    p: ItemPrediction

    def __getattr__(self, name):
        return getattr(self.p, name)

    @property
    def reasons_text(self) -> list[str]:
        return [reason(code, params) for code, params in self.p.reasons]

    def pct(self, value: Decimal) -> str:
        return f"{(value * HUNDRED).quantize(Decimal(1))} %"

    @property
    def p_late_pct(self) -> str:
        return self.pct(self.p.p_late)

    @property
    def p_late_30_pct(self) -> str:
        return self.pct(self.p.p_late_30)

    @property
    def p_late_90_pct(self) -> str:
        return self.pct(self.p.p_late_90)

    @property
    def bar(self) -> str:  # width of the probability bar, in %
        return f"{float(self.p.p_late * HUNDRED):.0f}"


def rows(qs) -> list[Row]:
    return [Row(p) for p in qs.select_related("instalment", "document", "customer", "version")]


def for_customer(customer):
    return ItemPrediction.objects.filter(company_id=customer.company_id, customer=customer).order_by("due_date", "id")


def for_document(document):
    return ItemPrediction.objects.filter(company_id=document.company_id, document=document).order_by("instalment__seq")


def summary(qs) -> dict:
    """Open amount, the amount expected to be paid late / 30+ days late (Σ open × probability), the latest
    predicted date — one aggregate query."""
    weight = {"max_digits": 30, "decimal_places": 6}
    agg = qs.order_by().aggregate(
        n=Count("id"), open=Sum("instalment__open_amount"), last=Max("high_date"),
        late=Sum(ExpressionWrapper(F("instalment__open_amount") * F("p_late"), output_field=DecimalField(**weight))),
        late30=Sum(ExpressionWrapper(F("instalment__open_amount") * F("p_late_30"), output_field=DecimalField(**weight))),
    )

    def amount(v):  # minor units (× probability) → money
        return round_money(Decimal(str(v or 0)) / HUNDRED)

    return {"n": agg["n"], "open": amount(agg["open"]), "late": amount(agg["late"]), "late30": amount(agg["late30"]),
            "last": agg["last"]}


def export_columns():
    from django.utils.translation import gettext as _

    return [(_("Document number"), "text"), (_("Instalment"), "int"), (_("Customer code"), "text"),
            (_("Customer"), "text"), (_("Due date"), "date"), (_("Open amount"), "money"), (_("Currency"), "text"),
            (_("Probability late"), "percent"), (_("Probability 30+ days late"), "percent"),
            (_("Probability 90+ days late"), "percent"), (_("Predicted payment date"), "date"),
            (_("Paid between"), "date"), (_("and"), "date"), (_("Reasons"), "text")]


def export_rows(qs):
    for p in qs.select_related("instalment", "document", "customer").iterator(chunk_size=2000):
        yield (p.document.number, p.instalment.seq, p.customer.code, p.customer.name, p.due_date, p.instalment.open_amount,
               p.instalment.currency, p.p_late * HUNDRED, p.p_late_30 * HUNDRED, p.p_late_90 * HUNDRED, p.predicted_date, p.low_date, p.high_date,
               " ".join(reason(code, params) for code, params in p.reasons))
