"""Statements sent to customers (对账单 / 往来款项对账确认函) and their confirmations."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import MoneyField


class ReplyStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting reply")
    CONFIRMED = "confirmed", _("Confirmed (信息证明无误)")
    DISPUTED = "disputed", _("Disputed (信息不符)")


class Statement(models.Model):
    """An issued statement: the balance we asserted as of ``period_to`` and the customer's reply."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="statements")
    number = models.CharField(_("number"), max_length=40)
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    closing_amount = MoneyField(_("closing balance"))
    reply_deadline = models.DateField(_("reply by"), null=True, blank=True)
    sent_to = models.CharField(_("sent to"), max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_error = models.CharField(max_length=300, blank=True)
    status = models.CharField(_("reply"), max_length=10, choices=ReplyStatus.choices, default=ReplyStatus.PENDING)
    replied_on = models.DateField(_("reply date"), null=True, blank=True)
    replied_by = models.CharField(_("signed by"), max_length=100, blank=True)
    confirmed_amount = MoneyField(_("balance per customer"), null=True, blank=True)
    reply_note = models.CharField(_("differences / note"), max_length=500, blank=True)
    reply_scan = models.FileField(_("scanned reply"), upload_to="statements/%Y/", blank=True)
    batch = models.ForeignKey("StatementBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="statements")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-period_to", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="statement_number_unique"),
            models.CheckConstraint(condition=Q(period_from__lte=models.F("period_to")), name="statement_period_order"),
        ]
        indexes = [models.Index(fields=["customer", "status", "replied_on"], name="statement_customer_status")]
        verbose_name = _("statement")

    def __str__(self) -> str:
        return self.number

    def difference(self):
        """Balance per the customer's latest reply − our closing balance (None without an amount)."""
        return None if self.confirmed_amount is None else self.confirmed_amount - self.closing_amount


class StatementReply(models.Model):
    """One reply of the customer to a statement, kept as recorded (a later reply never overwrites an earlier one).

    ``status`` is what the reply means: a "confirmed" reply naming a balance different from the statement's
    closing balance is stored as disputed (差异) with ``difference_amount`` = their balance − ours.
    The statement's own reply columns mirror the latest reply (by reply date, then recording order).
    """

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="replies")
    status = models.CharField(_("reply"), max_length=10, choices=ReplyStatus.choices)
    replied_on = models.DateField(_("reply date"))
    replied_by = models.CharField(_("signed by"), max_length=100, blank=True)
    confirmed_amount = MoneyField(_("balance per customer"), null=True, blank=True)
    difference_amount = MoneyField(_("difference"), null=True, blank=True)
    note = models.CharField(_("differences / note"), max_length=500, blank=True)
    scan = models.FileField(_("scanned reply"), upload_to="statements/%Y/", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-replied_on", "-id"]
        indexes = [models.Index(fields=["statement", "replied_on"], name="statement_reply_date")]
        verbose_name = _("statement reply")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class StatementBatch(models.Model):
    """Bulk generation (and optional e-mailing) of statements for a selection of customers."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    period_from = models.DateField()
    period_to = models.DateField()
    selection = models.JSONField(default=dict)
    send_email = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    emailed = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # written by the worker every few customers: a running batch whose heartbeat stopped was cut off
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    # a running batch silent this long lost its worker (killed, machine restarted) and may be resumed
    STALE_AFTER = dt.timedelta(minutes=5)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("statement batch")

    def __str__(self) -> str:
        return f"{self.period_to} ({self.done}/{self.total})"

    @property
    def resumable(self) -> bool:
        """Failed, or running with a heartbeat older than ``STALE_AFTER`` (its worker is gone)."""
        if self.status == BatchStatus.FAILED:
            return True
        if self.status != BatchStatus.RUNNING:
            return False
        beat = self.heartbeat_at or self.created_at
        return beat is not None and timezone.now() - beat >= self.STALE_AFTER

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else (100 if self.status == BatchStatus.DONE else 0)


class IssuedCopy(models.Model):
    """The statement PDF exactly as it was issued: rendered once when the statement is issued (in the
    customer's language) and from then on served, e-mailed and put into evidence packs byte for byte.
    Later ledger entries, interest rules or code changes never alter it; a new version is a new
    statement. Append-only on both databases (migration 0003)."""

    statement = models.OneToOneField(Statement, primary_key=True, on_delete=models.PROTECT, related_name="issued_copy")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=10)
    rendered_at = models.DateTimeField(auto_now_add=True)
    # True for a statement issued before copies were kept: rendered at first download, not at issue
    late = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("issued statement copy")
