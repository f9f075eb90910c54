"""The 13-week cash-in forecast, stored as a small cube so that the page only aggregates in SQL.

``ForecastRun``: one forecast of a company as of a date (rebuilt in place when asked again for the same
date): what predicted it (the live model, the best baseline, or — no model trained yet — the due dates),
the totals per currency (open amount, overdue part, items). ``ForecastCell``: the open amount whose
P10 / P50 / P90 predicted payment date — and, beside it, whose due date (the naive forecast) — falls in
week ``week`` (0–12: the 13 weeks after the as-of date; 13: beyond), per customer owner (the scope),
salesperson, customer group and currency. Every open item counts once in each of the four columns, so
each column sums over the 14 buckets to the open amount exactly (integer hundredths, no float).
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField
from huikuan.common.texts import StoredTextField

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


class ForecastJobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for the worker")
    RUNNING = "running", _("Computing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


ACTIVE_JOB = (ForecastJobStatus.QUEUED, ForecastJobStatus.RUNNING)

# where a running build stands, shown as the share of the progress bar
JOB_PHASES = {"queued": 0, "reading": 5, "predicting": 15, "summing": 75, "storing": 90, "done": 100}


class ForecastJob(models.Model):
    """One request to compute the forecast of a company as of a date, run by the worker (or in-process by the
    daily job and the command line). At most one queued or running job per company and date (the partial
    unique constraint), so a second click, a second user or the daily job never runs the same build twice. A
    running job whose worker went silent (``heartbeat_at`` older than ``STALE_AFTER``: killed, machine
    restarted) or a queued one no worker took within ``STALE_AFTER`` may be replaced by a new request."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=ForecastJobStatus.choices,
                              default=ForecastJobStatus.QUEUED)
    phase = models.CharField(max_length=12, default="queued")  # a key of JOB_PHASES
    run = models.ForeignKey(ForecastRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    items = models.PositiveIntegerField(default=0)
    error = StoredTextField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    STALE_AFTER = dt.timedelta(minutes=5)
    HEARTBEAT_EVERY = 30  # seconds, well inside STALE_AFTER

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["company", "as_of"], condition=Q(status__in=["queued", "running"]),
                                               name="prediction_forecast_job_one_active")]
        verbose_name = _("forecast computation")

    def __str__(self) -> str:
        return f"{self.as_of} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_JOB

    @property
    def percent(self) -> int:
        if self.status == ForecastJobStatus.DONE:
            return 100
        return JOB_PHASES.get(self.phase, 0)

    def is_stale(self, now: dt.datetime) -> bool:
        """Queued with no worker taking it, or running with a worker that stopped answering."""
        if self.status == ForecastJobStatus.QUEUED:
            return now - self.created_at >= self.STALE_AFTER
        if self.status == ForecastJobStatus.RUNNING:
            return now - (self.heartbeat_at or self.started_at or self.created_at) >= self.STALE_AFTER
        return False

    @property
    def seconds(self) -> int | None:
        if self.started_at is None:
            return None
        from django.utils import timezone

        return int(((self.finished_at or timezone.now()) - self.started_at).total_seconds())
