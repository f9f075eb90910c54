"""Prediction screens: the panels of the customer 360 and the document page (htmx, 404 out of scope,
XLSX), the model page (backtest report with the baselines and calibration, versions, activate/rollback)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.common import clock, export_jobs
from huikuan.common.errors import DomainError
from huikuan.common.export import xlsx_response
from huikuan.common.http import company_of, parse_int
from huikuan.common.listing import Sorting, date_range
from huikuan.ledger import selectors as ledger_sel

from . import model, services
from . import selectors as sel
from .models import ModelVersion
from .texts import LIVE_LABELS

PANEL_ROWS = 50
METRICS = ("n", "late_share", "accuracy", "auc", "mae_days_late", "rmse_days_to_settle")


def _needs(request, perm: str):
    if not request.user.can(perm):
        raise PermissionDenied


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def _export(qs, *, filename: str):
    return xlsx_response(filename=filename, sheet_title=_("Payment predictions"), columns=sel.export_columns(),
                         rows=sel.export_rows(qs))


CUSTOMER_EXPORT = "prediction.customer_items"  # its exporter (common.export_jobs), in PredictionConfig.ready()


def customer_items_export(*, company_id: int, user, params) -> export_jobs.Export:
    """Every open item's prediction of the customer ``params["customer"]`` as XLSX, if ``user`` sees the
    customer (else ``ExportUnavailable``)."""
    from huikuan.accounts.models import Company

    try:
        customer = ledger_sel.get_customer(user=user, company=Company.objects.get(pk=company_id),
                                           pk=parse_int(params.get("customer")) or 0)
    except Http404 as exc:
        raise export_jobs.ExportUnavailable(export_jobs.SCOPE_LOST) from exc
    qs = sel.for_customer(customer)[:export_jobs.EXPORT_MAX_ROWS]
    return export_jobs.Export(filename=f"predictions-{customer.code}.xlsx", sheet_title=_("Payment predictions"),
                              columns=sel.export_columns(), rows=sel.export_rows(qs), count=qs.count)


@login_required
def customer_panel(request, pk: int):
    """The prediction section of the customer 360 page (htmx; ?format=xlsx: every open item, by the worker
    above ``export_jobs.EXPORT_NOW_ROWS``)."""
    company = company_of(request)
    customer = ledger_sel.get_customer(user=request.user, company=company, pk=pk)
    qs = sel.for_customer(customer)
    if _wants_xlsx(request):
        return export_jobs.export_or_queue(
            request, kind=CUSTOMER_EXPORT, params={"customer": str(customer.pk)}, rows=export_jobs.capped_count(qs),
            title=f"{_('Payment predictions')} · {customer.code} {customer.name}")
    return render(request, "prediction/_customer_panel.html", {
        "customer": customer, "rows": sel.rows(qs[:PANEL_ROWS]), "s": sel.summary(qs), "more": PANEL_ROWS,
        "has_model": ModelVersion.objects.filter(company=company, is_active=True).exists()})


@login_required
def document_panel(request, pk: int):
    """The prediction of each open instalment of a document (htmx; ?format=xlsx)."""
    company = company_of(request)
    doc = ledger_sel.get_document(user=request.user, company=company, pk=pk)
    qs = sel.for_document(doc)
    if _wants_xlsx(request):
        return _export(qs, filename=f"predictions-{doc.number}.xlsx")
    return render(request, "prediction/_document_panel.html", {
        "doc": doc, "rows": sel.rows(qs),
        "has_model": ModelVersion.objects.filter(company=company, is_active=True).exists()})


def _figure_rows(figures: dict) -> list[dict]:
    out = []
    for name, fig in figures.items():
        out.append({"name": name, "label": LIVE_LABELS.get(name, name), "model": name == "model",
                    "values": [fig.get(m) for m in METRICS], "calibration": fig.get("calibration") or []})
    return out


VERSION_SORTS = Sorting({"version": "version", "trained_at": "trained_at", "by": "trained_by__username", "items": "items",
                        "window": ("window_start", "window_end"), "live": "live", "seconds": "seconds"},
                       default="-version")


@login_required
def models_page(request):
    """The backtest report of a version (default: the active one) beside the baselines, its calibration
    table, and the versions with activate / roll back (?format=xlsx: the report)."""
    _needs(request, "prediction.models")
    company = company_of(request)
    versions = list(VERSION_SORTS.apply(date_range(
        ModelVersion.objects.filter(company=company).defer("blob").select_related("trained_by"), "trained_at__date",
        request.GET), request.GET)[:100])
    wanted = parse_int(request.GET.get("version"))
    if wanted is not None:
        shown = next((v for v in versions if v.version == wanted), None) or (
            ModelVersion.objects.filter(company=company, version=wanted).defer("blob").first())
        if shown is None:
            raise Http404
    else:
        every = ModelVersion.objects.filter(company=company).defer("blob").select_related("trained_by")
        shown = (next((v for v in versions if v.is_active), None) or every.filter(is_active=True).first()
                 or every.order_by("-version").first())
    if _wants_xlsx(request) and request.GET.get("list") == "versions":
        return xlsx_response(
            filename="prediction-versions.xlsx", sheet_title=_("Versions"),
            columns=[(_("Version"), "int"), (_("Trained at"), "date"), (_("By"), "text"), (_("Training items"), "int"),
                     (_("From"), "date"), (_("To"), "date"), (_("Predictions come from:"), "text"), (_("Live"), "text"),
                     (_("Seconds"), "text")],
            rows=([v.version, v.trained_at, str(v.trained_by or ""), v.items, v.window_start, v.window_end,
                   str(LIVE_LABELS.get(v.live, v.live)), _("Yes") if v.is_active else "", str(v.seconds)]
                  for v in versions))
    figures = _figure_rows(shown.backtest) if shown else []
    if _wants_xlsx(request) and shown is not None:
        cal = next((f["calibration"] for f in figures if f["model"]), [])
        cols = [(_("Predicted by"), "text"), (_("Items scored"), "int"), (_("Late share"), "percent"),
                (_("Accuracy"), "percent"), (_("AUC"), "text"), (_("MAE of days late"), "text"),
                (_("RMSE of days to settle"), "text")]

        def pct(v):
            return None if v is None else Decimal(str(v)) * 100

        def text(v):
            return "" if v is None else str(v)

        rows = [[str(f["label"]), f["values"][0], pct(f["values"][1]), pct(f["values"][2]), text(f["values"][3]),
                 text(f["values"][4]), text(f["values"][5])] for f in figures]
        rows += [["", None, None, None, None, None, None], [_("Calibration of the model"), None, None, None,
                                                             _("Predicted"), _("Observed"), _("Items")]]
        rows += [[c["bin"], None, None, None, text(c["predicted"]), text(c["observed"]), text(c["n"])] for c in cal]
        return xlsx_response(filename=f"prediction-backtest-v{shown.version}.xlsx", sheet_title=_("Backtest"),
                             columns=cols, rows=rows)
    return render(request, "prediction/models.html", {
        "nav": "prediction", "versions": versions, "shown": shown, "figures": figures, "metrics": METRICS,
        "live_label": LIVE_LABELS.get(shown.live, shown.live) if shown else "", "baselines": model.BASELINES,
        "calibration": next((f["calibration"] for f in figures if f["model"]), []),
        "can_activate": request.user.can("prediction.activate"), "today": clock.today(company),
        **VERSION_SORTS.context(request.GET)})


@login_required
@require_POST
def activate(request, version: int):
    """Make a version live (a rollback when it is an earlier one) and refresh the stored predictions."""
    _needs(request, "prediction.activate")
    company = company_of(request)
    if not ModelVersion.objects.filter(company=company, version=version).exists():
        raise Http404
    try:
        services.activate(company=company, version=version, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Version %(v)s is live; the predictions were refreshed.") % {"v": version})
    return redirect("prediction:models")


@login_required
def train(request):
    """Train a new version now, in the worker (the weekly job's training on demand); the result appears on
    the page as a new version when it is done."""
    _needs(request, "prediction.activate")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    from django.db import transaction

    from .tasks import train_on_demand

    company = company_of(request)
    day = clock.today(company)
    transaction.on_commit(lambda: train_on_demand.enqueue(company.pk, day.isoformat(), request.user.pk))
    messages.success(request, _("Training on the payment history known on %(day)s has started; the new version "
                                "appears below when it is done (reload the page).") % {"day": day})
    return redirect("prediction:models")
