from django.apps import AppConfig


def _statistics_job(company, day):
    from .dbstats import refresh_statistics

    def run():
        tables = refresh_statistics()
        return f"analyzed {', '.join(tables)}" if tables else "statistics current"

    return run


class CommonConfig(AppConfig):
    name = "huikuan.common"
    label = "common"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .jobs import register_daily

        # SQLite has no autovacuum: re-analyze the tables whose size moved (a no-op on PostgreSQL)
        register_daily("db-statistics", _statistics_job)
