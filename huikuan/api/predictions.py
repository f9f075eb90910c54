"""Payment predictions for integrators (issue 16): the live model's stored output per open instalment —
list (filters customer / document / updated_since) and retrieve. Read-only; scoped like the customers."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.prediction.models import ItemPrediction
from huikuan.prediction.texts import reason

from . import serializers as s
from . import sync
from .views import RowsList, _get, _valid_id, company_of, customers_in_scope

PROBABILITY = {"max_digits": 5, "decimal_places": 4}


class ReasonsField(serializers.JSONField):
    """The stored [[code, params], …] as [{code, params, text}] with the text in the request's language."""

    def to_representation(self, value):
        return [{"code": code, "params": params, "text": reason(code, params)} for code, params in value or []]


class PredictionOut(serializers.Serializer):
    id = serializers.IntegerField()
    instalment = serializers.IntegerField(source="instalment_id")
    instalment_no = serializers.IntegerField(source="instalment.seq")
    document = serializers.IntegerField(source="document_id")
    document_number = serializers.CharField(source="document.number")
    customer = serializers.IntegerField(source="customer_id")
    customer_code = serializers.CharField(source="customer.code")
    due_date = serializers.DateField()
    open_amount = s.MoneyOutput(source="instalment.open_amount", help_text="open amount now")
    currency = serializers.CharField(source="instalment.currency")
    p_late = serializers.DecimalField(**PROBABILITY, help_text="probability of being paid after the due date")
    p_late_30 = serializers.DecimalField(**PROBABILITY, help_text="probability of being paid 30 or more days late")
    p_late_90 = serializers.DecimalField(**PROBABILITY, help_text="probability of being paid 90 or more days late")
    predicted_date = serializers.DateField(help_text="the median predicted payment date")
    interval_low = serializers.DateField(source="low_date", help_text="80 % interval: 10th percentile")
    interval_high = serializers.DateField(source="high_date", help_text="80 % interval: 90th percentile")
    reasons = ReasonsField(help_text="the main reasons, each with a code, its parameters and a text in the "
                                     "request's language")
    source = serializers.CharField(help_text="`model`, or the baseline used when the model did not beat it")
    model_version = serializers.IntegerField(source="version.version", allow_null=True)
    as_of = serializers.DateField(help_text="the date the prediction was made as of")
    updated_at = serializers.DateTimeField()


def _predictions(request):
    return ItemPrediction.objects.filter(company=company_of(request), customer__in=customers_in_scope(request))


class PredictionList(RowsList):
    serializer_class = PredictionOut
    rows = s.Rows(PredictionOut)

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("document", int),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _predictions(self.request)
        for name in ("customer", "document"):
            if p.get(name):
                qs = qs.filter(**{f"{name}_id": int(p[name])}) if _valid_id(p[name]) else qs.none()
        return qs.order_by("due_date", "id")


class PredictionDetail(APIView):
    @extend_schema(responses={200: PredictionOut})
    def get(self, request, pk):
        return Response(PredictionOut(_get(_predictions(request).select_related(
            "instalment", "document", "customer", "version"), pk)).data)
