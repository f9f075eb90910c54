"""Who may use the customer portal, their one-time sign-in links and codes, and what they did there.

A portal user is a customer ``Contact`` granted access (``PortalAccess``), never a staff ``User``: the
portal has its own session cookie (``middleware.PortalSessionMiddleware``), so neither kind of session
is valid on the other side (docs/ARCHITECTURE.md, "Customer portal").
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import MoneyField


class PortalAccess(models.Model):
    """A contact's right to use the portal: its own customer, or with ``whole_group`` every customer of
    the customer's group (a group treasurer paying for its subsidiaries)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    contact = models.OneToOneField("customers.Contact", on_delete=models.CASCADE, related_name="portal_access")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="portal_accesses")
    whole_group = models.BooleanField(_("all customers of the group"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)
    # bumped on revocation: every portal session carries the generation it was opened with
    generation = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("portal access")
        indexes = [models.Index(fields=["customer", "is_active"], name="portal_access_customer")]

    def __str__(self) -> str:
        return str(self.contact_id)


class TokenPurpose(models.TextChoices):
    INVITE = "invite", _("Invitation")
    REMINDER = "reminder", _("Reminder link")
    CODE = "code", _("Sign-in code")


class SignInToken(models.Model):
    """A one-time sign-in secret bound to one access: a link (``token_hash``) or a six-digit code
    (``code_hash``). Only SHA-256 hashes are stored; a used, expired or revoked token opens nothing."""

    access = models.ForeignKey(PortalAccess, on_delete=models.CASCADE, related_name="tokens")
    purpose = models.CharField(max_length=10, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64, blank=True)
    sent_to = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["access", "used_at"], name="portal_token_access")]


class Confirmation(models.Model):
    """A statement confirmed (对账确认) or disputed in the portal: who, when, from where, and the PDF as
    confirmed — the issued copy with a confirmation stamp page — kept byte for byte with its hash."""

    statement = models.ForeignKey("statements.Statement", on_delete=models.PROTECT, related_name="+")
    reply = models.OneToOneField("statements.StatementReply", on_delete=models.PROTECT, related_name="+")
    access = models.ForeignKey(PortalAccess, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(_("name"), max_length=100)
    signer_title = models.CharField(_("title"), max_length=100, blank=True)
    confirmed = models.BooleanField()
    amount = MoneyField(_("balance per customer"))
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    pdf = models.BinaryField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    lines = models.JSONField(default=list, blank=True)  # disagreement lines: [{"reference", "ours", "theirs", "note"}]

    class Meta:
        verbose_name = _("portal confirmation")
        constraints = [
            models.CheckConstraint(condition=Q(confirmed=False) | ~Q(sha256=""), name="portal_confirmation_stamped"),
        ]
