"""Credit screens: overview, policy, profiles, customer panel, credit check, orders, hold queue,
approvals, third-party reports and scorecard versions.

Every view checks ``user.can(...)`` before anything else (403), loads customer-owned rows through
scoped selectors (404 out of scope), parses with a plain form, calls one service and puts a
``DomainError`` on the form (422) or into a message. Every list has an XLSX export.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.customers.models import PaymentTerm
from huikuan.customers.picker import CustomerPickerField
from huikuan.ledger.selectors import customers_in_scope, get_customer

from . import selectors, services
from .charts import score_chart
from .errors import CreditError
from .models import (
    CreditProfile,
    Grade,
    Mode,
    OrderStatus,
    RequestKind,
    RequestStatus,
    ScorecardVersion,
)


def _params(request) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def _need(request, perm: str) -> None:
    if not request.user.can(perm):
        raise PermissionDenied


def post_only(perm: str):
    """A POST-only action behind a permission: 403 without it (whatever the method), 405 for a GET."""

    def wrap(view):
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            _need(request, perm)
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return login_required(inner)

    return wrap


def _error_into(form, exc: DomainError) -> None:
    name = exc.field if exc.field in form.fields else None
    form.add_error(name, str(exc))


# ---------------------------------------------------------------- overview


@login_required
def index(request):
    company = company_of(request)
    today = clock.today(company)
    services.policy_of(company)
    user = request.user
    ctx = {
        "nav": "credit",
        "today": today,
        "holds": selectors.profiles_in_scope(user=user, company=company).filter(on_hold=True)
        .select_related("customer").order_by("-hold_since")[:50],
        # the true counts (SQL COUNT), not the length of the 50 rows listed below
        "hold_count": selectors.profiles_in_scope(user=user, company=company).filter(on_hold=True).count(),
        "review_count": selectors.review_overdue(user=user, company=company, as_of=today).count(),
        "reviews": selectors.review_overdue(user=user, company=company, as_of=today).order_by("next_review_date")[:50],
        "expired": selectors.limits_expired(user=user, company=company, as_of=today).order_by("valid_to")[:50],
        "queue_count": selectors.hold_queue(user=user, company=company).count(),
        "open_requests": selectors.request_list(user=user, company=company, status="open").count(),
        "notifications": selectors.notifications_for(user=user, company=company, limit=10),
    }
    return render(request, "credit/index.html", ctx)


# ---------------------------------------------------------------- policy


class PolicyForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Limit mode"), choices=Mode.choices)
    approval_threshold_amount = forms.DecimalField(label=gettext_lazy("Credit manager may approve limits up to"),
                                                   max_digits=15, decimal_places=2, min_value=0)


GRADE_FIELDS = ("code", "min_score", "max_score", "max_limit_amount", "max_limit_months", "max_terms_days",
                "prepayment_required", "review_interval_days", "hold_days_overdue", "hold_overdue_amount")


class GradeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Grade"), max_length=10, required=False)
    min_score = forms.IntegerField(label=gettext_lazy("Score from"), min_value=0, max_value=100, required=False)
    max_score = forms.IntegerField(label=gettext_lazy("Score to"), min_value=0, max_value=100, required=False)
    max_limit_amount = forms.DecimalField(label=gettext_lazy("Maximum limit"), max_digits=15, decimal_places=2,
                                          min_value=0, required=False)
    max_limit_months = forms.DecimalField(label=gettext_lazy("Months of sales"), max_digits=5, decimal_places=2,
                                          min_value=0, required=False)
    max_terms_days = forms.IntegerField(label=gettext_lazy("Maximum terms (days)"), min_value=0, max_value=3650,
                                        required=False)
    prepayment_required = forms.BooleanField(label=gettext_lazy("Prepayment"), required=False)
    review_interval_days = forms.IntegerField(label=gettext_lazy("Review every (days)"), min_value=1, max_value=3650,
                                              required=False)
    hold_days_overdue = forms.IntegerField(label=gettext_lazy("Hold after days overdue"), min_value=0, max_value=3650,
                                           required=False)
    hold_overdue_amount = forms.DecimalField(label=gettext_lazy("Hold when overdue exceeds"), max_digits=15,
                                             decimal_places=2, min_value=0, required=False)


GradeFormSet = forms.formset_factory(GradeForm, extra=2, max_num=20)


@login_required
def policy(request):
    company = company_of(request)
    pol = services.policy_of(company)
    can_edit = request.user.can("credit.policy")
    if request.method == "POST":
        _need(request, "credit.policy")
        form = PolicyForm(request.POST)
        grades = GradeFormSet(request.POST, prefix="g")
        if form.is_valid() and grades.is_valid():
            rows = [services.GradeInput(
                code=g["code"], min_score=g["min_score"] or 0, max_score=g["max_score"] or 0,
                max_limit_amount=g["max_limit_amount"], max_limit_months=g["max_limit_months"],
                max_terms_days=g["max_terms_days"], prepayment_required=g["prepayment_required"],
                review_interval_days=g["review_interval_days"] or 365, hold_days_overdue=g["hold_days_overdue"],
                hold_overdue_amount=g["hold_overdue_amount"]) for g in grades.cleaned_data if g and g.get("code")]
            try:
                services.save_policy(company=company, actor=request.user, mode=form.cleaned_data["mode"],
                                     approval_threshold_amount=form.cleaned_data["approval_threshold_amount"], grades=rows)
            except DomainError as exc:
                _error_into(form, exc)
            else:
                messages.success(request, _("Credit policy saved."))
                return redirect("credit:policy")
        status = 422
    else:
        form = PolicyForm(initial={"mode": pol.mode, "approval_threshold_amount": pol.approval_threshold_amount})
        grades = GradeFormSet(prefix="g", initial=[{f: getattr(g, f) for f in GRADE_FIELDS} for g in pol.grades.all()])
        status = 200
    versions = ScorecardVersion.objects.filter(company=company).select_related("created_by", "accepted_by")[:20]
    return render(request, "credit/policy.html", {"nav": "credit", "form": form, "grades": grades, "can_edit": can_edit,
                                                  "versions": versions}, status=status)


@post_only("credit.policy")
def scorecard_accept(request, pk: int):
    _need(request, "credit.policy")
    company = company_of(request)
    version = get_object_or_404(ScorecardVersion, company=company, pk=pk)
    accept = request.POST.get("decision") != "decline"
    try:
        services.decide_scorecard(company=company, version_id=version.pk, accept=accept, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Scorecard version %(n)s accepted.") % {"n": version.number} if accept
                         else _("Scorecard version %(n)s declined.") % {"n": version.number})
    return redirect("credit:policy")


@post_only("credit.policy")
def scorecard_fit(request):
    _need(request, "credit.policy")
    company = company_of(request)
    from .model_fit import propose_fitted_version

    try:
        version = propose_fitted_version(company=company, as_of=clock.today(company), actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Proposed scorecard version %(n)s: AUC %(auc)s on the held-out period "
                                    "(current scorecard %(base)s). Accept it to use it.")
                         % {"n": version.number, "auc": version.metrics.get("auc"), "base": version.metrics.get("baseline_auc")})
    return redirect("credit:policy")


# ---------------------------------------------------------------- profiles


def _profile_filters(request, company):
    today = clock.today(company)
    return dict(grade=request.GET.get("grade", ""), hold=request.GET.get("hold", ""),
                review_due=request.GET.get("review") == "1", q=request.GET.get("q", "").strip(), as_of=today)


PROFILE_SORTS = Sorting({
    "customer": "customer__code", "grade": "grade", "score": "score", "limit": "limit_amount", "valid_to": "valid_to",
    "open": "customer__open_amount", "hold": "on_hold", "review": "next_review_date", "owner": "customer__owner__username",
}, default="customer")


@login_required
def profile_list(request):
    company = company_of(request)
    f = _profile_filters(request, company)
    qs = PROFILE_SORTS.apply(selectors.profile_list(user=request.user, company=company, **f), request.GET)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    grades = Grade.objects.filter(policy=services.policy_of(company)).values_list("code", flat=True)
    return render(request, "credit/profiles.html", {"nav": "credit", "page": page, "f": f, "grades": grades,
                                                    "params": _params(request), **PROFILE_SORTS.context(request.GET)})


@login_required
def profile_export(request):
    company = company_of(request)
    qs = PROFILE_SORTS.apply(selectors.profile_list(user=request.user, company=company,
                                                    **_profile_filters(request, company)), request.GET)
    columns = [(_("Code"), "text"), (_("Customer"), "text"), (_("Grade"), "text"), (_("Score"), "int"),
               (_("Credit limit"), "money"), (_("Valid to"), "date"), (_("Terms (days)"), "int"),
               (_("Open receivables"), "money"), (_("On hold"), "text"), (_("Hold reason"), "text"),
               (_("Next review"), "date"), (_("Owner"), "text")]
    rows = ([p.customer.code, p.customer.name, p.grade, p.score, p.limit_amount, p.valid_to, p.terms_days,
             p.customer.open_amount, _("Yes") if p.on_hold else "", p.hold_reason, p.next_review_date,
             str(p.customer.owner or "")] for p in qs.iterator(chunk_size=2000))
    return xlsx_response(filename="credit-profiles.xlsx", sheet_title=_("Credit profiles"), columns=columns, rows=rows)


class ProfileForm(forms.Form):
    limit_amount = forms.DecimalField(label=gettext_lazy("Lower the limit to"), max_digits=15, decimal_places=2,
                                      min_value=0, required=False)
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), required=False)
    valid_to = forms.DateField(label=gettext_lazy("Valid to"), required=False)
    next_review_date = forms.DateField(label=gettext_lazy("Next review"), required=False)
    guarantees = forms.CharField(label=gettext_lazy("Guarantees"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    guarantee_amount = forms.DecimalField(label=gettext_lazy("Guarantee amount"), max_digits=15, decimal_places=2,
                                          min_value=0, required=False)
    collateral = forms.CharField(label=gettext_lazy("Collateral"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    collateral_amount = forms.DecimalField(label=gettext_lazy("Collateral amount"), max_digits=15, decimal_places=2,
                                           min_value=0, required=False)


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Request"), choices=RequestKind.choices)
    limit_amount = forms.DecimalField(label=gettext_lazy("New limit"), max_digits=15, decimal_places=2, min_value=0,
                                      required=False)
    valid_to = forms.DateField(label=gettext_lazy("Valid to"), required=False)
    payment_term = forms.ModelChoiceField(label=gettext_lazy("Payment terms asked for"), queryset=PaymentTerm.objects.none(),
                                          required=False,
                                          help_text=gettext_lazy("Or the number of days below (plain net days)."))
    terms_days = forms.IntegerField(label=gettext_lazy("New terms (days)"), min_value=0, max_value=3650, required=False)
    grade = forms.CharField(label=gettext_lazy("New grade"), max_length=10, required=False)
    exception = forms.BooleanField(label=gettext_lazy("Ask for an exception above the grade maximum"), required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)

    def __init__(self, *args, company=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment_term"].queryset = PaymentTerm.objects.filter(company=company, active=True)


class HoldForm(forms.Form):
    # releasing is maker-checker: a hold_release request approved by someone else (services.decide_request)
    action = forms.ChoiceField(choices=[("place", "place")])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def _profile_context(request, customer, **forms_):
    company = company_of(request)
    profile = CreditProfile.objects.filter(company=company, customer=customer).first()
    today = clock.today(company)
    ctx = _panel_context(request, customer)
    ctx.update({
        "nav": "credit",
        "profile_form": forms_.get("profile_form") or ProfileForm(initial={
            "valid_from": profile.valid_from if profile else None, "valid_to": profile.valid_to if profile else None,
            "next_review_date": profile.next_review_date if profile else None,
            "guarantees": profile.guarantees if profile else "", "guarantee_amount": profile.guarantee_amount if profile else 0,
            "collateral": profile.collateral if profile else "",
            "collateral_amount": profile.collateral_amount if profile else 0}),
        "request_form": forms_.get("request_form") or RequestForm(company=company),
        "hold_form": forms_.get("hold_form") or HoldForm(),
        "can_edit": request.user.can("credit.profile.edit"),
        "can_request": request.user.can("credit.request"),
        "can_hold": request.user.can("credit.hold"),
        "requests": selectors.request_list(user=request.user, company=company).filter(customer=customer)[:20],
        "orders": selectors.order_list(user=request.user, company=company, customer_id=customer.pk)[:20],
        "reports": selectors.reports_in_scope(user=request.user, company=company).filter(customer=customer)[:10],
        "today": today,
    })
    return ctx


@login_required
def profile_detail(request, pk: int):
    customer = get_customer(user=request.user, company=company_of(request), pk=pk)
    return render(request, "credit/profile.html", _profile_context(request, customer))


@post_only("credit.profile.edit")
def profile_edit(request, pk: int):
    _need(request, "credit.profile.edit")
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    form = ProfileForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.update_profile(company=company, customer_id=customer.pk, actor=request.user,
                                    limit_amount=d["limit_amount"], valid_from=d["valid_from"], valid_to=d["valid_to"],
                                    next_review_date=d["next_review_date"], guarantees=d["guarantees"],
                                    guarantee_amount=d["guarantee_amount"] or 0, collateral=d["collateral"],
                                    collateral_amount=d["collateral_amount"] or 0)
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("Credit profile saved."))
            return redirect("credit:profile", pk=customer.pk)
    return render(request, "credit/profile.html", _profile_context(request, customer, profile_form=form), status=422)


@post_only("credit.request")
def profile_request(request, pk: int):
    _need(request, "credit.request")
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    form = RequestForm(request.POST, company=company)
    if form.is_valid():
        d = form.cleaned_data
        try:
            req = services.request_change(company=company, customer_id=customer.pk, kind=d["kind"], reason=d["reason"],
                                          actor=request.user, as_of=clock.today(company), limit_amount=d["limit_amount"],
                                          valid_to=d["valid_to"], terms_days=d["terms_days"],
                                          payment_term=d["payment_term"], grade=d["grade"].strip(),
                                          exception=d["exception"])
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("Request sent for approval (%(kind)s).") % {"kind": req.get_kind_display()})
            return redirect("credit:profile", pk=customer.pk)
    return render(request, "credit/profile.html", _profile_context(request, customer, request_form=form), status=422)


@post_only("credit.hold")
def profile_hold(request, pk: int):
    _need(request, "credit.hold")
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    form = HoldForm(request.POST)
    if form.is_valid():
        try:
            services.place_hold(company=company, customer_id=customer.pk, reason=form.cleaned_data["reason"],
                                source="manual", actor=request.user)
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("Hold updated."))
            return redirect("credit:profile", pk=customer.pk)
    return render(request, "credit/profile.html", _profile_context(request, customer, hold_form=form), status=422)


def _panel_context(request, customer):
    company = company_of(request)
    today = clock.today(company)
    profile = CreditProfile.objects.filter(company=company, customer=customer).first()
    result = services.evaluate(company=company, customer=customer, amount=Decimal("0.01"), as_of=today)
    snaps = selectors.snapshots(customer_id=customer.pk, limit=24)
    latest = snaps[0] if snaps else None
    factors = []
    if latest:
        names = dict(FACTOR_LABELS)
        for key, pts in latest.points.items():
            spec = latest.version.config["factors"].get(key, {})
            top = max([int(b[1]) for b in spec.get("bands", [])] + [int(spec.get("missing", 0))])
            factors.append({"label": names.get(key, key), "value": latest.factors.get(key), "points": pts, "max": top})
    return {"customer": customer, "profile": profile, "check": result, "latest": latest, "factors": factors,
            "chart": score_chart(list(reversed(snaps))), "today": today}


FACTOR_LABELS = (
    ("paydex", gettext_lazy("Payment index (1–100)")),
    ("paydex_trend", gettext_lazy("6-month trend of the index")),
    ("overdue_ratio", gettext_lazy("Overdue ratio (%)")),
    ("max_days_overdue", gettext_lazy("Maximum days overdue")),
    ("broken_promises", gettext_lazy("Broken promises")),
    ("disputes", gettext_lazy("Disputes")),
    ("utilisation", gettext_lazy("Limit utilisation (%)")),
    ("relationship_months", gettext_lazy("Relationship (months)")),
    ("third_party_score", gettext_lazy("Latest third-party score")),
)


@login_required
def customer_panel(request, pk: int):
    """The credit section of the customer 360 page, loaded by htmx (404 out of scope)."""
    customer = get_customer(user=request.user, company=company_of(request), pk=pk)
    return render(request, "credit/_customer_panel.html", _panel_context(request, customer))


# ---------------------------------------------------------------- credit check


class CheckForm(forms.Form):
    customer = CustomerPickerField(label=gettext_lazy("Customer"))
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=15, decimal_places=2, min_value=0.01)


def _pick_in_scope(request, form):
    """The form's customer picker resolves codes among the customers the user may see."""
    form.fields["customer"].queryset = customers_in_scope(user=request.user, company=company_of(request))


