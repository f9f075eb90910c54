from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "huikuan.web"
    label = "web"

    def ready(self):
        from huikuan.common.export_jobs import register_exporter

        # the lists whose XLSX the worker writes above export_jobs.EXPORT_NOW_ROWS rows (read when first asked)
        register_exporter("ledger.documents", "huikuan.web.views.ledger:documents_export")
        register_exporter("ledger.payments", "huikuan.web.views.ledger:payments_export")
        register_exporter("ledger.fapiao", "huikuan.web.views.ledger:fapiao_export")
        register_exporter("customers.list", "huikuan.web.views.customers:customers_export")
        register_exporter("ledger.aging_items", "huikuan.web.views.reports:aging_items_export")
