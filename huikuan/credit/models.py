"""Credit management: policy and grades, profiles, scoring, exposure, credit checks, holds, approvals.

Writes go only through ``credit.services`` (customer row lock first, audit event in the same
transaction). Money columns are ``MoneyField`` (BIGINT fen); scores are integers 0–100.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField
from huikuan.common.texts import StoredTextField


class Mode(models.TextChoices):
    HARD = "hard", _("Hard limit (hold orders over the limit)")
    SOFT = "soft", _("Soft limit (warn only)")


class CreditPolicy(models.Model):
    """One per company; created with the default grades on first use (``services.policy_of``)."""

    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="credit_policy")
    mode = models.CharField(_("limit mode"), max_length=4, choices=Mode.choices, default=Mode.HARD)
    approval_threshold_amount = MoneyField(_("credit manager may approve up to"), default=ZERO)
    min_experiences = models.PositiveSmallIntegerField(_("minimum payment experiences for an index"), default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("credit policy")


class Grade(models.Model):
    policy = models.ForeignKey(CreditPolicy, on_delete=models.CASCADE, related_name="grades")
    code = models.CharField(_("grade"), max_length=10)
    min_score = models.PositiveSmallIntegerField(_("score from"))
    max_score = models.PositiveSmallIntegerField(_("score to"))
    max_limit_amount = MoneyField(_("maximum limit"), null=True, blank=True)
    max_limit_months = models.DecimalField(
        _("maximum limit in months of sales"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    max_terms_days = models.PositiveIntegerField(_("maximum terms (days)"), null=True, blank=True)
    prepayment_required = models.BooleanField(_("prepayment required (款到发货)"), default=False)
    review_interval_days = models.PositiveIntegerField(_("review interval (days)"), default=365)
    hold_days_overdue = models.PositiveIntegerField(_("hold when overdue more than (days)"), null=True, blank=True)
    hold_overdue_amount = MoneyField(_("hold when overdue exceeds"), null=True, blank=True)

    class Meta:
        ordering = ["-max_score"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="credit_grade_code_unique"),
            models.CheckConstraint(condition=Q(min_score__lte=models.F("max_score")) & Q(max_score__lte=100),
                                   name="credit_grade_band_valid"),
        ]
        verbose_name = _("grade")

    def __str__(self) -> str:
        return self.code


class VersionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PROPOSED = "proposed", _("Proposed")
    RETIRED = "retired", _("Retired")
    DECLINED = "declined", _("Declined")


class ScorecardVersion(models.Model):
    """Scorecard weights and bands; never edited once used — a change is a new version."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(_("version"))
    config = models.JSONField(_("configuration"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.ACTIVE)
    note = models.CharField(_("note"), max_length=300, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="scorecard_number_unique"),
            models.UniqueConstraint(fields=["company"], condition=Q(status="active"), name="scorecard_one_active"),
        ]
        verbose_name = _("scorecard version")


class HoldSource(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATIC = "automatic", _("Automatic (policy)")
    DUNNING = "dunning", _("Dunning")
    PLAYBOOK = "playbook", _("Collections playbook")


class CreditProfile(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credit_profiles")
    limit_amount = MoneyField(_("credit limit"), default=ZERO)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    terms_days = models.PositiveIntegerField(_("terms (days)"), null=True, blank=True)
    limit_exception = models.BooleanField(_("approved exception above the grade maximum"), default=False)
    grade = models.CharField(_("grade"), max_length=10, blank=True)
    grade_override = models.BooleanField(_("grade set by approved override"), default=False)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    scored_on = models.DateField(_("scored on"), null=True, blank=True)
    on_hold = models.BooleanField(_("on hold"), default=False)
    hold_reason = StoredTextField(_("hold reason"), null=True, blank=True)  # Text (system) or str (typed)
    hold_source = models.CharField(_("hold source"), max_length=10, choices=HoldSource.choices, blank=True)
    hold_since = models.DateTimeField(_("on hold since"), null=True, blank=True)
    next_review_date = models.DateField(_("next review"), null=True, blank=True)
    guarantees = models.TextField(_("guarantees"), blank=True)
    guarantee_amount = MoneyField(_("guarantee amount"), default=ZERO)
    collateral = models.TextField(_("collateral"), blank=True)
    collateral_amount = MoneyField(_("collateral amount"), default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "customer"], name="credit_profile_unique"),
            models.CheckConstraint(condition=Q(limit_amount__gte=0), name="credit_limit_nonneg"),
        ]
        indexes = [
            models.Index(fields=["company", "on_hold"], name="credit_profile_hold"),
            models.Index(fields=["company", "next_review_date"], name="credit_profile_review"),
        ]
        verbose_name = _("credit profile")


