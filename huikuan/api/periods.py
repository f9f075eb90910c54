"""Period close over the API: ``GET /api/v1/periods/`` (lock date and history), ``POST …/close/`` and
``POST …/reopen/`` — the same service as the page and ``huikuan period`` (``huikuan.ledger.periods``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.ledger import periods

from .serializers import ErrorEnvelope
from .views import company_of, require


class PeriodEventOut(serializers.Serializer):
    action = serializers.CharField()
    month = serializers.SerializerMethodField()
    lock_date_before = serializers.DateField(allow_null=True)
    lock_date_after = serializers.DateField(allow_null=True)
    reason = serializers.CharField()
    actor = serializers.CharField(source="actor.username")
    at = serializers.DateTimeField()

    def get_month(self, obj) -> str:
        return f"{obj.month:%Y-%m}"


class PeriodsOut(serializers.Serializer):
    lock_date = serializers.DateField(allow_null=True)
    history = PeriodEventOut(many=True)


class CloseIn(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM")


class ReopenIn(CloseIn):
    reason = serializers.CharField(max_length=300)


def _state(company):
    return PeriodsOut({"lock_date": periods.lock_date(company.pk),
                       "history": periods.period_history(company=company, limit=100)}).data


class PeriodList(APIView):
    @extend_schema(responses={200: PeriodsOut})
    def get(self, request):
        require(request, "ledger.period.view")
        return Response(_state(company_of(request)))


class PeriodClose(APIView):
    @extend_schema(request=CloseIn, responses={201: PeriodsOut, 403: ErrorEnvelope, 422: ErrorEnvelope})
    def post(self, request):
        require(request, "ledger.period.close")
        ser = CloseIn(data=request.data)
        ser.is_valid(raise_exception=True)
        company = company_of(request)
        periods.close_month(company=company, month=periods.parse_month(ser.validated_data["month"]), actor=request.user,
                            today=clock.today(company))
        return Response(_state(company), status=status.HTTP_201_CREATED)


class PeriodReopen(APIView):
    @extend_schema(request=ReopenIn, responses={201: PeriodsOut, 403: ErrorEnvelope, 422: ErrorEnvelope})
    def post(self, request):
        require(request, "ledger.period.reopen")
        ser = ReopenIn(data=request.data)
        ser.is_valid(raise_exception=True)
        company = company_of(request)
        periods.reopen_month(company=company, month=periods.parse_month(ser.validated_data["month"]),
                             actor=request.user, reason=ser.validated_data["reason"])
        return Response(_state(company), status=status.HTTP_201_CREATED)
