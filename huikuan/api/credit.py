"""Credit endpoints: credit checks (optionally reserving an order), orders, third-party reports.

Same services as the web screens (``huikuan.credit.services``); same scoping, error envelope and
``Idempotency-Key`` handling as the rest of API v1.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.common.texts import render as render_text
from huikuan.credit import selectors as credit_selectors
from huikuan.credit import services as credit
from huikuan.credit.models import OrderStatus, ReportSource, SalesOrder, ThirdPartyReport

from . import sync
from .errors import ApiError
from .idempotency import idempotent
from .models import ApiKey
from .serializers import ID_MAX, ErrorEnvelope, MoneyInput, MoneyOutput
from .views import (
    Pagination,
    _get,
    _valid,
    _valid_id,
    company_of,
    customer_in_scope,
    customers_in_scope,
    require,
)

# ------------------------------------------------------------------ serializers


class CreditCheckIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    amount = MoneyInput()
    order_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="",
                                            help_text="reserve the amount as this order (created or updated)")


class ReasonOut(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["hold", "warn"])
    code = serializers.CharField()
    message = serializers.CharField()


class CreditCheckOut(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["approve", "warn", "hold"])
    amount = MoneyOutput()
    limit = MoneyOutput(source="limit_amount")
    exposure = MoneyOutput(source="exposure_amount")
    unmatured_bills = MoneyOutput(source="unmatured_bills_amount",
                                  help_text="part of the exposure: commercial acceptance bills not yet honoured")
    available = MoneyOutput(source="available_amount")
    grade = serializers.CharField()
    reasons = ReasonOut(many=True)
    order = serializers.CharField(source="order.reference", default=None, allow_null=True)
    order_status = serializers.CharField(source="order.status", default=None, allow_null=True)


class OrderIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    reference = serializers.CharField(max_length=60)
    amount = MoneyInput()


class OrderOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    amount = MoneyOutput()
    requested_amount = MoneyOutput()
    check_reasons = serializers.SerializerMethodField()
    decision_note = serializers.SerializerMethodField()

    @extend_schema_field(ReasonOut(many=True))
    def get_check_reasons(self, order) -> list:
        """Each reason's code, severity and message (in the language of the request)."""
        return [{"severity": r["severity"], "code": r["code"], "message": str(r["message"])} for r in order.reasons()]

    def get_decision_note(self, order) -> str:
        return render_text(order.decision_note)

    class Meta:
        model = SalesOrder
        fields = ["id", "customer", "reference", "amount", "requested_amount", "status", "check_outcome",
                  "check_reasons", "prepayment_requested", "decision_note", "created_at", "decided_at", "updated_at"]


class OrderPatch(serializers.Serializer):
    status = serializers.ChoiceField(choices=[OrderStatus.INVOICED, OrderStatus.CANCELLED])


class ReportIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True, default=None)
    customer_code = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    provider = serializers.CharField(max_length=100)
    report_date = serializers.DateField()
    score = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True, default=None)
    rating = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("customer_code"):
            raise serializers.ValidationError({"customer": [_("Give the customer's id or code.")]})
        return attrs


class ReportOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    updated_at = serializers.DateTimeField(source="created_at", read_only=True,
                                           help_text="reports are never changed: the time it was recorded")

    class Meta:
        model = ThirdPartyReport
        fields = ["id", "customer", "provider", "report_date", "score", "rating", "source", "created_at", "updated_at"]


# ------------------------------------------------------------------ views


def _orders(request):
    qs = credit_selectors.orders_in_scope(user=request.user, company=company_of(request))
    if isinstance(request.auth, ApiKey) and request.auth.customer_id:
        qs = qs.filter(customer_id=request.auth.customer_id)
    return qs


