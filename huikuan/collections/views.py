"""Collections screens: the worklist with its quick actions, the customer's collections page and panel,
promises, disputes, payment plans, escalation cases with the evidence pack, interest rules, playbooks.

Views parse the request, load objects through scoped selectors (404 out of scope), call one service
and map ``DomainError`` to a message (or a 422 form). Each list exports XLSX with ``?export=xlsx``.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from huikuan.accounts.models import Company, Role, User
from huikuan.accounts.scoping import owner_q
from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import to_decimal
from huikuan.customers import services as cust_services
from huikuan.customers.models import Customer
from huikuan.customers.selectors import main_contacts
from huikuan.ledger.selectors import get_customer
from huikuan.statements import services as st_services

from . import limitation, services, worklist
from . import selectors as sel
from .evidence import evidence_pdf, evidence_zip
from .models import (
    ActivityKind,
    CapKind,
    Case,
    CaseKind,
    CaseStatus,
    ClaimStatus,
    DemandChannel,
    Dispute,
    DisputeReason,
    DisputeStatus,
    InterestBasis,
    InterestRule,
    Outcome,
    PaymentPlan,
    PlanStatus,
    PlaybookRun,
    Promise,
    PromiseStatus,
    Resolution,
    Task,
    WrittenDemand,
)
from .playbooks import PLAYBOOKS, run_playbook, step_label

PAGE = 50


def _need(request, perm: str) -> None:
    if not request.user.can(perm):
        raise PermissionDenied


def _back(request, default: str):
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect(default)


def _ids(values) -> list[int]:
    return [i for i in (parse_int(v) for v in values) if i is not None]


def dunning_send_now_url(customer_id: int, user) -> str | None:
    """The dunning app's "send reminder now" (dunning sits above us and may not be installed yet), for users
    allowed to send reminders."""
    if not user.can("dunning.send"):
        return None
    try:
        return reverse("dunning:send-now", args=[customer_id])
    except NoReverseMatch:
        return None


# ---------------------------------------------------------------- worklist


@login_required
def index(request):
    """Today's queue, ranked (see worklist.py for the formula, shown on the page)."""
    company = company_of(request)
    today = clock.today(company)
    g = request.GET
    collectors = _collectors(company)
    who, filters = _worklist_filters(g, user=request.user, collectors=collectors)
    if g.get("export") == "xlsx":
        return export_jobs.export_or_queue(
            request, kind=WORKLIST_EXPORT, params=g, title=_("Worklist"),
            rows=export_jobs.capped_count(_worklist_rows(user=request.user, company=company, today=today,
                                                         filters=filters)))
    # no COUNT(*) over the whole queue: a collector works from the top; "next" shows when more rows exist
    number = max(1, min(parse_int(g.get("page")) or 1, 100000))
    fetched = worklist.queue_page(user=request.user, company=company, today=today, filters=filters,
                                  offset=(number - 1) * PAGE, limit=PAGE + 1)
    page = {"number": number, "has_previous": number > 1, "has_next": len(fetched) > PAGE,
            "previous_page_number": number - 1, "next_page_number": number + 1}
    rows = worklist.in_scope(user=request.user, company=company, rows=fetched[:PAGE])
    last = sel.last_outcomes(e.customer_id for e in rows)
    contacts = main_contacts(customer_ids=[e.customer_id for e in rows])
    for i, e in enumerate(rows):
        e.rank = (number - 1) * PAGE + i + 1  # the position in today's queue, shown instead of the raw priority
        e.contact = contacts.get(e.customer_id)
        e.days = (today - e.oldest_due).days if e.oldest_due else 0
        e.last = last.get(e.customer_id)
        e.send_now = dunning_send_now_url(e.customer_id, request.user)
        e.wait = max((e.predicted_date - today).days, 0) if e.predicted_date else None
    can_assign = request.user.can("collections.assign")
    # the page's collectors by name from the list the filter needs anyway (no join; a deactivated one: one query)
    names = {u.pk: str(u) for u in collectors}
    missing = {e.customer.collector_id for e in rows} - set(names) - {None}
    if missing:
        names.update((u.pk, str(u)) for u in User.objects.filter(pk__in=missing))
    for e in rows:
        e.collector_name = names.get(e.customer.collector_id, "")
    return render(request, "collections/index.html", {
        "nav": "collections", "page": page, "rows": rows, "today": today, "filters": filters,
        "tasks": sel.my_tasks(user=request.user, company=company, today=today)[:20],
        "outcomes": [c for c in Outcome.choices if c[0]], "kinds": ActivityKind.choices,
        "can_work": request.user.can("collections.work"), "can_refresh": request.user.can("collections.queue.refresh"),
        "who": who, "collectors": collectors, "can_assign": can_assign,
        # the prediction column only once a model is live (its rows are then in the snapshot): no extra query
        "predicted": any(e.predicted_date for e in rows),
        "query": _worklist_query(filters, who),
        "tiers": [(0, _("Promises due or broken")), (1, _("Next action due")), (2, _("Overdue")), (3, _("Waiting (promised or put off)"))],
    })


