"""Collections screens."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from huikuan.common.http import company_of
from huikuan.ledger.selectors import get_customer


@login_required
def index(request):
    return render(request, "collections/index.html", {"nav": "collections"})


@login_required
def customer_panel(request, pk: int):
    """The collections section of the customer 360 page, loaded by htmx (404 out of scope)."""
    customer = get_customer(user=request.user, company=company_of(request), pk=pk)
    return render(request, "collections/_customer_panel.html", {"customer": customer})
