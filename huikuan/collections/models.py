"""Collections casework: activities and worklist, promises to pay, disputes, payment plans, penalty interest, escalation cases, playbooks.

Nothing here changes what a customer owes: money moves only through ``ledger.services`` (credit notes,
charges) and ``ledger.plans`` (payment plans). Denormalised facts kept on ledger rows for the other
apps (``Instalment.disputed_amount``, ``dunning_paused_until``) are set through their ledger services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huikuan.common.money import ZERO, MoneyField
from huikuan.common.texts import StoredTextField, Text, is_registered, render


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    BILL = "bill", _("Present a bill for payment")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    """A follow-up for a person: from dunning steps (call/visit tasks), broken promises and plans, playbooks, or by hand."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices, default=TaskKind.CALL)
    due = models.DateField(_("due"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner"))
    note = StoredTextField(_("note"), blank=True, default=str)  # a person's words, or a Text the system wrote
    source = models.CharField(_("source"), max_length=20, default="manual")
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    instalment_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["owner", "status", "due"], name="coll_task_owner_due"),
                   models.Index(fields=["customer", "status"], name="coll_task_customer"),
                   models.Index(fields=["company", "updated_at", "id"], name="coll_task_updated")]
        verbose_name = _("task")


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("E-mail")
    NOTE = "note", _("Note")


class Outcome(models.TextChoices):
    NONE = "", _("—")
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    PROMISED = "promised", _("Promised to pay")
    DISPUTED = "disputed", _("Disputed")
    WRONG_CONTACT = "wrong_contact", _("Wrong contact")
    REFUSES = "refuses", _("Refuses to pay")


