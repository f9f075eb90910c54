"""The acceptance-bill register (票据台账): every bill taken in payment, by maturity, with a reminder
before each one matures so it is presented for payment (提示付款) in time."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils.translation import gettext as _

from huikuan.collections.bills import REMIND_DAYS  # the daily reminder task uses the same window
from huikuan.common import clock
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.common.money import ZERO, MoneyField
from huikuan.common.paging import capped_page
from huikuan.ledger import selectors as sel
from huikuan.ledger.models import BillStatus, Method

PAGE_SIZE = 50

BILL_SORTS = Sorting({"maturity": "bill_maturity_date", "number": "bill_number", "kind": "method", "acceptor": "bill_acceptor",
                      "customer": "customer__name", "payment": ("date", "number"), "status": "bill_status",
                      "amount": "amount"}, default="maturity")


def _filters(request) -> dict:
    g = request.GET
    status = g.get("status", "open")
    if status not in ("open", "all", *BillStatus.values):
        status = "open"
    method = g.get("method", "") if g.get("method", "") in sel.BILL_METHODS else ""
    remind = parse_int(g.get("remind"))
    remind = REMIND_DAYS if remind is None or not 0 <= remind <= 365 else remind
    return {"status": status, "method": method, "q": (g.get("q") or "").strip()[:60], "remind": remind,
            "soon": g.get("soon") == "1"}


@login_required
def bill_register(request):
    company = company_of(request)
    today = clock.today(company)
    f = _filters(request)
    remind_until = today + dt.timedelta(days=f["remind"])
    qs = sel.bill_register(user=request.user, company=company, status=f["status"], method=f["method"], q=f["q"],
                           matures_by=remind_until if f["soon"] else None)
    qs = BILL_SORTS.apply(date_range(date_range(qs, "bill_maturity_date", request.GET, prefix="due"), "date",
                                     request.GET), request.GET)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            filename="bill-register.xlsx", sheet_title=_("Bill register"),
            columns=[(_("Maturity"), "date"), (_("Days to maturity"), "int"), (_("Bill number"), "text"),
                     (_("Kind"), "text"), (_("Acceptor"), "text"), (_("Customer code"), "text"), (_("Customer"), "text"),
                     (_("Payment"), "text"), (_("Date received"), "date"), (_("Bill status"), "text"), (_("Amount"), "money")],
            rows=((c.bill_maturity_date, (c.bill_maturity_date - today).days if c.bill_maturity_date else None,
                   c.bill_number, c.get_method_display(), c.bill_acceptor, c.customer.code, c.customer.name, c.number,
                   c.date, c.get_bill_status_display(), c.amount) for c in qs.iterator(chunk_size=2000)))
    open_qs = sel.bill_register(user=request.user, company=company, status="open")
    money = MoneyField()
    summary = open_qs.aggregate(
        soon_count=Count("pk", filter=Q(bill_maturity_date__gte=today, bill_maturity_date__lte=remind_until)),
        soon_amount=Coalesce(Sum("amount", filter=Q(bill_maturity_date__gte=today, bill_maturity_date__lte=remind_until)),
                             ZERO, output_field=money),
        past_count=Count("pk", filter=Q(bill_maturity_date__lt=today)),
        past_amount=Coalesce(Sum("amount", filter=Q(bill_maturity_date__lt=today)), ZERO, output_field=money),
        commercial_amount=Coalesce(Sum("amount", filter=Q(method=Method.COMMERCIAL_ACCEPTANCE)), ZERO,
                                   output_field=money),
        open_amount=Coalesce(Sum("amount"), ZERO, output_field=money),
    )
    page = capped_page(qs, PAGE_SIZE, request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "ledger/bill_register.html", {
        "nav": "payments", "page": page, "params": params.urlencode(), "f": f, "today": today,
        "remind_until": remind_until, "summary": summary, "bill_statuses": BillStatus.choices,
        "methods": [(m, label) for m, label in Method.choices if m in sel.BILL_METHODS],
        **BILL_SORTS.context(request.GET),
    })
