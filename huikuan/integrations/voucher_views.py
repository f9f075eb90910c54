"""Voucher export screen (凭证导出): account mapping, export of a period, the exports made (XLSX/CSV)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from huikuan.common import clock
from huikuan.common.errors import DomainError
from huikuan.common.export import csv_response, xlsx_response
from huikuan.common.http import company_of, parse_date, parse_int
from huikuan.common.listing import Sorting, date_range

from . import vouchers
from .models import BankAccountCode, VoucherExport
from .voucher_layouts import LAYOUTS


def _finance(request):
    company = company_of(request)
    if not request.user.can(vouchers.PERM):
        raise PermissionDenied
    return company


EXPORT_SORTS = Sorting({"created": "created_at", "layout": "layout", "period": ("period_from", "period_to"),
                       "vouchers": "voucher_count", "credits": "credit_count"}, default="-created")


@login_required
def voucher_page(request):
    from huikuan.banking.models import BankAccount

    company = _finance(request)
    mapping = vouchers.mapping_of(company)
    today = clock.today(company)
    first = today.replace(day=1)
    form = {"layout": "k3cloud", "period_from": first.isoformat(), "period_to": today.isoformat(), "again": False,
            "first_number": "1"}
    error = None
    accounts = list(BankAccount.objects.filter(company=company).order_by("bank", "account_number"))
    codes = dict(BankAccountCode.objects.filter(company=company).values_list("bank_account_id", "account"))
    if request.method == "POST" and request.POST.get("form") == "mapping":
        try:
            vouchers.save_mapping(actor=request.user, company=company,
                                  values={f: request.POST.get(f, "") for f in vouchers.MAPPING_FIELDS},
                                  bank_codes={a.pk: request.POST.get(f"bank_{a.pk}", "") for a in accounts})
            messages.success(request, _("Account mapping saved."))
            return redirect("integrations:vouchers")
        except DomainError as exc:
            error = exc.message
    elif request.method == "POST":
        form = {"layout": request.POST.get("layout", ""), "period_from": request.POST.get("period_from", ""),
                "period_to": request.POST.get("period_to", ""), "again": request.POST.get("again") == "1",
                "first_number": request.POST.get("first_number", "1")}
        try:
            export = vouchers.export_vouchers(
                actor=request.user, company=company, layout=form["layout"],
                period_from=parse_date(form["period_from"]), period_to=parse_date(form["period_to"]),
                again=form["again"], first_number=parse_int(form["first_number"]) or 0)
            messages.success(request, _("Vouchers exported: %(n)s.") % {"n": export.voucher_count})
            return redirect("integrations:vouchers")
        except DomainError as exc:
            error = exc.message
    exports = VoucherExport.objects.filter(company=company).select_related("created_by").defer("lines")
    exports = EXPORT_SORTS.apply(date_range(exports, "created_at__date", request.GET), request.GET)
    if request.GET.get("format") == "xlsx":
        columns = [(_("Created"), "date"), (_("Layout"), "text"), (_("From"), "date"), (_("To"), "date"),
                   (_("Re-export"), "text"), (_("Vouchers"), "int"), (_("Receipts and credits"), "int"),
                   (_("By"), "text")]
        rows = ([e.created_at, str(LAYOUTS[e.layout].label), e.period_from, e.period_to,
                 _("Yes") if e.again else _("No"), e.voucher_count, e.credit_count, str(e.created_by or "")]
                for e in exports)
        return xlsx_response(filename=f"voucher-exports-{company.code}.xlsx", sheet_title=_("Voucher exports"),
                             columns=columns, rows=rows)
    return render(request, "integrations/vouchers.html", {
        "nav": "vouchers", "mapping": mapping, "form": form, "error": error, "exports": exports[:100],
        "layouts": [(k, v.label) for k, v in LAYOUTS.items()],
        "accounts": [(a, codes.get(a.pk, "")) for a in accounts], **EXPORT_SORTS.context(request.GET)},
        status=422 if error else 200)


@login_required
def voucher_download(request, pk, fmt):
    company = _finance(request)
    export = VoucherExport.objects.filter(company=company, pk=pk).first()
    if export is None or fmt not in ("xlsx", "csv"):
        raise Http404
    layout = LAYOUTS[export.layout]
    lines = vouchers.stored_lines(export)
    name = f"vouchers-{export.layout}-{export.period_from:%Y%m%d}-{export.period_to:%Y%m%d}"
    name += f"-re-export-{export.pk}" if export.again else f"-{export.pk}"
    rows = (layout.row(x) for x in lines)
    if fmt == "csv":
        return csv_response(filename=name + ".csv", columns=layout.columns, rows=rows)
    return xlsx_response(filename=name + ".xlsx", sheet_title="凭证" + ("（重新导出）" if export.again else ""),
                         columns=layout.columns, rows=rows)
