"""Month-end receivables snapshots: the source of trend charts (one row per company, date and owner)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huikuan.common.money import ZERO, MoneyField


class ArSnapshot(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    open_amount = MoneyField(_("open receivables"), default=ZERO)
    overdue_amount = MoneyField(_("overdue"), default=ZERO)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            # owner may be NULL (customers without an owner); take_snapshot replaces a date's rows whole
            models.UniqueConstraint(fields=["company", "date", "owner"], name="snapshot_unique"),
        ]
        verbose_name = _("receivables snapshot")

    def __str__(self) -> str:
        return f"{self.date} {self.owner_id}"


class AgingFigures(models.Model):
    """One customer's default aging buckets (current, 1–30 … 120+), total and disputed part, in fen."""

    current = models.BigIntegerField(default=0)
    b1 = models.BigIntegerField(default=0)
    b2 = models.BigIntegerField(default=0)
    b3 = models.BigIntegerField(default=0)
    b4 = models.BigIntegerField(default=0)
    b5 = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    disputed = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class CustomerAging(AgingFigures):
    """Per-customer aging as of one business date (default collection buckets by due date), kept
    for the aging page and the dashboard. Rebuilt by the daily job (``services.refresh_customer_aging``);
    customers whose instalments changed since are in ``AgingChange`` and are recomputed live on read,
    so what is shown stays exact (see ``insight.aging``). Amounts in fen."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="+", primary_key=True)
    as_of = models.DateField(_("as of"))

    class Meta:
        indexes = [models.Index(fields=["company", "as_of", "-total"], name="customer_aging_rank")]
        verbose_name = _("customer aging")


class AgingChange(models.Model):
    """A customer whose instalments changed after the last rebuild of ``CustomerAging``: written by
    database triggers on ``ledger_instalment`` (every insert and update, whichever code did it)."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="+",
                                    primary_key=True, db_constraint=False)
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("changed customer")


class AgingBuild(models.Model):
    """One stored per-customer aging of a past date (``CustomerAgingAt`` rows), with the point in the
    database's history it was computed at: ``snapshot``/``tx`` (PostgreSQL: the transaction snapshot of
    the build and its xmin; SQLite: the value of ``AgingClock`` it closed). Month ends are built by the
    daily job, other dates on their first view; ``used_at`` orders the least recently used for pruning
    (``insight.past``)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    snapshot = models.TextField(blank=True, default="")
    tx = models.BigIntegerField(default=0)
    rows = models.IntegerField(default=0)
    built_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField()
    # the build also stored the KPI facts of its date (``KpiFact``; builds made before they existed have none)
    kpi_facts = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "as_of"], name="aging_build_unique")]
        verbose_name = _("stored aging date")


class KpiFact(models.Model):
    """What the KPIs sum, stored with a build (``insight.kpi_store``), in fen, per customer and salesperson
    (the instalment's or document's: who sold it answers for it); rows with no customer are the sums per
    salesperson of the build's customer rows. Flows cover the build's month up to its date (credit sales by
    document date whatever became of the document, instalments falling due that are not due before their
    document date, allocations by their date); ``ar``/``current`` are the open AR and its not-yet-due part
    as of the date."""

    build = models.ForeignKey(AgingBuild, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False)
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                                    related_name="+", db_constraint=False)
    billed = models.BigIntegerField(default=0)
    due = models.BigIntegerField(default=0)
    collected = models.BigIntegerField(default=0)
    written_off = models.BigIntegerField(default=0)
    on_time = models.BigIntegerField(default=0)
    days_to_pay = models.BigIntegerField(default=0)  # Σ fen × days from the document date
    days_late = models.BigIntegerField(default=0)  # Σ fen × days after the due date
    ar = models.BigIntegerField(default=0)
    current = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["build", "customer"], name="kpi_fact_build_customer")]
        verbose_name = _("stored KPI figures")


class CustomerAgingAt(AgingFigures):
    """Per-customer aging as of a build's date (default collection buckets by due date), amounts in fen."""

    pk = models.CompositePrimaryKey("build", "customer")
    build = models.ForeignKey(AgingBuild, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False)

    class Meta:
        verbose_name = _("customer aging as of a date")


