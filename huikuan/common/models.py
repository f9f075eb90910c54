"""Cross-cutting records: the audit trail and the working-day override table."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # pragma: no cover - guarded in the DB too
        raise RuntimeError("audit events are append-only")

    def delete(self):  # pragma: no cover
        raise RuntimeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what, when. Append-only (a PostgreSQL trigger refuses UPDATE and DELETE)."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    company_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    verb = models.CharField(_("action"), max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # the business date of a posting (its document or credit date), written with the event: the audit report's
    # "back-dated entries" compare it with the month of ``at`` within the event, without joining the ledger
    business_date = models.DateField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "-at"], name="audit_customer_at"),
            # the internal audit report reads by category (a set of verbs) and period (insight.audit_report)
            models.Index(fields=["verb", "-at"], name="audit_verb_at"),
        ]
        verbose_name = _("audit event")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit events are append-only")


class HolidayOverride(models.Model):
    """A date whose working status differs from the holidays package (e.g. next year's 调休)."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday override")


class NumberSequence(models.Model):
    """Gap-tolerant document numbering per (company, series, year); incremented under a row lock."""

    company_id = models.BigIntegerField()
    series = models.CharField(max_length=20)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company_id", "series", "year"], name="number_sequence_unique")
        ]


class JobRun(models.Model):
    """A claimed run of a periodic job for one business date: makes scheduled jobs exactly-once and
    non-overlapping across processes (the unique row is inserted before the job starts)."""

    name = models.CharField(max_length=60)
    date = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    detail = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "date"], name="jobrun_unique")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.date}"
