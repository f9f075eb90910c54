"""Cash application screens: accounts and upload, statements with their reconciliation, the review
queue, one line with its proposals (confirm / pick / split / on account / ignore / undo), aliases."""

from __future__ import annotations

import functools
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from huikuan.accounts.models import Company
from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import ZERO
from huikuan.common.numbers import whole_percent
from huikuan.customers.models import Customer
from huikuan.ledger.models import Instalment

from . import hints, matching, services
from . import queue as queue_reads
from .charges import bank_charges_by_month
from .models import (
    OPEN_STATUSES,
    BankAccount,
    BankAlias,
    BankLine,
    BankStatement,
    HintStatus,
    LineStatus,
    RemittanceHint,
    SourceFormat,
    StatementLayout,
    StatementUpload,
)
from .parsers import MAP_FIELDS, LayoutUnknown, tables

MAX_UPLOAD = 20 * 1024 * 1024


def _need(request, perm: str):
    if not request.user.can(perm):
        raise PermissionDenied
    return company_of(request)


def _post_only(perm: str):
    """Login, then the permission (403), then the method (405) — the order of the access matrix."""
    def wrap(view):
        @login_required
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            _need(request, perm)
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)
        return inner
    return wrap


def _today(company):
    return clock.today(company)


# ---------------------------------------------------------------- index, accounts, settings, upload


STATEMENT_SORTS = Sorting({"imported": "imported_at", "account": "account__account_number", "file": "file_name",
                          "format": "source_format", "period": ("period_start", "period_end"), "lines": "total_lines",
                          "new": "new_lines"}, default="-imported")
ALIAS_SORTS = Sorting({"name": "name", "customer": "customer__name", "uses": "uses", "created": "created_at"},
                      default="name")


def _statements(request, company):
    """Imported statements as filtered (imported between ``date_from`` and ``date_to``) and sorted on the page."""
    qs = BankStatement.objects.filter(company=company).select_related("account", "imported_by")
    return STATEMENT_SORTS.apply(date_range(qs, "imported_at__date", request.GET), request.GET)


def _aliases(request, company):
    qs = BankAlias.objects.filter(company=company).select_related("customer")
    return ALIAS_SORTS.apply(date_range(qs, "created_at__date", request.GET), request.GET)


@login_required
def index(request):
    company = _need(request, "banking.view")
    accounts = BankAccount.objects.filter(company=company).prefetch_related("layouts")
    page = Paginator(_statements(request, company), 30).get_page(request.GET.get("page"))
    queue = BankLine.objects.filter(company=company, status__in=OPEN_STATUSES, amount__gt=0).aggregate(
        n=Count("id"), total=Sum("amount"))
    conf = services.settings_for(company)
    return render(request, "banking/index.html", {
        "nav": "banking", "accounts": accounts, "page": page, "queue": queue, "conf": conf,
        "profiles": [(c, lbl) for c, lbl in SourceFormat.choices], "can_import": request.user.can("banking.import"),
        "can_settings": request.user.can("banking.settings"), **STATEMENT_SORTS.context(request.GET),
    })


@login_required
def statement_export(request):
    company = _need(request, "banking.view")
    rows = ([s.imported_at, str(s.account), s.file_name, s.get_source_format_display(), s.period_start, s.period_end,
             s.total_lines, s.new_lines, s.opening_balance, s.closing_balance]
            for s in _statements(request, company).iterator())
    cols = [(_("Imported"), "date"), (_("Account"), "text"), (_("File"), "text"), (_("Format"), "text"),
            (_("From"), "date"), (_("To"), "date"), (_("Lines in file"), "int"), (_("New lines"), "int"),
            (_("Opening balance"), "money"), (_("Closing balance"), "money")]
    return xlsx_response(filename="bank-statements.xlsx", sheet_title=_("Bank statements"), columns=cols, rows=rows)


@login_required
def account_new(request):
    company = _need(request, "banking.settings")
    error = ""
    if request.method == "POST":
        try:
            services.create_account(company=company, bank=request.POST.get("bank", ""),
                                    account_number=request.POST.get("account_number", ""),
                                    currency=request.POST.get("currency", "CNY"), name=request.POST.get("name", ""),
                                    actor=request.user)
            messages.success(request, _("Bank account added."))
            return redirect("banking:index")
        except DomainError as exc:
            error = exc.message
    return render(request, "banking/account_form.html", {"nav": "banking", "error": error, "data": request.POST},
                  status=422 if error else 200)