class ReportSource(models.TextChoices):
    WEB = "web", _("Entered by hand")
    CSV = "csv", _("CSV file")
    API = "api", _("API")


def _report_upload(instance, filename):
    return f"credit/reports/{instance.customer_id}/{filename}"


class ThirdPartyReport(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(_("provider"), max_length=100)
    report_date = models.DateField(_("report date"))
    score = models.PositiveSmallIntegerField(_("score (0–100)"), null=True, blank=True)
    rating = models.CharField(_("rating"), max_length=20, blank=True)
    file = models.FileField(_("file"), upload_to=_report_upload, blank=True)
    source = models.CharField(_("source"), max_length=4, choices=ReportSource.choices, default=ReportSource.WEB)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-report_date", "-id"]
        indexes = [models.Index(fields=["customer", "report_date"], name="credit_report_customer")]
        constraints = [models.CheckConstraint(condition=Q(score__lte=100), name="credit_report_score_range")]
        verbose_name = _("third-party credit report")


class OrderStatus(models.TextChoices):
    OPEN = "open", _("Open (approved)")
    HELD = "held", _("On credit hold")
    INVOICED = "invoiced", _("Invoiced")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")


class SalesOrder(models.Model):
    """An order not yet invoiced. Open orders count towards exposure; held ones wait in the queue."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("order reference"), max_length=60)
    amount = MoneyField(_("amount"))
    requested_amount = MoneyField(_("requested amount"))
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    check_outcome = models.CharField(_("credit check"), max_length=8, blank=True)
    check_reasons = models.JSONField(default=list, blank=True)
    prepayment_requested = models.BooleanField(_("prepayment requested"), default=False)
    decision_note = StoredTextField(_("decision"), null=True, blank=True)  # Text (system) or str (typed)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # the held order this one is the unreleased remainder of (a partial release splits the order)
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="remainders",
                                   verbose_name=_("remainder of"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "reference"], name="credit_order_reference_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_order_amount_positive"),
        ]
        indexes = [models.Index(fields=["customer", "status"], name="credit_order_customer_status"),
                   models.Index(fields=["company", "status"], name="credit_order_company_status")]
        verbose_name = _("sales order")

    def __str__(self) -> str:
        return self.reference

    def reasons(self) -> list[dict]:
        """The stored check reasons, each {severity, code, message} with the message in the reader's language."""
        from .texts import check_reason

        return [check_reason(r) for r in self.check_reasons or [] if isinstance(r, dict)]

    def check_outcome_label(self) -> str:
        from .texts import outcome_label

        return outcome_label(self.check_outcome)


class ScoreSnapshot(models.Model):
    """A customer's score on a date: the version used, every factor's value and points (reproducible)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    version = models.ForeignKey(ScorecardVersion, on_delete=models.PROTECT, related_name="snapshots")
    score = models.PositiveSmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=10, blank=True)
    factors = models.JSONField(default=dict)
    points = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "as_of"], name="credit_snapshot_day_unique")]
        verbose_name = _("score snapshot")


class RequestKind(models.TextChoices):
    LIMIT = "limit", _("Credit limit change")
    TERMS = "terms", _("Terms change")
    HOLD_RELEASE = "hold_release", _("Hold release")
    GRADE = "grade", _("Grade override")


class RequestChannel(models.TextChoices):
    CREDIT = "credit", _("Credit page")
    WEB = "web", _("Customer form")
    API = "api", _("API")
    IMPORT = "import", _("Import")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    PARTLY = "partly", _("Awaiting second approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class CreditRequest(models.Model):
    """Maker-checker request. ``needs_second`` when above the credit manager's threshold or an exception."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("request"), max_length=12, choices=RequestKind.choices)
    limit_amount = MoneyField(_("new limit"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    terms_days = models.PositiveIntegerField(_("new terms (days)"), null=True, blank=True)
    # the payment terms the customer gets when a terms request is approved (None: plain net N days)
    payment_term = models.ForeignKey("customers.PaymentTerm", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("new payment terms"))
    grade = models.CharField(_("new grade"), max_length=10, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    channel = models.CharField(_("asked from"), max_length=8, choices=RequestChannel.choices,
                               default=RequestChannel.CREDIT)
    exception = models.BooleanField(_("exception above the grade maximum"), default=False)
    needs_second = models.BooleanField(_("needs a second approver"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="credit_request_status"),
                   models.Index(fields=["company", "updated_at", "id"], name="credit_request_updated")]
        verbose_name = _("credit request")


class Notification(models.Model):
    """A message to a user about a decision on their order or request (shown on the credit pages)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(SalesOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    message = StoredTextField(_("message"))  # a Text, rendered in the reader's language
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="credit_notification_user")]
