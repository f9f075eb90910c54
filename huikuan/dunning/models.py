"""Dunning: policies and steps, templates, channels (email, SMS, WeCom/DingTalk, tasks, letters), the exactly-once dunning run.

Exactly once (see docs/ARCHITECTURE.md, "Dunning"): a ``Notice`` is unique per (customer, step, cycle) where the
cycle is the business date of the run that reached the step, and a ``NoticeItem`` is unique per
(instalment, offset): an instalment is dunned at most once at each step offset, whatever run or policy
reaches it. Both constraints are enforced by the database, so concurrent or repeated runs cannot duplicate.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.common.money import ZERO, MoneyField


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom robot (owner)")
    DINGTALK = "dingtalk", _("DingTalk robot (owner)")
    PHONE = "phone", _("Phone task")
    VISIT = "visit", _("Visit task")
    LETTER = "letter", _("Letter (post)")


# customer-facing channels wait for office hours; internal ones and tasks do not
CUSTOMER_FACING = {Channel.EMAIL, Channel.SMS}
TEMPLATE_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.WECOM]


class Tone(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    DEMAND = "demand", _("Demand")
    FINAL = "final", _("Final notice")


class Action(models.TextChoices):
    NOTIFY = "notify", _("Notify only")
    HOLD = "hold", _("Place credit hold")
    CASE = "case", _("Open escalation case")
    TASK = "task", _("Create a task for the owner")


class DunningPolicy(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default policy"), default=False)
    active = models.BooleanField(_("active"), default=True)
    # Go-live: no notice from this policy before this date; the first run of a customer under the policy
    # proposes its holds and cases for approval instead of applying them (issue 11 point 8).
    start_date = models.DateField(_("dunning starts on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("dunning policy")
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="dunning_policy_name_unique"),
            models.UniqueConstraint(fields=["company"], condition=models.Q(is_default=True), name="dunning_policy_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class DunningStep(models.Model):
    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.IntegerField(_("days after due date"))
    channels = models.JSONField(_("channels"), default=list)
    template_key = models.CharField(_("template"), max_length=40)
    min_amount = MoneyField(_("minimum amount"), default=ZERO)
    tone = models.CharField(_("tone"), max_length=10, choices=Tone.choices, default=Tone.REMINDER)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.NOTIFY)

    class Meta:
        ordering = ["policy", "offset_days"]
        verbose_name = _("dunning step")
        constraints = [models.UniqueConstraint(fields=["policy", "offset_days"], name="dunning_step_offset_unique")]

    def __str__(self) -> str:
        return f"{self.offset_days:+d}"

    def channel_labels(self) -> str:
        return ", ".join(str(Channel(c).label) for c in self.channels if c in Channel.values)


class GradePolicy(models.Model):
    """Credit grade code → policy."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    grade = models.CharField(_("grade"), max_length=10)
    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="grades")

    class Meta:
        ordering = ["grade"]
        constraints = [models.UniqueConstraint(fields=["company", "grade"], name="dunning_grade_unique")]


