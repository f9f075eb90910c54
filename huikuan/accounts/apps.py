from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "huikuan.accounts"
    label = "accounts"
    verbose_name = _("Access")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from huikuan.common.audit import register_verb_labels

        from .ratelimit import record_failure

        user_login_failed.connect(record_failure, dispatch_uid="huikuan-login-failures-per-address")

        register_verb_labels({
            "accounts.company.created": _("Company set up"),
            "accounts.user.created": _("User added"),
            "accounts.user.updated": _("User changed"),
            "accounts.user.role_changed": _("Role changed"),
            "accounts.user.deactivated": _("User deactivated"),
            "accounts.user.reactivated": _("User reactivated"),
            "accounts.user.password_reset": _("Password reset by an administrator"),
            "accounts.user.password_changed": _("Password changed"),
            "accounts.user.company_granted": _("Company access granted"),
            "accounts.permission.denied": _("Permission refused"),
        })
