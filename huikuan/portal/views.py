"""Customer-facing portal pages. Every page but sign-in needs a portal session (``request.portal_access``);
a staff sign-in is not one. Objects outside the contact's customers answer 404."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.banking.models import BankAccount, HintStatus, RemittanceHint
from huikuan.collections.models import DisputeReason, Promise, PromiseStatus
from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import parse_date
from huikuan.ledger.selectors import customer_summary
from huikuan.statements.export import statement_xlsx_response
from huikuan.statements.models import Statement
from huikuan.statements.selectors import statement_data
from huikuan.statements.services import issued_pdf

from . import actions, middleware, services
from .models import Confirmation

WINDOW = 15 * 60  # seconds of a rate-limit window
LIMITS = {"ip": 30, "address": 5}


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _limited(*keys: tuple[str, str]) -> bool:
    """Count one attempt against each (kind, value); True when any is over its limit in this window."""
    over = False
    for kind, value in keys:
        key = f"portal-rl:{kind}:{value}"
        cache.add(key, 0, WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, WINDOW)
            count = 1
        over = over or count > getattr(settings, "HUIKUAN_PORTAL_LIMITS", LIMITS)[kind]
    return over


def _too_many(request):
    return render(request, "portal/message.html", {"title": _("Too many attempts"), "message": _(
        "Too many sign-in attempts from here. Please wait 15 minutes and try again.")}, status=429)


def portal_login_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.portal_access is None:
            return redirect("portal:signin")
        return view(request, *args, **kwargs)
    return wrapped


def _customer(request, customer_id):
    customer = services.customers_of(request.portal_access).filter(pk=customer_id).select_related(
        "company", "owner").first()
    if customer is None:
        raise Http404
    return customer


def _actor(request):
    return services.service_actor(request.portal_access.company)


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


FORM_FIELDS = {"signer_name", "signer_title", "their_balance", "note", "reason", "amount", "promised_date", "paid_on",
               "upload", "payer_name", "payer_account", "memo"}


def _error_fields(exc: DomainError) -> dict:
    """The error under its field when the page shows that field (or a line of the statement reply),
    else under ``general`` (shown above the form)."""
    field = exc.field or ""
    return {field if field in FORM_FIELDS or field.startswith("line_") else "general": str(exc)}


# ---------------------------------------------------------------- sign-in


def signin(request):
    """Ask for a one-time code by e-mail address or mobile number. The answer is the same page whether
    or not the address belongs to anybody."""
    if request.portal_access is not None:
        return redirect("portal:home")
    if request.method == "POST":
        address = (request.POST.get("address") or "").strip()[:200]
        if _limited(("ip", _ip(request)), ("address", address.lower())):
            return _too_many(request)
        if address:
            services.request_code(address=address, now=clock.now())
            request.portal_session["pending_address"] = address
            return redirect("portal:code")
    return render(request, "portal/signin.html", {})


def code(request):
    address = request.portal_session.get("pending_address", "")
    if not address:
        return redirect("portal:signin")
    error = ""
    if request.method == "POST":
        if _limited(("ip", _ip(request)), ("address", address.lower())):
            return _too_many(request)
        try:
            access = services.use_code(address=address, code=request.POST.get("code", ""), now=clock.now(), ip=_ip(request))
        except services.LinkInvalid as exc:
            error = str(exc)
        else:
            return _start(request, access)
    return render(request, "portal/code.html", {"address": address, "error": error}, status=422 if error else 200)


def link(request, secret: str):
    """GET shows who the link signs in and a button (mail scanners fetch links; they do not press
    buttons); POST spends the link. Any bad link gets the same page, revealing nothing."""
    now = clock.now()
    if request.method == "POST":
        if _limited(("ip", _ip(request)),):
            return _too_many(request)
        try:
            access = services.use_link(secret=secret, now=now, ip=_ip(request))
        except services.LinkInvalid:
            return _invalid(request)
        return _start(request, access)
    try:
        access = services.peek_link(secret=secret, now=now)
    except services.LinkInvalid:
        return _invalid(request)
    return render(request, "portal/link.html", {"access": access})


def _invalid(request):
    return render(request, "portal/invalid.html", {}, status=410)


def _start(request, access):
    middleware.sign_in(request, access)
    response = redirect("portal:home")
    if access.contact.language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, access.contact.language, samesite="Lax")
    return response


@require_POST
def signout(request):
    middleware.sign_out(request)
    return redirect("portal:signin")


# ---------------------------------------------------------------- pages


@portal_login_required
def home(request):
    customers = list(services.customers_of(request.portal_access).order_by("code"))
    if len(customers) == 1:
        return redirect("portal:account", customer_id=customers[0].pk)
    return render(request, "portal/home.html", {"customers": customers})


def _reference(customer) -> str:
    """What to write in the transfer memo: the registration code the cash application recognises
    (``banking.matching``: memo_code), else the customer code."""
    return customer.credit_code or customer.code


@portal_login_required
def account(request, customer_id: int):
    customer = _customer(request, customer_id)
    today = clock.today(customer.company)
    summary = customer_summary(customer=customer, as_of=today, instalment_limit=200, payment_limit=20, timeline_limit=0)
    accounts = list(BankAccount.objects.filter(company=customer.company, is_active=True, currency=customer.currency))
    company = customer.company
    return render(request, "portal/account.html", {
        "customer": customer, "s": summary, "today": today,
        "statements": Statement.objects.filter(customer=customer).order_by("-period_to", "-id")[:12],
        "confirmations": {c.statement_id: c for c in Confirmation.objects.filter(statement__customer=customer, confirmed=True)},
        "promises": Promise.objects.filter(customer=customer, status=PromiseStatus.OPEN).order_by("promised_date"),
        "company_account": (company.bank_name, company.bank_account_name or company.name, company.bank_account_number)
        if company.bank_account_number else None,
        "bank_accounts": accounts, "reference": _reference(customer),
        "several": services.customers_of(request.portal_access).count() > 1,
        "advices": RemittanceHint.objects.filter(customer=customer).exclude(status=HintStatus.DISMISSED)
        .select_related("line").order_by("-created_at", "-id")[:10],
    })


@portal_login_required
def items_xlsx(request, customer_id: int):
    customer = _customer(request, customer_id)
    today = clock.today(customer.company)
    s = customer_summary(customer=customer, as_of=today, instalment_limit=10_000, payment_limit=0, timeline_limit=0)
    return xlsx_response(
        filename=f"open-items-{customer.code}-{today}.xlsx", sheet_title=_("Open items"),
        columns=[(_("Document no."), "text"), (_("Document date"), "date"), (_("Due date"), "date"),
                 (_("Days overdue"), "int"), (_("Open"), "money")],
        rows=[(r.instalment.document.number, r.instalment.document_date, r.instalment.due_date, r.days_overdue,
               r.open_amount) for r in s.open_instalments],
        totals=[_("Total"), None, None, None, s.open_amount])


@portal_login_required
def payments_xlsx(request, customer_id: int):
    customer = _customer(request, customer_id)
    today = clock.today(customer.company)
    s = customer_summary(customer=customer, as_of=today, instalment_limit=0, payment_limit=10_000, timeline_limit=0)
    return xlsx_response(
        filename=f"payments-{customer.code}-{today}.xlsx", sheet_title=_("Payments received"),
        columns=[(_("Date"), "date"), (_("Number"), "text"), (_("Amount"), "money")],
        rows=[(p.date, p.number, p.amount) for p in s.recent_payments])


def _statement(request, customer_id, statement_id) -> Statement:
    customer = _customer(request, customer_id)
    st = Statement.objects.filter(pk=statement_id, customer=customer).select_related("customer", "company").first()
    if st is None:
        raise Http404
    return st


@portal_login_required
def statement_pdf(request, customer_id: int, statement_id: int):
    st = _statement(request, customer_id, statement_id)
    return pdf_response(issued_pdf(statement=st, user=_actor(request)), f"{st.number}.pdf")


@portal_login_required
def statement_xlsx(request, customer_id: int, statement_id: int):
    st = _statement(request, customer_id, statement_id)
    data = statement_data(user=_actor(request), customer=st.customer, period_from=st.period_from, period_to=st.period_to)
    return statement_xlsx_response(data, filename=f"{st.number}.xlsx")


@portal_login_required
def confirmed_pdf(request, customer_id: int, statement_id: int):
    st = _statement(request, customer_id, statement_id)
    conf = Confirmation.objects.filter(statement=st, confirmed=True).order_by("-at").first()
    if conf is None:
        raise Http404
    return pdf_response(bytes(conf.pdf), f"{st.number}-confirmed.pdf")


@portal_login_required
def statement_reply(request, customer_id: int, statement_id: int):
    st = _statement(request, customer_id, statement_id)
    errors, post = {}, request.POST
    if request.method == "POST":
        lines = [{"reference": post.get(f"ref_{i}"), "ours": post.get(f"ours_{i}"), "theirs": post.get(f"theirs_{i}"),
                  "note": post.get(f"why_{i}")} for i in range(5)]
        try:
            actions.reply_to_statement(
                access=request.portal_access, statement_id=st.pk, agree=post.get("agree") == "1",
                signer_name=post.get("signer_name", ""), signer_title=post.get("signer_title", ""),
                their_balance=post.get("their_balance"), lines=lines, note=post.get("note", ""),
                ip=_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""), now=clock.now(),
                today=clock.today(st.company))
        except DomainError as exc:
            errors = _error_fields(exc)
        else:
            return redirect(f"{_account_url(st.customer_id)}#statements")
    return render(request, "portal/statement_reply.html", {
        "st": st, "customer": st.customer, "errors": errors, "post": post, "rows": range(5),
        "default_name": request.portal_access.contact.name, "default_title": request.portal_access.contact.title,
    }, status=422 if errors else 200)


def _account_url(customer_id) -> str:
    from django.urls import reverse

    return reverse("portal:account", kwargs={"customer_id": customer_id})


@portal_login_required
def dispute(request, customer_id: int, instalment_id: int):
    customer = _customer(request, customer_id)
    from huikuan.ledger.models import Instalment

    inst = Instalment.objects.filter(pk=instalment_id, customer=customer, open_amount__gt=0).select_related("document").first()
    if inst is None:
        raise Http404
    errors = {}
    if request.method == "POST":
        try:
            actions.raise_dispute(access=request.portal_access, customer_id=customer.pk, instalment_id=inst.pk,
                                  reason=request.POST.get("reason", ""), amount=request.POST.get("amount"),
                                  note=request.POST.get("note", ""), upload=request.FILES.get("attachment"),
                                  today=clock.today(customer.company))
        except DomainError as exc:
            errors = _error_fields(exc)
        else:
            return redirect(f"{_account_url(customer.pk)}#items")
    return render(request, "portal/dispute.html", {
        "customer": customer, "inst": inst, "errors": errors, "post": request.POST, "reasons": DisputeReason.choices,
    }, status=422 if errors else 200)


@portal_login_required
def promise(request, customer_id: int):
    customer = _customer(request, customer_id)
    errors = {}
    today = clock.today(customer.company)
    if request.method == "POST":
        try:
            actions.promise_to_pay(access=request.portal_access, customer_id=customer.pk, amount=request.POST.get("amount"),
                                   promised_date=parse_date(request.POST.get("promised_date")),
                                   note=request.POST.get("note", ""), today=today)
        except DomainError as exc:
            errors = _error_fields(exc)
        else:
            return redirect(f"{_account_url(customer.pk)}#promises")
    s = customer_summary(customer=customer, as_of=today, instalment_limit=0, payment_limit=0, timeline_limit=0)
    return render(request, "portal/promise.html", {"customer": customer, "errors": errors, "post": request.POST,
                                                   "open_amount": s.open_amount, "today": today},
                  status=422 if errors else 200)


@portal_login_required
def remittance(request, customer_id: int):
    customer = _customer(request, customer_id)
    errors = {}
    today = clock.today(customer.company)
    if request.method == "POST":
        try:
            actions.send_remittance_advice(
                access=request.portal_access, customer_id=customer.pk, amount=request.POST.get("amount"),
                paid_on=parse_date(request.POST.get("paid_on")), upload=request.FILES.get("upload"),
                payer_name=request.POST.get("payer_name", ""), payer_account=request.POST.get("payer_account", ""),
                memo=request.POST.get("memo", ""), today=today)
        except DomainError as exc:
            errors = _error_fields(exc)
        else:
            return redirect(f"{_account_url(customer.pk)}?sent=remittance#pay")
    return render(request, "portal/remittance.html", {"customer": customer, "errors": errors, "post": request.POST,
                                                      "today": today, "reference": _reference(customer)},
                  status=422 if errors else 200)
