from django.urls import include, path

from .views import shell

app_name = "web"
urlpatterns = [
    path("", shell.dashboard, name="dashboard"),
    path("login/", shell.LoginView.as_view(), name="login"),
    path("logout/", shell.logout_view, name="logout"),
    path("company/", shell.switch_company, name="switch-company"),
    path("", include("huikuan.web.urls_setup")),
    path("", include("huikuan.web.urls_customers")),
    path("", include("huikuan.web.urls_ledger")),
    path("", include("huikuan.web.urls_reports")),
]
