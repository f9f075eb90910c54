"""Outbound webhooks: endpoints (subscriptions), messages (one per event), deliveries and their attempts.

A message is written in the same transaction as the change it reports (see ``integrations.events``), with
one delivery per subscribed endpoint; the worker (``integrations.delivery``) sends them after commit.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import MoneyField


class Endpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its secret (Standard Webhooks)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(max_length=80)
    # during a rotation the old secret still signs (both signatures are sent) until it expires
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")

    def __str__(self) -> str:
        return self.description or self.url

    def signing_secrets(self, now) -> list[str]:
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class Message(models.Model):
    """One event as it is sent: ``msg_id`` is the ``webhook-id`` (the same on every attempt and redelivery)
    and ``body`` the exact JSON bytes signed and sent."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    msg_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=60)
    body = models.TextField()
    audit_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook message")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One message to one endpoint: retried with backoff for 24 hours, then failed (redeliverable by hand)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # the start of the current 24-hour retry window (creation, or the latest manual redelivery)
    window_start = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # set by a manual redelivery; the next attempt is logged as manual
    manual = models.BooleanField(default=False)
    last_status_code = models.PositiveSmallIntegerField(_("response"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["message", "endpoint"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due",
                                condition=Q(status__in=["pending", "sending"]))]
        verbose_name = _("webhook delivery")


class Attempt(models.Model):
    """The delivery log: every request made, with the response code (or the error) and the time it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("response"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    response_body = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook attempt")


# ------------------------------------------------------------------ voucher export (凭证导出)


class VoucherMapping(models.Model):
    """The company's 科目 for voucher export; blank means "not mapped" and refuses an export that needs it."""

    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="+")
    ar_account = models.CharField(_("accounts receivable (应收账款)"), max_length=40, default="1122")
    default_bank_account = models.CharField(_("bank, for payments without a bank line"), max_length=40, blank=True)
    credit_note_account = models.CharField(_("credit notes"), max_length=40, blank=True)
    write_off_account = models.CharField(_("write-offs (bad-debt allowance)"), max_length=40, blank=True)
    bank_charge_account = models.CharField(_("bank charges"), max_length=40, blank=True)
    discount_account = models.CharField(_("early-payment discounts"), max_length=40, blank=True)
    receipt_word = models.CharField(_("voucher word for receipts"), max_length=4, default="收")
    transfer_word = models.CharField(_("voucher word for transfers"), max_length=4, default="转")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("voucher account mapping")


class BankAccountCode(models.Model):
    """科目 of one of the company's bank accounts (银行存款 sub-account)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    bank_account = models.OneToOneField("banking.BankAccount", on_delete=models.CASCADE, related_name="+")
    account = models.CharField(_("account code"), max_length=40)

    class Meta:
        verbose_name = _("bank account code")


class VoucherExport(models.Model):
    """One export: its lines are stored as they went out, so a download is always the same file."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    layout = models.CharField(_("layout"), max_length=12)
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    again = models.BooleanField(_("re-export"), default=False)
    lines = models.JSONField(default=list)
    voucher_count = models.PositiveIntegerField(_("vouchers"), default=0)
    credit_count = models.PositiveIntegerField(_("receipts and credits"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("voucher export")


class ExportedCredit(models.Model):
    """A receipt, credit note, write-off, charge or discount's first export: each is exported once."""

    credit = models.OneToOneField("ledger.Credit", on_delete=models.PROTECT, related_name="+")
    export = models.ForeignKey(VoucherExport, on_delete=models.PROTECT, related_name="credits")


# ------------------------------------------------------------------ receivables financing (应收账款融资 / 保理)


class FinancedItem(models.Model):
    """An open item pledged or sold to a bank (保理 / 应收账款质押). An item is financed at most once at a time
    (unique while not released); releasing it (the bank gave it back, or it was marked by mistake) keeps the
    row with who released it, when and why, so the history stays."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    instalment = models.ForeignKey("ledger.Instalment", on_delete=models.PROTECT, related_name="+")
    bank = models.CharField(_("bank"), max_length=100)
    reference = models.CharField(_("financing contract"), max_length=100, blank=True)
    financed_on = models.DateField(_("financed on"))
    amount = MoneyField(_("financed amount"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    release_reason = models.CharField(_("reason"), max_length=200, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-financed_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="financed_amount_positive"),
            models.UniqueConstraint(fields=["instalment"], condition=Q(released_on__isnull=True),
                                    name="financed_once_at_a_time"),
            models.CheckConstraint(condition=Q(released_on__isnull=True) | Q(released_on__gte=models.F("financed_on")),
                                   name="financed_release_after"),
        ]
        indexes = [models.Index(fields=["company", "released_on", "financed_on"], name="financed_company_live")]
        verbose_name = _("financed item")
