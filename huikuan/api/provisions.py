"""``GET /api/v1/provisions/?as_of=D&months=N``: the suggested bad-debt provision as of a date (lines by age band
and individual assessment) and, with ``months``, its movement by month — the engine of the page and
``huikuan provision`` (``huikuan.insight.provision``). It posts no journal."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.insight import provision as pv

from .errors import ApiError
from .serializers import ErrorEnvelope
from .views import company_of, require


class ProvisionLineOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    provision = serializers.DecimalField(max_digits=20, decimal_places=2)
    customer_id = serializers.IntegerField(allow_null=True)
    document_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class ProvisionMovementOut(serializers.Serializer):
    month = serializers.SerializerMethodField()
    opening = serializers.DecimalField(max_digits=20, decimal_places=2)
    charge = serializers.DecimalField(max_digits=20, decimal_places=2)
    release = serializers.DecimalField(max_digits=20, decimal_places=2)
    write_off_use = serializers.DecimalField(max_digits=20, decimal_places=2)
    closing = serializers.DecimalField(max_digits=20, decimal_places=2)
    stored = serializers.BooleanField()

    def get_month(self, obj) -> str:
        return f"{obj.month:%Y-%m}"


class ProvisionOut(serializers.Serializer):
    as_of = serializers.DateField()
    matrix_version = serializers.IntegerField(allow_null=True)
    stored = serializers.BooleanField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    provision = serializers.DecimalField(max_digits=20, decimal_places=2)
    lines = ProvisionLineOut(many=True)
    movement = ProvisionMovementOut(many=True)


class ProvisionView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD (default: the last month end)"),
                    OpenApiParameter("months", int, description="movement for this many months up to as_of (0–36, "
                                                                "default 0: none)")],
        responses={200: ProvisionOut, 403: ErrorEnvelope, 422: ErrorEnvelope},
    )
    def get(self, request):
        require(request, "insight.provision.view")
        company = company_of(request)
        p = request.query_params
        try:
            as_of = dt.date.fromisoformat(p["as_of"]) if p.get("as_of") else \
                clock.today(company).replace(day=1) - dt.timedelta(days=1)
        except ValueError as exc:
            raise ApiError(422, "invalid", _("Enter a valid date."), {"as_of": [_("Enter a valid date.")]}) from exc
        try:
            months = int(p.get("months") or 0)
            if not 0 <= months <= 36:
                raise ValueError
        except ValueError as exc:
            msg = _("Enter a number of months from 0 to 36.")
            raise ApiError(422, "invalid", msg, {"months": [msg]}) from exc
        rep = pv.provision_report(company=company, as_of=as_of)
        movement = pv.movement_report(company=company, until=as_of, months=months) if months else []
        return Response(ProvisionOut({
            "as_of": rep.as_of, "matrix_version": rep.matrix_version, "stored": rep.stored, "balance": rep.balance,
            "provision": rep.provision, "lines": rep.lines, "movement": movement}).data)