def _collectors(company) -> list:
    """The company's collectors (for the filter and the names on the page) with whether each has customers: one
    query."""
    return list(cust_services.assignable_collectors(company=company).annotate(
        assigned=Exists(Customer.objects.filter(company=company, collector=OuterRef("pk")))))


def _worklist_filters(g, *, user, collectors) -> tuple[str, worklist.Filters]:
    """The collector asked for ("me", "none", an id or "") and the worklist's filters from the GET parameters
    ``g`` (the page's, or an export job's copy) as ``user`` asks them."""
    who = _collector_param(g, user, collectors)
    return who, worklist.Filters(q=(g.get("q") or "").strip()[:60], owner_id=parse_int(g.get("owner")),
                                 tier=parse_int(g.get("tier")) if g.get("tier") in ("0", "1", "2", "3") else None,
                                 collector_id=_collector_id(user, who))


WORKLIST_EXPORT = "collections.worklist"  # the queue's exporter (common.export_jobs), in CollectionsConfig.ready()


def _worklist_rows(*, user, company, today, filters):
    """The queue in rank order as value rows, scope checked in SQL."""
    return (worklist.queue(user=user, company=company, today=today, filters=filters)
            .filter(owner_q(user, "customer__owner")).prefetch_related(None)
            .values_list("customer__code", "customer__name", "customer__owner_id", "customer__collector_id",
                         "overdue_amount", "disputed_amount", "oldest_due", "risk", "priority", "next_action_date",
                         "promise_date", "limitation_date", "predicted_date", "p_late_90"))


