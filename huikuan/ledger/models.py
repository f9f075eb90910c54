"""The receivables ledger.

Documents (invoice / opening balance / charge) carry dated instalments; "credits" (payments, credit
notes, discounts, write-offs) are applied to instalments through allocations. Nothing posted is
edited or deleted: corrections are reversals (a negative allocation pointing at the one it undoes,
a reversal ledger entry). Denormalised balances — ``Instalment.open_amount``,
``Credit.unapplied_amount``, ``Customer.open_amount``/``unapplied_amount`` — are changed only by
``ledger.services`` under row locks and are re-derived by ``ledger.checks``.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice / sales slip")
    OPENING = "opening", _("Opening balance")
    CHARGE = "charge", _("Charge")


class Status(models.TextChoices):
    POSTED = "posted", _("Posted")
    REVERSED = "reversed", _("Reversed")


class ReceivableDocument(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=10, choices=DocumentKind.choices, default=DocumentKind.INVOICE)
    number = models.CharField(_("number"), max_length=40)
    document_date = models.DateField(_("document date"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total_amount = MoneyField(_("amount"))
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("salesperson"),
    )
    payment_term = models.ForeignKey(
        "customers.PaymentTerm", null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("payment terms")
    )
    reference = models.CharField(_("contract / order reference"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.POSTED)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reversal_reason = models.CharField(max_length=300, blank=True)
    external_source = models.CharField(max_length=30, blank=True)
    external_key = models.CharField(max_length=100, blank=True)
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Sync (API ``updated_since``): bumped on every change of the document or of its instalments'
    # amounts, open amounts and dates (allocations, reversals, plans, bank charges) — see touch_documents.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-document_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="document_number_unique"),
            models.UniqueConstraint(
                fields=["company", "external_source", "external_key"],
                condition=~Q(external_key=""),
                name="document_external_key_unique",
            ),
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="document_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["customer", "document_date"], name="document_customer_date"),
            models.Index(fields=["company", "-document_date", "-id"], name="document_company_recent"),
            models.Index(fields=["company", "updated_at", "id"], name="document_company_updated"),
        ]
        verbose_name = _("receivable document")

    def __str__(self) -> str:
        return self.number


class DocumentLine(models.Model):
    document = models.ForeignKey(ReceivableDocument, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(_("description"), max_length=200)
    quantity = models.CharField(_("quantity"), max_length=30, blank=True)
    unit_price = models.CharField(_("unit price"), max_length=30, blank=True)
    amount = MoneyField(_("amount"))

    class Meta:
        ordering = ["id"]


class Instalment(models.Model):
    """One dated line of a document's payment schedule (回款计划)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="instalments")
    document = models.ForeignKey(ReceivableDocument, on_delete=models.PROTECT, related_name="instalments")
    seq = models.PositiveSmallIntegerField(_("no."))
    document_date = models.DateField(_("document date"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount"))
    open_amount = MoneyField(_("open amount"))
    discount_amount = MoneyField(_("early-payment discount"), default=ZERO)
    discount_date = models.DateField(_("discount until"), null=True, blank=True)
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, default="CNY")
    # Set by the collections app through ``services.set_instalment_dispute`` / ``pause_instalment_dunning``:
    # the part under dispute (aging shows min(disputed, open) separately; dunning skips it) and a pause.
    disputed_amount = MoneyField(_("disputed amount"), default=ZERO)
    dunning_paused_until = models.DateField(_("dunning paused until"), null=True, blank=True)
    # Payment plans (分期/展期, ledger/plans.py): a replaced instalment keeps only what was already
    # allocated to it (its amount may drop to 0) and records when; the new lines carry the plan's id.
    replaced_on = models.DateField(_("replaced by a payment plan on"), null=True, blank=True)
    plan_id = models.BigIntegerField(_("payment plan"), null=True, blank=True)
    # so that a plan never rewrites the past (aging.py): the open amount a plan took over from a replaced
    # instalment (before ``replaced_on`` it was still owed here), and the day a plan's new instalment began
    # to exist (before it, the instalment is not counted)
    # (nullable: a new column with a default would make SQLite rebuild the table and drop insight's raw SQL)
    replaced_amount = MoneyField(_("taken over by the payment plan"), null=True, blank=True, editable=False)
    plan_from = models.DateField(_("in a payment plan from"), null=True, blank=True, editable=False)
    # Kept by the ledger services for as-of reads (aging.py); check_ledger verifies them:
    # the earliest and latest date of its allocation rows (reversal rows included), and the date
    # its document was reversed. An instalment with no allocation dated after X is, as of X, open by
    # ``open_amount`` — so only those allocated after X need their allocations read.
    first_allocated_on = models.DateField(_("first allocated on"), null=True, blank=True, editable=False)
    last_allocated_on = models.DateField(_("last allocated on"), null=True, blank=True, editable=False)
    reversed_on = models.DateField(_("document reversed on"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "seq"], name="instalment_seq_unique"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) | (Q(amount=0) & Q(replaced_on__isnull=False)), name="instalment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(open_amount__gte=0) & Q(open_amount__lte=F("amount")), name="instalment_open_within"
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0) & (Q(discount_amount__lt=F("amount")) | Q(discount_amount=0)),
                name="instalment_discount_within",
            ),
            models.CheckConstraint(
                condition=Q(disputed_amount__gte=0) & Q(disputed_amount__lte=F("amount")), name="instalment_disputed_within"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "due_date"], name="instalment_customer_due"),
            # open instalments, covering what the aging reads (an index-only scan on PostgreSQL)
            models.Index(fields=["company", "due_date"], name="instalment_open_cover", condition=Q(open_amount__gt=0),
                         include=["document_date", "amount", "open_amount", "disputed_amount", "first_allocated_on",
                                  "last_allocated_on", "reversed_on", "customer", "salesperson", "document", "id", "plan_from"]),
            # as of a past date X: settled instalments allocated after X (aging.py)
            models.Index(fields=["company", "last_allocated_on", "document_date"], name="instalment_settled_after",
                         condition=Q(open_amount=0, last_allocated_on__isnull=False)),
            models.Index(fields=["company", "reversed_on"], name="instalment_reversed_on",
                         condition=Q(reversed_on__isnull=False)),
            # KPIs (insight.kpi_store): the rare instalment due before its own document date is summed live
            models.Index(fields=["company", "due_date"], name="instalment_due_before_doc",
                         condition=Q(due_date__lt=F("document_date"))),
            # as of a past date X: instalments a payment plan replaced after X (aging.py)
            models.Index(fields=["company", "replaced_on"], name="instalment_replaced_on",
                         condition=Q(replaced_on__isnull=False)),
        ]
        verbose_name = _("instalment")

    def __str__(self) -> str:
        return f"{self.document_id}/{self.seq}"

    def days_overdue(self, *, as_of) -> int:
        return max(0, (as_of - self.due_date).days) if self.open_amount > 0 else 0


class CreditKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    CREDIT_NOTE = "credit_note", _("Credit note")
    DISCOUNT = "discount", _("Early-payment discount")
    WRITE_OFF = "write_off", _("Write-off")
    BANK_CHARGE = "bank_charge", _("Bank charge")


class Method(models.TextChoices):
    TRANSFER = "transfer", _("Bank transfer")
    BANK_ACCEPTANCE = "bank_acceptance", _("Bank acceptance bill")
    COMMERCIAL_ACCEPTANCE = "commercial_acceptance", _("Commercial acceptance bill")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    OFFSET = "offset", _("Offset")
    NONE = "", _("—")


class BillStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ENDORSED = "endorsed", _("Endorsed")
    DISCOUNTED = "discounted", _("Discounted")
    HONOURED = "honoured", _("Honoured")
    DISHONOURED = "dishonoured", _("Dishonoured")


class ChequeStatus(models.TextChoices):
    PENDING = "pending", _("Pending clearance")
    CLEARED = "cleared", _("Cleared")
    BOUNCED = "bounced", _("Bounced")


class Credit(models.Model):
    """Anything that reduces what a customer owes: payments, credit notes, discounts, write-offs.

    ``unapplied_amount`` is the part not yet allocated to instalments (unapplied cash / open credit).
    """

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credits")
    kind = models.CharField(_("kind"), max_length=12, choices=CreditKind.choices, default=CreditKind.PAYMENT)
    number = models.CharField(_("number"), max_length=40)
    date = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    amount = MoneyField(_("amount"))
    unapplied_amount = MoneyField(_("unapplied"))
    method = models.CharField(_("method"), max_length=24, choices=Method.choices, blank=True, default="")
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    bill_number = models.CharField(_("bill number"), max_length=40, blank=True)
    bill_acceptor = models.CharField(_("acceptor"), max_length=200, blank=True)
    bill_maturity_date = models.DateField(_("bill maturity"), null=True, blank=True)
    bill_status = models.CharField(_("bill status"), max_length=12, choices=BillStatus.choices, blank=True)
    cheque_status = models.CharField(_("cheque status"), max_length=10, choices=ChequeStatus.choices, blank=True)
    document = models.ForeignKey(
        ReceivableDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="credits",
        verbose_name=_("related document"),
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        help_text="For a discount credit: the payment whose early settlement earned it.",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.POSTED)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reversal_reason = models.CharField(max_length=300, blank=True)
    external_source = models.CharField(max_length=30, blank=True)
    external_key = models.CharField(max_length=100, blank=True)
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Sync (API ``updated_since``): bumped on every change (unapplied amount, status, bill/cheque status).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "number"], name="credit_number_unique"),
            models.UniqueConstraint(
                fields=["company", "external_source", "external_key"],
                condition=~Q(external_key=""),
                name="credit_external_key_unique",
            ),
            # an acceptance bill is recorded once: while its payment stands, or after it was dishonoured
            # (a payment reversed as a mistake frees the number; services.live_bills)
            models.UniqueConstraint(
                fields=["company", "bill_number"],
                condition=~Q(bill_number="") & (Q(status="posted") | Q(bill_status="dishonoured")),
                name="credit_bill_number_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_amount__gte=0) & Q(unapplied_amount__lte=F("amount")),
                name="credit_unapplied_within",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "date"], name="credit_customer_date"),
            models.Index(fields=["company", "kind", "-date", "-id"], name="credit_company_recent"),
            models.Index(fields=["company", "-date", "-id"], name="credit_company_date"),  # the payments list
            models.Index(fields=["company", "updated_at", "id"], name="credit_company_updated"),
        ]
        verbose_name = _("payment or credit")

    def __str__(self) -> str:
        return self.number


