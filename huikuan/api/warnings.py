"""Early warnings: ``GET /api/v1/warnings/`` (filters) and ``POST /api/v1/warnings/{id}/acknowledge/`` or
``…/resolve/`` with a note. Same scoping and services as the warnings page (``huikuan.insight.early_warnings``):
a key sees the warnings of the customers its user sees (a key limited to a customer: that customer's); out of
scope is 404."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.insight import early_warnings as ew
from huikuan.insight.models import EarlyWarning, Severity, WarningKind, WarningStatus

from . import sync
from .errors import ApiError
from .models import ApiKey
from .serializers import ErrorEnvelope, MoneyOutput
from .views import Pagination, _get, _query_date, _valid, _valid_id, company_of, require


class WarningOut(serializers.ModelSerializer):
    amount = MoneyOutput(allow_null=True, help_text="CNY; the money the warning is about, when it is about money")
    message = serializers.SerializerMethodField(help_text="the warning in the request's language")
    customer_code = serializers.CharField(source="customer.code", allow_null=True, default=None)

    @extend_schema_field(serializers.CharField())
    def get_message(self, w) -> str:
        return ew.describe(w)

    class Meta:
        model = EarlyWarning
        fields = ["id", "kind", "severity", "status", "raised_on", "customer", "customer_code", "owner", "manager",
                  "amount", "figure", "threshold", "message", "note", "acted_by", "acted_at", "resolved_automatically",
                  "created_at", "updated_at"]


class WarningActIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _warnings(request):
    qs = ew.warnings_in_scope(user=request.user, company=company_of(request))
    if isinstance(request.auth, ApiKey) and request.auth.customer_id:
        qs = qs.filter(customer_id=request.auth.customer_id)
    return qs


class WarningList(generics.ListAPIView):
    serializer_class = WarningOut
    pagination_class = Pagination

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=[*WarningStatus.values, "active", "all"],
                         description="default active (open or acknowledged); with `updated_since`/`cursor` the "
                                     "default is all, so a sync also meets the warnings resolved since"),
        OpenApiParameter("kind", str, enum=WarningKind.values), OpenApiParameter("severity", str, enum=Severity.values),
        OpenApiParameter("customer", int), OpenApiParameter("raised_from", str, description="YYYY-MM-DD"),
        OpenApiParameter("raised_to", str, description="YYYY-MM-DD"), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _warnings(self.request)
        status = p.get("status", "all" if sync.sync_mode(self.request) else "active")
        if status == "active":
            qs = ew.active(qs)
        elif status in WarningStatus.values:
            qs = qs.filter(status=status)
        elif status != "all":
            raise ApiError(422, "invalid", _("Unknown option."), {"status": [_("Unknown option.")]})
        for name, values in (("kind", WarningKind.values), ("severity", Severity.values)):
            if p.get(name):
                if p[name] not in values:
                    raise ApiError(422, "invalid", _("Unknown option."), {name: [_("Unknown option.")]})
                qs = qs.filter(**{name: p[name]})
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        since, until = _query_date(self.request, "raised_from"), _query_date(self.request, "raised_to")
        if since:
            qs = qs.filter(raised_on__gte=since)
        if until:
            qs = qs.filter(raised_on__lte=until)
        return qs.select_related("customer", "owner").order_by("-raised_on", "-id")


class _Act(APIView):
    action = ""

    def post(self, request, pk):
        w = _get(_warnings(request), pk)
        require(request, "warnings.act")
        data = _valid(WarningActIn, request)
        w = ew.act(company=company_of(request), warning_id=w.pk, action=self.action, note=data["note"],
                   actor=request.user)
        return Response(WarningOut(w).data)


class WarningAcknowledge(_Act):
    action = "acknowledge"

    @extend_schema(request=WarningActIn, responses={200: WarningOut, 404: ErrorEnvelope, 409: ErrorEnvelope,
                                                    422: ErrorEnvelope})
    def post(self, request, pk):
        return super().post(request, pk)


class WarningResolve(_Act):
    action = "resolve"

    @extend_schema(request=WarningActIn, responses={200: WarningOut, 404: ErrorEnvelope, 409: ErrorEnvelope,
                                                    422: ErrorEnvelope})
    def post(self, request, pk):
        return super().post(request, pk)
