"""What the payment-prediction model needs beyond the ledger, and the trained model versions.

``DocumentFacts``: facts about an invoice the ledger does not keep — whether it was disputed, how it was
delivered (paper / electronic), its region — recorded by the ``history`` import for settled invoices of
the old system. ``ModelVersion``: one trained model (pickled scikit-learn estimators in ``blob``), its
training window, features and backtest figures; exactly one per company is ``is_active``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Delivery(models.TextChoices):
    PAPER = "paper", _("Paper")
    ELECTRONIC = "electronic", _("Electronic")


class DocumentFacts(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    document = models.OneToOneField("ledger.ReceivableDocument", on_delete=models.PROTECT, related_name="+")
    disputed = models.BooleanField(_("disputed"), default=False)
    delivery = models.CharField(_("delivery channel"), max_length=12, choices=Delivery.choices, blank=True, default="")
    region = models.CharField(_("region"), max_length=50, blank=True, default="")

    class Meta:
        verbose_name = _("invoice history facts")


class ModelKind(models.TextChoices):
    MODEL = "model", _("Gradient-boosting model")
    BASELINE = "baseline", _("Baseline")


class ModelVersion(models.Model):
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("version"))
    trained_at = models.DateTimeField(_("trained at"), auto_now_add=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    window_start = models.DateField(_("training window from"))
    window_end = models.DateField(_("training window to"))
    cutoff = models.DateField(_("backtest cutoff"))
    items = models.PositiveIntegerField(_("training items"))
    features = models.JSONField(_("features"), default=list)
    backtest = models.JSONField(_("backtest figures"), default=dict)
    # what goes live: the model, or the best baseline when the model did not beat every baseline
    live = models.CharField(_("used for predictions"), max_length=30, default="model")
    is_active = models.BooleanField(_("active"), default=False)
    blob = models.BinaryField(_("model"), editable=False)
    seconds = models.DecimalField(_("training seconds"), max_digits=8, decimal_places=2, default=0)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["company", "version"], name="prediction_version_unique"),
            models.UniqueConstraint(fields=["company"], condition=Q(is_active=True), name="prediction_one_active"),
        ]
        verbose_name = _("prediction model version")

    def __str__(self) -> str:
        return f"v{self.version}"


class ItemPrediction(models.Model):
    """The live model's output for one open instalment, stored so pages, lists, exports and the API read
    it in SQL. Derived data: ``services.refresh_predictions`` replaces a company's rows set-wise (daily
    job, after training and after activating a version); an instalment without a row was not open at the
    last refresh (or no model exists yet). ``reasons``: [[code, params], …] rendered by ``texts.reason``
    in the reader's language."""

    # company, customer and document are the instalment's own, copied from the same row when written. No database
    # foreign key: checking the copies locked every referenced row (FOR KEY SHARE) once per written row — 4 of the 5
    # checks were ~75 % of the time of writing 1 M rows — and the instalment's own check, the last one, cost ~6 s of
    # the backend's ~13 s for 1 M rows and marked every open instalment's row as locked; the rows are derived data
    # replaced set-wise from the instalments themselves, and instalments are not deleted (ARCHITECTURE.md). The
    # ORM's on_delete still applies. Indexes only where a read uses them (ARCHITECTURE.md): the instalment's (unique;
    # the worklist, forecast and drill-down join through it), (company, customer) (customer 360, API filter),
    # document (document page, API filter), (company, updated_at) (API ``updated_since``), (company, predicted_date,
    # instalment) covering the date and version asked, the probability, the due date and the customer (the forecast
    # drill-down finds a P50 week's items through it without reading the rows, and lists them by predicted date in the
    # page's order — the instalment is the tie-breaker — stopping after a page; by probability or due date, and a
    # salesperson's by salesperson, from the week's entries alone, without a read of the ~30,000 table pages a week's
    # entries lie on).
    company = models.ForeignKey("accounts.Company", on_delete=models.PROTECT, related_name="+", db_constraint=False,
                                db_index=False)
    instalment = models.OneToOneField("ledger.Instalment", on_delete=models.CASCADE, related_name="prediction",
                                      db_constraint=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False,
                                 db_index=False)
    document = models.ForeignKey("ledger.ReceivableDocument", on_delete=models.CASCADE, related_name="+",
                                 db_constraint=False, db_index=False)
    version = models.ForeignKey(ModelVersion, null=True, on_delete=models.SET_NULL, related_name="+",
                                db_constraint=False, db_index=False)
    source = models.CharField(_("predicted by"), max_length=30, default="model")
    as_of = models.DateField(_("as of"))
    due_date = models.DateField(_("due date"))
    p_late = models.DecimalField(_("probability late"), max_digits=5, decimal_places=4)
    p_late_30 = models.DecimalField(_("probability 30+ days late"), max_digits=5, decimal_places=4)
    p_late_90 = models.DecimalField(_("probability 90+ days late"), max_digits=5, decimal_places=4)
    predicted_date = models.DateField(_("predicted payment date"))
    low_date = models.DateField(_("earliest likely payment date"))
    high_date = models.DateField(_("latest likely payment date"))
    reasons = models.JSONField(_("reasons"), default=list)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("payment prediction")
        indexes = [
            models.Index(fields=["company", "customer"], name="prediction_item_customer"),
            models.Index(fields=["company", "updated_at"], name="prediction_item_updated"),
            models.Index(fields=["company", "predicted_date", "instalment"], name="prediction_item_date_id",
                         include=["as_of", "version", "p_late", "due_date", "customer"]),
            models.Index(fields=["document"], name="prediction_item_document"),
        ]

from .models_forecast import ForecastCell, ForecastJob, ForecastRun  # noqa: E402, F401 - the forecast cube and its jobs
