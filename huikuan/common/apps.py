from django.apps import AppConfig


def _statistics_job(company, day):
    from .dbstats import refresh_statistics

    def run():
        tables = refresh_statistics()
        return f"analyzed {', '.join(tables)}" if tables else "statistics current"

    return run


def _export_cleanup_job(company, day):
    from .export_jobs import expire_exports

    def run():
        return f"deleted {expire_exports()} export files"

    return run


class CommonConfig(AppConfig):
    name = "huikuan.common"
    label = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from . import (
            checks,  # noqa: F401 - registers the deployment checks
            export_jobs,  # noqa: F401 - registers the export texts and audit verbs
        )
        from .audit import register_verb_labels
        from .jobs import register_daily

        register_verb_labels({
            "calendar.override.work": _("Working-day override added"),
            "calendar.override.off": _("Holiday override added"),
            "calendar.override.remove": _("Calendar override removed"),
        })

        # SQLite has no autovacuum: re-analyze the tables whose size moved (a no-op on PostgreSQL)
        register_daily("db-statistics", _statistics_job)
        # the files of large exports are kept EXPORT_KEEP_DAYS days (common.export_jobs)
        register_daily("export-cleanup", _export_cleanup_job)
