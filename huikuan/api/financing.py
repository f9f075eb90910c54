"""Receivables financing (应收账款融资 / 保理) over the API: the eligible list by criteria, financed items, marking
and releasing — the same services as the web screen (``huikuan.integrations.financing``). Finance and
administrators' keys; items of customers outside the key's scope are 404."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.integrations import financing
from huikuan.integrations.models import FinancedItem
from huikuan.ledger.models import Instalment

from .idempotency import idempotent
from .operations import PAGED, SCOPE
from .serializers import ErrorEnvelope
from .views import Pagination, _get, _valid, company_of, customers_in_scope, require

MONEY = {"max_digits": 14, "decimal_places": 2}


class EligibleOut(serializers.Serializer):
    instalment_id = serializers.IntegerField(source="pk")
    customer_id = serializers.IntegerField()
    customer_code = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    grade = serializers.CharField(allow_null=True)
    document_id = serializers.IntegerField()
    document_number = serializers.CharField(source="document.number")
    document_date = serializers.DateField()
    due_date = serializers.DateField()
    open_amount = serializers.DecimalField(**MONEY)


class FinancedOut(serializers.ModelSerializer):
    instalment_id = serializers.IntegerField()
    customer_id = serializers.IntegerField(source="instalment.customer_id")
    document_number = serializers.CharField(source="instalment.document.number")
    due_date = serializers.DateField(source="instalment.due_date")
    open_amount = serializers.DecimalField(source="instalment.open_amount", **MONEY)
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = FinancedItem
        fields = ["id", "instalment_id", "customer_id", "document_number", "due_date", "bank", "reference",
                  "financed_on", "amount", "open_amount", "released_on", "release_reason", "created_at"]


class MarkItemIn(serializers.Serializer):
    instalment_id = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(required=False, allow_null=True, **MONEY,
                                      help_text="At most the open amount; the whole open amount when left out.")


class MarkIn(serializers.Serializer):
    items = MarkItemIn(many=True, allow_empty=False, max_length=1000)
    bank = serializers.CharField(max_length=100)
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    financed_on = serializers.DateField()


class MarkOut(serializers.Serializer):
    items = FinancedOut(many=True)


class ReleaseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


def _financed(request):
    require(request, financing.PERM)
    return (FinancedItem.objects.filter(company=company_of(request), instalment__customer__in=customers_in_scope(request))
            .select_related("instalment__document"))


class EligibleList(generics.ListAPIView):
    serializer_class = EligibleOut
    pagination_class = Pagination

    @extend_schema(parameters=[
        OpenApiParameter("min_days", int, description="Due in at least this many days from today (default 0)."),
        OpenApiParameter("max_days", int, description="Due in at most this many days (default 180, at most 3650)."),
        OpenApiParameter("grades", str, description="Comma-separated credit grades, e.g. `A,B`."),
        OpenApiParameter("confirmed", bool, description="Only items covered by a statement the customer confirmed."),
    ], summary="List items eligible for financing",
        description="Open items not under dispute, not reversed and not financed now, due within the window, of "
                    "customers in the grades given, optionally covered by a confirmed statement (对账确认), in "
                    "due-date order." + SCOPE + PAGED)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        require(self.request, financing.PERM)
        company = company_of(self.request)
        q = self.request.query_params

        def num(name, default, hi):
            try:
                return max(0, min(hi, int(q.get(name, default))))
            except (TypeError, ValueError):
                return default

        criteria = financing.Criteria(
            as_of=clock.today(company), min_days=num("min_days", 0, 3650), max_days=num("max_days", 180, 3650),
            grades=tuple(x.strip().upper() for x in (q.get("grades") or "").split(",") if x.strip()),
            confirmed_only=str(q.get("confirmed", "")).lower() in ("1", "true"))
        return financing.eligible(company=company, criteria=criteria).filter(
            customer__in=customers_in_scope(self.request))


class FinancedList(generics.ListAPIView):
    serializer_class = FinancedOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("released", bool,
                                                description="true: also items released (the history).")],
                   summary="List financed items",
                   description="Items marked as financed, with a bank now unless `released=true`; newest first."
                               + SCOPE + PAGED)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = _financed(self.request).order_by("-financed_on", "-id")
        if str(self.request.query_params.get("released", "")).lower() not in ("1", "true"):
            qs = qs.filter(released_on__isnull=True)
        return qs

    @extend_schema(request=MarkIn, responses={201: MarkOut, 403: ErrorEnvelope, 404: ErrorEnvelope,
                                              422: ErrorEnvelope},
                   summary="Mark items as financed",
                   description="Records the items as financed with `bank` on `financed_on` (not in the future), each "
                               "for `amount` (at most its open amount) or its whole open amount. All or nothing: an "
                               "item financed already, no longer open or under dispute is 422 and nothing is recorded. "
                               "Each item is audited on its customer's timeline. The response lists the items recorded.")
    @idempotent
    def post(self, request):
        require(request, financing.PERM)
        company = company_of(request)
        data = _valid(MarkIn, request)
        ids = [x["instalment_id"] for x in data["items"]]
        if Instalment.objects.filter(company=company, pk__in=ids,
                                     customer__in=customers_in_scope(request)).count() != len(set(ids)):
            raise Http404
        rows = financing.mark_financed(
            actor=request.user, company=company, instalment_ids=ids, bank=data["bank"], reference=data["reference"],
            financed_on=data["financed_on"], today=clock.today(company),
            amounts={x["instalment_id"]: x["amount"] for x in data["items"] if x.get("amount") is not None})
        rows = list(_financed(request).filter(pk__in=[r.pk for r in rows]).order_by("pk"))
        return Response({"items": FinancedOut(rows, many=True).data}, status=status.HTTP_201_CREATED)


class FinancedDetail(APIView):
    @extend_schema(responses={200: FinancedOut, 404: ErrorEnvelope}, summary="Get a financed item",
                   description="One financing mark: bank, contract, date, amount, and its release if released.")
    def get(self, request, pk):
        return Response(FinancedOut(_get(_financed(request), pk)).data)


class FinancedRelease(APIView):
    @extend_schema(request=ReleaseIn, responses={200: FinancedOut, 404: ErrorEnvelope, 422: ErrorEnvelope},
                   summary="Release a financed item",
                   description="Undoes a financing mark (the bank gave the item back, or it was marked by mistake) "
                               "with a reason; the row stays, the item is eligible again. Releasing twice is 422.")
    def post(self, request, pk):
        row = _get(_financed(request), pk)
        data = _valid(ReleaseIn, request)
        company = company_of(request)
        financing.release(actor=request.user, company=company, financed_id=row.pk, reason=data["reason"],
                          today=clock.today(company))
        return Response(FinancedOut(_get(_financed(request), pk)).data)
