"""``GET /api/v1/kpis/``: receivables KPIs for a period, for what the key's user may see.

Same engine as the KPI page and ``huikuan kpi`` (``huikuan.insight.kpis``); a key limited to one customer
gets that customer's figures only.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.insight.kpi_calc import PeriodError, parse_period
from huikuan.insight.kpis import GROUPS, METRICS, kpi_report, metric_value

from .errors import ApiError
from .models import ApiKey
from .serializers import ErrorEnvelope, MoneyOutput
from .views import _query_date, company_of


def _figures_serializer():
    fields = {}
    for m in METRICS:
        help_text = f"{m.definition} ({'CNY' if m.kind == 'money' else m.kind}); null when its denominator is 0"
        fields[m.code] = MoneyOutput(help_text=help_text, allow_null=True)
    fields["countback_complete"] = serializers.BooleanField(
        help_text="false when 12 months of sales do not cover the AR (dso_countback is then a lower bound)")
    return type("KpiFiguresOut", (serializers.Serializer,), fields)


KpiFiguresOut = _figures_serializer()


class KpiRowOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="id of the salesperson, team, group or customer; "
                                                           "the region's name; null for none")
    label = serializers.CharField()
    figures = KpiFiguresOut()


class KpiPeriodOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    label = serializers.CharField()


class KpiOut(serializers.Serializer):
    period = KpiPeriodOut()
    group_by = serializers.CharField()
    total = KpiFiguresOut()
    rows = KpiRowOut(many=True)


def _figures(row):
    out = {m.code: metric_value(row, m.code) for m in METRICS}
    out["countback_complete"] = row.kpis.countback_complete
    return out


class KpiView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-20; "
                                                        "default: the month of as_of"),
            OpenApiParameter("as_of", str, description="YYYY-MM-DD; cuts the period there (default: its end, at most today)"),
            OpenApiParameter("group_by", str, enum=list(GROUPS), description="default none (the total only)"),
        ],
        responses={200: KpiOut, 422: ErrorEnvelope},
    )
    def get(self, request):
        company = company_of(request)
        p = request.query_params
        today = clock.today(company)
        as_of = _query_date(request, "as_of")
        group = p.get("group_by", "none")
        if group not in GROUPS:
            raise ApiError(422, "invalid", _("Unknown option."), {"group_by": [_("Unknown option.")]})
        try:
            period = parse_period(p["period"]) if p.get("period") else parse_period(f"{(as_of or today):%Y-%m}")
            period = period.until(as_of or min(period.end, today))
        except PeriodError as exc:
            msg = _("The period's end is before its start.") if str(exc) in ("end_before_start", "as_of_before_start") \
                else _("Enter a period such as 2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-20.")
            raise ApiError(422, "invalid", msg, {"period": [msg]}) from exc
        customer_id = request.auth.customer_id if isinstance(request.auth, ApiKey) else None
        rep = kpi_report(user=request.user, company=company, period=period, group_by=group, customer_id=customer_id)
        return Response(KpiOut({
            "period": {"start": period.start, "end": period.end, "days": period.days, "label": period.label},
            "group_by": group, "total": _figures(rep.total),
            "rows": [{"key": None if r.key is None else str(r.key), "label": r.label, "figures": _figures(r)}
                     for r in (rep.rows if group != "none" else [])],
        }).data)
