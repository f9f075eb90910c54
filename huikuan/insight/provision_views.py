"""Bad-debt provision screens: the report as of a month end (chart, lines, movement by month, XLSX), the
matrix (versions, edit = new version) and individual assessments (request, approve/reject by another person, end)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date
from huikuan.common.listing import Sorting, date_range
from huikuan.ledger.periods import lock_date, month_end

from . import provision as pv
from . import provision_calc as pc
from .models import AssessmentStatus

MATRIX_ROWS = 8
MOVEMENT_MONTHS = (6, 12, 24)


def _needs(request, perm: str):
    if not request.user.can(perm):
        raise PermissionDenied


def last_month_end(today: dt.date) -> dt.date:
    return today.replace(day=1) - dt.timedelta(days=1)


def _as_of(request, company) -> tuple[dt.date, str | None]:
    raw = request.GET.get("as_of")
    if not raw:
        return last_month_end(clock.today(company)), None
    day = parse_date(raw)
    if day is None:
        return last_month_end(clock.today(company)), _("Enter a valid date.")
    return day, None


def _bars(lines):
    top = max([ln.balance for ln in lines] + [Decimal(1)])
    return [{"label": ln.label, "balance_pct": f"{float(ln.balance / top * 100):.1f}",
             "provision_pct": f"{float(ln.provision / top * 100):.1f}", "line": ln} for ln in lines]


@login_required
def provision_page(request):
    _needs(request, "insight.provision.view")
    company = company_of(request)
    as_of, error = _as_of(request, company)
    rep = pv.provision_report(company=company, as_of=as_of)
    try:
        months = int(request.GET.get("months", "12"))
    except ValueError:
        months = 12
    months = months if months in MOVEMENT_MONTHS else 12
    if request.GET.get("format") == "xlsx":
        if request.GET.get("sheet") == "movement":
            rows = pv.movement_report(company=company, until=as_of, months=months)
            return xlsx_response(
                filename=f"provision-movement-{as_of:%Y-%m}.xlsx", sheet_title=_("Provision movement"),
                columns=[(_("Month"), "text"), (_("Opening"), "money"), (_("Charge"), "money"), (_("Release"), "money"),
                         (_("Write-off use"), "money"), (_("Closing"), "money")],
                rows=([f"{r.month:%Y-%m}", r.opening, r.charge, r.release, r.write_off_use, r.closing] for r in rows))
        return xlsx_response(
            filename=f"provision-{as_of.isoformat()}.xlsx", sheet_title=_("Bad-debt provision"),
            columns=[(_("Line"), "text"), (_("Customer"), "text"), (_("Document"), "text"), (_("Reason"), "text"),
                     (_("Receivables"), "money"), (_("Rate (%)"), "percent"), (_("Provision"), "money")],
            rows=([ln.label if ln.kind == "band" else _("Individual assessment"), ln.customer, ln.document, ln.reason,
                   ln.balance, ln.rate, ln.provision] for ln in rep.lines),
            totals=[_("Total"), "", "", "", rep.balance, None, rep.provision])
    movement = pv.movement_report(company=company, until=as_of, months=months) if request.GET.get("movement") else None
    return render(request, "insight/provision.html", {
        "nav": "provisions", "rep": rep, "as_of": as_of, "error": error, "bars": _bars(rep.lines),
        "movement": movement, "months": months, "month_choices": MOVEMENT_MONTHS,
        "lock_date": lock_date(company.pk), "stored": pv.stored_month_ends(company=company),
        "pending": pv.assessments(company=company).filter(status=AssessmentStatus.PENDING).count(),
        "month_end": month_end(as_of) == as_of,
    }, status=422 if error else 200)


def _matrix_form(post) -> tuple[list[dict], list[pc.Band], str | None]:
    rows, bands, error = [], [], None
    for i in range(MATRIX_ROWS):
        row = {k: (post.get(f"{k}_{i}") or "").strip() for k in ("from", "to", "rate")}
        rows.append(row)
        if not any(row.values()):
            continue
        try:
            f = int(row["from"])
            t = int(row["to"]) if row["to"] else None
            if f < 0 or (t is not None and t < 0):
                raise ValueError
        except ValueError:
            error = error or _("Band %(n)s: enter whole months (from, and to unless it is the last band).") % {"n": i + 1}
            continue
        bands.append(pc.Band(f, t, row["rate"]))
    return rows, bands, error


@login_required
def provision_matrix(request):
    _needs(request, "insight.provision.view")
    company = company_of(request)
    current = pv.current_matrix(company=company)
    error = None
    rows = [{"from": str(b.from_months), "to": "" if b.to_months is None else str(b.to_months), "rate": str(b.rate)}
            for b in current.bands]
    rows += [{"from": "", "to": "", "rate": ""}] * (MATRIX_ROWS - len(rows))
    note = ""
    if request.method == "POST":
        _needs(request, "insight.provision.edit")
        rows, bands, error = _matrix_form(request.POST)
        note = (request.POST.get("note") or "").strip()
        if error is None:
            try:
                m = pv.save_matrix(company=company, bands=bands, actor=request.user, note=note)
            except DomainError as exc:
                error = str(exc.message)
            else:
                messages.success(request, _("Provision matrix version %(v)s saved.") % {"v": m.version})
                return redirect("insight:provision-matrix")
    return render(request, "insight/provision_matrix.html", {
        "nav": "provisions", "current": current, "rows": rows, "note": note, "error": error,
        "versions": pv.matrix_versions(company=company), "can_edit": request.user.can("insight.provision.edit"),
        "labels": [pv.band_label(b) for b in current.bands],
    }, status=422 if error else 200)


ASSESSMENT_SORTS = Sorting({
    "customer": "customer__name", "document": "document__number", "rate": "rate", "valid_from": "valid_from",
    "ended_on": "ended_on", "status": "status", "requested_by": "requested_by__username",
    "decided_by": "decided_by__username", "reason": "reason",
}, default="-valid_from")


@login_required
def provision_assessments(request):
    _needs(request, "insight.provision.view")
    company = company_of(request)
    error, form = None, {"customer": "", "document": "", "rate": "100", "reason": "",
                         "valid_from": f"{last_month_end(clock.today(company)).replace(day=1):%Y-%m-%d}"}
    if request.method == "POST":
        _needs(request, "insight.provision.edit")
        form = {k: (request.POST.get(k) or "").strip() for k in form}
        from huikuan.customers.models import Customer
        from huikuan.ledger.models import ReceivableDocument

        customer = Customer.objects.filter(company=company, code=form["customer"]).first()
        doc = (ReceivableDocument.objects.filter(company=company, number=form["document"]).first()
               if form["document"] else None)
        try:
            if customer is None and doc is not None:
                customer = doc.customer
            if customer is None:
                raise pv.ProvisionError(_("Unknown customer."), field="customer")
            if form["document"] and doc is None:
                raise pv.ProvisionError(_("Unknown document of this customer."), field="document")
            pv.request_assessment(company=company, customer_id=customer.pk, document_id=doc.pk if doc else None,
                                  rate=form["rate"], reason=form["reason"], valid_from=parse_date(form["valid_from"]),
                                  actor=request.user)
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("Assessment requested; another person must approve it."))
            return redirect("insight:provision-assessments")
    qs = ASSESSMENT_SORTS.apply(date_range(pv.assessments(company=company), "valid_from", request.GET), request.GET)
    if request.method == "GET" and request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename=f"provision-assessments-{clock.today(company)}.xlsx", sheet_title=_("Individual assessments"),
            columns=[(_("Customer code"), "text"), (_("Customer"), "text"), (_("Document"), "text"), (_("Rate (%)"), "percent"),
                     (_("Valid from"), "date"), (_("Ended on"), "date"), (_("Status"), "text"), (_("Requested by"), "text"),
                     (_("Decided by"), "text"), (_("Reason"), "text")],
            rows=([a.customer.code, a.customer.name, a.document.number if a.document_id else "", a.rate, a.valid_from,
                   a.ended_on, a.get_status_display(), str(a.requested_by or ""), str(a.decided_by or ""), a.reason]
                  for a in qs.iterator(chunk_size=2000)))
    return render(request, "insight/provision_assessments.html", {
        "nav": "provisions", "pending": qs.filter(status=AssessmentStatus.PENDING),
        "decided": qs.exclude(status=AssessmentStatus.PENDING)[:200], "form": form, "error": error,
        **ASSESSMENT_SORTS.context(request.GET),
        "can_edit": request.user.can("insight.provision.edit"),
        "can_approve": request.user.can("insight.provision.approve"),
    }, status=422 if error else 200)


@login_required
@require_POST
def provision_assessment_decide(request, pk: int):
    _needs(request, "insight.provision.approve")
    company = company_of(request)
    action = request.POST.get("decision")
    try:
        if action == "end":
            pv.end_assessment(company=company, assessment_id=pk, ended_on=parse_date(request.POST.get("ended_on")),
                              actor=request.user)
        else:
            pv.decide_assessment(company=company, assessment_id=pk, approve=action == "approve", actor=request.user,
                                 note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Saved."))
    return redirect("insight:provision-assessments")