def worklist_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The whole queue in rank order as XLSX (up to 200,000 customers) as ``user`` sees it: one streaming query
    of value rows (no model per row — at 100,000 rows the instances cost more than writing the file), scope
    checked in SQL, people by name from one query of the company's users. Today is the company's today when the
    file is written."""
    company = Company.objects.get(pk=company_id)
    today = clock.today(company)
    _who, filters = _worklist_filters(params, user=user, collectors=_collectors(company))
    qs = _worklist_rows(user=user, company=company, today=today, filters=filters)
    names = {u.pk: str(u) for u in User.objects.filter(companies=company)}

    def name(pk):
        if pk is None:
            return ""
        if pk not in names:  # someone no longer a member of the company
            names[pk] = str(User.objects.filter(pk=pk).first() or "")
        return names[pk]

    rows = ((code, cname, name(owner), name(collector), overdue, disputed, oldest, str(risk), *rest,
             None if p90 is None else p90 * 100)
            for code, cname, owner, collector, overdue, disputed, oldest, risk, *rest, p90
            in qs[:200000].iterator(chunk_size=5000))
    return export_jobs.Export(
        filename=f"worklist-{today}", sheet_title=_("Worklist"),
        columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Owner"), "text"), (_("Collector"), "text"),
                 (_("Overdue"), "money"), (_("Disputed"), "money"), (_("Oldest due"), "date"), (_("Risk factor"), "text"),
                 (_("Priority"), "int"), (_("Next action"), "date"), (_("Promise due"), "date"),
                 (_("Limitation date (诉讼时效)"), "date"), (_("Predicted payment date"), "date"),
                 (_("Probability 90+ days late"), "percent")],
        rows=rows, count=lambda: min(qs.count(), 200000))


def _collector_param(g, user, collectors) -> str:
    """"me", "none" (no collector yet), a user id, or "" (everyone). A collector with customers assigned
    opens on their own queue; where the company assigns nobody, collectors keep working the whole list."""
    raw = g.get("collector")
    if raw is None:
        mine = user.role == Role.COLLECTOR and any(u.pk == user.pk and u.assigned for u in collectors)
        return "me" if mine else ""
    return raw if raw in ("me", "none") or parse_int(raw) else ""


def _collector_id(user, who: str) -> int | None:
    if who == "me":
        return user.pk
    if who == "none":
        return worklist.UNASSIGNED
    return parse_int(who) if who else None


def _worklist_query(filters, who: str) -> str:
    """The filters as a query string for the pager and the export (the page number added by them)."""
    qd = QueryDict(mutable=True)
    for key, value in (("q", filters.q), ("tier", "" if filters.tier is None else str(filters.tier)),
                       ("owner", str(filters.owner_id or "")), ("collector", who)):
        if value:
            qd[key] = value
    if not who:
        qd["collector"] = ""  # "everyone" chosen on purpose: a collector's default is their own queue
    return qd.urlencode()


@login_required
@require_POST
def assign_collector(request):
    """Managers: make one collector (or nobody) the collector of the customers ticked on the worklist."""
    _need(request, "collections.assign")
    company = company_of(request)
    back = reverse("collections:index")
    query = request.POST.get("back", "")[:1000]
    if query:
        back += "?" + query
    ids = [i for i in (parse_int(v) for v in request.POST.getlist("customer")) if i]
    if request.POST.get("next") == "customer" and len(ids) == 1:
        back = reverse("collections:customer", args=[ids[0]])  # assigned from the customer's own page
    raw = request.POST.get("collector", "")
    collector = None
    if raw != "none":
        collector = cust_services.assignable_collectors(company=company).filter(pk=parse_int(raw) or 0).first()
        if collector is None:
            messages.error(request, _("Choose a collector, or “nobody” to remove the assignment."))
            return redirect(back)
    try:
        n = cust_services.assign_collector(company=company, customer_ids=ids, collector=collector, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if collector is None:
        messages.success(request, _("Collector removed from %(n)s customers.") % {"n": n})
    else:
        messages.success(request, _("%(n)s customers assigned to %(who)s.") % {"n": n, "who": collector})
    return redirect(back)


@login_required
@require_POST
def queue_refresh(request):
    _need(request, "collections.queue.refresh")
    company = company_of(request)
    n = worklist.refresh_queue(company=company, as_of=clock.today(company))
    messages.success(request, _("Worklist recomputed: %(n)s customers with overdue items.") % {"n": n})
    return redirect("collections:index")


def _refresh_one(company, customer_id):
    worklist.refresh_queue(company=company, as_of=clock.today(company), customer_ids=[customer_id])


def _check_log(p, *, today: dt.date) -> dict[str, str]:
    """Every problem of a typed call log at once, by field (the service checks the same again under its lock).

    A refused log must not cost the user what they typed: the view answers with the form as it was
    sent, each field at fault marked, instead of one message per submit."""
    errors: dict[str, str] = {}
    kind = p.get("kind") or ActivityKind.CALL
    outcome = p.get("outcome") or ""
    if kind not in ActivityKind.values:
        errors["kind"] = _("Unknown activity kind.")
    if outcome not in Outcome.values:
        errors["outcome"] = _("Unknown outcome.")
    for field, past in (("next_action_date", _("The next action date cannot be in the past.")),
                        ("promise_date", _("The promised date cannot be in the past."))):
        raw = (p.get(field) or "").strip()
        day = parse_date(raw)
        if raw and day is None:
            errors[field] = _("Enter a valid date.")
        elif day is not None and day < today:
            errors[field] = past
    amount_raw = (p.get("promise_amount") or "").strip()
    if amount_raw:
        try:
            amount = to_decimal(amount_raw)
        except (ValueError, TypeError, ArithmeticError):
            errors["promise_amount"] = _("Enter a valid amount.")
        else:
            if not amount.is_finite() or amount <= 0:
                errors["promise_amount"] = _("The amount must be greater than zero.")
        if not (p.get("promise_date") or "").strip():
            errors.setdefault("promise_date", _("Enter the promised date."))
        if outcome and outcome != Outcome.PROMISED:
            errors.setdefault("outcome", _('A promise goes with the outcome "Promised to pay".'))
    elif outcome == Outcome.PROMISED:
        errors["promise_amount"] = _('"Promised to pay" needs the promise: enter the amount and the date promised.')
    if kind == ActivityKind.NOTE and not (p.get("note") or "").strip():
        errors["note"] = _("Write the note.")
    if kind == ActivityKind.NOTE and outcome:
        errors.setdefault("outcome", _("A note has no outcome: log the call, visit or e-mail that had one."))
    return errors


def _log_form_response(request, customer, *, errors: dict[str, str], today: dt.date):
    """The call log as it was sent, with its problems (422): the form alone for htmx, else a page around it."""
    p = request.POST
    ctx = {
        "customer": customer, "v": p, "errors": errors, "today": today, "quick": p.get("form_style") == "quick",
        "chosen": set(p.getlist("instalments")), "next_url": p.get("next", ""),
        "outcomes": [c for c in Outcome.choices if c[0]], "kinds": ActivityKind.choices,
        "items": sel.open_items(customer=customer), "nav": "collections",
    }
    template = "collections/_log_form.html" if request.headers.get("HX-Request") else "collections/log_activity.html"
    return render(request, template, ctx, status=422)


@login_required
@require_POST
def log_activity(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    p = request.POST
    today = clock.today(company)
    errors = _check_log(p, today=today)
    if not errors:
        try:
            services.log_activity(
                company=company, customer_id=customer.pk, kind=p.get("kind") or ActivityKind.CALL,
                outcome=p.get("outcome") or "", note=(p.get("note") or "").strip(),
                contact_name=(p.get("contact_name") or "").strip(), actor=request.user,
                next_action_date=parse_date(p.get("next_action_date")), today=today,
                promise_amount=(p.get("promise_amount") or "").strip() or None,
                promise_date=parse_date(p.get("promise_date")), promise_instalment_ids=_ids(p.getlist("instalments")),
                pause_dunning=p.get("pause") == "1", attachment=request.FILES.get("photo"),
                attachment_title=_("Signed statement · %(kind)s %(date)s") % {
                    "kind": dict(ActivityKind.choices).get(p.get("kind") or ActivityKind.CALL, ""),
                    "date": today.isoformat()})
        except DomainError as exc:
            field = "photo" if exc.field == "file" else exc.field
            field = field if field in LOG_FIELDS else "__all__"
            errors[field] = str(exc)
    if errors and request.FILES.get("photo") and "photo" not in errors:
        # a browser never re-sends a chosen file: say so beside the field, so the photo is not lost unnoticed
        errors["photo"] = _("Nothing was saved, so the photo was not kept either: choose it again.")
    if errors:
        return _log_form_response(request, customer, errors=errors, today=today)
    _refresh_one(company, customer.pk)
    messages.success(request, _("Logged for %(name)s.") % {"name": customer.name})
    if request.headers.get("HX-Request"):
        nxt = p.get("next") or ""
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            nxt = reverse("collections:customer", args=[customer.pk])
        return HttpResponseClientRedirect(nxt)
    return _back(request, reverse("collections:customer", args=[customer.pk]))


LOG_FIELDS = {"kind", "outcome", "note", "contact_name", "next_action_date", "promise_amount", "promise_date",
              "instalments", "photo"}


@login_required
@require_POST
def next_action(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    try:
        services.set_next_action(company=company, customer_id=customer.pk, on=parse_date(request.POST.get("on")),
                                 actor=request.user, today=clock.today(company))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Next action date saved."))
    return _back(request, reverse("collections:index"))


@login_required
@require_POST
def promise_new(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    p = request.POST
    try:
        services.record_promise(company=company, customer_id=customer.pk, amount=p.get("amount"),
                                promised_date=parse_date(p.get("promised_date")), today=clock.today(company),
                                actor=request.user, instalment_ids=_ids(p.getlist("instalments")),
                                pause_dunning=p.get("pause") == "1", note=(p.get("note") or "").strip())
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Promise to pay recorded."))
    return _back(request, reverse("collections:customer", args=[customer.pk]))


@login_required
@require_POST
def promise_cancel(request, pk: int):
    company = company_of(request)
    promise = sel.get_scoped(Promise, user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    try:
        services.cancel_promise(company=company, promise_id=promise.pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("collections:customer", args=[promise.customer_id]))


PROMISE_SORTS = Sorting({"customer": "customer__name", "amount": "amount", "promised": "promised_date",
                         "made": "made_on", "status": "status"}, default="-promised")
DISPUTE_SORTS = Sorting({"opened": "opened_on", "customer": "customer__name", "document": "document__number",
                         "reason": "reason", "amount": "amount", "owner": "owner__username", "status": "status"},
                        default="-opened")
PLAN_SORTS = Sorting({"requested": "requested_at", "customer": "customer__name", "amount": "total_amount",
                      "status": "status", "requested_by": "requested_by__username", "decided_by": "decided_by__username"},
                     default="-requested")
CASE_SORTS = Sorting({"number": "number", "customer": "customer__name", "kind": "kind", "status": "status",
                      "firm": "firm", "claimed": "claim_amount", "recovered": "recovered_amount", "opened": "opened_on"},
                     default="-opened")


@login_required
def promise_list(request):
    company = company_of(request)
    today = clock.today(company)
    status = request.GET.get("status") if request.GET.get("status") in PromiseStatus.values else ""
    qs = PROMISE_SORTS.apply(date_range(sel.promises(user=request.user, company=company, status=status),
                                        "promised_date", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(filename="promises", sheet_title=_("Promises to pay"),
                             columns=[(_("Customer"), "text"), (_("Amount"), "money"), (_("Promised date"), "date"), (_("Made on"), "date"), (_("Status"), "text"), (_("Paid"), "money")],
                             rows=([p.customer.name, p.amount, p.promised_date, p.made_on, p.get_status_display(),
                                    p.paid_amount] for p in qs[:100000]))
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows = sel.promises_progress(list(page.object_list), as_of=today)
    return render(request, "collections/promises.html", {"nav": "collections", "page": page, "rows": rows,
                                                          "status": status, "statuses": PromiseStatus.choices,
                                                          **PROMISE_SORTS.context(request.GET)})


@login_required
@require_POST
def send_statement(request, pk: int):
    """Issue this year's statement to date and e-mail it to the customer's contact (statements services)."""
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    today = clock.today(company)
    try:
        st = st_services.issue_statement(user=request.user, customer=customer, period_from=dt.date(today.year, 1, 1),
                                         period_to=today, today=today)
    except DomainError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("collections:index"))
    try:
        to = st_services.email_statement(statement=st, user=request.user)
        messages.success(request, _("Statement %(n)s sent to %(to)s.") % {"n": st.number, "to": to})
    except DomainError as exc:
        messages.error(request, _("Statement %(n)s was issued but not sent: %(e)s") % {"n": st.number, "e": exc})
    return _back(request, reverse("collections:index"))


@login_required
@require_POST
def task_done(request, pk: int):
    company = company_of(request)
    task = sel.get_scoped(Task, user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    try:
        services.complete_task(company=company, task_id=task.pk, actor=request.user, cancel=request.POST.get("cancel") == "1")
    except DomainError as exc:
        messages.error(request, str(exc))
    return _back(request, reverse("collections:index"))


# ---------------------------------------------------------------- customer


@login_required
def customer_panel(request, pk: int):
    """The collections section of the customer 360 page, loaded by htmx (404 out of scope)."""
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    return render(request, "collections/_customer_panel.html", {
        "customer": customer, "p": sel.customer_panel(customer=customer, as_of=clock.today(company)),
        "today": clock.today(company)})


@login_required
def customer(request, pk: int):
    """The customer's collections page: contact log, promises, disputes, plans, case, interest, playbooks."""
    company = company_of(request)
    cust = get_customer(user=request.user, company=company, pk=pk)
    today = clock.today(company)
    u = request.user
    return render(request, "collections/customer.html", {
        "nav": "collections", "customer": cust, "p": sel.customer_panel(customer=cust, as_of=today), "today": today,
        "contacts": cust.contacts.filter(is_active=True).order_by("-is_primary", "pk")[:6],
        "items": sel.open_items(customer=cust), "limitation_items": limitation.customer_items(customer=cust, as_of=today),
        "window": limitation.WATCH_DAYS, "demand_channels": DemandChannel.choices,
        "demands": WrittenDemand.objects.filter(company=company, customer=cust).select_related("created_by")[:20], "outcomes": [c for c in Outcome.choices if c[0]],
        "kinds": ActivityKind.choices, "reasons": DisputeReason.choices, "case_kinds": CaseKind.choices,
        "playbooks": [(k, v[0], [s.label for s in v[1]]) for k, v in PLAYBOOKS.items()],
        "runs": PlaybookRun.objects.filter(customer=cust).prefetch_related("steps").select_related("started_by")[:5],
        "send_now": dunning_send_now_url(cust.pk, u), "step_label": step_label,
        "collector": cust.collector, "can_assign": u.can("collections.assign"),
        "collectors": list(cust_services.assignable_collectors(company=company)) if u.can("collections.assign") else [],
        "can_work": u.can("collections.work"), "can_dispute": u.can("collections.dispute"),
        "can_plan": u.can("collections.plan.request"), "can_case": u.can("collections.case"),
        "can_playbook": u.can("collections.playbook"), "can_post_interest": u.can("collections.interest.post"),
        "can_resolve": u.can("collections.dispute.resolve"), "can_approve": u.can("collections.plan.approve"),
    })


