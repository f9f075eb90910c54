"""Cross-cutting records: the audit trail, the working-day override table, periodic job runs and export jobs."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .texts import StoredTextField


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


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for the worker")
    RUNNING = "running", _("Writing")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Deleted (expired)")


ACTIVE_EXPORT = (ExportJobStatus.QUEUED, ExportJobStatus.RUNNING)


class ExportJob(models.Model):
    """A large export (XLSX) written by the worker for the user who asked for it (``common.export_jobs``): the
    rows are read as that user sees them, the file is kept in the data directory (``exports/``) until it expires
    (``EXPORT_KEEP_DAYS``) and only its requester may follow or download it. ``kind`` names the registered exporter
    and ``params`` the list's query (filters and sort) it is given again in the worker."""

    company_id = models.BigIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict)
    language = models.CharField(max_length=10)  # the requester's: the workbook's headers and labels
    title = models.CharField(max_length=200, blank=True)  # what the page shows, in the requester's language
    url = models.CharField(max_length=2000, blank=True)  # the request that asked for it: "Export again"
    status = models.CharField(_("status"), max_length=10, choices=ExportJobStatus.choices,
                              default=ExportJobStatus.QUEUED)
    total = models.PositiveIntegerField(null=True, blank=True)  # rows expected (None: not known yet)
    done = models.PositiveIntegerField(default=0)  # rows written so far
    filename = models.CharField(max_length=200, blank=True)  # the download's name
    path = models.CharField(max_length=200, blank=True)  # the file, relative to DATA_DIR / "exports"
    size = models.PositiveBigIntegerField(default=0)
    error = StoredTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # a job silent this long lost its worker (queued with none taking it, or running with one that stopped)
    STALE_AFTER = dt.timedelta(minutes=10)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="export_job_user"),
                   models.Index(fields=["status", "finished_at"], name="export_job_expiry")]
        verbose_name = _("export")

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_EXPORT

    @property
    def percent(self) -> int:
        if self.status == ExportJobStatus.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, self.done * 100 // self.total)

    @property
    def may_retry(self) -> bool:
        """Failed for a reason exporting again may cure (the worker stopped or crashed), unlike a refusal."""
        return self.status == ExportJobStatus.FAILED and getattr(self.error, "code", "") in (
            "common.export.stale", "common.export.crashed")

    def is_stale(self, now: dt.datetime) -> bool:
        if not self.is_active:
            return False
        return now - (self.heartbeat_at or self.started_at or self.created_at) >= self.STALE_AFTER
