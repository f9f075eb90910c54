"""Ledger screens: customer 360, documents, payments and credit notes, allocation, write-offs, fapiao.

Each view: load through a scoped selector (out of scope → 404), check the permission (→ 403), parse a
plain form, call one service with ``as_of``/dates from the company's calendar, and map a DomainError
to a form error in the user's language (htmx requests get the form fragment with status 422).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from huikuan.accounts.models import Company
from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of as _company
from huikuan.common.http import parse_date as _date
from huikuan.common.http import parse_int as _int
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import ZERO, has_valid_scale, round_money, to_decimal
from huikuan.common.paging import capped_page
from huikuan.customers.selectors import customer_bank_accounts, same_credit_code
from huikuan.integrations import financing
from huikuan.ledger import fapiao, instruments, services
from huikuan.ledger import selectors as sel
from huikuan.ledger.errors import DuplicateSubmission
from huikuan.ledger.models import (
    Credit,
    CreditKind,
    DocumentKind,
    FapiaoStatus,
    FapiaoType,
    Method,
    ReceivableDocument,
    Status,
    WriteOffStatus,
)
from huikuan.statements.selectors import limitation

from .ledger_forms import (
    ApplyForm,
    CreditNoteForm,
    DecisionForm,
    DocumentForm,
    FapiaoForm,
    PaymentForm,
    ReasonForm,
    RedFapiaoForm,
    WriteOffForm,
    attach_error,
)

PAGE_SIZE = 50
APPLY_LIMIT = 500  # open items listed on the manual apply page (oldest due first)


# ---------------------------------------------------------------- plumbing





def needs(perm: str):
    """403 unless the user's role has ``perm`` (auditors and salespeople may look but not post)."""

    def deco(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.can(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return deco


def _done(request, url: str):
    """After a successful POST: a normal redirect, or HX-Redirect for htmx so the whole page changes."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _render_form(request, template: str, context: dict, *, status: int = 200):
    """Render a form page; an htmx request gets only the ``form`` partial (422 when invalid)."""
    if getattr(request, "htmx", False) and request.method == "POST":
        return render(request, f"{template}#form", context, status=status)
    return render(request, template, context, status=status)








def _page(request, qs):
    page = capped_page(qs, PAGE_SIZE, request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def _customers(request):
    return sel.customers_in_scope(user=request.user, company=_company(request))


def _duplicate(request, model, key: str | None, detail: str):
    """A form submitted twice: send the user to what the first submission created."""
    existing = model.objects.filter(request_key=key, company=_company(request)).first() if key else None
    messages.info(request, _("This form was already submitted; here is the record it created."))
    if existing is None:
        return redirect("web:dashboard")
    return _done(request, reverse(detail, args=[existing.pk]))


def _reverse(request, *, obj, reverse_fn, done_message: str, nav: str, back: str, action: str):
    """The shared POST flow of every reversal: a reason is required, a DomainError lands on the form."""
    company = _company(request)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            reverse_fn(company=company, actor=request.user, on=clock.today(company), reason=form.cleaned_data["reason"])
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, done_message)
            return _done(request, back)
    return _render_form(request, "ledger/reverse_form.html",
                        {"nav": nav, "form": form, "object": obj, "back": back, "action": action}, status=422)


# ---------------------------------------------------------------- customer 360


@login_required
def customer_detail(request, pk: int):
    company = _company(request)
    customer = sel.get_customer(user=request.user, company=company, pk=pk)
    as_of = _date(request.GET.get("as_of")) or clock.today(company)
    summary = sel.customer_summary(customer=customer, as_of=as_of)
    financed = list(financing.as_of(company=company, day=as_of).filter(instalment__customer=customer)
                    .select_related("instalment__document").order_by("instalment__due_date", "pk")[:50])
    return render(request, "ledger/customer_detail.html", {
        "nav": "customers", "customer": customer, "s": summary, "as_of": as_of,
        "financed": financed, "financed_ids": {f.instalment_id for f in financed},
        "financed_amount": sum((f.amount for f in financed), ZERO),
        "can_finance": request.user.can(financing.PERM),
        "limitation": limitation(customer=customer, as_of=as_of),
        "same_code": same_credit_code(user=request.user, customer=customer),
        "bank_accounts": customer_bank_accounts(customer=customer),
        "can_edit": request.user.can("customer.edit"),
        "can_post": request.user.can("ledger.post"), "can_pay": request.user.can("ledger.payment"),
        "can_credit_note": request.user.can("ledger.credit_note"),
        "can_write_off": request.user.can("ledger.writeoff.request"),
    })


# ---------------------------------------------------------------- documents


def _document_filters(g, *, company, user) -> dict:
    """The document list's filters from its GET parameters ``g`` (the page's, or an export job's copy)."""
    return {
        "q": g.get("q", "").strip(), "kind": g.get("kind", ""), "status": g.get("status", ""),
        "date_from": _date(g.get("date_from")), "date_to": _date(g.get("date_to")),
        "open_only": g.get("open") == "1", "customer_id": _int(g.get("customer")),
        "due_from": _date(g.get("due_from")), "due_to": _date(g.get("due_to")),
        "overdue_on": clock.today(company) if g.get("overdue") == "1" else None,
        "owner_id": user.pk if g.get("mine") == "1" else None,
    }


DOCUMENT_SORTS = Sorting({
    "number": "number", "date": "document_date", "due": "next_due", "kind": "kind", "customer": "customer__name",
    "salesperson": "salesperson__display_name", "reference": "reference", "status": "status",
    "amount": "total_amount", "open": "open_sum",
}, default="-date")

CREDIT_SORTS = Sorting({
    "number": "number", "date": "date", "kind": "kind", "method": "method", "customer": "customer__name",
    "reference": "reference", "status": "status", "amount": "amount", "unapplied": "unapplied_amount",
}, default="-date")


# a salesperson's name as ``str(user)`` gives it, read as values
_PERSON = ("salesperson__display_name", "salesperson__first_name", "salesperson__last_name", "salesperson__username")


def _person(display, first, last, username) -> str:
    return display or f"{first or ''} {last or ''}".strip() or username or ""


def _documents(g, *, company, user):
    return DOCUMENT_SORTS.apply(sel.document_list(user=user, company=company,
                                                  **_document_filters(g, company=company, user=user)), g)


DOCUMENTS_EXPORT = "ledger.documents"  # the list's exporter (common.export_jobs), registered in WebConfig.ready()


def documents_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The document list's XLSX as ``user`` sees it (scope, filters and sort of ``params``), the totals last; in
    the request up to ``export_jobs.EXPORT_NOW_ROWS`` rows, else written by the worker."""
    qs = _documents(params, company=Company.objects.get(pk=company_id), user=user)[:export_jobs.EXPORT_MAX_ROWS]
    total = [ZERO]  # the written rows' sum (the same as the list's below the cap)
    # value rows, labels from the choices (no model instance per row: ~4× less CPU at 200,000 rows)
    kinds, statuses = dict(DocumentKind.choices), dict(Status.choices)
    values = qs.values_list("number", "document_date", "next_due", "kind", "customer__code", "customer__name",
                            *_PERSON, "reference", "status", "total_amount", "open_sum")

    def rows():
        for number, day, due, kind, code, name, *person, ref, status, amount, open_sum in values.iterator(2000):
            total[0] += amount
            yield (number, day, due, str(kinds.get(kind, kind)), code, name, _person(*person), ref,
                   str(statuses.get(status, status)), amount, open_sum)

    return export_jobs.Export(
        filename="documents.xlsx", sheet_title=_("Documents"),
        columns=[(_("Number"), "text"), (_("Date"), "date"), (_("Next due"), "date"), (_("Kind"), "text"),
                 (_("Customer code"), "text"), (_("Customer"), "text"), (_("Salesperson"), "text"),
                 (_("Reference"), "text"), (_("Status"), "text"), (_("Amount"), "money"), (_("Open"), "money")],
        rows=rows(), totals=lambda: ["", "", "", "", "", "", "", "", _("Total"), total[0], None], count=qs.count)


@login_required
def document_list(request):
    company = _company(request)
    filters = _document_filters(request.GET, company=company, user=request.user)
    qs = _documents(request.GET, company=company, user=request.user)
    if _wants_xlsx(request):
        return export_jobs.export_or_queue(request, kind=DOCUMENTS_EXPORT, params=request.GET,
                                           rows=export_jobs.capped_count(qs), title=_("Documents"))
    page, params = _page(request, qs)
    return render(request, "ledger/document_list.html", {
        "nav": "documents", "page": page, "params": params, "f": filters, "GET": request.GET,
        **DOCUMENT_SORTS.context(request.GET), "kinds": DocumentKind.choices, "statuses": Status.choices, "can_post": request.user.can("ledger.post"),
    })


def _rows(post, *names: str) -> list[tuple[str, ...]]:
    """Repeated inputs (``name`` lists of equal length) as tuples, skipping rows left entirely blank."""
    cols = [post.getlist(n) for n in names]
    width = max((len(c) for c in cols), default=0)
    rows = []
    for i in range(width):
        row = tuple((c[i] if i < len(c) else "").strip() for c in cols)
        if any(row):
            rows.append(row)
    return rows


def _parse_lines(form, post) -> list[services.LineInput] | None:
    lines = []
    for desc, qty, price, amount in _rows(post, "line_description", "line_quantity", "line_unit_price", "line_amount"):
        try:
            if amount:
                amt = to_decimal(amount)
            elif qty and price:
                amt = round_money(to_decimal(qty) * to_decimal(price))
            else:
                raise ValueError
        except (ValueError, TypeError):
            form.add_error("lines", _("Line “%(line)s”: enter an amount (or quantity and unit price).") % {"line": desc or "—"})
            return None
        if not desc:
            form.add_error("lines", _("Every line needs a description."))
            return None
        lines.append(services.LineInput(description=desc[:200], amount=amt, quantity=qty[:30], unit_price=price[:30]))
    return lines


def _parse_schedule(form, post) -> list[services.ScheduleInput] | None:
    out = []
    for due, amount, discount, discount_date in _rows(post, "sched_due", "sched_amount", "sched_discount", "sched_discount_date"):
        if not amount:  # a cleared amount drops the row
            continue
        due_d = _date(due)
        try:
            amt = to_decimal(amount)
            disc = to_decimal(discount) if discount else ZERO
        except (ValueError, TypeError):
            form.add_error("schedule", _("Enter valid instalment amounts."))
            return None
        if due_d is None:
            form.add_error("schedule", _("Every instalment needs a due date."))
            return None
        disc_d = _date(discount_date)
        if disc and disc_d is None:
            form.add_error("schedule", _("An instalment with a discount needs the date it applies until."))
            return None
        out.append(services.ScheduleInput(due_date=due_d, amount=amt, discount_amount=disc, discount_date=disc_d if disc else None))
    return out


def _form_rows(post):
    """The repeated rows as typed, to re-render them after an error."""
    return {
        "line_rows": _rows(post, "line_description", "line_quantity", "line_unit_price", "line_amount"),
        "sched_rows": _rows(post, "sched_due", "sched_amount", "sched_discount", "sched_discount_date"),
    }


def _document_context(request, form, **extra):
    return {"nav": "documents", "form": form, "line_rows": [], "sched_rows": [], **extra}


@login_required
@needs("ledger.post")
def document_new(request):
    company = _company(request)
    today = clock.today(company)
    if request.method != "POST":
        initial = {"document_date": today}
        cust = _customers(request).filter(pk=_int(request.GET.get("customer"))).first()
        if cust is not None:
            initial["customer"] = cust
        form = DocumentForm(initial=initial, company=company, customers=_customers(request))
        return render(request, "ledger/document_form.html", _document_context(request, form))

    form = DocumentForm(request.POST, company=company, customers=_customers(request))
    ctx = _document_context(request, form, **_form_rows(request.POST))
    if not form.is_valid():
        return _render_form(request, "ledger/document_form.html", ctx, status=422)
    lines = _parse_lines(form, request.POST)
    schedule = _parse_schedule(form, request.POST)
    if lines is None or schedule is None:
        return _render_form(request, "ledger/document_form.html", ctx, status=422)
    d = form.cleaned_data
    key = d["request_key"]
    try:
        doc = services.post_document(
            company=company, customer_id=d["customer"].pk, document_date=d["document_date"], actor=request.user,
            kind=d["kind"], number=d["number"], total=d["total"], lines=lines, currency=d["currency"] or None,
            salesperson_id=d["salesperson"].pk if d["salesperson"] else None,
            payment_term_id=d["payment_term"].pk if d["payment_term"] else None,
            schedule=schedule or None, reference=d["reference"], description=d["description"], request_key=key,
        )
    except DuplicateSubmission:
        return _duplicate(request, ReceivableDocument, key, "web:document-detail")
    except DomainError as exc:
        attach_error(form, exc)
        return _render_form(request, "ledger/document_form.html", ctx, status=422)
    messages.success(request, _("%(number)s posted.") % {"number": doc.number})
    return _done(request, reverse("web:document-detail", args=[doc.pk]))


@login_required
@needs("ledger.post")
@require_POST
def document_preview_schedule(request):
    """htmx: the instalments the chosen terms would give, as editable rows."""
    company = _company(request)
    form = DocumentForm(request.POST, company=company, customers=_customers(request))
    form.is_valid()
    d = form.cleaned_data
    error = ""
    rows = []
    lines = _parse_lines(form, request.POST) if "lines" not in form.errors else None
    total = d.get("total")
    if lines:
        total = sum((ln.amount for ln in lines), ZERO)
    customer = d.get("customer")
    term = d.get("payment_term") or (customer.payment_term if customer is not None else None)
    date_ = d.get("document_date")
    if customer is None:
        error = _("Choose the customer first.")
    elif date_ is None:
        error = _("Enter the document date.")
    elif total is None or total <= 0:
        error = _("Enter the total or the lines first.")
    elif not has_valid_scale(total, customer.currency):
        error = _("%(currency)s amounts cannot have more decimals than the currency allows.") % {
            "currency": customer.currency}
    else:
        try:
            parts = services.proposed_schedule(company=company, total=total, document_date=date_, term=term,
                                               currency=customer.currency)
        except (ValueError, ArithmeticError):
            error = _("These payment terms cannot produce a schedule.")
        else:
            rows = [(p.due_date.isoformat(), f"{p.amount}", f"{p.discount_amount}" if p.discount_amount else "",
                     p.discount_date.isoformat() if p.discount_date else "") for p in parts]
    ctx = {"sched_rows": rows, "preview_error": error, "form": form, "previewed": True}
    return render(request, "ledger/document_form.html#schedule", ctx, status=422 if error else 200)


@login_required
def document_detail(request, pk: int):
    company = _company(request)
    doc = sel.get_document(user=request.user, company=company, pk=pk)
    return render(request, "ledger/document_detail.html", {
        "nav": "documents", "doc": doc, "instalments": sel.document_instalments(document=doc),
        "lines": list(doc.lines.all()), "fapiaos": list(doc.fapiaos.order_by("issue_date", "id")),
        "reverse_form": ReasonForm(), "can_reverse": request.user.can("ledger.reverse") and doc.status == Status.POSTED,
        "can_write_off": request.user.can("ledger.writeoff.request") and doc.status == Status.POSTED,
        "can_fapiao": request.user.can("ledger.fapiao"),
        "can_credit_note": request.user.can("ledger.credit_note") and doc.status == Status.POSTED,
        "as_of": clock.today(company),
    })


@login_required
@needs("ledger.reverse")
@require_POST
def document_reverse(request, pk: int):
    doc = sel.get_document(user=request.user, company=_company(request), pk=pk)
    return _reverse(
        request, obj=doc, nav="documents",
        reverse_fn=lambda **kw: services.reverse_document(document_id=doc.pk, **kw),
        done_message=_("%(number)s reversed.") % {"number": doc.number},
        back=reverse("web:document-detail", args=[doc.pk]), action=reverse("web:document-reverse", args=[doc.pk]),
    )


# ---------------------------------------------------------------- payments & credit notes


def _credit_filters(g) -> dict:
    return {
        "q": g.get("q", "").strip(), "kind": g.get("kind", ""), "method": g.get("method", ""),
        "status": g.get("status", ""), "date_from": _date(g.get("date_from")), "date_to": _date(g.get("date_to")),
        "unapplied_only": g.get("unapplied") == "1", "customer_id": _int(g.get("customer")),
    }


def _credits(g, *, company, user):
    return CREDIT_SORTS.apply(sel.credit_list(user=user, company=company, **_credit_filters(g)), g)


PAYMENTS_EXPORT = "ledger.payments"  # the list's exporter (common.export_jobs), registered in WebConfig.ready()


def payments_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The payments and credits list's XLSX as ``user`` sees it (scope, filters and sort of ``params``)."""
    qs = _credits(params, company=Company.objects.get(pk=company_id), user=user)[:export_jobs.EXPORT_MAX_ROWS]
    sums = [ZERO, ZERO]  # the written rows' sums (the same as the list's below the cap)
    kinds, methods, statuses = dict(CreditKind.choices), dict(Method.choices), dict(Status.choices)
    values = qs.values_list("number", "date", "kind", "method", "customer__code", "customer__name", "reference",
                            "bill_number", "status", "amount", "unapplied_amount")

    def rows():
        for number, day, kind, method, code, name, ref, bill, status, amount, unapplied in values.iterator(2000):
            sums[0] += amount
            sums[1] += unapplied
            yield (number, day, str(kinds.get(kind, kind)), str(methods.get(method, method)) if method else "", code,
                   name, ref or bill, str(statuses.get(status, status)), amount, unapplied)

    return export_jobs.Export(
        filename="payments.xlsx", sheet_title=_("Payments and credits"),
        columns=[(_("Number"), "text"), (_("Date"), "date"), (_("Kind"), "text"), (_("Method"), "text"),
                 (_("Customer code"), "text"), (_("Customer"), "text"), (_("Reference"), "text"),
                 (_("Status"), "text"), (_("Amount"), "money"), (_("Unapplied"), "money")],
        rows=rows(), totals=lambda: ["", "", "", "", "", "", "", _("Total"), sums[0], sums[1]], count=qs.count)


@login_required
def payment_list(request):
    company = _company(request)
    filters = _credit_filters(request.GET)
    qs = _credits(request.GET, company=company, user=request.user)
    if _wants_xlsx(request):
        return export_jobs.export_or_queue(request, kind=PAYMENTS_EXPORT, params=request.GET,
                                           rows=export_jobs.capped_count(qs), title=_("Payments and credits"))
    page, params = _page(request, qs)
    return render(request, "ledger/payment_list.html", {
        "nav": "payments", "page": page, "params": params, "f": filters, "GET": request.GET,
        **CREDIT_SORTS.context(request.GET),
        "kinds": CreditKind.choices, "methods": [m for m in Method.choices if m[0]], "statuses": Status.choices,
        "can_pay": request.user.can("ledger.payment"), "can_credit_note": request.user.can("ledger.credit_note"),
    })


@login_required
@needs("ledger.payment")
def payment_new(request):
    company = _company(request)
    ctx = {"nav": "payments"}
    if request.method != "POST":
        initial = {"date": clock.today(company), "auto_allocate": True}
        cust = _customers(request).filter(pk=_int(request.GET.get("customer"))).first()
        if cust is not None:
            initial["customer"] = cust
        ctx["form"] = PaymentForm(initial=initial, company=company, customers=_customers(request))
        return render(request, "ledger/payment_form.html", ctx)
    form = PaymentForm(request.POST, company=company, customers=_customers(request))
    ctx["form"] = form
    if not form.is_valid():
        return _render_form(request, "ledger/payment_form.html", ctx, status=422)
    d = form.cleaned_data
    is_bill = d["method"] in (Method.BANK_ACCEPTANCE, Method.COMMERCIAL_ACCEPTANCE)
    reference = d["reference"]
    if d["method"] == Method.CHEQUE and d["cheque_number"]:  # the cheque number is the payment's reference
        reference = " / ".join(x for x in (d["cheque_number"], d["reference"]) if x)[:100]
    try:
        credit = services.record_payment(
            company=company, customer_id=d["customer"].pk, amount=d["amount"], date=d["date"], actor=request.user,
            method=d["method"], number=d["number"], reference=reference, memo=d["memo"],
            bill_number=d["bill_number"] if is_bill else "", bill_acceptor=d["bill_acceptor"] if is_bill else "",
            bill_maturity_date=d["bill_maturity_date"] if is_bill else None,
            auto_allocate=d["auto_allocate"], request_key=d["request_key"], today=clock.today(company),
            post_dated=d["post_dated"],
        )
    except DuplicateSubmission:
        return _duplicate(request, Credit, d["request_key"], "web:payment-detail")
    except DomainError as exc:
        attach_error(form, exc)
        ctx["ask_post_dated"] = bool(exc.params.get("post_dated"))
        return _render_form(request, "ledger/payment_form.html", ctx, status=422)
    messages.success(request, _("%(number)s recorded.") % {"number": credit.number})
    return _done(request, reverse("web:payment-detail", args=[credit.pk]))


@login_required
@needs("ledger.credit_note")
def credit_note_new(request):
    company = _company(request)
    ctx = {"nav": "payments"}
    if request.method != "POST":
        initial = {"date": clock.today(company), "apply": True}
        cust = _customers(request).filter(pk=_int(request.GET.get("customer"))).first()
        if cust is not None:
            initial["customer"] = cust
        doc = sel.documents_in_scope(user=request.user, company=company).filter(pk=_int(request.GET.get("document"))).first()
        if doc is not None:
            initial.update(customer=doc.customer, document=doc.number)
        ctx["form"] = CreditNoteForm(initial=initial, company=company, customers=_customers(request))
        return render(request, "ledger/credit_note_form.html", ctx)
    form = CreditNoteForm(request.POST, company=company, customers=_customers(request))
    ctx["form"] = form
    if not form.is_valid():
        return _render_form(request, "ledger/credit_note_form.html", ctx, status=422)
    d = form.cleaned_data
    document_id = None
    if d["document"]:
        doc = sel.documents_in_scope(user=request.user, company=company).filter(number=d["document"].strip()).first()
        if doc is None:
            form.add_error("document", _("Unknown document number."))
            return _render_form(request, "ledger/credit_note_form.html", ctx, status=422)
        document_id = doc.pk
    try:
        credit = services.issue_credit_note(
            company=company, customer_id=d["customer"].pk, amount=d["amount"], date=d["date"], reason=d["reason"],
            actor=request.user, number=d["number"], document_id=document_id, apply=d["apply"],
            keep_rest_as_credit=d["keep_rest_as_credit"], request_key=d["request_key"], today=clock.today(company),
        )
    except DuplicateSubmission:
        return _duplicate(request, Credit, d["request_key"], "web:payment-detail")
    except DomainError as exc:
        attach_error(form, exc)
        return _render_form(request, "ledger/credit_note_form.html", ctx, status=422)
    messages.success(request, _("%(number)s issued.") % {"number": credit.number})
    return _done(request, reverse("web:payment-detail", args=[credit.pk]))


@login_required
def payment_detail(request, pk: int):
    company = _company(request)
    credit = sel.get_credit(user=request.user, company=company, pk=pk)
    posted = credit.status == Status.POSTED
    return render(request, "ledger/payment_detail.html", {
        "nav": "payments", "credit": credit, "allocations": sel.credit_allocations(credit=credit),
        "reverse_form": ReasonForm(),
        "can_reverse": request.user.can("ledger.reverse") and posted,
        "can_reverse_alloc": request.user.can("ledger.reverse") and posted
        and credit.kind in (CreditKind.PAYMENT, CreditKind.CREDIT_NOTE),
        "can_apply": request.user.can("ledger.allocate") and posted and credit.unapplied_amount > 0
        and credit.kind in (CreditKind.PAYMENT, CreditKind.CREDIT_NOTE),
        "can_instrument": request.user.can("ledger.payment") and posted,
        "instrument_next": instruments.next_statuses(credit),
    })


@login_required
@needs("ledger.payment")
@require_POST
def payment_instrument(request, pk: int):
    company = _company(request)
    credit = sel.get_credit(user=request.user, company=company, pk=pk)
    try:
        instruments.set_instrument_status(company=company, credit_id=credit.pk, status=request.POST.get("status", ""),
                                          actor=request.user, on=clock.today(company),
                                          note=request.POST.get("note", "")[:300])
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Status updated."))
    return _done(request, reverse("web:payment-detail", args=[credit.pk]))


def _apply_context(request, credit, form, typed=None, row_errors=None):
    company = _company(request)
    as_of = clock.today(company)
    items = sel.open_instalments(user=request.user, company=company, customer=credit.customer, limit=APPLY_LIMIT)
    typed = typed or {}
    row_errors = row_errors or {}
    return {
        "nav": "payments", "credit": credit, "form": form, "as_of": as_of,
        "items": [(i, typed.get(i.pk, ""), i.days_overdue(as_of=as_of), row_errors.get(i.pk, "")) for i in items],
        "truncated": len(items) == APPLY_LIMIT,
    }


def _amount_text(value) -> str:
    """An amount in a message: grouped by thousands, two decimals, as the templates show it."""
    return floatformat(value, "2g")


def _check_apply_rows(rows, open_by_id):
    """Every problem of a typed application at once: ``({instalment id: message}, plan, total)``.

    Each row is checked on its own (a number, not negative, an item of this customer still open, at
    most its open amount), so the user sees every row at fault in one round trip; the service
    checks the plan again under its locks."""
    errors: dict[int, str] = {}
    plan = []
    total = ZERO
    for inst_id, value in rows:
        try:
            amount = to_decimal(value)
        except (ValueError, TypeError, ArithmeticError):
            errors[inst_id] = _("Not an amount.")
            continue
        if amount < 0:
            errors[inst_id] = _("Enter a positive amount.")
        elif inst_id not in open_by_id:
            errors[inst_id] = _("This item is no longer open.")
        elif amount > open_by_id[inst_id]:
            errors[inst_id] = _("More than the open amount (%(open)s).") % {"open": _amount_text(open_by_id[inst_id])}
        elif amount:
            total += amount
            plan.append(services.AllocationInput(instalment_id=inst_id, amount=amount))
    return errors, plan, total


@login_required
@needs("ledger.allocate")
def payment_apply(request, pk: int):
    """Apply unapplied cash: oldest-first in one click (``mode=auto``) or by hand, one amount per instalment.

    A refused manual application comes back with every typed amount, every row at fault marked with
    its reason, and the total checked against the unapplied amount — all in one answer (422)."""
    company = _company(request)
    credit = sel.get_credit(user=request.user, company=company, pk=pk)
    if request.method != "POST":
        return render(request, "ledger/payment_apply.html", _apply_context(request, credit, ApplyForm()))
    form = ApplyForm(request.POST)
    form.is_valid()
    plan = None
    typed: dict[int, str] = {}
    row_errors: dict[int, str] = {}
    if request.POST.get("mode") != "auto":
        rows = []
        for name, value in request.POST.items():
            inst_id = _int(name[4:]) if name.startswith("amt_") else None
            if inst_id is None or not value.strip():
                continue
            typed[inst_id] = value
            rows.append((inst_id, value))
        open_items = sel.open_instalments(user=request.user, company=company, customer=credit.customer,
                                          ids=[i for i, _v in rows])
        row_errors, plan, total = _check_apply_rows(rows, {i.pk: i.open_amount for i in open_items})
        if row_errors:
            form.add_error("plan", ngettext("%(n)d row needs correcting; it is marked below.",
                                            "%(n)d rows need correcting; they are marked below.", len(row_errors))
                           % {"n": len(row_errors)})
        if total > credit.unapplied_amount:
            form.add_error("plan", _("The amounts add up to %(total)s, more than the %(left)s unapplied.")
                           % {"total": _amount_text(total), "left": _amount_text(credit.unapplied_amount)})
        if not form.errors and not plan:
            form.add_error("plan", _("Enter the amount to apply to at least one item."))
    if not form.errors:
        try:
            made = services.allocate(company=company, credit_id=credit.pk, actor=request.user,
                                     on=clock.today(company), plan=plan)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            applied = sum((a.amount for a in made if a.credit_id == credit.pk), ZERO)
            messages.success(request, _("%(amount)s applied.") % {"amount": _amount_text(applied)})
            return _done(request, reverse("web:payment-detail", args=[credit.pk]))
    return _render_form(request, "ledger/payment_apply.html", _apply_context(request, credit, form, typed, row_errors),
                        status=422)


@login_required
@needs("ledger.reverse")
@require_POST
def payment_reverse(request, pk: int):
    credit = sel.get_credit(user=request.user, company=_company(request), pk=pk)
    return _reverse(
        request, obj=credit, nav="payments",
        reverse_fn=lambda **kw: services.reverse_credit(credit_id=credit.pk, **kw),
        done_message=_("%(number)s reversed.") % {"number": credit.number},
        back=reverse("web:payment-detail", args=[credit.pk]), action=reverse("web:payment-reverse", args=[credit.pk]),
    )


@login_required
@needs("ledger.reverse")
@require_POST
def allocation_reverse(request, pk: int, allocation_pk: int):
    credit = sel.get_credit(user=request.user, company=_company(request), pk=pk)
    alloc = credit.allocations.filter(pk=allocation_pk).first()
    if alloc is None:
        raise Http404
    return _reverse(
        request, obj=credit, nav="payments",
        reverse_fn=lambda **kw: services.reverse_allocation(allocation_id=alloc.pk, **kw),
        done_message=_("Allocation of %(amount)s reversed.") % {"amount": alloc.amount},
        back=reverse("web:payment-detail", args=[credit.pk]),
        action=reverse("web:allocation-reverse", args=[credit.pk, alloc.pk]),
    )


# ---------------------------------------------------------------- write-offs


WRITEOFF_SORTS = Sorting({
    "requested": "requested_at", "customer": "customer__name", "document": "instalment__document__number",
    "amount": "amount", "reason": "reason", "status": "status", "requested_by": "requested_by__username",
    "decided_by": "decided_by__username",
}, default="-requested")

FAPIAO_SORTS = Sorting({
    "number": "number", "issued": "issue_date", "type": "fapiao_type", "customer": "customer__name",
    "document": "document__number", "status": "status", "amount": "amount",
}, default="-issued")


def _writeoffs(request):
    """Write-off requests as filtered (requested between ``date_from`` and ``date_to``) and sorted on the page."""
    qs = sel.write_off_requests(user=request.user, company=_company(request))
    return WRITEOFF_SORTS.apply(date_range(qs, "requested_at__date", request.GET), request.GET)


def _writeoff_context(request, **extra):
    company = _company(request)
    pending = sel.pending_write_offs(user=request.user, company=company)
    history = _writeoffs(request).exclude(status=WriteOffStatus.PENDING)
    page, params = _page(request, history)
    return {"nav": "writeoffs", "pending": list(pending[:200]), "page": page, "params": params,
            **WRITEOFF_SORTS.context(request.GET),
            "can_decide": request.user.can("ledger.writeoff.approve"), "decision_form": DecisionForm(), **extra}


@login_required
def writeoff_list(request):
    if _wants_xlsx(request):
        qs = _writeoffs(request)
        return xlsx_response(
            filename="write-offs.xlsx", sheet_title=_("Write-offs"),
            columns=[(_("Requested"), "date"), (_("Customer"), "text"), (_("Document"), "text"), (_("Due date"), "date"),
                     (_("Amount"), "money"), (_("Reason"), "text"), (_("Status"), "text"), (_("Requested by"), "text"),
                     (_("Decided by"), "text"), (_("Decided"), "date"), (_("Note"), "text")],
            rows=((w.requested_at, w.customer.name, w.instalment.document.number, w.instalment.due_date, w.amount,
                   w.reason, w.get_status_display(), str(w.requested_by), str(w.decided_by or ""), w.decided_at,
                   w.decision_note) for w in qs.iterator(chunk_size=2000)),
        )
    return render(request, "ledger/writeoff_list.html", _writeoff_context(request))


@login_required
@needs("ledger.writeoff.request")
def writeoff_new(request, instalment_pk: int):
    company = _company(request)
    inst = sel.get_instalment(user=request.user, company=company, pk=instalment_pk)
    form = WriteOffForm(request.POST or None, initial={"amount": inst.open_amount})
    ctx = {"nav": "writeoffs", "form": form, "instalment": inst}
    if request.method != "POST":
        return render(request, "ledger/writeoff_form.html", ctx)
    if form.is_valid():
        try:
            services.request_write_off(company=company, instalment_id=inst.pk, amount=form.cleaned_data["amount"],
                                       reason=form.cleaned_data["reason"], actor=request.user)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("Write-off requested; another user must approve it."))
            return _done(request, reverse("web:writeoff-list"))
    return _render_form(request, "ledger/writeoff_form.html", ctx, status=422)


@login_required
@needs("ledger.writeoff.approve")
@require_POST
def writeoff_decide(request, pk: int):
    company = _company(request)
    req = sel.get_write_off(user=request.user, company=company, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.decide_write_off(company=company, request_id=req.pk, approve=form.cleaned_data["decision"] == "approve",
                                      actor=request.user, note=form.cleaned_data["note"], on=clock.today(company))
        except DomainError as exc:
            return render(request, "ledger/writeoff_list.html",
                          _writeoff_context(request, decision_error=str(exc.message), error_for=req.pk), status=exc.status)
        messages.success(request, _("Decision recorded."))
        return _done(request, reverse("web:writeoff-list"))
    return render(request, "ledger/writeoff_list.html",
                  _writeoff_context(request, decision_error=_("Choose approve or reject."), error_for=req.pk), status=422)


# ---------------------------------------------------------------- fapiao

FAPIAO_VIEWS = ("all", "invoiced_unpaid", "paid_not_invoiced")


def _fapiao(g, *, company, user):
    """The fapiao register as ``user`` sees it, filtered and sorted by the GET parameters ``g``."""
    qs = sel.fapiao_list(user=user, company=company, q=g.get("q", "").strip(), status=g.get("status", ""),
                         customer_id=_int(g.get("customer")))
    return FAPIAO_SORTS.apply(date_range(qs, "issue_date", g), g)


FAPIAO_EXPORT = "ledger.fapiao"  # the register's exporter (common.export_jobs), registered in WebConfig.ready()


def fapiao_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The fapiao register's XLSX as ``user`` sees it (filters and sort of ``params``), the total last; in the request
    up to ``export_jobs.EXPORT_NOW_ROWS`` rows, else written by the worker (56,000 fapiao took 6.9 s in a request)."""
    qs = _fapiao(params, company=Company.objects.get(pk=company_id), user=user)[:export_jobs.EXPORT_MAX_ROWS]
    total = [ZERO]
    types, statuses = dict(FapiaoType.choices), dict(FapiaoStatus.choices)
    values = qs.values_list("number", "issue_date", "fapiao_type", "customer__name", "document__number", "status",
                            "amount")

    def rows():
        for number, day, kind, customer, document, status, amount in values.iterator(2000):
            total[0] += amount
            yield (number, day, str(types.get(kind, kind)), customer, document or "", str(statuses.get(status, status)),
                   amount)

    return export_jobs.Export(
        filename="fapiao.xlsx", sheet_title=_("Fapiao"),
        columns=[(_("Fapiao number"), "text"), (_("Issue date"), "date"), (_("Type"), "text"),
                 (_("Customer"), "text"), (_("Document"), "text"), (_("Status"), "text"), (_("Amount"), "money")],
        rows=rows(), totals=lambda: ["", "", "", "", "", _("Total"), total[0]], count=qs.count)


@login_required
def fapiao_list(request):
    company = _company(request)
    view = request.GET.get("view", "all")
    if view not in FAPIAO_VIEWS:
        view = "all"
    q = request.GET.get("q", "").strip()
    ctx = {"nav": "fapiao", "view": view, "q": q, "GET": request.GET, "can_record": request.user.can("ledger.fapiao"),
           "statuses": FapiaoStatus.choices, "status": request.GET.get("status", "")}
    if view == "all":
        qs = _fapiao(request.GET, company=company, user=request.user)
        ctx.update(FAPIAO_SORTS.context(request.GET))
        if _wants_xlsx(request):
            return export_jobs.export_or_queue(request, kind=FAPIAO_EXPORT, params=request.GET,
                                               rows=export_jobs.capped_count(qs), title=_("Fapiao"))
    else:
        qs = (sel.invoiced_unpaid if view == "invoiced_unpaid" else sel.paid_not_invoiced)(user=request.user, company=company)
        if q:
            qs = qs.filter(Q(number__icontains=q) | Q(customer__name__icontains=q) | Q(customer__code__icontains=q))
        if _wants_xlsx(request):
            return xlsx_response(
                filename=f"{view}.xlsx", sheet_title=_("Invoiced but unpaid") if view == "invoiced_unpaid" else _("Paid but not invoiced"),
                columns=[(_("Document"), "text"), (_("Date"), "date"), (_("Customer"), "text"), (_("Amount"), "money"),
                         (_("Fapiao (net)"), "money"), (_("Paid"), "money"), (_("Open"), "money")],
                rows=((d.number, d.document_date, d.customer.name, d.total_amount, d.fapiao_net, d.paid_sum, d.open_sum)
                      for d in qs.iterator(chunk_size=2000)),
            )
    page, params = _page(request, qs)
    ctx.update(page=page, params=params)
    return render(request, "ledger/fapiao_list.html", ctx)


@login_required
@needs("ledger.fapiao")
def fapiao_new(request):
    company = _company(request)
    ctx = {"nav": "fapiao"}
    if request.method != "POST":
        initial = {"issue_date": clock.today(company)}
        doc = sel.documents_in_scope(user=request.user, company=company).filter(pk=_int(request.GET.get("document"))).select_related("customer").first()
        if doc is not None:
            initial.update(customer=doc.customer, document=doc.number,
                           amount=max(doc.total_amount - fapiao.net_fapiao_amount(doc.pk), ZERO))
        ctx["form"] = FapiaoForm(initial=initial, company=company, customers=_customers(request))
        return render(request, "ledger/fapiao_form.html", ctx)
    form = FapiaoForm(request.POST, company=company, customers=_customers(request))
    ctx["form"] = form
    if form.is_valid():
        d = form.cleaned_data
        document_id = None
        if d["document"]:
            doc = sel.documents_in_scope(user=request.user, company=company).filter(number=d["document"].strip()).first()
            if doc is None:
                form.add_error("document", _("Unknown document number."))
                return _render_form(request, "ledger/fapiao_form.html", ctx, status=422)
            document_id = doc.pk
        try:
            f = fapiao.record_fapiao(company=company, customer_id=d["customer"].pk, number=d["number"],
                                     fapiao_type=d["fapiao_type"], issue_date=d["issue_date"], amount=d["amount"],
                                     actor=request.user, document_id=document_id, today=clock.today(company))
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("Fapiao %(number)s recorded.") % {"number": f.number})
            return _done(request, reverse("web:fapiao-list"))
    return _render_form(request, "ledger/fapiao_form.html", ctx, status=422)


@login_required
@needs("ledger.fapiao")
def fapiao_red(request, pk: int):
    company = _company(request)
    orig = sel.get_fapiao(user=request.user, company=company, pk=pk)
    left = fapiao.red_left(orig)
    form = RedFapiaoForm(request.POST or None, initial={"issue_date": clock.today(company), "amount": left})
    ctx = {"nav": "fapiao", "form": form, "fapiao": orig, "left": left}
    if request.method != "POST":
        return render(request, "ledger/fapiao_red_form.html", ctx)
    if form.is_valid():
        try:
            red = fapiao.red_reverse_fapiao(company=company, fapiao_id=orig.pk, red_number=form.cleaned_data["red_number"],
                                            issue_date=form.cleaned_data["issue_date"], amount=form.cleaned_data["amount"],
                                            actor=request.user, today=clock.today(company))
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("Red fapiao %(number)s recorded.") % {"number": red.number})
            return _done(request, reverse("web:fapiao-list"))
    return _render_form(request, "ledger/fapiao_red_form.html", ctx, status=422)