@login_required
def check(request):
    company = company_of(request)
    form = CheckForm(request.GET or None)
    _pick_in_scope(request, form)
    result, status = None, 200
    if request.GET and form.is_valid():
        try:
            result = services.check_credit(company=company, customer_id=form.cleaned_data["customer"].pk,
                                           amount=form.cleaned_data["amount"], as_of=clock.today(company),
                                           actor=request.user)
        except DomainError as exc:
            _error_into(form, exc)
            status = 422
    elif request.GET:
        status = 422
    return render(request, "credit/check.html", {"nav": "credit", "form": form, "result": result}, status=status)


# ---------------------------------------------------------------- orders and the hold queue


class OrderForm(forms.Form):
    customer = CustomerPickerField(label=gettext_lazy("Customer"))
    reference = forms.CharField(label=gettext_lazy("Order reference"), max_length=60)
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=30)  # "80,000.00" too; the service parses it


def _order_columns():
    return [(_("Reference"), "text"), (_("Customer"), "text"), (_("Amount"), "money"), (pgettext("amount requested", "Requested"), "money"),
            (_("Status"), "text"), (_("Credit check"), "text"), (_("Reasons"), "text"), (_("Requested by"), "text"),
            (_("Created"), "date"), (_("Decision"), "text"), (_("Decided by"), "text")]