class CreditCheck(APIView):
    @extend_schema(request=CreditCheckIn, responses={200: CreditCheckOut, 201: CreditCheckOut, 404: ErrorEnvelope,
                                                     422: ErrorEnvelope},
                   description="approve / warn / hold with every reason and the available credit. With "
                               "order_reference the amount is reserved as that order (201): approved orders count "
                               "towards exposure, held ones wait in the credit-hold queue.")
    @idempotent
    def post(self, request):
        data = _valid(CreditCheckIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        today = clock.today(company)
        if data["order_reference"]:
            require(request, "credit.order")
            result = credit.submit_order(company=company, customer_id=customer.pk, reference=data["order_reference"],
                                         amount=data["amount"], as_of=today, actor=request.user)
            return Response(CreditCheckOut(result).data, status=status.HTTP_201_CREATED)
        result = credit.check_credit(company=company, customer_id=customer.pk, amount=data["amount"], as_of=today,
                                     actor=request.user)
        return Response(CreditCheckOut(result).data)


@extend_schema(exclude=True)
class CreditCheckNoSlash(CreditCheck):
    """``POST /api/v1/credit-checks`` (no trailing slash): kept for clients written against it; the
    schema declares only ``/credit-checks/`` so the operation has one id."""


class OrderList(generics.ListAPIView):
    serializer_class = OrderOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("status", str),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _orders(self.request)
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        return qs.order_by("-created_at", "-id")

    @extend_schema(request=OrderIn, responses={201: OrderOut, 409: ErrorEnvelope, 422: ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "credit.order")
        data = _valid(OrderIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        result = credit.submit_order(company=company, customer_id=customer.pk, reference=data["reference"],
                                     amount=data["amount"], as_of=clock.today(company), actor=request.user)
        return Response(OrderOut(result.order).data, status=status.HTTP_201_CREATED)


class OrderDetail(APIView):
    @extend_schema(responses={200: OrderOut, 404: ErrorEnvelope})
    def get(self, request, pk):
        return Response(OrderOut(_get(_orders(request), pk)).data)

    @extend_schema(request=OrderPatch, responses={200: OrderOut, 409: ErrorEnvelope, 422: ErrorEnvelope})
    def patch(self, request, pk):
        require(request, "credit.order")
        order = _get(_orders(request), pk)
        data = _valid(OrderPatch, request)
        order = credit.set_order_status(company=company_of(request), order_id=order.pk, status=data["status"],
                                        actor=request.user)
        return Response(OrderOut(order).data)


class ReportList(generics.ListAPIView):
    serializer_class = ReportOut
    pagination_class = Pagination
    sync_field = "created_at"  # reports are never changed

    @extend_schema(parameters=[OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = credit_selectors.reports_in_scope(user=self.request.user, company=company_of(self.request))
        if isinstance(self.request.auth, ApiKey) and self.request.auth.customer_id:
            qs = qs.filter(customer_id=self.request.auth.customer_id)
        c = self.request.query_params.get("customer")
        if c:
            qs = qs.filter(customer_id=int(c)) if _valid_id(c) else qs.none()
        return qs.order_by("-report_date", "-id")

    @extend_schema(request=ReportIn, responses={201: ReportOut, 422: ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "credit.report")
        data = _valid(ReportIn, request)
        if isinstance(request.auth, ApiKey) and request.auth.customer_id:
            # a key limited to one customer reports only on that customer
            found = customers_in_scope(request).filter(
                pk=data["customer"]) if data["customer"] else customers_in_scope(request).filter(code=data["customer_code"])
            if not found.exists():
                raise ApiError(422, "unknown_customer", _("Unknown customer."), {"customer": [_("Unknown customer.")]})
        report = credit.add_report(company=company_of(request), actor=request.user, provider=data["provider"],
                                   report_date=data["report_date"], score=data["score"], rating=data["rating"],
                                   customer_id=data["customer"], customer_code=data["customer_code"] or None,
                                   source=ReportSource.API)
        return Response(ReportOut(report).data, status=status.HTTP_201_CREATED)
