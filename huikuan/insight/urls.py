from django.urls import path

from . import views

app_name = "insight"
urlpatterns = [
    path("", views.kpi_page, name="kpis"),
    path("items/", views.kpi_items, name="kpi-items"),
    path("dashboard-strip/", views.dashboard_strip, name="dashboard-strip"),
    path("people/", views.people, name="people"),
    path("commission/run/", views.commission_run, name="commission-run"),
    path("commission/rules/", views.commission_rules, name="commission-rules"),
    path("commission/<int:pk>/", views.commission_statement, name="commission-statement"),
]
