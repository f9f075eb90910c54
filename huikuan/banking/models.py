"""Cash application: company bank accounts, imported statements and their lines, learned payers.

A ``BankLine`` is one movement on a statement (signed: + money in, − money out). Lines are unique per
account by ``(dedupe_key, occurrence)``: the key is the bank's serial number (流水号) when the export
has one, else a hash of date, amount, counterparty, memo and balance; ``occurrence`` counts identical
legitimate rows within one file, so re-importing a file or an overlapping period never duplicates.

Money only reaches the ledger through ``banking.services`` (which call ``ledger.services``): each
application of a line is a ``BankApplication`` row pointing at the payment (``ledger.Credit``) it
created; undo reverses that payment and sends the line back to the queue.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import MoneyField


class BankAccount(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100, blank=True)
    bank = models.CharField(_("bank"), max_length=100)
    account_number = models.CharField(_("account number"), max_length=50)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank", "account_number"]
        constraints = [models.UniqueConstraint(fields=["company", "account_number"], name="bank_account_unique")]
        verbose_name = _("bank account")

    def __str__(self) -> str:
        return f"{self.bank} {self.account_number} ({self.currency})"


class SourceFormat(models.TextChoices):
    CN_DEBIT_CREDIT = "cn_debit_credit", _("Chinese bank export: separate debit / credit columns")
    CN_AMOUNT_FLAG = "cn_amount_flag", _("Chinese bank export: one amount with an in/out flag")
    CAMT053 = "camt053", _("CAMT.053 (ISO 20022 XML)")
    MT940 = "mt940", _("MT940")
    WECHAT = "wechat", _("WeChat Pay bill")
    ALIPAY = "alipay", _("Alipay bill")
    MAPPED = "mapped", _("Columns mapped by hand")


class BankStatement(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    source_format = models.CharField(_("format"), max_length=20, choices=SourceFormat.choices)
    file_name = models.CharField(_("file"), max_length=200)
    file_hash = models.CharField(max_length=64)
    period_start = models.DateField(_("from"), null=True, blank=True)
    period_end = models.DateField(_("to"), null=True, blank=True)
    opening_balance = MoneyField(_("opening balance"), null=True, blank=True)
    closing_balance = MoneyField(_("closing balance"), null=True, blank=True)
    file_movement = MoneyField(_("sum of the lines in the file"), null=True, blank=True)
    total_lines = models.PositiveIntegerField(_("lines in file"), default=0)
    new_lines = models.PositiveIntegerField(_("new lines"), default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        indexes = [models.Index(fields=["company", "-imported_at"], name="bank_statement_recent")]
        verbose_name = _("bank statement")

    def __str__(self) -> str:
        return self.file_name


class StatementLayout(models.Model):
    """How to read one bank account's exports of a layout no built-in profile knows: the mapping the
    user made once (field → column header as the file writes it), used automatically next time."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="layouts")
    fields = models.JSONField(_("columns"), default=dict)
    signature = models.CharField(max_length=500)  # the mapped headers' keys, sorted: one layout per account
    uses = models.PositiveIntegerField(_("files read"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "-last_used_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "signature"], name="bank_layout_unique")]
        verbose_name = _("statement layout")


class StatementUpload(models.Model):
    """A statement file waiting for its columns to be mapped (the web mapping step). Deleted once
    imported or discarded; never-mapped ones are purged after a day (``purge_abandoned_uploads``)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(BankAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(_("file"), max_length=200)
    content = models.BinaryField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("statement waiting for its columns")


class LineStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("Unmatched")
    SUGGESTED = "suggested", _("Suggested")
    AUTO_APPLIED = "auto_applied", _("Applied automatically")
    CONFIRMED = "confirmed", _("Confirmed")
    UNAPPLIED = "unapplied_on_account", _("Unapplied cash on account")
    IGNORED = "ignored", _("Ignored")


OPEN_STATUSES = (LineStatus.UNMATCHED, LineStatus.SUGGESTED)


class LineCategory(models.TextChoices):
    """What an incoming line that is not a customer's payment looks like (suggested by matching)."""

    NONE = "", "—"
    INTEREST = "interest", _("Interest")
    TAX_REFUND = "tax_refund", _("Tax refund")
    REFUND = "refund", _("Refund from a supplier")
    INTERNAL = "internal", _("Transfer between own accounts")
    LOAN = "loan", _("Loan or financing")
    SUBSIDY = "subsidy", _("Government subsidy")


class BankLine(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="lines")
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    source_line = models.PositiveIntegerField(_("line in file"), default=0)
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"))  # signed: + received, − paid out
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_account = models.CharField(_("counterparty account"), max_length=60, blank=True)
    counterparty_bank = models.CharField(_("counterparty bank"), max_length=200, blank=True)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    serial = models.CharField(_("bank serial no."), max_length=80, blank=True)
    balance = MoneyField(_("balance"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=100)
    occurrence = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(_("status"), max_length=24, choices=LineStatus.choices, default=LineStatus.UNMATCHED)
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3, default=0)
    proposals = models.JSONField(default=list, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("customer"))
    credit = models.ForeignKey("ledger.Credit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("payment"))
    applications_made = models.PositiveSmallIntegerField(default=0)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    category = models.CharField(_("suggested category"), max_length=12, choices=LineCategory.choices, blank=True,
                                default="")
    # API sync (updated_since): every change of state — proposals stored, applied, undone, ignored — moves it
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "dedupe_key", "occurrence"], name="bank_line_unique"),
            models.CheckConstraint(condition=~Q(amount=0), name="bank_line_amount_nonzero"),
        ]
        indexes = [
            models.Index(fields=["company", "status", "-confidence"], name="bank_line_queue"),
            models.Index(fields=["statement", "date"], name="bank_line_statement"),
            models.Index(fields=["company", "updated_at", "id"], name="bank_line_updated"),
        ]
        verbose_name = _("bank statement line")

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.counterparty_name}"

    @property
    def is_incoming(self) -> bool:
        return self.amount > 0