@login_required
def settings_view(request):
    company = _need(request, "banking.settings")
    conf = services.settings_for(company)
    error = ""
    if request.method == "POST":
        try:
            services.update_settings(company=company, actor=request.user,
                                     auto_apply=request.POST.get("auto_apply") == "on",
                                     threshold=request.POST.get("threshold", ""), margin=request.POST.get("margin", ""),
                                     fee_tolerance=request.POST.get("fee_tolerance", ""),
                                     discount_rounding=request.POST.get("discount_rounding", ""))
            messages.success(request, _("Settings saved."))
            return redirect("banking:index")
        except (DomainError, InvalidOperation) as exc:
            error = getattr(exc, "message", str(exc))
    return render(request, "banking/settings.html", {"nav": "banking", "conf": conf, "error": error},
                  status=422 if error else 200)


@_post_only("banking.import")
def upload(request):
    company = _need(request, "banking.import")
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, _("Choose a statement file."))
        return redirect("banking:index")
    if f.size > MAX_UPLOAD:
        messages.error(request, _("The file is too large."))
        return redirect("banking:index")
    suffix = Path(f.name).suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with open(path, "wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
        account_id = parse_int(request.POST.get("account"))
        try:
            res = services.import_statement(company=company, path=path, file_name=f.name, actor=request.user,
                                            account_id=account_id, profile=request.POST.get("profile", ""),
                                            on=_today(company))
        except LayoutUnknown:
            kept = services.keep_upload(company=company, path=path, file_name=f.name, actor=request.user,
                                        account_id=account_id)
            return redirect("banking:upload-map", pk=kept.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("banking:index")
    return _imported(request, res)


def _imported(request, res):
    m = res.matched or {}
    messages.success(request, _("%(new)s new lines (%(dup)s already imported); %(auto)s applied automatically, "
                                "%(sugg)s to review.") % {"new": res.new, "dup": res.duplicates,
                                                          "auto": m.get("auto_applied", 0),
                                                          "sugg": m.get("suggested", 0) + m.get("unmatched", 0)})
    return redirect("banking:statement", pk=res.statement.pk)


def _kept_upload(request, pk) -> StatementUpload:
    company = _need(request, "banking.import")
    return get_object_or_404(StatementUpload.objects.select_related("account"), pk=pk, company=company,
                             created_by=request.user)


def _preview(upload: StatementUpload):
    suffix = Path(upload.file_name).suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(bytes(upload.content))
        _fmt, rows = tables.open_rows(path, upload.file_name)
    return tables.preview(rows)


@login_required
def upload_map(request, pk):
    """The mapping step of a layout the product does not know: the first rows of the file and, per
    field, a column picker showing three sample values of each column."""
    upload = _kept_upload(request, pk)
    company = upload.company
    view = _preview(upload)
    accounts = list(BankAccount.objects.filter(company=company, is_active=True))
    chosen = parse_int(request.POST.get("account")) if request.method == "POST" else None
    if chosen is None:
        chosen = upload.account_id or next((a.pk for a in accounts if view.account_number and "".join(
            ch for ch in a.account_number if ch.isdigit()) == view.account_number), None)
    picked = {code: request.POST.get(f"col_{code}", "") for code in MAP_FIELDS} if request.method == "POST" else \
        tables.guess_mapping(view.headers, view.samples)
    error = ""
    if request.method == "POST":
        pairs = [(column, code) for code, column in picked.items() if column]
        try:
            res = services.import_upload(company=company, upload_id=upload.pk, actor=request.user, mapping=pairs,
                                         account_id=chosen, on=_today(company))
        except DomainError as exc:
            error = exc.message
        else:
            return _imported(request, res)
    options = [(h, " | ".join(view.samples.get(h, []))) for h in view.headers if h]
    return render(request, "banking/map.html", {
        "nav": "banking", "upload": upload, "view": view, "accounts": accounts, "chosen": chosen, "error": error,
        "fields": [(code, label, picked.get(code, "")) for code, label in MAP_FIELDS.items()], "options": options,
    }, status=422 if error else 200)


@_post_only("banking.import")
def upload_discard(request, pk):
    upload = _kept_upload(request, pk)
    services.discard_upload(company=upload.company, upload_id=upload.pk, actor=request.user)
    messages.success(request, _("The upload was discarded."))
    return redirect("banking:index")


@_post_only("banking.settings")
def layout_forget(request, pk):
    company = _need(request, "banking.settings")
    layout = get_object_or_404(StatementLayout, pk=pk, company=company)
    services.forget_layout(company=company, layout_id=layout.pk, actor=request.user)
    messages.success(request, _("The saved layout was forgotten; the next file of that layout is mapped again."))
    return redirect("banking:index")


# ---------------------------------------------------------------- statements & reconciliation


def reconciliation(statement: BankStatement) -> dict:
    """Counts and totals by outcome for the lines a statement brought in, and whether it ties."""
    lines = BankLine.objects.filter(statement=statement)
    agg = lines.aggregate(
        total=Sum("amount"), n=Count("id"),
        auto_n=Count("id", filter=Q(status=LineStatus.AUTO_APPLIED)),
        auto=Sum("amount", filter=Q(status=LineStatus.AUTO_APPLIED)),
        conf_n=Count("id", filter=Q(status=LineStatus.CONFIRMED)),
        conf=Sum("amount", filter=Q(status=LineStatus.CONFIRMED)),
        unap_n=Count("id", filter=Q(status=LineStatus.UNAPPLIED)),
        unap=Sum("amount", filter=Q(status=LineStatus.UNAPPLIED)),
        ign_n=Count("id", filter=Q(status=LineStatus.IGNORED)),
        ign=Sum("amount", filter=Q(status=LineStatus.IGNORED)),
        open_n=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        open=Sum("amount", filter=Q(status__in=OPEN_STATUSES)),
        in_total=Sum("amount", filter=Q(amount__gt=0)), out_total=Sum("amount", filter=Q(amount__lt=0)),
    )
    zero = Decimal("0.00")
    agg = {k: (v if v is not None else (0 if k.endswith("_n") or k == "n" else zero)) for k, v in agg.items()}
    # Σ of every line of the file, including those an earlier statement had already brought in
    movement = statement.file_movement
    expected = None
    difference = None
    if statement.opening_balance is not None and statement.closing_balance is not None and movement is not None:
        expected = statement.opening_balance + movement
        difference = statement.closing_balance - expected
    agg.update({"expected": expected, "difference": difference, "movement": movement})
    return agg


@login_required
def statement(request, pk):
    company = _need(request, "banking.view")
    st = get_object_or_404(BankStatement.objects.select_related("account"), pk=pk, company=company)
    lines = st.lines.select_related("customer", "credit")
    status = request.GET.get("status", "")
    if status in LineStatus.values:
        lines = lines.filter(status=status)
    page = Paginator(lines, 100).get_page(request.GET.get("page"))
    return render(request, "banking/statement.html", {
        "nav": "banking", "st": st, "page": page, "rec": reconciliation(st), "statuses": LineStatus.choices,
        "status": status,
    })


def _line_columns():
    return [(_("Date"), "date"), (_("Amount"), "money"), (_("Counterparty"), "text"), (_("Counterparty account"), "text"),
            (_("Memo"), "text"), (_("Bank serial no."), "text"), (_("Status"), "text"), (_("Confidence"), "percent"),
            (_("Customer"), "text"), (_("Payment"), "text")]


def _line_rows(qs):
    for ln in qs.select_related("customer", "credit").iterator(chunk_size=2000):
        yield [ln.date, ln.amount, ln.counterparty_name, ln.counterparty_account, ln.memo, ln.serial,
               ln.get_status_display(), ln.confidence * 100, ln.customer.name if ln.customer_id else "",
               ln.credit.number if ln.credit_id else ""]


@login_required
def statement_lines_export(request, pk):
    company = _need(request, "banking.view")
    st = get_object_or_404(BankStatement, pk=pk, company=company)
    rec = reconciliation(st)
    return xlsx_response(filename=f"bank-statement-{st.pk}.xlsx", sheet_title=_("Bank statement"),
                         columns=_line_columns(), rows=_line_rows(st.lines.all()),
                         totals=[_("Total"), rec["total"], "", "", "", "", "", None, "", ""])


@login_required
def reconciliation_export(request, pk):
    company = _need(request, "banking.view")
    st = get_object_or_404(BankStatement, pk=pk, company=company)
    rec = reconciliation(st)
    rows = [
        [_("Applied automatically"), rec["auto_n"], rec["auto"]],
        [_("Confirmed by hand"), rec["conf_n"], rec["conf"]],
        [_("Unapplied cash on account"), rec["unap_n"], rec["unap"]],
        [_("Ignored"), rec["ign_n"], rec["ign"]],
        [_("Still to review"), rec["open_n"], rec["open"]],
        [_("Opening balance"), None, st.opening_balance],
        [_("Opening balance + lines"), None, rec["expected"]],
        [_("Closing balance"), None, st.closing_balance],
        [_("Difference"), None, rec["difference"]],
    ]
    return xlsx_response(filename=f"reconciliation-{st.pk}.xlsx", sheet_title=_("Reconciliation"),
                         columns=[(_("Outcome"), "text"), (_("Lines"), "int"), (_("Amount"), "money")], rows=rows)


# ---------------------------------------------------------------- queue & line


QUEUE_PAGE = 50


def _queue_filters(request, company):
    return queue_reads.read_filters(request.GET, company=company)


def _queue_url(query: str) -> str:
    return reverse("banking:queue") + (f"?{query}" if query else "")


@login_required
def queue(request):
    company = _need(request, "banking.view")
    f = _queue_filters(request, company)
    qs = queue_reads.queue_lines(company=company, filters=f).select_related("customer")
    page = Paginator(qs, QUEUE_PAGE).get_page(request.GET.get("page"))
    found = hints.hints_for_lines(company=company, lines=page)
    for ln in page:
        ln.hints = found.get(ln.pk, [])
        ln.first = (ln.proposals or [None])[0]
    names = {"min": _("Amount from"), "max": _("Amount to"), "from": _("Date from"), "to": _("Date to"),
             "customer": _("Customer")}
    for key in f.problems:
        messages.warning(request, _("%(field)s was not understood and is not applied.") % {"field": names[key]})
    recent = (RemittanceHint.objects.filter(company=company).exclude(status=HintStatus.DISMISSED)
              .select_related("customer", "line").order_by("-created_at", "-id")[:20])
    return render(request, "banking/queue.html", {
        "nav": "banking", "page": page, "recent_hints": recent, "f": f, "query": f.query(),
        **queue_reads.QUEUE_SORTS.context(request.GET),
        "statuses": queue_reads.status_choices(), "bands": queue_reads.band_choices(),
        "accounts": BankAccount.objects.filter(company=company), "max_bulk": services.MAX_BULK,
        "can_confirm": request.user.can("banking.confirm"), "can_import": request.user.can("banking.import"),
    })


QUEUE_EXPORT = "banking.queue"  # the queue's exporter (common.export_jobs), registered in BankingConfig.ready()


def queue_lines_export(*, company_id: int, user, params) -> export_jobs.Export:
    """The review queue's XLSX (filters and sort of ``params``); ``banking.view`` is needed when it is written too
    (a requester who lost it gets ``ExportUnavailable``)."""
    if not user.can("banking.view"):
        raise export_jobs.ExportUnavailable(export_jobs.SCOPE_LOST)
    company = Company.objects.get(pk=company_id)
    qs = queue_reads.queue_lines(company=company, filters=queue_reads.read_filters(params, company=company))[
        :export_jobs.EXPORT_MAX_ROWS]
    return export_jobs.Export(filename="bank-review-queue.xlsx", sheet_title=_("Review queue"),
                              columns=_line_columns(), rows=_line_rows(qs), count=qs.count)


@login_required
def queue_export(request):
    """The queue's "Export XLSX": at once up to ``export_jobs.EXPORT_NOW_ROWS`` lines, else a job."""
    company = _need(request, "banking.view")
    qs = queue_reads.queue_lines(company=company, filters=_queue_filters(request, company))
    return export_jobs.export_or_queue(request, kind=QUEUE_EXPORT, params=request.GET,
                                       rows=export_jobs.capped_count(qs), title=_("Review queue"))


@_post_only("banking.confirm")
def queue_confirm(request):
    """Confirm the first suggestion of every selected line; each line applies or is reported on its own."""
    company = _need(request, "banking.confirm")
    back = _queue_url(request.POST.get("back", "")[:1000])
    ids = [i for i in (parse_int(v) for v in request.POST.getlist("line")) if i]
    try:
        outcomes = services.confirm_many(company=company, line_ids=ids, actor=request.user, on=_today(company))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    done = [o for o in outcomes if o.applied]
    failed = [o for o in outcomes if not o.applied]
    if done:
        total = sum((o.line.amount for o in done), ZERO)
        messages.success(request, _("%(n)s lines confirmed, %(total)s applied. Each can be undone on its line.")
                         % {"n": len(done), "total": f"{total:,.2f}"})
    if failed:
        lines = {ln.pk: ln for ln in BankLine.objects.filter(company=company, pk__in=[o.line_id for o in failed])}
        for o in failed[:20]:
            ln = lines.get(o.line_id)
            what = f"{ln.date:%Y-%m-%d} {ln.amount:,.2f} {ln.counterparty_name}".strip() if ln else f"#{o.line_id}"
            messages.error(request, _("Not applied — %(line)s: %(reason)s") % {"line": what, "reason": o.message})
        if len(failed) > 20:
            messages.error(request, _("%(n)s more lines were not applied.") % {"n": len(failed) - 20})
    return redirect(back)


def _proposal_view(p: dict) -> dict:
    return {**p, "confidence_pct": whole_percent(p["confidence"]),
            "reason_texts": [matching.reason_text(code, params) for code, params in p.get("reasons", [])],
            "alloc_rows": [{"instalment": i, "amount": a, "discount": d, "number": n} for i, a, d, n in p["allocations"]]}


@login_required
def line(request, pk):
    company = _need(request, "banking.view")
    ln = get_object_or_404(BankLine.objects.select_related("statement", "account", "customer", "credit"), pk=pk,
                           company=company)
    pick = None
    code = (request.GET.get("customer") or "").strip()
    open_items = []
    if code:
        pick = Customer.objects.filter(company=company).filter(Q(code=code) | Q(name=code)).first()
        if pick is None:
            messages.error(request, _("No customer with this code or name."))
        else:
            open_items = list(Instalment.objects.filter(customer=pick, open_amount__gt=0)
                              .select_related("document").order_by("due_date", "id")[:200])
    return render(request, "banking/line.html", {
        "nav": "banking", "ln": ln, "proposals": [_proposal_view(p) for p in ln.proposals or []],
        "applications": ln.applications.select_related("customer", "credit"),
        "is_open": ln.status in OPEN_STATUSES and ln.amount > 0, "pick": pick, "open_items": open_items,
        "hints": hints.hints_for_lines(company=company, lines=[ln]).get(ln.pk, []),
        "used_hints": ln.used_hints.select_related("customer"),
        "can_confirm": request.user.can("banking.confirm"),
        "can_undo": ln.status in (LineStatus.AUTO_APPLIED, LineStatus.CONFIRMED, LineStatus.UNAPPLIED),
    })


@login_required
def hint_file(request, pk):
    """The remittance advice a customer sent (private: only through this view, 404 for another company)."""
    company = _need(request, "banking.view")
    hint = get_object_or_404(RemittanceHint, pk=pk, company=company)
    if not hint.file:
        raise Http404
    return FileResponse(hint.file.open("rb"), as_attachment=True, filename=hint.file.name.rsplit("/", 1)[-1],
                        content_type=hint.content_type or "application/octet-stream")


def _act(request, pk, action):
    company = _need(request, "banking.confirm")
    ln = get_object_or_404(BankLine, pk=pk, company=company)
    try:
        action(company, ln)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("banking:line", pk=ln.pk)
    nxt = BankLine.objects.filter(company=company, status__in=OPEN_STATUSES, amount__gt=0).exclude(pk=ln.pk) \
        .order_by("-confidence", "date", "id").values_list("pk", flat=True).first()
    if request.POST.get("next") == "queue":
        return redirect(_queue_url(request.POST.get("back", "")[:1000]))
    if nxt and ln.pk and request.POST.get("next") == "line":
        return redirect("banking:line", pk=nxt)
    return redirect("banking:line", pk=ln.pk)


@_post_only("banking.confirm")
def line_confirm(request, pk):
    def go(company, ln):
        services.confirm_proposal(company=company, line_id=ln.pk, index=parse_int(request.POST.get("index")) or 0,
                                  actor=request.user, on=_today(company))
        messages.success(request, _("Applied."))
    return _act(request, pk, go)


@_post_only("banking.confirm")
def line_apply(request, pk):
    """A hand-made plan: one customer's instalments with amounts; the rest on that customer's account."""
    def go(company, ln):
        cid = parse_int(request.POST.get("customer"))
        if not cid or not Customer.objects.filter(pk=cid, company=company).exists():
            raise services.BankingError(_("Choose a customer."))
        allocs = []
        for key, value in request.POST.items():
            if key.startswith("amt-") and value.strip():
                iid = parse_int(key[4:])
                try:
                    amt = Decimal(value.strip().replace(",", ""))
                except InvalidOperation as exc:
                    raise services.BankingError(_("Enter a valid amount.")) from exc
                if iid and amt:
                    allocs.append((iid, amt, Decimal(0)))
        parts = [services.Part(customer_id=cid, allocations=allocs)]
        services.apply_line(company=company, line_id=ln.pk, parts=parts, actor=request.user, on=_today(company))
        messages.success(request, _("Applied."))
    return _act(request, pk, go)


@_post_only("banking.confirm")
def line_on_account(request, pk):
    def go(company, ln):
        cid = parse_int(request.POST.get("customer"))
        if not cid:
            raise services.BankingError(_("Choose a customer."))
        services.post_on_account(company=company, line_id=ln.pk, customer_id=cid, actor=request.user, on=_today(company))
        messages.success(request, _("Posted as unapplied cash on account."))
    return _act(request, pk, go)


@_post_only("banking.confirm")
def line_ignore(request, pk):
    def go(company, ln):
        services.ignore_line(company=company, line_id=ln.pk, actor=request.user, note=request.POST.get("note", ""),
                             ignore=request.POST.get("restore") != "1", category=request.POST.get("category", ""))
    return _act(request, pk, go)


@_post_only("banking.confirm")
def line_undo(request, pk):
    def go(company, ln):
        services.undo_line(company=company, line_id=ln.pk, actor=request.user, on=_today(company),
                           reason=request.POST.get("reason", ""))
        messages.success(request, _("Reversed; the line is back in the queue."))
    return _act(request, pk, go)


# ---------------------------------------------------------------- aliases


@login_required
def aliases(request):
    company = _need(request, "banking.view")
    page = Paginator(_aliases(request, company), 100).get_page(request.GET.get("page"))
    return render(request, "banking/aliases.html", {"nav": "banking", "page": page, **ALIAS_SORTS.context(request.GET),
                                                    "can_settings": request.user.can("banking.settings")})


@login_required
def aliases_export(request):
    company = _need(request, "banking.view")
    rows = ([a.name, a.customer.code, a.customer.name, a.uses, a.created_at]
            for a in _aliases(request, company).iterator())
    return xlsx_response(filename="payer-aliases.xlsx", sheet_title=_("Payer aliases"),
                         columns=[(_("Payer name"), "text"), (_("Code"), "text"), (_("Customer"), "text"),
                                  (_("Confirmations"), "int"), (_("Created"), "date")], rows=rows)


@_post_only("banking.settings")
def alias_forget(request, pk):
    company = _need(request, "banking.settings")
    try:
        services.forget_alias(company=company, alias_id=pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("banking:aliases"))


# ---------------------------------------------------------------- bank charges by month


def _charge_year(request, company) -> int:
    try:
        return max(2000, min(2100, int(request.GET.get("year", ""))))
    except ValueError:
        return _today(company).year


@login_required
def charges(request):
    company = _need(request, "banking.view")
    year = _charge_year(request, company)
    months = bank_charges_by_month(company=company, year=year)
    total = sum((m.amount for m in months), ZERO)
    return render(request, "banking/charges.html", {"nav": "banking", "months": months, "year": year,
                                                    "total": total, "count": sum(m.count for m in months)})


@login_required
def charges_export(request):
    company = _need(request, "banking.view")
    year = _charge_year(request, company)
    rows = ([m.month.strftime("%Y-%m"), m.count, m.amount, m.customers, m.reversed_count, m.reversed_amount]
            for m in bank_charges_by_month(company=company, year=year))
    return xlsx_response(filename=f"bank-charges-{year}.xlsx", sheet_title=_("Bank charges"),
                         columns=[(_("Month"), "text"), (_("Bank charges"), "int"), (_("Amount"), "money"),
                                  (_("Customers"), "int"), (_("Reversed"), "int"), (_("Reversed amount"), "money")],
                         rows=rows)

