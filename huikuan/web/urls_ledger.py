"""Ledger screens: customer 360, documents, payments, allocation, credit notes, write-offs, fapiao."""

from django.urls import path

from .views import shell

urlpatterns = [
    path("customers/<int:pk>/", shell.coming_soon, name="customer-detail"),
    path("documents/", shell.coming_soon, name="document-list"),
    path("payments/", shell.coming_soon, name="payment-list"),
    path("write-offs/", shell.coming_soon, name="writeoff-list"),
    path("fapiao/", shell.coming_soon, name="fapiao-list"),
]