@login_required
@require_POST
def demand_new(request, pk: int):
    """Record a written demand by hand (date, channel, reference, proof of delivery): restarts the limitation
    period of the customer's items (collections.limitation)."""
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.work")
    p = request.POST
    try:
        services.record_written_demand(
            company=company, customer_id=customer.pk, date=parse_date(p.get("date")), reference=p.get("reference") or "",
            channel=p.get("channel") or "", proof=request.FILES.get("proof"), note=(p.get("note") or "").strip(),
            by_hand=True, today=clock.today(company), actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Written demand recorded: the limitation period of the items issued by then restarts."))
        _refresh_one(company, customer.pk)
    return _back(request, reverse("collections:customer", args=[customer.pk]))


@login_required
def demand_proof(request, pk: int):
    """The proof of delivery of a written demand, for whoever may see the customer (404 otherwise)."""
    company = company_of(request)
    demand = get_object_or_404(WrittenDemand, company=company, pk=pk)
    get_customer(user=request.user, company=company, pk=demand.customer_id)
    if not demand.proof:
        raise Http404
    response = FileResponse(demand.proof.open("rb"), as_attachment=True, filename=demand.proof.name.rsplit("/", 1)[-1])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


# the limitation date and the days left both follow the date the limitation period (re)started
LIMITATION_SORTS = Sorting({
    "customer": ("customer__name", "due_date"), "document": ("document__number", "seq"), "due": "due_date",
    "open": "open_amount", "restarted": "limitation_from", "limitation": ("limitation_from", "customer_id", "due_date"),
    "days": ("limitation_from", "customer_id", "due_date"), "case": "case_number",
}, default="limitation")


@login_required
def limitation_watch(request):
    """The legal queue of 诉讼时效: open items whose limitation date is within 180 days or has passed."""
    company = company_of(request)
    today = clock.today(company)
    q = (request.GET.get("q") or "").strip()[:60]
    qs = LIMITATION_SORTS.apply(limitation.watch_list(user=request.user, company=company, as_of=today, q=q),
                                request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename=f"limitation-{today}", sheet_title=_("Limitation watch"),
            columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Owner"), "text"), (_("Document"), "text"),
                     (_("Due date"), "date"), (_("Open"), "money"), (_("Restarted by"), "text"), (_("On"), "date"),
                     (_("Limitation date (诉讼时效)"), "date"), (_("Days left"), "int"), (_("Case"), "text")],
            rows=((r.instalment.customer.code, r.instalment.customer.name, str(r.instalment.customer.owner or ""),
                   f"{r.instalment.document.number}/{r.instalment.seq}",
                   r.instalment.due_date, r.instalment.open_amount, r.event, r.limitation_from, r.limitation_date, r.days_left,
                   r.instalment.case_number or "")
                  for r in (limitation.item_of(i, as_of=today) for i in qs[:100000].iterator(chunk_size=2000))))
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    rows = [limitation.item_of(i, as_of=today) for i in page]
    return render(request, "collections/limitation.html", {
        "nav": "collections", "page": page, "rows": rows, "q": q, "today": today, "window": limitation.WATCH_DAYS,
        **LIMITATION_SORTS.context(request.GET)})


