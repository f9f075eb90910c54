"""Aging report with drill-down, customer statements (screen, PDF, XLSX), replies and bulk batches."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huikuan.accounts.models import Company, Role, User
from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of as _company
from huikuan.common.http import parse_date as _date
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import ZERO
from huikuan.customers.selectors import customer_groups, get_customer, scoped_customers
from huikuan.insight.aging import aging_report
from huikuan.integrations import financing
from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import (
    COLLECTION_EDGES,
    DRILL_ORDER,
    GROUPS,
    aging_items,
    buckets_for,
    count_aging_items,
)
from huikuan.statements import services as st_services
from huikuan.statements.export import statement_xlsx_response
from huikuan.statements.models import ReplyStatus, Statement, StatementBatch
from huikuan.statements.pdf import render_statement_pdf
from huikuan.statements.selectors import limitation, statement_data, statement_list, statements_of


def _edges(raw: str):
    try:
        edges = tuple(int(x) for x in raw.replace("，", ",").split(",") if x.strip())
        if edges and all(e > 0 for e in edges) and list(edges) == sorted(set(edges)):
            return edges, None
    except ValueError:
        pass
    return COLLECTION_EDGES, _("Bucket edges must be increasing whole numbers of days, e.g. 30,60,90,120.")


GROUP_LABELS = {
    "customer": _("Customer"), "salesperson": _("Salesperson"), "team": _("Team"), "region": _("Region"),
    "group": _("Customer group"), "owner": _("Customer owner"), "none": _("Total only"),
}


def _aging_params(request, *, company=None, g=None):
    """The aging's parameters from the request's GET (or ``g``, an export job's copy, with its ``company``)."""
    company = company or _company(request)
    g = request.GET if g is None else g
    as_of = _date(g.get("as_of"), clock.today(company))
    scheme = g.get("scheme") if g.get("scheme") in ("collections", "accounting") else "collections"
    basis = g.get("basis") if g.get("basis") in ("due", "document") else "due"
    group = g.get("group") if g.get("group") in GROUPS else "customer"
    edges, edge_error = _edges(g.get("edges", "") or ",".join(map(str, COLLECTION_EDGES)))
    years = (1, 2, 3, 4, 5) if g.get("years") == "5" else (1, 2, 3)
    return company, as_of, scheme, basis, group, edges, years, edge_error


AGING_PAGE = 100
DRILL_PAGE = 500  # instalments listed under one aging cell (oldest due first)
XLSX_ROWS = 200_000  # the export's cap (the drill reads all rows into memory before writing; above
# export_jobs.EXPORT_NOW_ROWS that is the worker)


def _financed(g, company, as_of):
    """(mode, marked sub-SELECT or None): the aging's financed filter ("only" / "exclude" / "") of the GET
    parameters ``g`` and the items with a bank on ``as_of`` (None when there are none, so the report stays on
    its fast path)."""
    mode = g.get("financed") if g.get("financed") in ("only", "exclude") else ""
    if not financing.as_of(company=company, day=as_of).exists():
        return mode, None
    return mode, financing.instalments_sql(company=company, day=as_of)


@login_required
def aging(request):
    company, as_of, scheme, basis, group, edges, years, edge_error = _aging_params(request)
    options = dict(user=request.user, company=company, as_of=as_of, scheme=scheme, basis=basis, group_by=group,
                   edges=edges, years=years)
    mode, marked = _financed(request.GET, company, as_of)

    def run(**kw):
        if mode == "only" and marked is None:  # nothing financed: an empty report
            return ledger_aging.aging_report(**options, **kw, marked=("SELECT NULL WHERE 1=0", []))
        if mode and marked is not None:  # filtered: computed live (the per-customer aggregate has no such split)
            return ledger_aging.aging_report(**options, **kw, marked=marked, marked_mode=mode)
        return aging_report(**options, **kw)

    def with_financed(report):
        if marked is None or mode == "exclude":
            return report, None
        fin = ledger_aging.marked_totals(user=request.user, company=company, as_of=as_of, group_by=group, marked=marked,
                                         customers=financing.customers_sql(company=company, day=as_of))
        rows = [replace(r, extra={**r.extra, "financed": fin.get(r.key, ZERO)}) for r in report.rows]
        return replace(report, rows=rows), fin["*"]

    if request.GET.get("format") == "xlsx":
        report, fin_total = with_financed(run())
        fin_col = [(_("Financed"), "money")] if fin_total is not None else []
        return xlsx_response(
            filename=f"aging-{as_of}.xlsx", sheet_title=_("Aging"),
            columns=[(str(GROUP_LABELS[group]), "text"), *[(b.label, "money") for b in report.buckets], (_("Total"), "money"),
                     (_("Disputed"), "money"), *fin_col],
            rows=((r.label, *r.buckets, r.total, r.disputed, *([r.extra["financed"]] if fin_col else []))
                  for r in report.rows),
            totals=[_("Total"), *report.totals, report.total, report.disputed, *([fin_total] if fin_col else [])],
        )
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    report = run(offset=(number - 1) * AGING_PAGE, limit=AGING_PAGE)
    page = Paginator(range(report.row_count), AGING_PAGE).get_page(number)
    if page.number != number:  # past the last page: show the last one
        report = run(offset=(page.number - 1) * AGING_PAGE, limit=AGING_PAGE)
    report, fin_total = with_financed(report)
    labels = [b.label for b in report.buckets]
    params = request.GET.copy()
    params.pop("page", None)
    top = max((t for t in report.totals), default=0) or 1
    chart = [{"label": lbl, "value": v, "pct": int(v * 100 / top) if v > 0 else 0} for lbl, v in zip(labels, report.totals, strict=True)]
    return render(request, "reports/aging.html", {
        "nav": "aging", "r": report, "page": page, "qs": params.urlencode(), "params": params.urlencode(),
        "as_of": as_of, "scheme": scheme, "basis": basis, "group": group, "groups": GROUP_LABELS.items(),
        "edges": ",".join(map(str, edges)), "years": len(years), "edge_error": edge_error, "chart": chart, "labels": labels,
        "financed_mode": mode, "financed_total": fin_total,
    })


# the drill's order is SQL over its own query (ledger.aging.DRILL_ORDER); the helper keeps the state and headers
DRILL_SORTS = Sorting({key: key for key in DRILL_ORDER}, default="due")


AGING_ITEMS_EXPORT = "ledger.aging_items"  # the drill's exporter (common.export_jobs), in WebConfig.ready()


def _drill_items(g, *, company, user, limit: int | None, count_up_to: int | None = None):
    """The instalments behind the cell the GET parameters ``g`` ask for, as ``user`` sees them, in the asked
    order (up to ``limit``), with the as-of date; a malformed key is a 404. With ``count_up_to`` the first value
    is instead how many there are, counted up to that number (``ledger.aging.count_aging_items``)."""
    _c, as_of, scheme, basis, group, edges, years, _err = _aging_params(None, company=company, g=g)
    report_buckets, column, _basis = buckets_for(as_of=as_of, scheme=scheme, basis=basis, edges=edges, years=years)
    try:
        idx = int(g.get("bucket", ""))
        bucket = report_buckets[idx] if idx >= 0 else None
    except (ValueError, IndexError):
        bucket = None
    key = g.get("key")
    if group in ("customer", "salesperson", "team", "group", "owner") and key not in (None, "", "None"):
        try:
            key = int(key)
        except ValueError as exc:
            raise Http404 from exc
    elif key in ("", "None"):
        key = None
    mode, marked = _financed(g, company, as_of)
    if mode == "only" and marked is None:
        marked = ("SELECT NULL WHERE 1=0", [])
    order = DRILL_SORTS.state(g)
    cell = {"user": user, "company": company, "as_of": as_of, "bucket": bucket, "column": column,
            "group_by": group if key is not None or group != "none" else "none", "key": key,
            "marked": marked, "marked_mode": mode or None}
    if count_up_to is not None:
        return count_aging_items(**cell, cap=count_up_to), bucket, as_of, order
    items = aging_items(**cell, limit=limit, order=order.key, descending=order.descending)
    return items, bucket, as_of, order


def _drill_export(items, as_of) -> export_jobs.Export:
    return export_jobs.Export(
        filename=f"aging-items-{as_of}.xlsx", sheet_title=_("Aging items"),
        columns=[(_("Document"), "text"), (_("Customer"), "text"), (_("Document date"), "date"), (_("Due date"), "date"),
                 (_("Days past due"), "int"), (_("Amount"), "money"), (_("Open as of"), "money"), (_("Financed"), "text")],
        rows=((i.document_number, i.customer_label, i.document_date, i.due_date, i.days_past_due, i.amount, i.open_amount,
               _("Yes") if i.marked else "")
              for i in items),
        totals=lambda: [_("Total"), "", "", "", "", sum((i.amount for i in items), 0),
                        sum((i.open_amount for i in items), 0), ""],
        count=lambda: len(items))


def aging_items_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The drill-down's XLSX (up to ``XLSX_ROWS`` instalments) as ``user`` sees it; a key that is not a number
    is ``ExportUnavailable``."""
    try:
        items, _b, as_of, _o = _drill_items(params, company=Company.objects.get(pk=company_id), user=user,
                                            limit=XLSX_ROWS)
    except Http404 as exc:
        raise export_jobs.ExportUnavailable(gettext_lazy("These aging items are not there any more.")) from exc
    return _drill_export(items, as_of)


@login_required
def aging_drill(request):
    company = _company(request)
    if request.GET.get("format") == "xlsx":
        # counted first, up to the request's limit and in no order (the scan stops there): a larger cell goes to the
        # worker without its items being read here; a small one is read once and written from these rows
        cap = export_jobs.EXPORT_NOW_ROWS + 1
        n, _b, as_of, _o = _drill_items(request.GET, company=company, user=request.user, limit=None, count_up_to=cap)
        if n > export_jobs.EXPORT_NOW_ROWS:
            return export_jobs.export_or_queue(request, kind=AGING_ITEMS_EXPORT, params=request.GET, rows=n,
                                               title=_("Aging items"))
        items, _b, as_of, _o = _drill_items(request.GET, company=company, user=request.user, limit=cap)
        return export_jobs.export_or_queue(request, kind=AGING_ITEMS_EXPORT, params=request.GET, rows=len(items),
                                           title=_("Aging items"), spec=_drill_export(items, as_of))
    # the page lists the oldest DRILL_PAGE instalments (and says so when there are more), the export up to XLSX_ROWS
    items, bucket, as_of, order = _drill_items(request.GET, company=company, user=request.user, limit=DRILL_PAGE + 1)
    truncated = len(items) > DRILL_PAGE
    items = items[:DRILL_PAGE]
    tpl = "reports/aging.html#drill" if getattr(request, "htmx", False) else "reports/aging_drill.html"
    return render(request, tpl, {"nav": "aging", "items": items, "bucket": bucket, "as_of": as_of, "truncated": truncated,
                                 "xlsx_rows": XLSX_ROWS, **DRILL_SORTS.context(request.GET),
                                 "oldest_first": order.value == DRILL_SORTS.default,
                                 "total": sum((i.open_amount for i in items), 0), "qs": request.GET.urlencode()})


# ---------------------------------------------------------------- statements


def _period(request, company):
    today = clock.today(company)
    default_from = today.replace(day=1) - dt.timedelta(days=1)
    default_from = default_from.replace(month=1, day=1) if default_from.month == 12 else today.replace(month=1, day=1)
    period_to = _date(request.GET.get("to") or request.POST.get("to"), today)
    period_from = _date(request.GET.get("from") or request.POST.get("from"), default_from)
    return period_from, period_to


@login_required
def customer_statement(request, pk: int):
    company = _company(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    period_from, period_to = _period(request, company)
    if period_from > period_to:
        messages.error(request, _("The period's start must be on or before its end."))
        period_from = period_to.replace(day=1)
    data = statement_data(user=request.user, customer=customer, period_from=period_from, period_to=period_to)
    fmt = request.GET.get("format")
    if fmt == "pdf":
        pdf = render_statement_pdf(data=data)
        resp = HttpResponse(pdf, content_type="application/pdf")
        resp["Content-Disposition"] = f'attachment; filename="statement-{customer.code}-{period_to}.pdf"'
        return resp
    if fmt == "xlsx":
        return statement_xlsx_response(data, filename=f"statement-{customer.code}-{period_to}.xlsx")
    return render(request, "reports/statement.html", {
        "nav": "customers", "customer": customer, "s": data, "period_from": period_from, "period_to": period_to,
        "history": statements_of(customer=customer)[:20], "limitation": limitation(customer=customer),
        "can_issue": request.user.can("ledger.post") or request.user.can("customer.edit"),
        "reply_statuses": ReplyStatus.choices,
    })


@login_required
@require_POST
def statement_issue(request, pk: int):
    company = _company(request)
    customer = get_customer(user=request.user, company=company, pk=pk)
    period_from, period_to = _period(request, company)
    try:
        st = st_services.issue_statement(user=request.user, customer=customer, period_from=period_from,
                                         period_to=period_to, today=clock.today(company))
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("web:customer-statement", pk=pk)
    if request.POST.get("email") == "1":
        try:
            to = st_services.email_statement(statement=st, user=request.user)
            messages.success(request, _("Statement %(n)s sent to %(to)s.") % {"n": st.number, "to": to})
        except DomainError as exc:
            messages.error(request, _("Statement %(n)s was issued but not sent: %(e)s") % {"n": st.number, "e": exc})
    else:
        messages.success(request, _("Statement %(n)s issued.") % {"n": st.number})
    return redirect(reverse("web:customer-statement", args=[pk]) + f"?from={period_from}&to={period_to}")


def _statement_in_scope(request, pk) -> Statement:
    company = _company(request)
    st = Statement.objects.select_related("customer", "company").filter(
        pk=pk, company=company, customer__in=scoped_customers(user=request.user, company=company)).first()
    if st is None:
        raise Http404
    return st


@login_required
def statement_pdf(request, pk: int):
    st = _statement_in_scope(request, pk)
    try:
        pdf = st_services.issued_pdf(statement=st, user=request.user)  # as issued, never re-rendered
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("web:customer-statement", pk=st.customer_id)
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{st.number}.pdf"'
    return resp


@login_required
def statement_reply(request, pk: int):
    st = _statement_in_scope(request, pk)
    error = None
    if request.method == "POST":
        if request.user.is_read_only:
            raise PermissionDenied
        try:
            st_services.record_reply(
                user=request.user, statement_id=st.pk, company=st.company, status=request.POST.get("status", ""),
                replied_on=_date(request.POST.get("replied_on")), replied_by=request.POST.get("replied_by", "").strip(),
                confirmed_amount=request.POST.get("confirmed_amount", "").strip() or None,
                note=request.POST.get("note", ""), scan=request.FILES.get("scan"), today=clock.today(st.company),
            )
            messages.success(request, _("Reply recorded."))
            return redirect("web:customer-statement", pk=st.customer_id)
        except DomainError as exc:
            error = exc
    return render(request, "reports/statement_reply.html", {
        "nav": "customers", "st": st, "error": error, "statuses": [c for c in ReplyStatus.choices if c[0] != "pending"],
        "today": clock.today(st.company), "post": request.POST if request.method == "POST" else {},
        "replies": st.replies.select_related("recorded_by").order_by("-replied_on", "-id"),
    }, status=422 if error else 200)


STATEMENT_SORTS = Sorting({"number": "number", "customer": "customer__code", "period": ("period_to", "created_at"),
                          "closing": "closing_amount", "status": "status", "replied": "replied_on"}, default="-period")


@login_required
def statement_index(request):
    company = _company(request)
    qs = statement_list(company=company, customer_qs=scoped_customers(user=request.user, company=company),
                        status=request.GET.get("status", ""))
    qs = STATEMENT_SORTS.apply(date_range(qs, "period_to", request.GET), request.GET)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename="statements.xlsx", sheet_title=_("Statements"),
            columns=[(_("Number"), "text"), (_("Customer"), "text"), (_("Period to"), "date"), (_("Closing balance"), "money"),
                     (_("Reply"), "text"), (_("Reply date"), "date"), (_("Balance per customer"), "money")],
            rows=((s.number, f"{s.customer.code} {s.customer.name}", s.period_to, s.closing_amount, s.get_status_display(),
                   s.replied_on, s.confirmed_amount) for s in qs.iterator(chunk_size=2000)),
        )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    batches = StatementBatch.objects.filter(company=company).order_by("-created_at")[:10]
    owners = User.objects.filter(companies=company, role__in=[Role.SALESPERSON, Role.SALES_MANAGER]).order_by("username")
    return render(request, "reports/statements.html", {
        "nav": "statements", "page": page, "status": request.GET.get("status", ""), "statuses": ReplyStatus.choices,
        "batches": batches, "owners": owners, "groups": customer_groups(company=company),
        "today": clock.today(company), "can_issue": request.user.can("ledger.post") or request.user.can("customer.edit"),
        **STATEMENT_SORTS.context(request.GET),
    })


@login_required
@require_POST
def statement_batch_new(request):
    company = _company(request)
    today = clock.today(company)
    try:
        batch = st_services.start_batch(
            user=request.user, company=company, period_from=_date(request.POST.get("from")),
            period_to=_date(request.POST.get("to"), today), send_email=request.POST.get("email") == "1",
            selection={"owner_id": int(request.POST["owner"]) if request.POST.get("owner", "").isdigit() else None,
                       "group_id": int(request.POST["group"]) if request.POST.get("group", "").isdigit() else None,
                       "with_balance": request.POST.get("with_balance") == "1"},
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("web:statement-index")
    messages.success(request, _("Statement batch queued."))
    return redirect("web:statement-batch", pk=batch.pk)


def _batch(request, pk: int) -> StatementBatch:
    batch = StatementBatch.objects.filter(pk=pk, company=_company(request)).first()
    if batch is None or (batch.created_by_id != request.user.pk and request.user.role in (Role.SALESPERSON, Role.SALES_MANAGER)):
        raise Http404
    return batch


@login_required
@require_POST
def statement_batch_resume(request, pk: int):
    batch = _batch(request, pk)
    try:
        st_services.resume_batch(user=request.user, batch=batch)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Batch queued again: it continues with the customers that have no statement yet."))
    return redirect("web:statement-batch", pk=batch.pk)


@login_required
def statement_batch(request, pk: int):
    batch = _batch(request, pk)
    tpl = "reports/statement_batch.html#progress" if getattr(request, "htmx", False) else "reports/statement_batch.html"
    return render(request, tpl, {"nav": "statements", "b": batch})
