from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "huikuan.api"
    label = "api"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from huikuan.common.audit import register_verb_labels

        register_verb_labels({
            "api.key.issued": _("API key issued"),
            "api.key.revoked": _("API key revoked"),
        })
