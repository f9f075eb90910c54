from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "huikuan.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from huikuan.common.audit import register_bulk_tap, register_tap, register_verb_labels

        from .events import emit, emit_many

        register_tap(emit)
        register_bulk_tap(emit_many)
        register_verb_labels({
            "integrations.endpoint.created": _("Webhook endpoint added"),
            "integrations.endpoint.updated": _("Webhook endpoint changed"),
            "integrations.endpoint.enabled": _("Webhook endpoint enabled"),
            "integrations.endpoint.disabled": _("Webhook endpoint disabled"),
            "integrations.endpoint.secret_rotated": _("Webhook secret rotated"),
            "integrations.endpoint.tested": _("Webhook test sent"),
            "integrations.delivery.redelivered": _("Webhook redelivered"),
            "integrations.vouchers.mapping_saved": _("Voucher account mapping saved"),
            "integrations.vouchers.exported": _("Vouchers exported"),
            "integrations.financing.marked": _("Item marked as financed"),
            "integrations.financing.released": _("Financing mark released"),
        })
