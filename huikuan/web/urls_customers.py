"""Customer master screens (list, forms, contacts, files) and payment-term templates."""

from django.urls import path

from .views import shell

urlpatterns = [
    path("customers/", shell.coming_soon, name="customer-list"),
    path("terms/", shell.coming_soon, name="term-list"),
]
