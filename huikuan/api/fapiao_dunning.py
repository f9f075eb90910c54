"""Fapiao and dunning notices for integrators (issue 18, apiops).

Fapiao: list, read, record a fapiao issued in the tax system and red-reverse (红字发票) all or part of one —
through ``huikuan.ledger.fapiao``, with the fapiao screens' permission (``ledger.fapiao``) and scope.
Dunning notices: read only (the run writes them), with their items and each channel's delivery status.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.accounts.scoping import owner_q
from huikuan.common import clock
from huikuan.dunning.models import Delivery, Notice, NoticeItem, Tone
from huikuan.ledger import fapiao as ledger_fapiao
from huikuan.ledger import selectors as ledger_selectors
from huikuan.ledger.models import FapiaoStatus, FapiaoType

from . import serializers as s
from . import sync
from .errors import ApiError
from .idempotency import idempotent
from .views import (
    Pagination,
    _get,
    _limited,
    _query_date,
    _valid,
    _valid_id,
    company_of,
    customer_in_scope,
    documents,
    require,
)

ID = {"min_value": 1, "max_value": s.ID_MAX}


# ------------------------------------------------------------------ fapiao


class FapiaoOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id")
    document = serializers.IntegerField(source="document_id", allow_null=True)
    document_number = serializers.CharField(source="document.number", default=None, allow_null=True)
    fapiao_type = serializers.ChoiceField(choices=FapiaoType.choices)
    issue_date = serializers.DateField()
    amount = s.MoneyOutput(help_text="incl. tax; negative for a red fapiao")
    status = serializers.ChoiceField(choices=FapiaoStatus.choices)
    red_of = serializers.IntegerField(source="red_of_id", allow_null=True,
                                      help_text="a red fapiao: the fapiao it reverses")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FapiaoIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    number = serializers.CharField(max_length=40, help_text="the fapiao number (unique in the company)")
    fapiao_type = serializers.ChoiceField(choices=FapiaoType.choices, required=False, default=FapiaoType.SPECIAL)
    issue_date = serializers.DateField(help_text="today or earlier")
    amount = s.MoneyInput(help_text="incl. tax")
    document = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                        help_text="the receivable it covers (its net fapiao may not exceed it)")


class RedFapiaoIn(serializers.Serializer):
    red_number = serializers.CharField(max_length=40, help_text="the red fapiao's own number")
    issue_date = serializers.DateField(help_text="from the original's issue date to today")
    amount = s.MoneyInput(required=False, allow_null=True, default=None,
                          help_text="the part reversed (positive); default: all that is left")


def _fapiao(request):
    return _limited(request, ledger_selectors.fapiao_list(user=request.user, company=company_of(request)))


class FapiaoList(generics.ListAPIView):
    serializer_class = FapiaoOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(FapiaoStatus.values)),
                               OpenApiParameter("customer", int), OpenApiParameter("document", int),
                               OpenApiParameter("number", str, description="exact fapiao number"),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _fapiao(self.request)
        if p.get("status"):
            if p["status"] not in FapiaoStatus.values:
                raise ApiError(422, "invalid", _("Unknown option."), {"status": [_("Unknown option.")]})
            qs = qs.filter(status=p["status"])
        for name in ("customer", "document"):
            if p.get(name):
                qs = qs.filter(**{f"{name}_id": int(p[name])}) if _valid_id(p[name]) else qs.none()
        if p.get("number"):
            qs = qs.filter(number=p["number"])
        return qs

    @extend_schema(request=FapiaoIn, responses={201: FapiaoOut})
    @idempotent
    def post(self, request):
        require(request, "ledger.fapiao")
        data = _valid(FapiaoIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        if data["document"]:
            _get(documents(request), data["document"])  # a document outside the scope is 404
        f = ledger_fapiao.record_fapiao(company=company, customer_id=customer.pk, number=data["number"],
                                        fapiao_type=data["fapiao_type"], issue_date=data["issue_date"],
                                        amount=data["amount"], actor=request.user, document_id=data["document"],
                                        today=clock.today(company))
        return Response(FapiaoOut(_fapiao(request).get(pk=f.pk)).data, status=status.HTTP_201_CREATED)


class FapiaoDetail(APIView):
    @extend_schema(responses={200: FapiaoOut})
    def get(self, request, pk):
        return Response(FapiaoOut(_get(_fapiao(request), pk)).data)


class FapiaoRedReverse(APIView):
    @extend_schema(request=RedFapiaoIn, responses={201: FapiaoOut})
    @idempotent
    def post(self, request, pk):
        orig = _get(_fapiao(request), pk)
        require(request, "ledger.fapiao")
        data = _valid(RedFapiaoIn, request)
        company = company_of(request)
        red = ledger_fapiao.red_reverse_fapiao(company=company, fapiao_id=orig.pk, red_number=data["red_number"],
                                               issue_date=data["issue_date"], amount=data["amount"],
                                               actor=request.user, today=clock.today(company))
        return Response(FapiaoOut(_fapiao(request).get(pk=red.pk)).data, status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------ dunning notices (read)


class NoticeItemOut(serializers.ModelSerializer):
    instalment = serializers.IntegerField(source="instalment_id")
    amount = s.MoneyOutput()

    class Meta:
        model = NoticeItem
        fields = ["instalment", "offset_days", "amount"]


class NoticeDeliveryOut(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["channel", "address", "status", "attempts", "sent_at", "last_error", "updated_at"]


class NoticeOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    total = s.MoneyOutput()

    class Meta:
        model = Notice
        fields = ["id", "number", "customer", "cycle", "offset_days", "tone", "total", "language", "created_at"]


class NoticeDetailOut(NoticeOut):
    items = NoticeItemOut(many=True, read_only=True)
    deliveries = NoticeDeliveryOut(many=True, read_only=True)

    class Meta(NoticeOut.Meta):
        fields = [*NoticeOut.Meta.fields, "items", "deliveries"]


def _notices(request):
    qs = Notice.objects.filter(company=company_of(request)).filter(owner_q(request.user, "customer__owner"))
    return _limited(request, qs)


class NoticeList(generics.ListAPIView):
    serializer_class = NoticeOut
    pagination_class = Pagination
    sync_field = "created_at"  # a notice is never changed (its deliveries are read with the notice)

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("tone", str, enum=Tone.values),
                               OpenApiParameter("cycle_from", OpenApiTypes.DATE),
                               OpenApiParameter("cycle_to", OpenApiTypes.DATE), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _notices(self.request)
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        if p.get("tone"):
            if p["tone"] not in Tone.values:
                raise ApiError(422, "invalid", _("Unknown option."), {"tone": [_("Unknown option.")]})
            qs = qs.filter(tone=p["tone"])
        since, until = _query_date(self.request, "cycle_from"), _query_date(self.request, "cycle_to")
        if since:
            qs = qs.filter(cycle__gte=since)
        if until:
            qs = qs.filter(cycle__lte=until)
        return qs.order_by("-cycle", "-pk")


class NoticeDetail(APIView):
    @extend_schema(responses={200: NoticeDetailOut})
    def get(self, request, pk):
        n = _get(_notices(request).prefetch_related("items", "deliveries"), pk)
        return Response(NoticeDetailOut(n).data)