class AppendOnlyQuerySet(models.QuerySet):
    """Rows that are never changed or deleted (the databases refuse it too: ledger migrations 0002, 0009)."""

    def update(self, **kwargs):
        raise RuntimeError(f"{self.model._meta.db_table} is append-only")

    def delete(self):
        raise RuntimeError(f"{self.model._meta.db_table} is append-only")


class Allocation(models.Model):
    """Part of a credit applied to an instalment. A reversal is a negative row pointing at the original.

    Append-only: an allocation is undone by a reversal row, never by changing or deleting it."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="allocations")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField(_("amount"))
    date = models.DateField(_("date"))
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    is_manual = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(reverses__isnull=True) & Q(amount__gt=0)) | (Q(reverses__isnull=False) & Q(amount__lt=0)),
                name="allocation_sign",
            ),
        ]
        indexes = [
            models.Index(fields=["instalment", "date"], name="allocation_instalment_date"),
            # as-of reports read "allocations dated after X" per company
            models.Index(fields=["company", "date"], name="allocation_company_date"),
        ]
        verbose_name = _("allocation")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("allocations are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("allocations are append-only")


class AgingFlow(models.Model):
    """The open amount of a company's instalments by due date as a sum of dated changes (issue 19): the rows of
    one due date with ``day`` ≤ X add up to the open amount as of X of the instalments due that day — what
    ``ledger.aging`` computes row by row (issued by X, not yet a payment plan's, not reversed by X: amount, plus
    what a plan took over before it did, minus allocations dated ≤ X). So the aging totals as of any date read a
    few thousand rows instead of every instalment (``aging.totals_by_date_sql``).

    PostgreSQL only: written by triggers on ``ledger_instalment`` and ``ledger_allocation`` (migration 0020) in
    the writing transaction itself, so it is exact in every snapshot, whatever code path wrote; rows are only
    added (a change adds its difference), and ``compact_aging_flow`` merges them. On SQLite the table stays empty
    and the totals are computed from the instalments (docs/ARCHITECTURE.md). ``check_ledger`` re-derives it."""

    company = models.ForeignKey("accounts.Company", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    due_date = models.DateField()
    day = models.DateField()
    amount = models.BigIntegerField()  # minor units

    class Meta:
        indexes = [models.Index(fields=["company", "day"], name="agingflow_company_day", include=["due_date", "amount"])]


class EntryKind(models.TextChoices):
    DOCUMENT = "document", _("Document")
    PAYMENT = "payment", _("Payment")
    CREDIT_NOTE = "credit_note", _("Credit note")
    DISCOUNT = "discount", _("Discount")
    WRITE_OFF = "write_off", _("Write-off")
    BANK_CHARGE = "bank_charge", _("Bank charge")
    REVERSAL = "reversal", _("Reversal")


class LedgerEntry(models.Model):
    """Append-only customer account movements: the statement's source. Balance = Σ debit − Σ credit."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="entries")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    debit_amount = MoneyField(_("debit"), default=ZERO)
    credit_amount = MoneyField(_("credit"), default=ZERO)
    document = models.ForeignKey(ReceivableDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey(Credit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit_amount__gt=0) & Q(credit_amount=0)) | (Q(debit_amount=0) & Q(credit_amount__gt=0)),
                name="entry_one_side",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "date"], name="entry_customer_date"),
            models.Index(fields=["company", "date"], name="entry_reversal_date", condition=Q(kind="reversal")),
        ]
        verbose_name = _("ledger entry")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger entries are append-only")


class WriteOffStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class WriteOffRequest(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    instalment = models.ForeignKey(Instalment, on_delete=models.PROTECT, related_name="write_off_requests")
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    credit = models.OneToOneField(Credit, null=True, blank=True, on_delete=models.PROTECT, related_name="write_off_request")

    class Meta:
        ordering = ["-requested_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="writeoff_amount_positive")]
        verbose_name = _("write-off request")


class FapiaoType(models.TextChoices):
    SPECIAL = "special", _("Special VAT fapiao (专票)")
    ORDINARY = "ordinary", _("Ordinary VAT fapiao (普票)")
    DIGITAL = "digital", _("Fully digital fapiao (数电)")


class FapiaoStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    PARTLY_RED = "partly_red", _("Partly red-reversed")
    RED_REVERSED = "red_reversed", _("Red-reversed")
    VOID = "void", _("Void")


class Fapiao(models.Model):
    """A tax fapiao issued elsewhere, recorded here and linked to the receivable it covers."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="fapiaos")
    document = models.ForeignKey(ReceivableDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="fapiaos")
    number = models.CharField(_("fapiao number"), max_length=40)
    fapiao_type = models.CharField(_("type"), max_length=10, choices=FapiaoType.choices, default=FapiaoType.SPECIAL)
    issue_date = models.DateField(_("issue date"))
    amount = MoneyField(_("amount incl. tax"))
    status = models.CharField(_("status"), max_length=14, choices=FapiaoStatus.choices, default=FapiaoStatus.ISSUED)
    # a red fapiao (negative amount) points at the issued one it reverses, in whole or in part (ledger.fapiao)
    red_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="red_reversals")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync: a red reversal changes the original's status

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [models.Index(fields=["company", "updated_at", "id"], name="fapiao_company_updated"),
                   # the fapiao list's order (screen and API): a page without sorting every fapiao
                   models.Index(fields=["company", "-issue_date", "-id"], name="fapiao_company_issued")]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="fapiao_number_unique"),
            models.CheckConstraint(condition=~Q(amount=0), name="fapiao_amount_nonzero"),
            models.CheckConstraint(condition=(Q(red_of__isnull=True) & Q(amount__gt=0))
                                   | (Q(red_of__isnull=False) & Q(amount__lt=0)), name="fapiao_red_sign"),
        ]
        verbose_name = _("fapiao")


class PeriodLock(models.Model):
    """The company's lock date (关账): nothing may be dated on or before it. One row per company, changed
    only by ``ledger.periods`` (close / reopen), every change kept as a ``PeriodEvent``."""

    company = models.OneToOneField("accounts.Company", on_delete=models.PROTECT, primary_key=True, related_name="+")
    lock_date = models.DateField(_("lock date"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lock date")


class PeriodAction(models.TextChoices):
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Reopened")


class PeriodEvent(models.Model):
    """One close or reopen of a month: who, when, why, and the lock date before and after."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=10, choices=PeriodAction.choices)
    month = models.DateField(_("month"))  # the first day of the month closed or reopened
    lock_date_before = models.DateField(null=True, blank=True)
    lock_date_after = models.DateField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(action="close") | ~Q(reason=""), name="period_reopen_reason")]
        verbose_name = _("period close")