def _order_rows(qs):
    for o in qs.iterator(chunk_size=2000):
        yield _order_row(o)


def _order_row(o):
    return [o.reference, f"{o.customer.code} {o.customer.name}", o.amount, o.requested_amount, o.get_status_display(),
            o.check_outcome_label(), "; ".join(str(r["message"]) for r in o.reasons()), str(o.requested_by or ""),
            o.created_at, o.decision_note, str(o.decided_by or "")]


ORDER_SORTS = Sorting({
    "reference": "reference", "customer": "customer__code", "amount": "amount", "requested": "requested_amount",
    "status": "status", "requested_by": "requested_by__username", "created": "created_at",
}, default="-created")


def _orders(request):
    """Orders as filtered (status, customer, created between ``date_from`` and ``date_to``) and sorted on the page."""
    qs = selectors.order_list(user=request.user, company=company_of(request), status=request.GET.get("status", ""),
                              customer_id=parse_int(request.GET.get("customer")))
    return ORDER_SORTS.apply(date_range(qs, "created_at__date", request.GET), request.GET)


@login_required
def order_list(request):
    company = company_of(request)
    status = request.GET.get("status", "")
    qs = _orders(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "credit/orders.html", {
        "nav": "credit", "page": page, "status": status, "statuses": OrderStatus.choices,
        "can_order": request.user.can("credit.order"), "params": _params(request), **ORDER_SORTS.context(request.GET),
        "notifications": selectors.notifications_for(user=request.user, company=company, limit=10)})


