"""Customer master screens (list, forms, contacts, files) and payment-term templates."""

from django.urls import path

from .views import customer_bank_accounts as bank_accounts
from .views import customers

urlpatterns = [
    path("customers/", customers.customer_list, name="customer-list"),
    path("customers/export.xlsx", customers.customer_export, name="customer-export"),
    path("customers/pick/", customers.customer_pick, name="customer-pick"),
    path("customers/new/", customers.customer_create, name="customer-create"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer-edit"),
    path("customers/<int:pk>/checked/", customers.customer_checked, name="customer-checked"),
    path("customers/<int:pk>/contacts/", customers.customer_contacts, name="customer-contacts"),
    path("customers/<int:pk>/contacts/new/", customers.contact_add, name="customer-contact-add"),
    path("contacts/<int:contact_pk>/edit/", customers.contact_edit, name="contact-edit"),
    path("contacts/<int:contact_pk>/deactivate/", customers.contact_deactivate, name="contact-deactivate"),
    path("customers/<int:pk>/bank-accounts/", bank_accounts.customer_bank_accounts, name="customer-bank-accounts"),
    path("bank-accounts/<int:account_pk>/edit/", bank_accounts.bank_account_edit, name="bank-account-edit"),
    path("bank-accounts/<int:account_pk>/remove/", bank_accounts.bank_account_remove, name="bank-account-remove"),
    path("customers/<int:pk>/files/", customers.customer_files, name="customer-files"),
    path("files/<int:file_pk>/", customers.file_download, name="customer-file-download"),
    path("customer-groups/", customers.group_list, name="group-list"),
    path("terms/", customers.term_list, name="term-list"),
    path("terms/new/", customers.term_create, name="term-create"),
    path("terms/<int:pk>/edit/", customers.term_edit, name="term-edit"),
]