class AgingMark(models.Model):
    """A customer whose aging as of ``since`` or any later date may have changed, and when: ``tx`` is the
    changing transaction's id on PostgreSQL (``pg_current_xact_id()``), the ``AgingClock`` value on
    SQLite. Written by database triggers on ``ledger_instalment`` (migration 0004); never written by
    Python. Rows of customers or companies that no longer exist are harmless (no foreign keys)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False)
    company = models.ForeignKey("accounts.Company", on_delete=models.DO_NOTHING, related_name="+",
                                db_constraint=False)
    since = models.DateField()
    tx = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "since"], name="aging_mark_unique")]
        indexes = [models.Index(fields=["company", "tx"], name="aging_mark_tx")]
        verbose_name = _("aging change mark")


class AgingClock(models.Model):
    """SQLite only: one row whose ``tx`` the triggers copy into ``AgingMark``; each build closes the
    current value (records it, then adds one) inside its write transaction."""

    id = models.IntegerField(primary_key=True)
    tx = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("aging clock")


# ---------------------------------------------------------------- collection commission (回款提成)


class BillMode(models.TextChoices):
    SAME = "same", _("Like cash")
    REDUCED = "reduced", _("At a reduced share of the rate")
    NONE = "none", _("Not counted")


class CommissionRule(models.Model):
    """The company's collection-commission rule from ``valid_from`` on: rate bands by days paid after
    the instalment's due date (``CommissionBand``), and how acceptance bills count. The rule with the
    latest ``valid_from`` on or before a month's end applies to that month."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    valid_from = models.DateField(_("valid from"))
    bill_mode = models.CharField(_("acceptance bills"), max_length=10, choices=BillMode.choices, default=BillMode.SAME)
    bill_share = models.DecimalField(_("share of the rate for bills (%)"), max_digits=5, decimal_places=2, default=100)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "valid_from"], name="commission_rule_unique"),
            models.CheckConstraint(condition=models.Q(bill_share__gte=0) & models.Q(bill_share__lte=100),
                                   name="commission_bill_share_range"),
        ]
        verbose_name = _("commission rule")


class CommissionBand(models.Model):
    """Days paid after the due date from ``days_from`` to ``days_to`` (inclusive; None = no end; payments
    before the due date count as 0 days late) earn ``rate`` percent of the amount applied."""

    rule = models.ForeignKey(CommissionRule, on_delete=models.CASCADE, related_name="bands")
    days_from = models.IntegerField(_("from days late"))
    days_to = models.IntegerField(_("to days late"), null=True, blank=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=7, decimal_places=4)

    class Meta:
        ordering = ["days_from"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0) & models.Q(rate__lte=100), name="commission_rate_range"),
            models.CheckConstraint(condition=models.Q(days_to__isnull=True) | models.Q(days_to__gte=models.F("days_from")),
                                   name="commission_band_order"),
        ]
        verbose_name = _("commission band")


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class CommissionStatement(models.Model):
    """One salesperson's commission for one month. A draft is recomputed at will; an approved one is never
    rewritten: what changes later (a payment reversed, an allocation back-dated into it) lands as an
    adjustment line in a later month."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("salesperson"))
    month = models.DateField(_("month"))  # its first day
    month_end = models.DateField(_("month end"))
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    collected_amount = MoneyField(_("collected"), default=ZERO)
    commission_amount = MoneyField(_("commission"), default=ZERO)
    adjustment_amount = MoneyField(_("adjustments"), default=ZERO)
    computed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "salesperson_id"]
        constraints = [models.UniqueConstraint(fields=["company", "salesperson", "month"], name="commission_statement_unique")]
        indexes = [models.Index(fields=["company", "month", "status"], name="commission_statement_month")]
        verbose_name = _("commission statement")


class CommissionLine(models.Model):
    """One payment allocation behind a statement: amount applied, days late, rate and commission (fen
    rounded half away from zero). ``adjustment`` marks an allocation dated in an earlier, already approved
    month (a reversal's clawback or a back-dated entry)."""

    # a month writes one line per payment allocation (150,000 at the bench's scale): each index and each
    # deferred foreign-key check is paid per line. The statement is found through (statement, date); the
    # customer, credit and instalment are those of the allocation (append-only, its own foreign keys protect
    # them), copied for the statement's page, so they carry no constraint or index of their own.
    statement = models.ForeignKey(CommissionStatement, on_delete=models.CASCADE, related_name="lines", db_index=False)
    allocation = models.OneToOneField("ledger.Allocation", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 db_constraint=False, db_index=False)
    credit = models.ForeignKey("ledger.Credit", on_delete=models.PROTECT, related_name="+", db_constraint=False,
                               db_index=False)
    instalment = models.ForeignKey("ledger.Instalment", on_delete=models.PROTECT, related_name="+",
                                   db_constraint=False, db_index=False)
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount applied"))
    days_late = models.IntegerField(_("days late"))
    rate = models.DecimalField(_("rate (%)"), max_digits=9, decimal_places=6)
    is_bill = models.BooleanField(_("acceptance bill"), default=False)
    commission = MoneyField(_("commission"))
    adjustment = models.BooleanField(_("adjustment"), default=False)

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["statement", "date"], name="commission_line_statement")]
        verbose_name = _("commission line")


