"""Early-warning screens: the warnings list (filters, sort, XLSX), acknowledge / resolve, the rules settings,
the customer 360 panel and the dashboard's "warnings of the day". Scoped: a salesperson sees their customers'
warnings only; anything out of scope is 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting
from huikuan.common.paging import capped_page
from huikuan.customers.selectors import scoped_customers

from . import early_warnings as ew
from .models import Severity, WarningKind, WarningStatus

STATUSES = ("active", "open", "acknowledged", "resolved", "all")
# the shared list sorting (issue 13): headers and the select of the filter form use the same keys
WARNING_SORTS = Sorting({
    "raised_on": ("raised_on", "sev"), "severity": ("sev", "raised_on"), "kind": ("kind", "-raised_on"),
    "customer": ("customer__code", "-raised_on"), "amount": "amount", "owner": ("owner__username", "-raised_on"),
    "status": ("status", "-raised_on"),
}, default="-raised_on")
PER_PAGE = 50


def _filtered(request, company):
    g = request.GET
    qs = ew.warnings_in_scope(user=request.user, company=company)
    status = g.get("status") if g.get("status") in STATUSES else "active"
    if status == "active":
        qs = ew.active(qs)
    elif status != "all":
        qs = qs.filter(status=status)
    kind = g.get("kind") if g.get("kind") in WarningKind.values else ""
    if kind:
        qs = qs.filter(kind=kind)
    severity = g.get("severity") if g.get("severity") in Severity.values else ""
    if severity:
        qs = qs.filter(severity=severity)
    customer = parse_int(g.get("customer"))
    if customer is not None:
        qs = qs.filter(customer_id=customer)
    owner = parse_int(g.get("owner"))
    if owner is not None:
        qs = qs.filter(Q(owner_id=owner) | Q(manager_id=owner))
    q = (g.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(customer__code__icontains=q) | Q(customer__name__icontains=q))
    since, until = parse_date(g.get("from")), parse_date(g.get("to"))
    if since:
        qs = qs.filter(raised_on__gte=since)
    if until:
        qs = qs.filter(raised_on__lte=until)
    sort = WARNING_SORTS.state(g).value
    qs = qs.annotate(sev=ew.severity_order()).select_related("customer", "owner", "manager", "acted_by")
    form = {"status": status, "kind": kind, "severity": severity, "customer": customer or "", "owner": owner or "",
            "q": q, "from": since.isoformat() if since else "", "to": until.isoformat() if until else "", "sort": sort}
    return WARNING_SORTS.apply(qs, g), form


def _who(user) -> str:
    if user is None:
        return ""
    return user.display_name or user.get_full_name() or user.username


@login_required
def warning_list(request):
    company = company_of(request)
    qs, form = _filtered(request, company)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"warnings-{clock.today(company)}.xlsx", sheet_title=_("Warnings"),
            columns=[(_("Raised on"), "date"), (_("Severity"), "text"), (_("Rule"), "text"), (_("Customer"), "text"),
                     (_("Warning"), "text"), (_("Amount"), "money"), (_("Owner"), "text"), (_("Manager"), "text"),
                     (_("Status"), "text"), (_("Note"), "text"), (_("By"), "text")],
            rows=([w.raised_on, w.get_severity_display(), w.get_kind_display(),
                   f"{w.customer.code} {w.customer.name}" if w.customer_id else "", ew.describe(w), w.amount,
                   _who(w.owner), _who(w.manager), w.get_status_display(), w.note, _who(w.acted_by)]
                  for w in qs[:100_000].iterator(chunk_size=2000)),
        )
    page = capped_page(qs, PER_PAGE, request.GET.get("page"))
    rows = [{"w": w, "text": ew.describe(w)} for w in page.object_list]
    params = request.GET.copy()
    for k in ("page", "format"):
        params.pop(k, None)
    return render(request, "insight/warnings.html", {
        "nav": "warnings", "page": page, "rows": rows, "form": form, "qs": params.urlencode(),
        "kinds": WarningKind.choices, "severities": Severity.choices,
        "statuses": [("active", _("Open or acknowledged")), ("open", WarningStatus.OPEN.label),
                     ("acknowledged", WarningStatus.ACKNOWLEDGED.label), ("resolved", WarningStatus.RESOLVED.label),
                     ("all", _("All"))],
        # every order the headers offer, also as a select (on a phone the list is cards without headers)
        "sorts": [("-raised_on", _("Newest first")), ("raised_on", _("Oldest first")),
                  ("-severity", _("Most severe first")), ("severity", _("Least severe first")),
                  ("-amount", _("Largest amount first")), ("amount", _("Smallest amount first")),
                  *((f"{d}{key}", f"{label} {'▼' if d else '▲'}") for key, label in (
                      ("customer", _("Customer")), ("kind", _("Rule")), ("owner", _("Owner")), ("status", _("Status")))
                    for d in ("", "-"))],
        "can_act": request.user.can("warnings.act"), "can_rules": request.user.can("warnings.rules"),
        **WARNING_SORTS.context(request.GET),
    })


@login_required
def warning_act(request, pk):
    company = company_of(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    w = get_object_or_404(ew.warnings_in_scope(user=request.user, company=company), pk=pk)
    if not request.user.can("warnings.act"):
        raise PermissionDenied
    try:
        ew.act(company=company, warning_id=w.pk, action=request.POST.get("action", ""),
               note=request.POST.get("note", ""), actor=request.user)
        messages.success(request, _("Warning resolved.") if request.POST.get("action") == "resolve"
                         else _("Warning acknowledged."))
    except DomainError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("insight:warnings")
    return redirect(back or reverse("insight:warnings"))


@login_required
def warning_rules(request):
    company = company_of(request)
    if not request.user.can("warnings.rules"):
        raise PermissionDenied
    errors: dict[str, str] = {}
    error = None
    rules = ew.rules_of(company)
    form = {r.kind: {"enabled": r.enabled, "threshold": "" if r.threshold is None else f"{r.threshold.normalize():f}",
                     "severity": r.severity} for r in rules}
    if request.method == "POST":
        inputs = []
        for kind in ew.KINDS:
            raw = request.POST.get(f"{kind}-threshold", "")
            form[kind] = {"enabled": request.POST.get(f"{kind}-enabled") == "on", "threshold": raw.strip(),
                          "severity": request.POST.get(f"{kind}-severity", "")}
            try:
                threshold = ew.parse_threshold(raw) if ew.SPECS[kind].unit else None
            except ew.WarningRuleError as exc:
                errors[kind] = exc.message
                continue
            inputs.append(ew.RuleInput(kind=kind, enabled=form[kind]["enabled"], threshold=threshold,
                                       severity=form[kind]["severity"]))
        if errors:
            error = _("Some rules are not valid; nothing was saved.")
        else:
            try:
                ew.save_rules(company=company, rows=inputs, actor=request.user)
                messages.success(request, _("Warning rules saved."))
                return redirect("insight:warning-rules")
            except ew.WarningRuleError as exc:
                error, errors = exc.message, exc.errors
    units = {"amount": _("CNY"), "percent": "%", "days": _("days"), "points": _("points"), "": ""}
    rows = [{"kind": k, "label": WarningKind(k).label, "spec": ew.SPECS[k], "unit": units[ew.SPECS[k].unit],
             "f": form[k], "error": errors.get(k)} for k in ew.KINDS]
    return render(request, "insight/warning_rules.html", {"nav": "warnings", "rows": rows, "error": error,
                                                          "severities": Severity.choices},
                  status=422 if error else 200)


@login_required
def customer_warnings(request, pk):
    """The customer 360's warnings section (htmx): open and acknowledged warnings, newest first."""
    company = company_of(request)
    customer = get_object_or_404(scoped_customers(user=request.user, company=company), pk=pk)
    qs = ew.active(ew.warnings_in_scope(user=request.user, company=company).filter(customer=customer))
    rows = [{"w": w, "text": ew.describe(w)} for w in qs.select_related("owner").order_by("-raised_on", "-id")[:20]]
    return render(request, "insight/_customer_warnings.html", {"customer": customer, "rows": rows,
                                                               "can_act": request.user.can("warnings.act")})


@login_required
def dashboard_warnings(request):
    company = company_of(request)
    data = ew.day_summary(user=request.user, company=company, today=clock.today(company))
    for r in data["rows"]:
        r.text = ew.describe(r)
    return render(request, "insight/_dashboard_warnings.html", {"d": data})