@login_required
@require_POST
def interest_post(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.interest.post")
    try:
        ch = services.post_interest_charge(company=company, customer_id=customer.pk, as_of=clock.today(company),
                                           actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Penalty interest of %(amount)s posted as %(no)s.") % {"amount": ch.amount,
                                                                                           "no": ch.document.number})
    return redirect("collections:customer", pk=customer.pk)


@login_required
@require_POST
def playbook_run(request, pk: int, code: str):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.playbook")
    try:
        p = request.POST
        claim = {"accepted_on": parse_date(p.get("accepted_on")), "deadline": parse_date(p.get("deadline")),
                 "administrator": (p.get("administrator") or "").strip()}
        run = run_playbook(company=company, customer=customer, code=code, actor=request.user, today=clock.today(company),
                           note=(p.get("note") or "").strip(), claim=claim)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        failed = [s for s in run.steps.all() if s.status == "failed"]
        (messages.warning if failed else messages.success)(
            request, _("Playbook run: %(done)s steps done, %(failed)s failed.") % {
                "done": run.steps.count() - len(failed), "failed": len(failed)})
    return redirect("collections:customer", pk=customer.pk)


# ---------------------------------------------------------------- disputes


@login_required
@require_POST
def dispute_new(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.dispute")
    p = request.POST
    target = p.get("target") or ""  # "i<instalment id>" or "d<document id>" (the whole document)
    inst = parse_int(target[1:]) if target.startswith("i") else parse_int(p.get("instalment"))
    doc = parse_int(target[1:]) if target.startswith("d") else parse_int(p.get("document"))
    try:
        services.open_dispute(company=company, customer_id=customer.pk, reason=p.get("reason") or "", amount=p.get("amount"),
                              actor=request.user, today=clock.today(company), instalment_id=inst,
                              document_id=None if inst else doc, note=(p.get("note") or "").strip())
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        _refresh_one(company, customer.pk)
        messages.success(request, _("Dispute recorded; the disputed amount is excluded from reminders."))
    return redirect("collections:customer", pk=customer.pk)


@login_required
@require_POST
def dispute_resolve(request, pk: int):
    company = company_of(request)
    d = sel.get_scoped(Dispute, user=request.user, company=company, pk=pk)
    _need(request, "collections.dispute.resolve")
    p = request.POST
    try:
        services.resolve_dispute(company=company, dispute_id=d.pk, resolution=p.get("resolution") or "", actor=request.user,
                                 today=clock.today(company), note=(p.get("note") or "").strip(),
                                 credit_amount=p.get("credit_amount") or None)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        _refresh_one(company, d.customer_id)
        messages.success(request, _("Dispute resolved."))
    return _back(request, reverse("collections:customer", args=[d.customer_id]))


@login_required
def dispute_list(request):
    company = company_of(request)
    status = request.GET.get("status") if request.GET.get("status") in DisputeStatus.values else ""
    qs = DISPUTE_SORTS.apply(date_range(sel.disputes(user=request.user, company=company, status=status),
                                        "opened_on", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(filename="disputes", sheet_title=_("Disputes"),
                             columns=[(_("Customer"), "text"), (_("Document"), "text"), (_("Reason"), "text"), (_("Amount"), "money"), (_("Status"), "text"), (_("Resolution"), "text"),
                                      (_("Opened on"), "date"), (_("Resolved on"), "date")],
                             rows=([d.customer.name, d.document.number, d.get_reason_display(), d.amount, d.get_status_display(),
                                    d.get_resolution_display() if d.resolution else "", d.opened_on, d.resolved_on]
                                   for d in qs[:100000]))
    return render(request, "collections/disputes.html", {
        "nav": "collections", "page": Paginator(qs, PAGE).get_page(request.GET.get("page")), "status": status,
        "statuses": DisputeStatus.choices, "resolutions": [c for c in Resolution.choices if c[0]],
        **DISPUTE_SORTS.context(request.GET),
        "can_resolve": request.user.can("collections.dispute.resolve")})


# ---------------------------------------------------------------- payment plans


@login_required
def plan_new(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.plan.request")
    today = clock.today(company)
    status = 200
    if request.method == "POST":
        p = request.POST
        lines = [(d, a) for d, a in zip(p.getlist("line_date"), p.getlist("line_amount"), strict=False) if d or a]
        try:
            parsed = []
            for d, a in lines:
                day = parse_date(d)
                if day is None:
                    raise services.InvalidPlan(gettext_lazy("Enter valid dates."), field="lines")
                parsed.append((day, a))
            plan = services.request_plan(company=company, customer_id=customer.pk, instalment_ids=_ids(p.getlist("instalments")),
                                         lines=parsed, actor=request.user, today=today, note=(p.get("note") or "").strip())
        except DomainError as exc:
            messages.error(request, str(exc))
            status = 422
        else:
            messages.success(request, _("Payment plan proposed; another person must approve it."))
            return redirect("collections:plan", pk=plan.pk)
    return render(request, "collections/plan_new.html", {
        "nav": "collections", "customer": customer, "items": sel.open_items(customer=customer), "today": today,
        "post": request.POST if request.method == "POST" else None, "rows": range(6)}, status=status)


@login_required
def plan_detail(request, pk: int):
    company = company_of(request)
    plan = sel.get_scoped(PaymentPlan, user=request.user, company=company, pk=pk)
    from huikuan.ledger.models import Instalment

    return render(request, "collections/plan.html", {
        "nav": "collections", "plan": plan, "replaced": plan.instalments.select_related("document").order_by("due_date", "pk"),
        "new": Instalment.objects.filter(plan_id=plan.pk).select_related("document").order_by("due_date", "pk"),
        "can_decide": request.user.can("collections.plan.approve") and plan.requested_by_id != request.user.pk})


@login_required
@require_POST
def plan_decide(request, pk: int):
    company = company_of(request)
    plan = sel.get_scoped(PaymentPlan, user=request.user, company=company, pk=pk)
    _need(request, "collections.plan.approve")
    try:
        services.decide_plan(company=company, plan_id=plan.pk, approve=request.POST.get("approve") == "1", actor=request.user,
                             today=clock.today(company), note=(request.POST.get("note") or "").strip())
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        _refresh_one(company, plan.customer_id)
        messages.success(request, _("Decision recorded."))
    return redirect("collections:plan", pk=plan.pk)


@login_required
def plan_list(request):
    company = company_of(request)
    status = request.GET.get("status") if request.GET.get("status") in PlanStatus.values else ""
    qs = PLAN_SORTS.apply(date_range(sel.plans(user=request.user, company=company, status=status),
                                     "requested_at__date", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(filename="payment-plans", sheet_title=_("Payment plans"),
                             columns=[(_("Customer"), "text"), (_("Amount"), "money"), (_("Status"), "text"), (_("Requested by"), "text"), (_("Decided by"), "text"), (_("Effective"), "date")],
                             rows=([x.customer.name, x.total_amount, x.get_status_display(), str(x.requested_by),
                                    str(x.decided_by or ""), x.effective_on] for x in qs[:100000]))
    return render(request, "collections/plans.html", {"nav": "collections", "status": status, "statuses": PlanStatus.choices,
                                                       **PLAN_SORTS.context(request.GET),
                                                       "page": Paginator(qs, PAGE).get_page(request.GET.get("page"))})


# ---------------------------------------------------------------- cases


@login_required
@require_POST
def case_open(request, pk: int):
    company = company_of(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    _need(request, "collections.case")
    p = request.POST
    try:
        case = services.open_case(company=company, customer_id=customer.pk, instalment_ids=_ids(p.getlist("instalments")),
                                  kind=p.get("kind") or CaseKind.LEGAL, actor=request.user, note=(p.get("note") or "").strip(),
                                  today=clock.today(company), firm=(p.get("firm") or "").strip())
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("collections:customer", pk=customer.pk)
    return redirect("collections:case", pk=case.pk)


class CaseForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=CaseStatus.choices)
    firm = forms.CharField(label=gettext_lazy("Firm / agency"), required=False, max_length=200)
    fee_amount = forms.CharField(label=gettext_lazy("Fees"), required=False, max_length=20)
    commission_percent = forms.CharField(label=gettext_lazy("Commission (%)"), required=False, max_length=10)
    recovered_amount = forms.CharField(label=gettext_lazy("Recovered"), required=False, max_length=20)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


@login_required
@require_POST
def case_claim(request, pk: int):
    """Prepare or update the bankruptcy claim (债权申报) of a case: dates, administrator, filed / accepted."""
    company = company_of(request)
    case = sel.get_scoped(Case, user=request.user, company=company, pk=pk)
    _need(request, "collections.case")
    p = request.POST
    try:
        services.prepare_claim(company=company, customer_id=case.customer_id, actor=request.user,
                               today=clock.today(company), accepted_on=parse_date(p.get("court_accepted_on")),
                               deadline=parse_date(p.get("claim_deadline")),
                               administrator=(p.get("administrator") or "").strip(),
                               filed_on=parse_date(p.get("claim_filed_on")), status=p.get("claim_status") or None)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Claim updated."))
    return redirect("collections:case", pk=case.pk)


@login_required
def case_detail(request, pk: int):
    from huikuan.statements.selectors import limitation

    company = company_of(request)
    case = sel.get_scoped(Case, user=request.user, company=company, pk=pk)
    status = 200
    if request.method == "POST":
        _need(request, "collections.case")
        form = CaseForm(request.POST)
        if form.is_valid():
            try:
                services.update_case(company=company, case_id=case.pk, actor=request.user, today=clock.today(company),
                                     **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Case updated."))
                return redirect("collections:case", pk=case.pk)
        status = 422
    else:
        form = CaseForm(initial={"status": case.status, "firm": case.firm, "fee_amount": case.fee_amount,
                                 "commission_percent": case.commission_percent, "recovered_amount": case.recovered_amount,
                                 "note": case.note})
    return render(request, "collections/case.html", {
        "nav": "collections", "case": case, "form": form, "limitation": limitation(customer=case.customer, as_of=clock.today(company)),
        "claim_statuses": [c for c in ClaimStatus.choices if c[0]],
        "items": case.instalments.select_related("document").order_by("due_date", "pk"),
        "can_edit": request.user.can("collections.case") and case.status != CaseStatus.CLOSED}, status=status)


@login_required
def case_evidence(request, pk: int, fmt: str):
    company = company_of(request)
    case = sel.get_scoped(Case, user=request.user, company=company, pk=pk)
    today = clock.today(company)
    if fmt == "zip":
        resp = HttpResponse(evidence_zip(case=case, as_of=today, user=request.user), content_type="application/zip")
    else:
        resp = HttpResponse(evidence_pdf(case=case, as_of=today), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{case.number}-evidence.{fmt}"'
    return resp


@login_required
def case_list(request):
    company = company_of(request)
    status = request.GET.get("status", "open")
    status = status if status in CaseStatus.values or status in ("open", "") else "open"
    qs = CASE_SORTS.apply(date_range(sel.cases(user=request.user, company=company, status=status),
                                     "opened_on", request.GET), request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(filename="cases", sheet_title=_("Escalation cases"),
                             columns=[(_("Number"), "text"), (_("Customer"), "text"), (_("Kind"), "text"), (_("Status"), "text"), (_("Firm / agency"), "text"), (_("Amount claimed"), "money"),
                                      (_("Fees"), "money"), (_("Recovered"), "money"), (_("Opened on"), "date")],
                             rows=([c.number, c.customer.name, c.get_kind_display(), c.get_status_display(), c.firm,
                                    c.claim_amount, c.fee_amount, c.recovered_amount, c.opened_on] for c in qs[:100000]))
    return render(request, "collections/cases.html", {"nav": "collections", "status": status, "statuses": CaseStatus.choices,
                                                       **CASE_SORTS.context(request.GET),
                                                       "page": Paginator(qs, PAGE).get_page(request.GET.get("page"))})


# ---------------------------------------------------------------- interest rules


@login_required
def interest_rules(request):
    company = company_of(request)
    can = request.user.can("collections.interest.rules")
    status = 200
    if request.method == "POST":
        _need(request, "collections.interest.rules")
        p = request.POST
        cust = parse_int(p.get("customer"))
        if cust:
            get_customer(user=request.user, company=company, pk=cust)
        try:
            services.save_interest_rule(company=company, actor=request.user, basis=p.get("basis") or "", rate=p.get("rate"),
                                        grace_days=parse_int(p.get("grace_days")) or 0, lpr_percent=p.get("lpr_percent") or 0,
                                        cap_kind=p.get("cap_kind") or "", cap_value=p.get("cap_value") or 0, customer_id=cust,
                                        document_id=parse_int(p.get("document")))
        except DomainError as exc:
            messages.error(request, str(exc))
            status = 422
        else:
            messages.success(request, _("Interest rule saved."))
            return redirect("collections:interest-rules")
    rules = (InterestRule.objects.filter(company=company)
             .filter(Q(customer__isnull=True) | owner_q(request.user, "customer__owner")).select_related("customer", "document")
             .order_by("customer_id", "document_id", "pk"))
    return render(request, "collections/interest_rules.html", {
        "nav": "collections", "rules": rules, "bases": InterestBasis.choices, "caps": CapKind.choices, "can": can}, status=status)