# ---------------------------------------------------------------- bad-debt provision (坏账准备, insight.provision)


class ProvisionMatrix(models.Model):
    """One version of the company's 账龄 provision matrix. Editing saves a new version; old ones are kept."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(_("version"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["company", "version"], name="provision_matrix_version_unique")]
        verbose_name = _("provision matrix")


class ProvisionBand(models.Model):
    """An age band of a matrix: receivables that arose ``from_months`` (inclusive) up to ``to_months``
    (exclusive, NULL: no upper end) months before the as-of date carry ``rate`` percent."""

    matrix = models.ForeignKey(ProvisionMatrix, on_delete=models.CASCADE, related_name="bands")
    from_months = models.PositiveIntegerField(_("from (months)"))
    to_months = models.PositiveIntegerField(_("to (months)"), null=True, blank=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["matrix", "from_months"]
        constraints = [
            models.UniqueConstraint(fields=["matrix", "from_months"], name="provision_band_unique"),
            models.CheckConstraint(condition=models.Q(rate__gte=0) & models.Q(rate__lte=100), name="provision_band_rate"),
            models.CheckConstraint(condition=models.Q(to_months__isnull=True) | models.Q(to_months__gt=models.F("from_months")),
                                   name="provision_band_order"),
        ]
        verbose_name = _("provision band")


class AssessmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ProvisionAssessment(models.Model):
    """An individual assessment (单项计提): a customer's or one document's receivables carry their own rate
    instead of the matrix, from ``valid_from`` (until ``ended_on``, exclusive), once a second person approved it."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("ledger.ReceivableDocument", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    valid_from = models.DateField(_("valid from"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AssessmentStatus.choices,
                              default=AssessmentStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0) & models.Q(rate__lte=100), name="provision_assessment_rate"),
            models.CheckConstraint(condition=models.Q(ended_on__isnull=True) | models.Q(ended_on__gt=models.F("valid_from")),
                                   name="provision_assessment_dates"),
            models.CheckConstraint(condition=~models.Q(decided_by=models.F("requested_by")),
                                   name="provision_assessment_four_eyes"),
        ]
        indexes = [models.Index(fields=["company", "status"], name="provision_assessment_status")]
        verbose_name = _("individual assessment")


