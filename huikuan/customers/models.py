"""Customer master: customers, groups, contacts, documents, and payment-term templates.

Payment terms live here (not in ledger) because the customer master refers to them as the
customer's default; the schedule arithmetic is pure code in ``ledger.calculations``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField


class TermKind(models.TextChoices):
    NET = "net", _("Net N days")
    EOM = "eom", _("End of month + N (月结)")
    SPLIT = "split", _("Split instalments")


class PaymentTerm(models.Model):
    """A template from which a document's instalment schedule is derived.

    ``split_lines`` is a list of {"percent": "30", "days": 0} for split terms (percents sum to 100).
    ``discount_percent``/``discount_days`` express early-payment discounts such as 2/10 net 30.
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="payment_terms")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=TermKind.choices, default=TermKind.NET)
    days = models.PositiveIntegerField(_("days"), default=30)
    split_lines = models.JSONField(_("instalments"), default=list, blank=True)
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2, default=0)
    discount_days = models.PositiveIntegerField(_("discount days"), default=0)
    roll_to_working_day = models.BooleanField(_("roll to next working day"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="term_code_unique")]
        verbose_name = _("payment terms")
        verbose_name_plural = _("payment terms")

    def __str__(self) -> str:
        return self.name

    def longest_days(self) -> int:
        """The longest credit these terms can give, in days from the document date (for the grade's
        maximum terms): net N → N; 月结 N → N + 30 (a document dated the 1st of a 31-day month waits
        30 days for the month end); split → the latest instalment's days."""
        if self.kind == TermKind.SPLIT:
            return max((int(line.get("days") or 0) for line in self.split_lines or []), default=0)
        if self.kind == TermKind.EOM:
            return self.days + 30
        return self.days


class CustomerGroup(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="customer_groups")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="group_name_unique")]
        verbose_name = _("customer group")

    def __str__(self) -> str:
        return self.name


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PROSPECT = "prospect", _("Prospect")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")
    BANKRUPT = "bankrupt", _("Bankrupt")


class Customer(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="customers")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    name_initials = models.CharField(max_length=120, blank=True, db_index=True, editable=False)
    # full pinyin of name and short name ("shanghaihuadong… huadongjixie"): the pickers match it at any position
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    group = models.ForeignKey(
        CustomerGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers",
        verbose_name=_("group"),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        verbose_name=_("parent company"),
    )
    region = models.CharField(_("region"), max_length=50, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="owned_customers", verbose_name=_("owner salesperson"),
    )
    # who chases the money (催收专员), besides the owner salesperson who sells; assigned by a manager
    # (customers.services.assign_collector). Not a scope: collectors see every customer (DESIGN §5); the
    # worklist's "my queue" shows theirs.
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="collected_customers", verbose_name=_("collector"),
    )
    payment_term = models.ForeignKey(
        PaymentTerm, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("default payment terms")
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    external_source = models.CharField(max_length=30, blank=True)
    external_key = models.CharField(max_length=100, blank=True)
    # Denormalised balances, maintained only by ledger services under the customer's row lock and
    # verified by `huikuan check-ledger`.
    open_amount = MoneyField(_("open receivables"), default=ZERO)
    unapplied_amount = MoneyField(_("unapplied cash"), default=ZERO)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # "check this": why someone should look at this customer (an import kept the row but not a value,
    # or saw a possible duplicate) — a list of stored texts ({"code", "params"}), see customers.review
    review_notes = models.JSONField(_("check this"), default=list, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="customer_code_unique"),
            models.UniqueConstraint(
                fields=["company", "external_source", "external_key"],
                condition=~Q(external_key=""),
                name="customer_external_key_unique",
            ),
            models.CheckConstraint(condition=Q(open_amount__gte=0), name="customer_open_nonneg"),
            models.CheckConstraint(condition=Q(unapplied_amount__gte=0), name="customer_unapplied_nonneg"),
        ]
        indexes = [
            models.Index(fields=["company", "owner"], name="customer_company_owner"),
            models.Index(fields=["company", "collector"], name="customer_company_collector"),
            models.Index(fields=["company", "updated_at", "id"], name="customer_company_updated"),  # API sync
            models.Index(fields=["company", "name"], name="customer_company_name"),
            # the duplicate-registration warning (customers.selectors.same_credit_code)
            models.Index(fields=["company", "credit_code"], name="customer_company_credit_code",
                         condition=~Q(credit_code="")),
            # The customer list sorts by balance at 100,000 customers; the code tiebreaker follows the
            # sort direction so both directions are one index scan (customers.selectors.CUSTOMER_SORTS).
            models.Index(fields=["company", "open_amount", "code"], name="customer_company_open"),
            models.Index(fields=["company", "unapplied_amount", "code"], name="customer_company_unapplied"),
        ]
        verbose_name = _("customer")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def review_reasons(self) -> list:
        """The "check this" reasons as texts rendered in the reader's language (no query)."""
        from huikuan.common.texts import Text

        return [Text.from_data(d) for d in self.review_notes or []]

    @property
    def balance_amount(self):
        """Net balance: open receivables less unapplied cash (can be negative = credit balance)."""
        return self.open_amount - self.unapplied_amount


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    POST = "post", _("Post")


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("role"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("Stored in E.164 form."))
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=60, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-is_primary", "name"]
        indexes = [models.Index(fields=["updated_at", "id"], name="contact_updated")]  # API sync
        verbose_name = _("contact")

    def __str__(self) -> str:
        return self.name


class DocumentKind(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    GUARANTEE = "guarantee", _("Guarantee")
    COLLATERAL = "collateral", _("Collateral")
    CREDIT_REPORT = "credit_report", _("Credit report")
    LICENSE = "license", _("Business licence")
    DELIVERY = "delivery", _("Proof of delivery (签收单)")
    SIGNED_STATEMENT = "signed_statement", _("Signed statement")
    OTHER = "other", _("Other")


def _upload_to(instance, filename):
    return f"customers/{instance.customer_id}/{filename}"


class CustomerFile(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.CONTRACT)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=_upload_to)
    size = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("customer document")


class CustomerBankAccount(models.Model):
    """An account the customer pays from (开户行, 账号, 户名): cash application treats a statement line
    from this number as the customer's from the first statement on.

    ``account_number`` is stored normalised (full-width folded, spaces and hyphens removed, letters
    upper-case) by ``customers.bank_accounts.normalise_account_number``; it is unique within the
    company, so one number never stands for two customers.
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="bank_accounts",
                                 verbose_name=_("customer"))
    bank_name = models.CharField(_("bank (开户行)"), max_length=100, blank=True)
    account_number = models.CharField(_("account number"), max_length=40)
    account_name = models.CharField(_("account holder (户名)"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "account_number"], name="customer_bank_account_unique"),
        ]
        verbose_name = _("customer bank account")

    def __str__(self) -> str:
        return f"{self.bank_name} {self.account_number}".strip()

    @property
    def account_number_display(self) -> str:
        """Digits in groups of four, as printed on bank cards and receipts."""
        n = self.account_number
        return " ".join(n[i:i + 4] for i in range(0, len(n), 4)) if n.isdigit() else n