class Activity(models.Model):
    """One contact with the customer (the contact log): call, visit, e-mail or note, with its outcome."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.CALL)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True, default="")
    note = models.CharField(_("note"), max_length=1000, blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("by"))
    updated_at = models.DateTimeField(auto_now=True)  # API sync: when it was recorded (never changed)
    # a photo or scan taken at the visit (the signed statement), filed on the customer's documents
    attachment = models.ForeignKey("customers.CustomerFile", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("attachment"))

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="coll_activity_customer"),
                   models.Index(fields=["company", "updated_at", "id"], name="coll_activity_updated")]
        verbose_name = _("activity")


QUIET_ROWS = Q(broken_promise_on__isnull=True, promise_date__isnull=True, next_action_date__isnull=True, overdue_amount__gt=0)


class QueueEntry(models.Model):
    """One row per customer with something to collect: the worklist's ranking, kept in SQL.

    The money columns (overdue, disputed, days, risk, priority) are a daily snapshot computed in one
    aggregate query (``worklist.refresh_queue``) and refreshed for a customer after each action; the
    follow-up columns (next action, promise date, broken promise) are kept current by the services.
    """

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+")
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    # the customer's owner when the row was last refreshed: the queue is ranked and paged on it without joining
    # customers; the shown rows are checked again on customer.owner (worklist.in_scope), so a stale value can
    # only hide a row until the next refresh, never show one to someone out of scope
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    overdue_amount = MoneyField(_("overdue"), default=ZERO)
    disputed_amount = MoneyField(_("disputed"), default=ZERO)
    oldest_due = models.DateField(null=True, blank=True)
    risk = models.DecimalField(_("risk factor"), max_digits=5, decimal_places=2, default=1)
    priority = models.BigIntegerField(_("priority"), default=0)
    snapshot_on = models.DateField(null=True, blank=True)
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    promise_date = models.DateField(_("promise due"), null=True, blank=True)
    broken_promise_on = models.DateField(_("promise broken on"), null=True, blank=True)
    # the earliest 诉讼时效 date of the customer's open items when it is within the watch window or has passed
    # (collections.limitation.WATCH_DAYS), else empty: part of the snapshot
    limitation_date = models.DateField(_("limitation date (诉讼时效)"), null=True, blank=True)
    last_outcome = models.CharField(max_length=16, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    # from the prediction app's stored per-item predictions of the overdue items (empty while no model is live):
    # the amount-weighted predicted payment date and chance of ending 90+ days late; part of the snapshot
    predicted_date = models.DateField(_("predicted payment date"), null=True, blank=True)
    p_late_90 = models.DecimalField(_("probability 90+ days late"), max_digits=5, decimal_places=4, null=True,
                                    blank=True)

    class Meta:
        # tier 2 of the worklist (no follow-up set) read in priority order, for everyone or per owner
        indexes = [models.Index(fields=["company", "-priority", "customer"], name="coll_queue_priority", condition=QUIET_ROWS),
                   models.Index(fields=["owner", "-priority", "customer"], name="coll_queue_owner_priority", condition=QUIET_ROWS),
                   models.Index(fields=["company"], name="coll_queue_followups", condition=~Q(
                       broken_promise_on__isnull=True, promise_date__isnull=True, next_action_date__isnull=True))]
        verbose_name = _("worklist entry")


class PromiseStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("promise status", "Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Promise(models.Model):
    """承诺付款: an amount the customer promised to pay by a date, for some instalments (or the account)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))
    promised_date = models.DateField(_("promised date"))
    made_on = models.DateField(_("made on"))
    status = models.CharField(_("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    instalments = models.ManyToManyField("ledger.Instalment", blank=True, related_name="+")
    pause_dunning = models.BooleanField(_("pause reminders until the promised date"), default=False)
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    paid_amount = MoneyField(_("paid"), default=ZERO)
    settled_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promised_date", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="coll_promise_amount_positive")]
        indexes = [models.Index(fields=["company", "status", "promised_date"], name="coll_promise_due")]
        verbose_name = _("promise to pay")


class DisputeReason(models.TextChoices):
    PRICE = "price", _("Price")
    QUANTITY = "quantity", _("Quantity")
    QUALITY = "quality", _("Quality")
    NOT_RECEIVED = "not_received", _("Not received")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "Open")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    NONE = "", _("—")
    CREDIT_NOTE = "credit_note", _("Credit note")
    REJECTED = "rejected", _("Rejected")
    CORRECTED = "corrected", _("Corrected")


class Dispute(models.Model):
    """A disputed amount on an instalment or a whole document; its lines set Instalment.disputed_amount."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("ledger.ReceivableDocument", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("document"))
    instalment = models.ForeignKey("ledger.Instalment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("instalment"))
    reason = models.CharField(_("reason"), max_length=16, choices=DisputeReason.choices)
    amount = MoneyField(_("amount disputed"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner"))
    status = models.CharField(_("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    resolution = models.CharField(_("resolution"), max_length=12, choices=Resolution.choices, blank=True, default="")
    resolution_note = models.CharField(_("resolution note"), max_length=300, blank=True)
    credit = models.ForeignKey("ledger.Credit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    opened_on = models.DateField(_("opened on"))
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="coll_dispute_amount_positive")]
        indexes = [models.Index(fields=["company", "updated_at", "id"], name="dispute_company_updated")]
        verbose_name = _("dispute")


class DisputeLine(models.Model):
    """The part of a dispute that sits on one instalment."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    instalment = models.ForeignKey("ledger.Instalment", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="coll_disputeline_positive")]


class PlanStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    REJECTED = "rejected", _("Rejected")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken")


class PaymentPlan(models.Model):
    """分期/展期: a new schedule agreed with the customer for chosen instalments, approved by a second person."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.PENDING)
    instalments = models.ManyToManyField("ledger.Instalment", related_name="+")
    lines = models.JSONField(_("new schedule"), default=list)  # [[iso date, "amount"], ...]
    total_amount = MoneyField(_("amount"))
    grace_days = models.PositiveSmallIntegerField(_("grace days before a plan counts as broken"), default=5)
    note = models.CharField(_("note"), max_length=500, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    broken_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["company", "updated_at", "id"], name="coll_plan_updated")]
        constraints = [models.CheckConstraint(condition=Q(total_amount__gt=0), name="coll_plan_amount_positive")]
        verbose_name = _("payment plan")


class InterestBasis(models.TextChoices):
    NONE = "none", _("No interest")
    DAILY = "daily", _("Daily rate")
    MONTHLY = "monthly", _("Monthly rate")
    ANNUAL = "annual", _("Annual rate")
    LPR = "lpr", _("Multiple of LPR")


class CapKind(models.TextChoices):
    NONE = "", _("No cap")
    ABSOLUTE = "absolute", _("Amount")
    PERCENT = "percent", _("Percentage of principal")


class InterestRule(models.Model):
    """Penalty interest rule for the company (no customer, no document), a customer, or one contract/document."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("customer"))
    document = models.ForeignKey("ledger.ReceivableDocument", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("contract / document"))
    basis = models.CharField(_("basis"), max_length=10, choices=InterestBasis.choices, default=InterestBasis.DAILY)
    rate = models.DecimalField(_("rate (%)"), max_digits=9, decimal_places=5, default=0,
                               help_text=_("Per day, month or year by basis; for LPR the multiple (e.g. 1.5)."))
    lpr_percent = models.DecimalField(_("LPR (% a year)"), max_digits=6, decimal_places=3, default=0)
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=0)
    cap_kind = models.CharField(_("cap"), max_length=10, choices=CapKind.choices, blank=True, default="")
    cap_value = models.DecimalField(_("cap value"), max_digits=15, decimal_places=2, default=0)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company"], condition=Q(customer__isnull=True, document__isnull=True),
                                    name="coll_interest_company_rule"),
            models.UniqueConstraint(fields=["customer"], condition=Q(document__isnull=True), name="coll_interest_customer_rule"),
            models.UniqueConstraint(fields=["document"], name="coll_interest_document_rule"),
        ]
        verbose_name = _("interest rule")


