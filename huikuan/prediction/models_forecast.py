"""The 13-week cash-in forecast, stored as a small cube so that the page only aggregates in SQL.

``ForecastRun``: one forecast of a company as of a date (rebuilt in place when asked again for the same
date): what predicted it (the live model, the best baseline, or — no model trained yet — the due dates),
the totals per currency (open amount, overdue part, items). ``ForecastCell``: the open amount whose
P10 / P50 / P90 predicted payment date — and, beside it, whose due date (the naive forecast) — falls in
week ``week`` (0–12: the 13 weeks after the as-of date; 13: beyond), per customer owner (the scope),
salesperson, customer group and currency. Every open item counts once in each of the four columns, so
each column sums over the 14 buckets to the open amount exactly (integer hundredths, no float).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField

from .models import ModelVersion

BEYOND = 13  # week index of "beyond the 13 weeks"


class ForecastRun(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("as of"))
    source = models.CharField(_("predicted by"), max_length=30)  # "model", a baseline's name, or "due_date"
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    items = models.PositiveIntegerField(_("open items"), default=0)
    totals = models.JSONField(_("totals"), default=dict)  # {currency: {"open": "…", "overdue": "…", "items": n}}
    seconds = models.DecimalField(_("seconds"), max_digits=8, decimal_places=2, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [models.UniqueConstraint(fields=["company", "as_of"], name="prediction_forecast_day_unique")]
        verbose_name = _("cash-in forecast")

    def __str__(self) -> str:
        return f"{self.as_of}"


class ForecastCell(models.Model):
    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="cells")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("customers.CustomerGroup", null=True, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    week = models.PositiveSmallIntegerField()
    p10 = MoneyField(default=ZERO)
    p50 = MoneyField(default=ZERO)
    p90 = MoneyField(default=ZERO)
    naive = MoneyField(default=ZERO)
    overdue = MoneyField(default=ZERO)  # the part already past due on the as-of date (on naive's first week)
    items = models.PositiveIntegerField(default=0)  # items whose P50 date falls in the week

    class Meta:
        indexes = [models.Index(fields=["run", "currency"], name="prediction_fcell_run")]
