"""Receivables financing screen (应收账款融资 / 保理): eligible items by criteria, XLSX, evidence ZIP, mark financed
and release."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.common.paging import capped_page

from . import financing, financing_evidence
from .models import FinancedItem

FINANCED_SORTS = Sorting({
    "customer": "instalment__customer__name", "document": "instalment__document__number", "due": "instalment__due_date",
    "bank": "bank", "reference": "reference", "financed_on": "financed_on", "amount": "amount",
    "open": "instalment__open_amount"}, default="-financed_on")
ELIGIBLE_SORTS = Sorting({"customer": "customer__name", "grade": "grade", "document": "document__number",
                          "due": "due_date", "open": "open_amount"}, default="due")


@login_required
def financing_page(request):
    company = company_of(request)
    if not request.user.can(financing.PERM):
        raise PermissionDenied
    today = clock.today(company)
    if request.method == "POST":
        p = request.POST
        ids = [i for i in p.getlist("items") if i.isdigit()]
        try:
            if p.get("action") == "zip":
                data = financing_evidence.build_zip(company=company, instalment_ids=ids)
                resp = HttpResponse(data, content_type="application/zip")
                resp["Content-Disposition"] = f'attachment; filename="financing-evidence-{company.code}-{today}.zip"'
                return resp
            if p.get("release"):
                row = financing.release(actor=request.user, company=company, financed_id=parse_int(p.get("release")) or 0,
                                        reason=p.get("reason", ""), today=today)
                messages.success(request, _("Financing mark of %(doc)s released.") % {"doc": row.instalment.document.number})
            else:
                rows = financing.mark_financed(actor=request.user, company=company, instalment_ids=ids,
                                               bank=p.get("bank", ""), reference=p.get("reference", ""),
                                               financed_on=parse_date(p.get("financed_on")), today=today)
                messages.success(request, _("Items marked as financed: %(n)s.") % {"n": len(rows)})
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(request.get_full_path())
    g = request.GET
    min_days, max_days = parse_int(g.get("min_days")), parse_int(g.get("max_days"))
    criteria = financing.Criteria(
        as_of=today, min_days=max(0, min_days if min_days is not None else 0),
        max_days=min(3650, max_days if max_days is not None else 180),
        grades=tuple(x.strip().upper() for x in (g.get("grades") or "").split(",") if x.strip()),
        confirmed_only=g.get("confirmed") == "1")
    show = g.get("show", "eligible")
    if show == "financed":
        qs = (FinancedItem.objects.filter(company=company)
              .select_related("instalment__customer", "instalment__document", "released_by").order_by("-financed_on", "-id"))
        if g.get("released") != "1":
            qs = qs.filter(released_on__isnull=True)
        sorting = FINANCED_SORTS
        qs = sorting.apply(date_range(qs, "financed_on", g), g)
        if g.get("format") == "xlsx":
            columns = [(_("Customer"), "text"), (_("Document"), "text"), (_("Due date"), "date"), (_("Bank"), "text"),
                       (_("Financing contract"), "text"), (_("Financed on"), "date"), (_("Financed amount"), "money"),
                       (_("Open amount"), "money"), (_("Released on"), "date"), (_("Reason"), "text")]
            rows = ([f.instalment.customer.name, f.instalment.document.number, f.instalment.due_date, f.bank, f.reference,
                     f.financed_on, f.amount, f.instalment.open_amount, f.released_on, f.release_reason]
                    for f in qs.iterator())
            return xlsx_response(filename=f"financed-{company.code}.xlsx", sheet_title=_("Financed items"),
                                 columns=columns, rows=rows)
    else:
        sorting = ELIGIBLE_SORTS
        qs = sorting.apply(financing.eligible(company=company, criteria=criteria), g)
        if g.get("format") == "xlsx":
            columns = [(_("Customer"), "text"), (_("Grade"), "text"), (_("Document"), "text"), (_("Document date"), "date"),
                       (_("Due date"), "date"), (_("Open amount"), "money")]
            rows = ([i.customer.name, i.grade or "", i.document.number, i.document_date, i.due_date, i.open_amount]
                    for i in qs.iterator())
            return xlsx_response(filename=f"financing-{company.code}.xlsx", sheet_title=_("Financing list"),
                                 columns=columns, rows=rows)
    params = {k: v for k, v in g.items() if k not in ("page", "format")}
    return render(request, "integrations/financing.html", {
        "nav": "financing", "page": capped_page(qs, 100, g.get("page")), "criteria": criteria, "show": show,
        "params": urlencode(params), "today": today, "grades": ",".join(criteria.grades),
        "released": g.get("released") == "1", **sorting.context(g)})
