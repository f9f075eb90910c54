"""``GET /api/v1/forecast/``: the 13-week cash-in forecast stored for an as-of date, for what the key's user
may see. Same cube and reading as the forecast page (``huikuan.prediction.forecast``); a key limited to one
customer gets 404 (the forecast is kept per salesperson, group and currency, not per customer)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.prediction import forecast as fc

from .errors import ApiError
from .models import ApiKey
from .serializers import ErrorEnvelope, MoneyOutput
from .views import _query_date, company_of


class ForecastWeekOut(serializers.Serializer):
    week = serializers.IntegerField(help_text="1–13; 14 is beyond the 13 weeks")
    start = serializers.DateField(allow_null=True, help_text="first day of the week (null for beyond)")
    end = serializers.DateField(allow_null=True)
    p10 = MoneyOutput(help_text="open amount whose early (P10) predicted payment date falls in the week")
    p50 = MoneyOutput(help_text="open amount whose predicted (P50) payment date falls in the week")
    p90 = MoneyOutput(help_text="open amount whose late (P90) predicted payment date falls in the week")
    naive = MoneyOutput(help_text="open amount falling due in the week (overdue amounts in week 1)")
    orders = MoneyOutput(allow_null=True, help_text="expected from open orders (with orders=true), else null")


class ForecastLineOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="salesperson id, group id or currency; null for none")
    label = serializers.CharField()
    p50 = serializers.ListField(child=MoneyOutput(), help_text="14 amounts: weeks 1–13, then beyond")
    total = MoneyOutput()


class ForecastOut(serializers.Serializer):
    as_of = serializers.DateField()
    currency = serializers.CharField()
    currencies = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField(help_text="model, a baseline's name when the backtest chose one, or due_date "
                                             "when no model has been trained")
    model_version = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField()
    open_amount = MoneyOutput()
    overdue_amount = MoneyOutput()
    group_by = serializers.CharField()
    weeks = ForecastWeekOut(many=True)
    lines = ForecastLineOut(many=True)


class ForecastView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", str, description="YYYY-MM-DD of a computed forecast; default the latest"),
            OpenApiParameter("group_by", str, enum=list(fc.DIMENSIONS), description="default total (no lines)"),
            OpenApiParameter("currency", str, description="default the company's base currency"),
            OpenApiParameter("orders", bool, description="add expected collections of open orders not yet invoiced"),
        ],
        responses={200: ForecastOut, 404: ErrorEnvelope, 422: ErrorEnvelope},
    )
    def get(self, request):
        company = company_of(request)
        p = request.query_params
        if isinstance(request.auth, ApiKey) and request.auth.customer_id:
            raise ApiError(404, "not_found", _("Not found."))
        group = p.get("group_by", "total")
        if group not in fc.DIMENSIONS:
            raise ApiError(422, "invalid", _("Unknown option."), {"group_by": [_("Unknown option.")]})
        as_of = _query_date(request, "as_of")
        run = fc.run_on(company, as_of)
        if run is None:
            raise ApiError(404, "not_found", _("No forecast has been computed for this date."))
        currency = p.get("currency", "")
        if currency and currency not in run.totals:
            raise ApiError(422, "invalid", _("Unknown option."), {"currency": [_("Unknown option.")]})
        f = fc.read_forecast(run=run, user=request.user, by=group, currency=currency,
                             orders=p.get("orders") in ("true", "1"))
        weeks = []
        for k in range(fc.BEYOND + 1):
            start, end = f.ranges[k] if k < fc.WEEKS else (None, None)
            weeks.append({"week": k + 1, "start": start, "end": end,
                          **{s: f.scenarios[s].weeks[k] for s in fc.SCENARIOS},
                          "orders": f.orders.weeks[k] if f.orders else None})
        return Response(ForecastOut({
            "as_of": run.as_of, "currency": f.currency, "currencies": f.currencies, "source": run.source,
            "model_version": run.version.version if run.version_id else None, "computed_at": run.created_at,
            "open_amount": f.open_amount, "overdue_amount": f.overdue_amount, "group_by": group, "weeks": weeks,
            "lines": [{"key": None if ln.key is None else str(ln.key), "label": ln.label, "p50": ln.weeks,
                       "total": ln.total} for ln in f.lines],
        }).data)
