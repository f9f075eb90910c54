from django.urls import path

from . import provision_views, views, views_audit, views_warnings

app_name = "insight"
urlpatterns = [
    path("", views.kpi_page, name="kpis"),
    path("items/", views.kpi_items, name="kpi-items"),
    path("dashboard-strip/", views.dashboard_strip, name="dashboard-strip"),
    path("people/", views.people, name="people"),
    path("commission/run/", views.commission_run, name="commission-run"),
    path("commission/rules/", views.commission_rules, name="commission-rules"),
    path("commission/<int:pk>/", views.commission_statement, name="commission-statement"),
    path("provisions/", provision_views.provision_page, name="provisions"),
    path("provisions/matrix/", provision_views.provision_matrix, name="provision-matrix"),
    path("provisions/assessments/", provision_views.provision_assessments, name="provision-assessments"),
    path("provisions/assessments/<int:pk>/decide/", provision_views.provision_assessment_decide,
         name="provision-assessment-decide"),
    path("warnings/", views_warnings.warning_list, name="warnings"),
    path("warnings/<int:pk>/act/", views_warnings.warning_act, name="warning-act"),
    path("warnings/rules/", views_warnings.warning_rules, name="warning-rules"),
    path("warnings/customer/<int:pk>/", views_warnings.customer_warnings, name="customer-warnings"),
    path("warnings/dashboard/", views_warnings.dashboard_warnings, name="dashboard-warnings"),
    path("audit/", views_audit.audit_report, name="audit"),
    path("audit/events/", views_audit.audit_search, name="audit-search"),
]
