from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("huikuan.api.urls", namespace="api")),
    path("imports/", include("huikuan.imports.urls", namespace="imports")),
    path("credit/", include("huikuan.credit.urls", namespace="credit")),
    path("collections/", include("huikuan.collections.urls", namespace="collections")),
    path("dunning/", include("huikuan.dunning.urls", namespace="dunning")),
    path("bank/", include("huikuan.banking.urls", namespace="banking")),
    path("integrations/", include("huikuan.integrations.urls", namespace="integrations")),
    path("kpis/", include("huikuan.insight.urls", namespace="insight")),
    path("predictions/", include("huikuan.prediction.urls", namespace="prediction")),
    path("forecast/", include("huikuan.prediction.urls_forecast", namespace="forecast")),
    path("portal/", include("huikuan.portal.urls", namespace="portal")),
    path("", include("huikuan.portal.staff_urls", namespace="portal-staff")),
    path("", include("huikuan.web.urls")),
]

# a database that cannot be reached answers 503 with Retry-After (page or API envelope); the rest 500
handler500 = "huikuan.web.views.errors.server_error"

# MEDIA is never served by URL, not even with DEBUG: uploaded customer documents are private and go
# out only through scoped views (web:customer-file-download), which answer 404 out of scope.
