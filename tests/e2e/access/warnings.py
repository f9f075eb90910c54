"""URL × role rows of the early-warning screens and API (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import GET_405, OK_ALL, OWN, only

RULES = {"admin", "finance", "credit_manager"}

ROWS = {
    "insight:warnings": ("/kpis/warnings/", OK_ALL, 302),
    "insight:warning-act": ("/kpis/warnings/{ew}/act/", GET_405, 302),
    "insight:warning-rules": ("/kpis/warnings/rules/", only(RULES), 302),
    "insight:customer-warnings": ("/kpis/warnings/customer/{c}/", OWN, 302),
    "insight:dashboard-warnings": ("/kpis/warnings/dashboard/", OK_ALL, 302),
    "api:warning-list": ("/api/v1/warnings/", OK_ALL, 401),
    "api:warning-acknowledge": ("/api/v1/warnings/{ew}/acknowledge/", GET_405, 401),
    "api:warning-resolve": ("/api/v1/warnings/{ew}/resolve/", GET_405, 401),
}


def objects(*, world, company, customer, users, finance):
    import datetime as dt

    from django.utils import timezone

    from huikuan.insight.models import EarlyWarning

    w = EarlyWarning.objects.create(company=company, kind="overdue_days", severity="medium", key=f"c{customer.pk}:x",
                                    customer=customer, owner=customer.owner, raised_on=dt.date(2026, 3, 1),
                                    created_at=timezone.now())
    return {"ew": w.pk}