@login_required
def order_export(request):
    qs = _orders(request)
    return xlsx_response(filename="orders.xlsx", sheet_title=_("Orders"), columns=_order_columns(), rows=_order_rows(qs))


@login_required
def order_new(request):
    _need(request, "credit.order")
    company = company_of(request)
    form = OrderForm(request.POST or None, initial={"customer": parse_int(request.GET.get("customer"))})
    _pick_in_scope(request, form)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = services.submit_order(company=company, customer_id=d["customer"].pk, reference=d["reference"],
                                               amount=d["amount"], as_of=clock.today(company), actor=request.user)
            except DomainError as exc:
                _error_into(form, exc)
            else:
                if result.order.status == OrderStatus.HELD:
                    messages.warning(request, _("Order %(ref)s is on credit hold and waits for the credit manager.")
                                     % {"ref": result.order.reference})
                else:
                    messages.success(request, _("Order %(ref)s approved.") % {"ref": result.order.reference})
                return redirect("credit:order", pk=result.order.pk)
        status = 422
    return render(request, "credit/order_form.html", {"nav": "credit", "form": form}, status=status)


def _order(request, pk):
    return get_object_or_404(selectors.orders_in_scope(user=request.user, company=company_of(request))
                             .select_related("customer", "requested_by", "decided_by"), pk=pk)


class DecisionForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Decision"), choices=[
        ("release", gettext_lazy("Release")), ("partial", gettext_lazy("Release part")),
        ("prepayment", gettext_lazy("Request prepayment")), ("reject", gettext_lazy("Reject"))])
    amount = forms.CharField(label=gettext_lazy("Amount to release"), max_length=30, required=False)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def _order_page(request, order, *, decision_form=None, status=200):
    company = company_of(request)
    notes = order.notifications.filter(user=request.user) if order.requested_by_id == request.user.pk else None
    return render(request, "credit/order.html", {
        "nav": "credit", "order": order, "decision_form": decision_form or DecisionForm(), "notifications": notes,
        "remainders": order.remainders.all(),
        "can_decide": request.user.can("credit.hold") and order.status == OrderStatus.HELD,
        "can_close": request.user.can("credit.order") and order.status in (OrderStatus.OPEN, OrderStatus.HELD),
        "check": services.evaluate(company=company, customer=order.customer, amount=order.amount,
                                   as_of=clock.today(company), exclude_order_id=order.pk)
        if order.status == OrderStatus.HELD else None}, status=status)


@login_required
def order_detail(request, pk: int):
    return _order_page(request, _order(request, pk))


@post_only("credit.hold")
def order_decide(request, pk: int):
    _need(request, "credit.hold")
    order = _order(request, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.decide_held_order(company=company_of(request), order_id=order.pk, action=d["action"],
                                       reason=d["reason"], amount=d["amount"], actor=request.user)
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("Decision recorded for %(ref)s.") % {"ref": order.reference})
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
                target = reverse("credit:queue")
            return redirect(target)
    # refused: the order page with the decision, amount and reason as they were typed (a refused
    # partial release must not come back as the form's first choice, a full release)
    return _order_page(request, _order(request, pk), decision_form=form, status=422)


