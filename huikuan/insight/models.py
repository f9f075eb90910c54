"""Month-end receivables snapshots: the source of trend charts (one row per company, date and owner)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "as_of"], name="aging_build_unique")]
        verbose_name = _("stored aging date")


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