class BankApplication(models.Model):
    """One payment created from a bank line (a line split across customers has several)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="applications")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey("ledger.Credit", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))
    automatic = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


class BankAlias(models.Model):
    """A payer name (normalised) that stands for a customer, learned from confirmations."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("payer name"), max_length=200)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("customer"))
    uses = models.PositiveIntegerField(_("confirmations"), default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="bank_alias_unique")]
        verbose_name = _("payer alias")


class BankPayerAccount(models.Model):
    """A payer's bank account number (digits only) known to belong to a customer."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    account_number = models.CharField(_("payer account"), max_length=60)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("customer"))
    uses = models.PositiveIntegerField(_("confirmations"), default=1)
    # paid for more than one customer (a boss paying for two companies): evidence, never certainty alone
    shared = models.BooleanField(_("paid for several customers"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_number"]
        constraints = [models.UniqueConstraint(fields=["company", "account_number"], name="bank_payer_account_unique")]
        verbose_name = _("payer account")


class BankingSettings(models.Model):
    """Per company: when a match is certain enough to be applied without a person."""

    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="+")
    auto_apply = models.BooleanField(_("apply certain matches automatically"), default=True)
    threshold = models.DecimalField(_("auto-apply threshold (0–1)"), max_digits=4, decimal_places=3, default=Decimal("0.950"))
    margin = models.DecimalField(_("minimum lead over the next candidate"), max_digits=4, decimal_places=3,
                                 default=Decimal("0.100"))
    fee_tolerance = MoneyField(_("bank charges tolerated"), default=Decimal("50.00"))
    # the customer computed the early-payment discount with the other rounding: accepted per item
    discount_rounding = MoneyField(_("discount rounding accepted per item"), default=Decimal("0.01"))

    class Meta:
        verbose_name = _("cash application settings")


class HintStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the bank line")
    USED = "used", _("Money received")
    DISMISSED = "dismissed", _("Dismissed")


class RemittanceHint(models.Model):
    """A remittance advice (水单) a customer sent ahead of the money — from the customer portal, or
    filed by a clerk: the payer says it paid ``amount`` on ``paid_on``. The review queue shows it beside
    incoming lines of that amount within a few days, so the clerk knows whose money it is."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    amount = MoneyField(_("amount"))
    paid_on = models.DateField(_("paid on"))
    payer_name = models.CharField(_("payer"), max_length=200, blank=True)
    payer_account = models.CharField(_("payer account"), max_length=60, blank=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    file = models.FileField(_("remittance advice"), upload_to="banking/remittance/%Y/", blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, default="portal")
    submitted_by = models.CharField(_("sent by"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=HintStatus.choices, default=HintStatus.OPEN)
    # the bank line it announced, once that line was applied to the hint's customer (``hints.use_for_line``)
    line = models.ForeignKey("BankLine", null=True, blank=True, on_delete=models.PROTECT, related_name="used_hints")
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_hint_amount_positive"),
            models.CheckConstraint(condition=Q(status="used", line__isnull=False, used_at__isnull=False)
                                   | (~Q(status="used") & Q(line__isnull=True)), name="bank_hint_used_has_line"),
        ]
        indexes = [models.Index(fields=["company", "status", "amount"], name="bank_hint_open_amount")]
        verbose_name = _("remittance advice")