class InterestCharge(models.Model):
    """Interest posted as a charge document (only on request): later interest starts the day after ``up_to``."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    document = models.OneToOneField("ledger.ReceivableDocument", on_delete=models.PROTECT, related_name="+")
    up_to = models.DateField()
    amount = MoneyField(_("amount"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-up_to", "-id"]


class DemandChannel(models.TextChoices):
    LETTER = "letter", _("Letter (post, registered / EMS)")
    EMAIL = "email", _("Email")
    COURIER = "courier", _("Courier with signed receipt")
    IN_PERSON = "in_person", _("Handed over, receipt signed")
    LAWYER = "lawyer", _("Lawyer's letter")
    ELECTRONIC = "electronic", _("SMS / WeChat message")
    OTHER = "other", _("Other written form")


class WrittenDemand(models.Model):
    """A written demand (催款函, lawyer's letter): restarts the 3-year limitation period (Civil Code art. 195).

    Recorded by the dunning outbox when a demand or final notice goes out by email or letter (``reference`` is
    the notice number), or by hand with its channel and proof of delivery (``proof``: the signed receipt, the
    EMS tracking page, the sent email)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    reference = models.CharField(_("reference"), max_length=100)
    channel = models.CharField(_("channel"), max_length=12, choices=DemandChannel.choices, blank=True)
    proof = models.FileField(_("proof of delivery"), upload_to="demands/%Y/", blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "reference"], name="coll_demand_unique")]
        verbose_name = _("written demand")


class CaseKind(models.TextChoices):
    LEGAL = "legal", _("Legal")
    AGENCY = "agency", _("Collection agency")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Opened")
    LETTER_SENT = "letter_sent", _("Letter sent")
    NEGOTIATING = "negotiating", _("Negotiating")
    FILED = "filed", _("Filed")
    JUDGMENT = "judgment", _("Judgment")
    ENFORCEMENT = "enforcement", _("Enforcement")
    CLOSED = "closed", _("Closed")


class ClaimStatus(models.TextChoices):
    NONE = "", _("—")
    TO_FILE = "to_file", _("To be filed")
    FILED = "filed", _("Filed")
    ACCEPTED = "accepted", _("Accepted by the administrator")
    REJECTED = "rejected", _("Rejected by the administrator")


class Case(models.Model):
    """Escalation to legal or an external agency; in a bankruptcy also the claim filed with the administrator (债权申报)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=CaseKind.choices, default=CaseKind.LEGAL)
    status = models.CharField(_("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    instalments = models.ManyToManyField("ledger.Instalment", blank=True, related_name="+")
    claim_amount = MoneyField(_("amount claimed"), default=ZERO)
    firm = models.CharField(_("firm / agency"), max_length=200, blank=True)
    fee_amount = MoneyField(_("fees"), default=ZERO)
    commission_percent = models.DecimalField(_("commission (%)"), max_digits=5, decimal_places=2, default=0)
    recovered_amount = MoneyField(_("recovered"), default=ZERO)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner"))
    note = StoredTextField(_("note"), blank=True, default=str)  # a person's words, or a Text the system wrote
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # while the case is open the dunning run leaves the customer out (a bankruptcy: claims go to the administrator)
    stops_dunning = models.BooleanField(_("no reminders while the case is open"), default=False)
    # 债权申报 (企业破产法 arts. 45, 46): interest stops on the day the court accepts the petition
    court_accepted_on = models.DateField(_("petition accepted by the court on"), null=True, blank=True)
    claim_deadline = models.DateField(_("claims to be filed by"), null=True, blank=True)
    administrator = models.CharField(_("administrator (管理人) and contact"), max_length=300, blank=True)
    claim_status = models.CharField(_("claim"), max_length=10, choices=ClaimStatus.choices, blank=True, default="")
    claim_principal_amount = MoneyField(_("principal claimed"), default=ZERO)
    claim_interest_amount = MoneyField(_("interest to the acceptance date"), default=ZERO)
    claim_filed_on = models.DateField(_("claim filed on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # API sync (updated_since)

    class Meta:
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["company", "updated_at", "id"], name="coll_case_updated")]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="coll_case_number_unique"),
            models.UniqueConstraint(fields=["customer"], condition=~Q(status="closed"), name="coll_case_one_open"),
        ]
        verbose_name = _("escalation case")

    def claim_total(self):
        """The bankruptcy claim: principal + interest up to the court's acceptance date."""
        return self.claim_principal_amount + self.claim_interest_amount


class StepStatus(models.TextChoices):
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class PlaybookRun(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    playbook = models.CharField(_("playbook"), max_length=30)
    note = models.CharField(_("note"), max_length=300, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("playbook run")

    def playbook_label(self) -> str:
        """The playbook's title in the reader's language (never its code)."""
        return render(Text(f"collections.playbook.{self.playbook}")) if is_registered(
            f"collections.playbook.{self.playbook}") else str(_("Playbook"))


class PlaybookStep(models.Model):
    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=StepStatus.choices)
    detail = StoredTextField(null=True, blank=True)  # what the step did or why it failed (Text)

    class Meta:
        ordering = ["seq"]

    def label(self) -> str:
        key = f"collections.playbook_step.{self.code}"
        return render(Text(key)) if is_registered(key) else str(_("Step %(n)s") % {"n": self.seq})
