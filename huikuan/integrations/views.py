"""Webhook screens (administrators): endpoints, their delivery log, redelivery, secret rotation.

Endpoints of another company are 404; other roles get 403. Lists export XLSX with ``?format=xlsx``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of
from huikuan.common.listing import Sorting, date_range
from huikuan.common.paging import capped_page

from . import services
from .events import EVENT_TYPES
from .models import Delivery, DeliveryStatus, Endpoint

PER_PAGE = 50


def _admin(request):
    company = company_of(request)
    if not request.user.can(services.PERM):
        raise PermissionDenied
    return company


def _endpoint(company, pk) -> Endpoint:
    endpoint = Endpoint.objects.filter(company=company, pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _events_label(events) -> str:
    return ", ".join(str(EVENT_TYPES.get(e, e)) for e in events)


ENDPOINT_SORTS = Sorting({"url": "url", "description": "description", "status": ("-is_active", "consecutive_failures"),
                         "created": "created_at"}, default="-created")
DELIVERY_SORTS = Sorting({"created": "created_at", "event": "message__event_type", "message": "message__msg_id",
                         "status": "status", "attempts": "attempts", "response": "last_status_code",
                         "next": "next_attempt_at"}, default="-created")


@login_required
def endpoint_list(request):
    company = _admin(request)
    form = {"url": "", "description": "", "events": []}
    error = field = None
    if request.method == "POST":
        form = {"url": request.POST.get("url", ""), "description": request.POST.get("description", ""),
                "events": request.POST.getlist("events")}
        try:
            endpoint = services.create_endpoint(actor=request.user, company=company, url=form["url"],
                                                events=form["events"], description=form["description"])
            messages.success(request, _("Webhook endpoint added. Give its secret to the receiver."))
            return redirect("integrations:webhook-detail", pk=endpoint.pk)
        except DomainError as exc:
            error, field = exc.message, exc.field
    endpoints = ENDPOINT_SORTS.apply(Endpoint.objects.filter(company=company), request.GET)
    if request.GET.get("format") == "xlsx":
        columns = [(_("URL"), "text"), (_("Description"), "text"), (_("Events"), "text"), (_("Status"), "text"),
                   (_("Failures in a row"), "int"), (_("Created"), "date")]
        rows = ([e.url, e.description, _events_label(e.events), _("Active") if e.is_active else _("Disabled"),
                 e.consecutive_failures, e.created_at] for e in endpoints)
        return xlsx_response(filename=f"webhooks-{company.code}.xlsx", sheet_title=_("Webhooks"), columns=columns,
                             rows=rows)
    return render(request, "integrations/endpoints.html", {
        "nav": "webhooks", "endpoints": endpoints, "form": form, "error": error, "field": field,
        **ENDPOINT_SORTS.context(request.GET),
        "event_types": list(EVENT_TYPES.items())}, status=422 if error else 200)


@login_required
def endpoint_detail(request, pk):
    company = _admin(request)
    endpoint = _endpoint(company, pk)
    error = field = None
    form = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    if request.method == "POST":
        form = {"url": request.POST.get("url", ""), "description": request.POST.get("description", ""),
                "events": request.POST.getlist("events")}
        try:
            services.update_endpoint(actor=request.user, company=company, endpoint_id=endpoint.pk, url=form["url"],
                                     events=form["events"], description=form["description"])
            messages.success(request, _("Webhook endpoint saved."))
            return redirect("integrations:webhook-detail", pk=endpoint.pk)
        except DomainError as exc:
            error, field = exc.message, exc.field
    status = request.GET.get("status", "")
    deliveries = (Delivery.objects.filter(endpoint=endpoint).select_related("message")
                  .order_by("-created_at", "-id"))
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    deliveries = DELIVERY_SORTS.apply(date_range(deliveries, "created_at__date", request.GET), request.GET)
    if request.GET.get("format") == "xlsx":
        statuses = dict(DeliveryStatus.choices)
        columns = [(_("Message ID"), "text"), (_("Event"), "text"), (_("Created"), "date"), (_("Status"), "text"),
                   (_("Attempts"), "int"), (_("Response"), "int"), (_("Error"), "text"), (_("Delivered"), "date"),
                   (_("Next attempt"), "date")]
        rows = ([d.message.msg_id, d.message.event_type, d.created_at, str(statuses.get(d.status, d.status)),
                 d.attempts, d.last_status_code, d.last_error, d.delivered_at, d.next_attempt_at]
                for d in deliveries.iterator())
        return xlsx_response(filename=f"webhook-deliveries-{endpoint.pk}.xlsx", sheet_title=_("Deliveries"),
                             columns=columns, rows=rows)
    page = capped_page(deliveries, PER_PAGE, request.GET.get("page"))
    return render(request, "integrations/endpoint.html", {
        "nav": "webhooks", "endpoint": endpoint, "page": page, "status": status, "statuses": DeliveryStatus.choices,
        "params": urlencode({"status": status}) if status else "", "form": form, "error": error, "field": field,
        "event_types": list(EVENT_TYPES.items()), **DELIVERY_SORTS.context(request.GET),
        "has_overlap": len(endpoint.signing_secrets(timezone.now())) > 1,
    }, status=422 if error else 200)


@login_required
def endpoint_action(request, pk, action):
    company = _admin(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    endpoint = _endpoint(company, pk)
    try:
        if action == "rotate":
            services.rotate_secret(actor=request.user, company=company, endpoint_id=endpoint.pk,
                                   overlap_hours=request.POST.get("overlap_hours", "24"))
            messages.success(request, _("New secret created. Both secrets sign messages until the overlap ends."))
        elif action in ("enable", "disable"):
            services.set_active(actor=request.user, company=company, endpoint_id=endpoint.pk, active=action == "enable")
            messages.success(request, _("Webhook endpoint enabled.") if action == "enable"
                             else _("Webhook endpoint disabled."))
        elif action == "test":
            services.send_test(actor=request.user, company=company, endpoint_id=endpoint.pk)
            messages.success(request, _("Test message queued."))
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("integrations:webhook-detail", pk=endpoint.pk)


def _delivery(company, pk) -> Delivery:
    d = (Delivery.objects.filter(endpoint__company=company, pk=pk).select_related("message", "endpoint").first())
    if d is None:
        raise Http404
    return d


@login_required
def delivery_detail(request, pk):
    company = _admin(request)
    d = _delivery(company, pk)
    return render(request, "integrations/delivery.html", {"nav": "webhooks", "d": d, "log": d.log.all()[:100]})


@login_required
def delivery_redeliver(request, pk):
    company = _admin(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    d = _delivery(company, pk)
    try:
        services.redeliver(actor=request.user, company=company, delivery_id=d.pk)
        messages.success(request, _("Redelivery queued (same message ID)."))
    except DomainError as exc:
        messages.error(request, exc.message)
    nxt = request.POST.get("next", "")
    if nxt == "endpoint":
        return redirect("integrations:webhook-detail", pk=d.endpoint_id)
    return redirect("integrations:delivery-detail", pk=d.pk)


