"""Staff side of the portal: who of a customer may use it, invitations, revocation, confirmations kept.
Staff pages use the staff sign-in (``request.user``) and the customers app's scoping (404 out of scope)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.http import company_of
from huikuan.customers.models import Contact
from huikuan.customers.selectors import get_customer

from . import services
from .links import public_base_url
from .models import Confirmation, PortalAccess
from .views import pdf_response


@login_required
def customer_portal(request, pk: int):
    customer = get_customer(user=request.user, company=company_of(request), pk=pk)
    contacts = list(Contact.objects.filter(customer=customer).order_by("-is_active", "-is_primary", "name"))
    accesses = {a.contact_id: a for a in PortalAccess.objects.filter(contact__in=contacts)}
    rows = [(c, accesses.get(c.pk)) for c in contacts]
    return render(request, "portal/staff_customer.html", {
        "nav": "customers", "customer": customer, "rows": rows,
        "can_edit": request.user.can("customer.edit") and not request.user.is_read_only,
        "confirmations": Confirmation.objects.filter(statement__customer=customer).select_related(
            "statement", "access__contact").order_by("-at")[:50],
    })


def _contact_in_scope(request, contact_id) -> Contact:
    """The contact if its customer is in the user's scope (else 404) and the user may edit customers (else 403)."""
    contact = Contact.objects.filter(pk=contact_id).select_related("customer").first()
    if contact is None:
        raise Http404
    get_customer(user=request.user, company=company_of(request), pk=contact.customer_id)  # 404 out of scope
    if not request.user.can("customer.edit"):
        raise PermissionDenied
    return contact


@login_required
@require_POST
def invite(request, contact_id: int):
    contact = _contact_in_scope(request, contact_id)
    base = public_base_url(contact.customer.company) or request.build_absolute_uri("/").rstrip("/")
    try:
        sent_to = services.invite(actor=request.user, contact_id=contact.pk, base_url=base, now=clock.now(),
                                  whole_group=request.POST.get("whole_group") == "1")
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Sign-in link sent to %(address)s.") % {"address": sent_to})
    return redirect("portal-staff:customer", pk=contact.customer_id)


@login_required
@require_POST
def revoke(request, contact_id: int):
    contact = _contact_in_scope(request, contact_id)
    access = PortalAccess.objects.filter(contact=contact).first()
    if access is None:
        raise Http404
    try:
        services.revoke_access(actor=request.user, access_id=access.pk, now=clock.now())
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Portal access of %(name)s revoked.") % {"name": contact.name})
    return redirect("portal-staff:customer", pk=contact.customer_id)


@login_required
def confirmation_pdf(request, pk: int):
    conf = Confirmation.objects.filter(pk=pk, confirmed=True).select_related("statement").first()
    if conf is None:
        raise Http404
    get_customer(user=request.user, company=company_of(request), pk=conf.statement.customer_id)
    return pdf_response(bytes(conf.pdf), f"{conf.statement.number}-confirmed.pdf")
