from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from . import collections_ops, credit, kpis, ledger_ops, masters, periods, provisions, views, webhooks
from .schema_view import SchemaView

v1 = [
    path("customers/", views.CustomerList.as_view(), name="customer-list"),
    path("customers/<int:pk>/", views.CustomerDetail.as_view(), name="customer-detail"),
    path("customers/<int:pk>/contacts/", views.ContactList.as_view(), name="contact-list"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/", masters.ContactDetail.as_view(), name="contact-detail"),
    path("customers/<int:pk>/bank-accounts/", views.BankAccountList.as_view(), name="bank-account-list"),
    path("customers/<int:pk>/bank-accounts/<int:account_pk>/", views.BankAccountDetail.as_view(),
         name="bank-account-detail"),
    path("documents/", views.DocumentList.as_view(), name="document-list"),
    path("documents/<int:pk>/", views.DocumentDetail.as_view(), name="document-detail"),
    path("documents/<int:pk>/reverse/", ledger_ops.DocumentReverse.as_view(), name="document-reverse"),
    path("payments/", views.PaymentList.as_view(), name="payment-list"),
    path("payments/<int:pk>/", views.PaymentDetail.as_view(), name="payment-detail"),
    path("payments/<int:pk>/reverse/", ledger_ops.PaymentReverse.as_view(), name="payment-reverse"),
    path("payments/<int:pk>/allocations/", views.PaymentAllocations.as_view(), name="payment-allocations"),
    path("payments/<int:pk>/allocations/<int:allocation_pk>/reverse/", ledger_ops.AllocationReverse.as_view(),
         name="allocation-reverse"),
    path("credit-notes/", ledger_ops.CreditNoteList.as_view(), name="credit-note-list"),
    path("credit-notes/<int:pk>/", ledger_ops.CreditNoteDetail.as_view(), name="credit-note-detail"),
    path("write-offs/", ledger_ops.WriteOffList.as_view(), name="write-off-list"),
    path("write-offs/<int:pk>/", ledger_ops.WriteOffDetail.as_view(), name="write-off-detail"),
    path("write-offs/<int:pk>/decision/", ledger_ops.WriteOffDecide.as_view(), name="write-off-decide"),
    path("promises/", collections_ops.PromiseList.as_view(), name="promise-list"),
    path("promises/<int:pk>/", collections_ops.PromiseDetail.as_view(), name="promise-detail"),
    path("disputes/", collections_ops.DisputeList.as_view(), name="dispute-list"),
    path("disputes/<int:pk>/", collections_ops.DisputeDetail.as_view(), name="dispute-detail"),
    path("payment-terms/", masters.PaymentTermList.as_view(), name="payment-term-list"),
    path("users/", masters.UserList.as_view(), name="user-list"),
    path("aging/", views.AgingView.as_view(), name="aging"),
    path("kpis/", kpis.KpiView.as_view(), name="kpis"),
    path("periods/", periods.PeriodList.as_view(), name="periods"),
    path("provisions/", provisions.ProvisionView.as_view(), name="provisions"),
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
