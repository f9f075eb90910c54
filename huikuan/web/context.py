from django.conf import settings

NAV_MORE = ("kpis", "people", "warnings", "dunning", "imports", "writeoffs", "fapiao", "terms", "users", "periods",
            "provisions", "webhooks", "vouchers", "financing", "prediction", "audit", "forecast", "exports")


def shell(request):
    user = getattr(request, "user", None)
    can = user.can if user is not None and user.is_authenticated else (lambda perm: False)
    return {"LANGUAGES": settings.LANGUAGES, "company": getattr(request, "company", None),
            "companies": getattr(request, "companies", []),
            # nav entries a role cannot open at all are not shown
            "nav_banking": can("banking.view"),
            "nav_users": can("admin.users"),
            "nav_vouchers": can("ledger.post"),
            "nav_periods": can("ledger.period.view"),
            "nav_provisions": can("insight.provision.view"),
            "nav_prediction": can("prediction.models"),
            "nav_audit": can("audit.report"),
            # the sections listed under "More" (the menu keeps one row at 1366 px in English)
            "nav_more": NAV_MORE}