class CustomerDunning(models.Model):
    """Per-customer policy override and pause."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="dunning")
    policy = models.ForeignKey(DunningPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    paused_until = models.DateField(_("paused until"), null=True, blank=True)
    pause_reason = models.CharField(_("reason"), max_length=200, blank=True)


class DunningTemplate(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("template"), max_length=40)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    provider_template_id = models.CharField(_("SMS provider template id"), max_length=60, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "channel", "language"]
        verbose_name = _("dunning template")
        constraints = [models.UniqueConstraint(fields=["company", "key", "channel", "language"], name="dunning_template_unique")]

    def __str__(self) -> str:
        return f"{self.key}/{self.channel}/{self.language}"


def default_quiet_start() -> dt.time:
    return dt.time(21, 0)


def default_quiet_end() -> dt.time:
    return dt.time(8, 0)


class DunningSettings(models.Model):
    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="+")
    # callable defaults: Django's check fields.W161 warns about a fixed time default whenever the check runs within
    # 10 seconds of that time of day (UTC) — `check --deploy` failed at 08:00:0x
    quiet_start = models.TimeField(_("quiet hours from"), default=default_quiet_start)
    quiet_end = models.TimeField(_("quiet hours until"), default=default_quiet_end)
    working_days_only = models.BooleanField(_("send to customers on working days only"), default=True)
    final_payment_days = models.PositiveSmallIntegerField(_("days to pay after a notice"), default=7)
    contact_person = models.CharField(_("contact person"), max_length=100, blank=True)
    portal_url = models.CharField(_("customer portal link"), max_length=300, blank=True)
    wecom_webhook = models.CharField(_("WeCom robot webhook"), max_length=400, blank=True)
    dingtalk_webhook = models.CharField(_("DingTalk robot webhook"), max_length=400, blank=True)
    dingtalk_secret = models.CharField(_("DingTalk robot secret"), max_length=200, blank=True)


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    INTERRUPTED = "interrupted", _("Interrupted")


class DunningRun(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    trigger = models.CharField(_("trigger"), max_length=20, default="manual")
    status = models.CharField(_("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # set at the start and after every committed chunk: a running run whose heartbeat is older than
    # ``services.STALE_RUN`` belongs to a process that is gone (killed, machine lost), see ``close_interrupted``
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    notices = models.PositiveIntegerField(_("notices"), default=0)
    items = models.PositiveIntegerField(_("items"), default=0)
    counts = models.JSONField(default=dict, blank=True)  # {"step:+7": n, "channel:email": n, "skipped": n}
    preview = models.JSONField(default=list, blank=True)  # dry run: first rows of what would be sent
    error = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("dunning run")


class Notice(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="dunning_notices")
    step = models.ForeignKey(DunningStep, on_delete=models.PROTECT, related_name="notices")
    cycle = models.DateField(_("cycle"))
    run = models.ForeignKey(DunningRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="notice_set")
    number = models.CharField(_("number"), max_length=40)
    offset_days = models.IntegerField(_("step"))
    tone = models.CharField(_("tone"), max_length=10, choices=Tone.choices)
    total = MoneyField(_("amount"), default=ZERO)
    language = models.CharField(max_length=10, default="zh-hans")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-cycle", "-pk"]
        verbose_name = _("dunning notice")
        constraints = [
            models.UniqueConstraint(fields=["customer", "step", "cycle"], name="dunning_notice_once"),
            models.UniqueConstraint(fields=["company", "number"], name="dunning_notice_number_unique"),
        ]
        indexes = [models.Index(fields=["company", "cycle"], name="dunning_notice_cycle")]

    def __str__(self) -> str:
        return self.number


class NoticeItem(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="items")
    # no database FK check on 1M inserts per run: ledger instalments are never deleted (replaced ones stay)
    instalment = models.ForeignKey("ledger.Instalment", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    offset_days = models.IntegerField()
    amount = MoneyField(_("amount"), default=ZERO)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instalment", "offset_days"], name="dunning_item_once")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DEFERRED = "deferred", _("Deferred (quiet hours)")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    PROPOSED = "proposed", _("Awaiting approval")


class Delivery(models.Model):
    """One outbox row: a notice over one channel, or the step's action. Processed after commit by a task."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10)
    address = models.CharField(_("address"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("reason"), max_length=500, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    log = models.JSONField(default=list, blank=True)  # [{at, attempt, result, error}]
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("delivery")
        constraints = [models.UniqueConstraint(fields=["notice", "channel"], name="dunning_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="dunning_delivery_due")]

    def reason(self) -> str:
        """The recorded reason in the reader's language (our own reasons are stored as English msgids)."""
        from django.utils.translation import gettext

        return gettext(self.last_error) if self.last_error else ""

    def channel_label(self) -> str:
        if self.channel in Channel.values:
            return str(Channel(self.channel).label)
        return str(Action(self.channel).label) if self.channel in Action.values else self.channel


class SentCopy(models.Model):
    """What went out over one channel for a notice, frozen at the first send attempt: the rendered
    subject and text, the letter PDF (e-mail attachment or printed letter) and the provider template
    parameters. Retries send these same bytes; the notice pages serve them. Editing a template or the
    ledger later changes nothing here. Append-only on both databases (migration 0003)."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="sent_copies")
    channel = models.CharField(_("channel"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True)
    params = models.JSONField(default=dict, blank=True)
    template_id = models.CharField(max_length=60, blank=True)
    pdf = models.BinaryField(blank=True, default=b"")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sent copy")
        constraints = [models.UniqueConstraint(fields=["notice", "channel"], name="dunning_sent_copy_once")]
