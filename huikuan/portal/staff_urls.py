"""Staff pages of the portal (mounted outside ``/portal/``, so the portal cookie never reaches them)."""

from django.urls import path

from . import staff_views

app_name = "portal-staff"

urlpatterns = [
    path("customers/<int:pk>/portal/", staff_views.customer_portal, name="customer"),
    path("portal-access/<int:contact_id>/invite/", staff_views.invite, name="invite"),
    path("portal-access/<int:contact_id>/revoke/", staff_views.revoke, name="revoke"),
    path("portal-confirmations/<int:pk>/pdf/", staff_views.confirmation_pdf, name="confirmation-pdf"),
]
