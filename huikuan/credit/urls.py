from django.urls import path

from . import views

app_name = "credit"
urlpatterns = [
    path("", views.index, name="index"),
    path("policy/", views.policy, name="policy"),
    path("policy/scorecards/<int:pk>/decide/", views.scorecard_accept, name="scorecard-decide"),
    path("policy/scorecards/fit/", views.scorecard_fit, name="scorecard-fit"),
    path("profiles/", views.profile_list, name="profiles"),
    path("profiles/export.xlsx", views.profile_export, name="profile-export"),
    path("customers/<int:pk>/", views.profile_detail, name="profile"),
    path("customers/<int:pk>/edit/", views.profile_edit, name="profile-edit"),
    path("customers/<int:pk>/request/", views.profile_request, name="profile-request"),
    path("customers/<int:pk>/hold/", views.profile_hold, name="profile-hold"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer-panel"),
    path("check/", views.check, name="check"),
    path("orders/", views.order_list, name="orders"),
    path("orders/export.xlsx", views.order_export, name="order-export"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/decide/", views.order_decide, name="order-decide"),
    path("orders/<int:pk>/status/", views.order_status, name="order-status"),
    path("queue/", views.queue, name="queue"),
    path("queue/export.xlsx", views.queue_export, name="queue-export"),
    path("requests/", views.request_list, name="requests"),
    path("requests/export.xlsx", views.request_export, name="request-export"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request-decide"),
    path("reports/", views.report_list, name="reports"),
    path("reports/export.xlsx", views.report_export, name="report-export"),
    path("reports/new/", views.report_new, name="report-new"),
    path("reports/import/", views.report_import, name="report-import"),
    path("reports/<int:pk>/file/", views.report_file, name="report-file"),
]
