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