@post_only("credit.order")
def order_status(request, pk: int):
    _need(request, "credit.order")
    order = _order(request, pk)
    try:
        services.set_order_status(company=company_of(request), order_id=order.pk, status=request.POST.get("status", ""),
                                  actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Status updated."))
    return redirect("credit:order", pk=order.pk)


QUEUE_SORTS = Sorting({
    "reference": "reference", "customer": "customer__code", "amount": "amount", "overdue": "q_overdue",
    "grade": ("q_grade", "q_score"), "requested_by": "requested_by__username", "waiting": "created_at",
}, default="waiting")
REQUEST_SORTS = Sorting({
    "requested": "requested_at", "customer": "customer__code", "kind": "kind", "reason": "reason", "status": "status",
    "requested_by": "requested_by__username",
}, default="-requested")
REPORT_SORTS = Sorting({
    "date": "report_date", "customer": "customer__code", "provider": "provider", "score": "score", "rating": "rating",
    "source": "source", "by": "created_by__username",
}, default="-date")


def _queue(request, company):
    """Held orders as filtered (waiting since ``date_from``–``date_to``) and sorted on the page."""
    qs = selectors.hold_queue(user=request.user, company=company, as_of=clock.today(company))
    return QUEUE_SORTS.apply(date_range(qs, "created_at__date", request.GET), request.GET)


@login_required
def queue(request):
    company = company_of(request)
    qs = _queue(request, company)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for order in page:  # limit use: the customer's open receivables against the limit
        order.q_use = (order.customer.open_amount * 100 / order.q_limit) if order.q_limit else None
    return render(request, "credit/queue.html", {"nav": "credit", "page": page, "decision_form": DecisionForm(),
                                                 **QUEUE_SORTS.context(request.GET),
                                                 "can_decide": request.user.can("credit.hold")})


@login_required
def queue_export(request):
    company = company_of(request)
    qs = _queue(request, company)
    columns = [*_order_columns(), (_("Overdue"), "money"), (_("Grade"), "text"), (_("Score"), "int"),
               (_("Credit limit"), "money"), (_("Open receivables"), "money")]
    rows = ([*_order_row(o), o.q_overdue, o.q_grade or "", o.q_score, o.q_limit, o.customer.open_amount]
            for o in qs.iterator(chunk_size=2000))
    return xlsx_response(filename="credit-hold-queue.xlsx", sheet_title=_("Credit hold queue"), columns=columns,
                         rows=rows)


# ---------------------------------------------------------------- approvals


def _requests(request, status: str):
    qs = selectors.request_list(user=request.user, company=company_of(request), status=status)
    return REQUEST_SORTS.apply(date_range(qs, "requested_at__date", request.GET), request.GET)


@login_required
def request_list(request):
    status = request.GET.get("status", "open")
    qs = _requests(request, status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "credit/requests.html", {"nav": "credit", "page": page, "status": status,
                                                    **REQUEST_SORTS.context(request.GET),
                                                    "statuses": RequestStatus.choices,
                                                    "can_approve": request.user.can("credit.approve")})


@login_required
def request_export(request):
    qs = _requests(request, request.GET.get("status", ""))
    columns = [(_("Requested"), "date"), (_("Customer"), "text"), (_("Request"), "text"), (_("New limit"), "money"),
               (_("New terms (days)"), "int"), (_("New grade"), "text"), (_("Exception"), "text"), (_("Reason"), "text"),
               (_("Status"), "text"), (_("Requested by"), "text"), (_("First approver"), "text"),
               (_("Decided by"), "text"), (_("Decision note"), "text")]
    rows = ([r.requested_at, f"{r.customer.code} {r.customer.name}", r.get_kind_display(), r.limit_amount, r.terms_days,
             r.grade, _("Yes") if r.exception else "", r.reason, r.get_status_display(), str(r.requested_by),
             str(r.first_approver or ""), str(r.decided_by or ""), r.decision_note] for r in qs.iterator(chunk_size=2000))
    return xlsx_response(filename="credit-requests.xlsx", sheet_title=_("Credit requests"), columns=columns, rows=rows)


@post_only("credit.approve")
def request_decide(request, pk: int):
    _need(request, "credit.approve")
    company = company_of(request)
    req = get_object_or_404(selectors.requests_in_scope(user=request.user, company=company), pk=pk)
    try:
        services.decide_request(company=company, request_id=req.pk, approve=request.POST.get("decision") == "approve",
                                actor=request.user, note=request.POST.get("note", "")[:300], as_of=clock.today(company))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("credit:requests")


# ---------------------------------------------------------------- third-party reports


class ReportForm(forms.Form):
    customer = CustomerPickerField(label=gettext_lazy("Customer"))
    provider = forms.CharField(label=gettext_lazy("Provider"), max_length=100)
    report_date = forms.DateField(label=gettext_lazy("Report date"))
    score = forms.IntegerField(label=gettext_lazy("Score (0–100)"), min_value=0, max_value=100, required=False)
    rating = forms.CharField(label=gettext_lazy("Rating"), max_length=20, required=False)
    file = forms.FileField(label=gettext_lazy("File"), required=False)


class ReportImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file (customer, provider, date, score, rating)"))


def _reports(request):
    qs = selectors.reports_in_scope(user=request.user, company=company_of(request))
    return REPORT_SORTS.apply(date_range(qs, "report_date", request.GET), request.GET)


def _report_page(request, form=None, import_form=None, status=200):
    qs = _reports(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    if form is None:
        form = ReportForm(initial={"customer": parse_int(request.GET.get("customer"))})
    _pick_in_scope(request, form)
    return render(request, "credit/reports.html", {"nav": "credit", "page": page, "form": form,
                                                   "import_form": import_form or ReportImportForm(),
                                                   **REPORT_SORTS.context(request.GET),
                                                   "can_add": request.user.can("credit.report")}, status=status)


@login_required
def report_list(request):
    return _report_page(request)


@login_required
def report_export(request):
    qs = _reports(request)
    columns = [(_("Report date"), "date"), (_("Customer"), "text"), (_("Provider"), "text"), (_("Score"), "int"),
               (_("Rating"), "text"), (_("Source"), "text"), (_("By"), "text")]
    rows = ([r.report_date, f"{r.customer.code} {r.customer.name}", r.provider, r.score, r.rating,
             r.get_source_display(), str(r.created_by or "")] for r in qs.iterator(chunk_size=2000))
    return xlsx_response(filename="credit-reports.xlsx", sheet_title=_("Third-party reports"), columns=columns, rows=rows)


@post_only("credit.report")
def report_new(request):
    _need(request, "credit.report")
    company = company_of(request)
    form = ReportForm(request.POST, request.FILES)
    _pick_in_scope(request, form)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.add_report(company=company, actor=request.user, provider=d["provider"], report_date=d["report_date"],
                                score=d["score"], rating=d["rating"], file=d["file"], customer_id=d["customer"].pk)
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("Report recorded."))
            return redirect("credit:reports")
    return _report_page(request, form=form, status=422)


CSV_HEADERS = {
    "customer": ("customer", "customer code", "客户编码", "客户"),
    "provider": ("provider", "机构", "提供方"),
    "date": ("date", "report date", "报告日期", "日期"),
    "score": ("score", "评分", "分数"),
    "rating": ("rating", "评级"),
}


def _csv_date(text: str):
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日 or 20260301; anything else is None (an error row)."""
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text.strip()) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text.strip())
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_report_csv(data: bytes) -> list[dict]:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CreditError(_("The file is neither UTF-8 nor GBK text."), field="file")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    index = {}
    for key, names in CSV_HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                index[key] = i
    missing = [k for k in ("customer", "provider", "date") if k not in index]
    if missing:
        raise CreditError(_("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)}, field="file")
    rows = []
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        got = {k: (cells[i].strip() if i < len(cells) else "") for k, i in index.items()}
        rows.append({"line": n, "customer": got.get("customer", ""), "provider": got.get("provider", ""),
                     "date": _csv_date(got.get("date", "")), "score": got.get("score", ""),
                     "rating": got.get("rating", "")})
    return rows


@post_only("credit.report")
def report_import(request):
    _need(request, "credit.report")
    form = ReportImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = form.cleaned_data["file"]
            if upload.size > 5 * 1024 * 1024:
                raise CreditError(_("The file is too large."), field="file")
            n = services.import_reports(company=company_of(request), actor=request.user,
                                        rows=_parse_report_csv(upload.read()))
        except DomainError as exc:
            _error_into(form, exc)
        else:
            messages.success(request, _("%(n)s reports imported.") % {"n": n})
            return redirect("credit:reports")
    return _report_page(request, import_form=form, status=422)


@login_required
def report_file(request, pk: int):
    report = get_object_or_404(selectors.reports_in_scope(user=request.user, company=company_of(request)), pk=pk)
    if not report.file:
        raise Http404
    response = FileResponse(report.file.open("rb"), as_attachment=True, filename=report.file.name.rsplit("/", 1)[-1])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response

