"""Ledger screens: customer 360, documents, payments, allocation, credit notes, write-offs, fapiao."""

from django.urls import path

from .views import bills, ledger, periods

urlpatterns = [
    path("customers/<int:pk>/", ledger.customer_detail, name="customer-detail"),
    path("documents/", ledger.document_list, name="document-list"),
    path("documents/new/", ledger.document_new, name="document-new"),
    path("documents/preview-schedule/", ledger.document_preview_schedule, name="document-preview-schedule"),
    path("documents/<int:pk>/", ledger.document_detail, name="document-detail"),
    path("documents/<int:pk>/reverse/", ledger.document_reverse, name="document-reverse"),
    path("payments/", ledger.payment_list, name="payment-list"),
    path("payments/bills/", bills.bill_register, name="bill-register"),
    path("payments/new/", ledger.payment_new, name="payment-new"),
    path("credit-notes/new/", ledger.credit_note_new, name="credit-note-new"),
    path("payments/<int:pk>/", ledger.payment_detail, name="payment-detail"),
    path("payments/<int:pk>/apply/", ledger.payment_apply, name="payment-apply"),
    path("payments/<int:pk>/reverse/", ledger.payment_reverse, name="payment-reverse"),
    path("payments/<int:pk>/instrument/", ledger.payment_instrument, name="payment-instrument"),
    path("payments/<int:pk>/allocations/<int:allocation_pk>/reverse/", ledger.allocation_reverse,
         name="allocation-reverse"),
    path("write-offs/", ledger.writeoff_list, name="writeoff-list"),
    path("write-offs/new/<int:instalment_pk>/", ledger.writeoff_new, name="writeoff-new"),
    path("write-offs/<int:pk>/decide/", ledger.writeoff_decide, name="writeoff-decide"),
    path("fapiao/", ledger.fapiao_list, name="fapiao-list"),
    path("fapiao/new/", ledger.fapiao_new, name="fapiao-new"),
    path("fapiao/<int:pk>/red/", ledger.fapiao_red, name="fapiao-red"),
    path("periods/", periods.period_page, name="periods"),
]