class ProvisionSnapshot(models.Model):
    """The provision of a closed month's end, stored when the month was closed (a closed month's figures
    never move: a later matrix version or assessment does not rewrite it); dropped when the month reopens."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    month_end = models.DateField(_("month end"))
    matrix = models.ForeignKey(ProvisionMatrix, null=True, on_delete=models.PROTECT, related_name="+")
    balance = MoneyField(_("receivables"), default=ZERO)
    provision = MoneyField(_("provision"), default=ZERO)
    write_off_use = MoneyField(_("write-off use"), default=ZERO)
    lines = models.JSONField(default=list)  # the report's lines as shown: kind, label, keys, balance, rate, provision
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["month_end"]
        constraints = [models.UniqueConstraint(fields=["company", "month_end"], name="provision_snapshot_unique")]
        verbose_name = _("provision at a closed month end")
# ---------------------------------------------------------------- early warnings (风险预警)


class WarningKind(models.TextChoices):
    SCORE_DROP = "score_drop", _("Score dropped")
    GRADE_CHANGE = "grade_change", _("Grade lowered")
    OVERDUE_AMOUNT = "overdue_amount", _("Overdue above an amount")
    OVERDUE_DAYS = "overdue_days", _("Overdue longer than")
    LIMIT_USE = "limit_use", _("Credit limit use")
    BROKEN_PROMISE = "broken_promise", _("Broken promise")
    PAYING_LATER = "paying_later", _("Paying later than usual")
    CONCENTRATION = "concentration", _("Concentration")
    DSO_TREND = "dso_trend", _("DSO rising")
    BILL_MATURITY = "bill_maturity", _("Acceptance bill near maturity")
    LIMITATION = "limitation", _("Limitation date near")
    REVIEW_OVERDUE = "review_overdue", _("Credit review overdue")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class WarningRule(models.Model):
    """One early-warning rule of a company: on or off, its threshold (meaning per kind, see
    ``insight.early_warnings.SPECS``) and the severity of what it raises (high also goes to the manager)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("rule"), max_length=20, choices=WarningKind.choices)
    enabled = models.BooleanField(_("on"), default=True)
    threshold = models.DecimalField(_("threshold"), max_digits=16, decimal_places=2, null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "kind"], name="warning_rule_unique"),
            models.CheckConstraint(condition=models.Q(threshold__isnull=True) | models.Q(threshold__gte=0),
                                   name="warning_rule_threshold_nonneg"),
        ]
        verbose_name = _("warning rule")


class WarningStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("warning status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class EarlyWarning(models.Model):
    """A warning raised once per cause: ``key`` names the object and the cause period (an instalment, a
    promise, a bill, a score snapshot, or a customer and month), unique per company and rule, so a rerun of
    the daily job never raises it twice. ``figure`` (days, percent, points) and ``ref`` are the facts the
    message is rendered from in the reader's language; ``amount`` is money in yuan."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("rule"), max_length=20, choices=WarningKind.choices)
    severity = models.CharField(_("severity"), max_length=6, choices=Severity.choices)
    key = models.CharField(max_length=80)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("customer"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("owner"))
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("manager"))
    raised_on = models.DateField(_("raised on"))
    amount = MoneyField(_("amount"), null=True, blank=True)
    figure = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    threshold = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    ref = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=WarningStatus.choices, default=WarningStatus.OPEN)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    acted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    acted_at = models.DateTimeField(null=True, blank=True)
    # resolved by the daily job because its cause ended (``insight.early_warnings.resolve_ended``), not by a person
    resolved_automatically = models.BooleanField(_("resolved automatically"), default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-raised_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["company", "kind", "key"], name="warning_once_per_cause")]
        indexes = [
            models.Index(fields=["company", "status", "-raised_on"], name="warning_status_day"),
            models.Index(fields=["customer", "status"], name="warning_customer"),
            models.Index(fields=["company", "raised_on"], name="warning_day"),
            models.Index(fields=["company", "updated_at", "id"], name="warning_company_updated"),  # API sync
        ]
        verbose_name = _("early warning")


class WarningDigest(models.Model):
    """One digest of a day's warnings sent (or tried) to one recipient over one channel: ``recipient`` is
    ``u<user id>`` for a user's e-mail and ``robot`` for the company's WeCom / DingTalk group robot. The
    unique key makes the daily job send each digest once; a failed one is retried by the next run."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    channel = models.CharField(_("channel"), max_length=10)
    recipient = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    warnings = models.IntegerField(default=0)
    status = models.CharField(_("status"), max_length=10, default="pending")
    error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "date", "channel", "recipient"],
                                               name="warning_digest_once")]
        verbose_name = _("warning digest")
