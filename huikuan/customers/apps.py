from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "huikuan.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from . import texts  # noqa: F401 - timeline labels of our audit verbs
