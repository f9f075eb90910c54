"""Companies (our legal entities), teams, users and their roles."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    FINANCE = "finance", _("Finance")
    CREDIT_MANAGER = "credit_manager", _("Credit manager")
    COLLECTOR = "collector", _("Collector")
    SALESPERSON = "salesperson", _("Salesperson")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    LEGAL = "legal", _("Legal")
    AUDITOR = "auditor", _("Auditor (read-only)")


# What each role may do. Views and services ask ``user.can(perm)``; scoping is separate.
PERMISSIONS: dict[str, set[str]] = {
    "customer.edit": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.SALESPERSON, Role.SALES_MANAGER},
    "customer.document": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.SALESPERSON, Role.SALES_MANAGER, Role.LEGAL,
    },
    "ledger.post": {Role.ADMIN, Role.FINANCE},
    "ledger.payment": {Role.ADMIN, Role.FINANCE},
    "ledger.allocate": {Role.ADMIN, Role.FINANCE},
    "ledger.credit_note": {Role.ADMIN, Role.FINANCE},
    "ledger.reverse": {Role.ADMIN, Role.FINANCE},
    "ledger.writeoff.request": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.LEGAL},
    "ledger.writeoff.approve": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "ledger.fapiao": {Role.ADMIN, Role.FINANCE},
    "ledger.period.view": {Role.ADMIN, Role.FINANCE, Role.AUDITOR},
    "ledger.period.close": {Role.ADMIN, Role.FINANCE},
    "ledger.period.reopen": {Role.ADMIN},
    # bad-debt provision (huikuan.insight.provision)
    "insight.provision.view": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.AUDITOR},
    "insight.provision.edit": {Role.ADMIN, Role.FINANCE},
    "insight.provision.approve": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "terms.edit": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "admin.users": {Role.ADMIN},
    "audit.view": {Role.ADMIN, Role.AUDITOR, Role.FINANCE, Role.CREDIT_MANAGER},
    # the internal audit report and the audit-log search over every event (huikuan.insight.audit_report)
    "audit.report": {Role.ADMIN, Role.AUDITOR},
    # collections casework (huikuan/collections)
    "collections.work": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER, Role.LEGAL,
    },
    "collections.dispute": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER, Role.LEGAL,
    },
    "collections.dispute.resolve": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "collections.plan.request": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER,
    },
    "collections.plan.approve": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "collections.interest.rules": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "collections.interest.post": {Role.ADMIN, Role.FINANCE},
    "collections.case": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.LEGAL},
    "collections.playbook": {Role.ADMIN, Role.CREDIT_MANAGER},
    "collections.queue.refresh": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "collections.assign": {Role.ADMIN, Role.CREDIT_MANAGER},  # who chases which customer
    # credit management (huikuan.credit)
    "credit.policy": {Role.ADMIN, Role.CREDIT_MANAGER},
    "credit.profile.edit": {Role.ADMIN, Role.CREDIT_MANAGER},
    "credit.request": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER,
    },
    "credit.approve": {Role.ADMIN, Role.CREDIT_MANAGER},
    "credit.approve.high": {Role.ADMIN},
    "credit.hold": {Role.ADMIN, Role.CREDIT_MANAGER},
    "credit.order": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.SALESPERSON, Role.SALES_MANAGER},
    "credit.report": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "prediction.models": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.AUDITOR},
    "prediction.activate": {Role.ADMIN, Role.FINANCE},
    "credit.rescore": {Role.ADMIN, Role.CREDIT_MANAGER},
    # dunning (huikuan.dunning)
    "dunning.policy": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "dunning.run": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    "dunning.send": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER, Role.LEGAL,
    },
    "dunning.pause": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR},
    # cash application (huikuan.banking)
    "banking.view": {Role.ADMIN, Role.FINANCE, Role.AUDITOR},
    "banking.import": {Role.ADMIN, Role.FINANCE},
    "banking.confirm": {Role.ADMIN, Role.FINANCE},
    "banking.settings": {Role.ADMIN, Role.FINANCE},
    # early warnings (huikuan.insight.early_warnings): acknowledge / resolve what one sees; tune the rules
    "warnings.act": {
        Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALESPERSON, Role.SALES_MANAGER, Role.LEGAL,
    },
    "forecast.build": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
    # the forecast's backtest is company-wide (not scoped): not for salespeople
    "forecast.backtest": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.AUDITOR},
    "warnings.rules": {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER},
}


class Company(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    base_currency = models.CharField(_("base currency"), max_length=3, default="CNY")
    timezone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")
    roll_due_to_working_day = models.BooleanField(
        _("roll due dates to the next working day"), default=False
    )
    bank_name = models.CharField(_("remittance bank"), max_length=200, blank=True)
    bank_account_name = models.CharField(_("account name"), max_length=200, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.FINANCE)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    companies = models.ManyToManyField(Company, blank=True, related_name="users")
    # The number HR and the ERP know the person by (工号). Optional; when set it names one person in
    # the whole install (a user can work for several of our companies), so imports can match on it.
    employee_number = models.CharField(_("employee number"), max_length=30, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports",
        verbose_name=_("manager"),
    )
    # Set when an administrator sets the password (one-time): the user chooses their own at sign-in.
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["employee_number"], condition=~models.Q(employee_number=""),
                name="user_employee_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def can(self, perm: str) -> bool:
        if not self.is_active:
            return False
        return self.role in PERMISSIONS.get(perm, set())

    @property
    def is_read_only(self) -> bool:
        return self.role == Role.AUDITOR
