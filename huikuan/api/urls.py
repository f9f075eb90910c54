from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from . import credit, kpis, periods, views, webhooks
from .schema_view import SchemaView

v1 = [
    path("customers/", views.CustomerList.as_view(), name="customer-list"),
    path("customers/<int:pk>/", views.CustomerDetail.as_view(), name="customer-detail"),
    path("customers/<int:pk>/contacts/", views.ContactList.as_view(), name="contact-list"),
    path("customers/<int:pk>/bank-accounts/", views.BankAccountList.as_view(), name="bank-account-list"),
    path("customers/<int:pk>/bank-accounts/<int:account_pk>/", views.BankAccountDetail.as_view(),
         name="bank-account-detail"),
    path("documents/", views.DocumentList.as_view(), name="document-list"),
    path("documents/<int:pk>/", views.DocumentDetail.as_view(), name="document-detail"),
    path("payments/", views.PaymentList.as_view(), name="payment-list"),
    path("payments/<int:pk>/", views.PaymentDetail.as_view(), name="payment-detail"),
    path("payments/<int:pk>/allocations/", views.PaymentAllocations.as_view(), name="payment-allocations"),
    path("credit-notes/", views.CreditNoteList.as_view(), name="credit-note-list"),
    path("aging/", views.AgingView.as_view(), name="aging"),
    path("kpis/", kpis.KpiView.as_view(), name="kpis"),
    path("periods/", periods.PeriodList.as_view(), name="periods"),
    path("periods/close/", periods.PeriodClose.as_view(), name="period-close"),
    path("periods/reopen/", periods.PeriodReopen.as_view(), name="period-reopen"),
    path("customers/<int:pk>/statement/", views.StatementView.as_view(), name="customer-statement"),
    path("credit-checks", credit.CreditCheckNoSlash.as_view(), name="credit-check"),
    path("credit-checks/", credit.CreditCheck.as_view(), name="credit-check-slash"),
    path("orders/", credit.OrderList.as_view(), name="order-list"),
    path("orders/<int:pk>/", credit.OrderDetail.as_view(), name="order-detail"),
    path("credit-reports/", credit.ReportList.as_view(), name="credit-report-list"),
    path("webhooks/", webhooks.EndpointList.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", webhooks.EndpointDetail.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/rotate-secret/", webhooks.EndpointRotate.as_view(), name="webhook-rotate"),
    path("webhooks/<int:pk>/deliveries/", webhooks.DeliveryList.as_view(), name="webhook-deliveries"),
    path("webhook-deliveries/<int:pk>/redeliver/", webhooks.DeliveryRedeliver.as_view(), name="webhook-redeliver"),
]

app_name = "api"
urlpatterns = [
    path("v1/schema/", SchemaView.as_view(), name="schema"),
    path("v1/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    *[path("v1/" + str(p.pattern), p.callback, name=p.name) for p in v1],
]
