"""Import history and remembered column mappings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.common.texts import StoredTextField


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    DOCUMENTS = "documents", _("Receivable documents")
    PAYMENTS = "payments", _("Payments")
    OPENING = "opening", _("Opening balances (期初)")
    FAPIAO = "fapiao", _("Fapiao records")
    HISTORY = "history", _("Payment history (settled invoices)")


class MappingProfile(models.Model):
    """A named column mapping ({field: file header}) a company reuses for one kind of import."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=60)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "name"], name="mapping_profile_unique"),
        ]
        verbose_name = _("column mapping profile")

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    INVALID = "invalid", _("Has errors")
    READY = "ready", _("Ready to import")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed, nothing imported")


class ImportJob(models.Model):
    """One uploaded file and what became of it.

    ``errors`` holds every bad row as {"line", "column", "value", "reason"} (reasons rendered in the
    uploader's language when the preview ran); ``bad_rows`` the original cells of those lines for
    the error report. ``processed_rows``/``total_rows`` drive the progress bar.
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    mapping = models.JSONField(default=dict, blank=True)
    profile_name = models.CharField(max_length=60, blank=True)
    language = models.CharField(max_length=10, default="zh-hans")
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    error_rows = models.PositiveIntegerField(_("bad rows"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    headers = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    bad_rows = models.JSONField(default=dict, blank=True)
    # rows that import but need a look (bad registration code checksum, odd phone, duplicate name, a due
    # date that disagrees with the terms), same shape as ``errors``
    warnings = models.JSONField(default=list, blank=True)
    warning_rows = models.PositiveIntegerField(_("rows with warnings"), default=0)
    # the user's decisions for this file: {"terms": {spelling key: "create" | terms code},
    # "due_dates": "file" | "terms", "date_order": "mdy" | "dmy", "create_customers": true}
    options = models.JSONField(default=dict, blank=True)
    # spellings of payment terms the install does not have: [{"text", "rows", "first_line", "code", "meaning"}]
    unknown_terms = models.JSONField(default=list, blank=True)
    # documents whose due date in the file differs from their payment terms' schedule (the user chooses)
    due_date_conflicts = models.PositiveIntegerField(default=0)
    # what checking found that the user may want to know or decide: {"dates": how year-last dates such as
    # 1/26/2013 were read (order, chosen, proofs, an example line), "new_customers": how many the commit creates}
    findings = models.JSONField(default=dict, blank=True)
    # the first three values of every column, {header: [v1, v2, v3]}, for the mapping step
    samples = models.JSONField(default=dict, blank=True)
    # why the job failed, in the reader's language (a stored text code, see common.texts)
    message = StoredTextField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "created_at"], name="importjob_company_created")]
        verbose_name = _("import")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)
