"""Collections operations for integrators (issue 18): promises to pay and disputes — list, record, read.
The same services, permissions and scoping as the collections screens (``huikuan.collections``)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.collections import selectors as coll_selectors
from huikuan.collections import services as coll
from huikuan.collections.models import DisputeReason, DisputeStatus, PromiseStatus
from huikuan.common import clock

from . import serializers as s
from . import sync
from .idempotency import idempotent
from .views import RowsList, _get, _limited, _valid, _valid_id, company_of, customer_in_scope, documents

ID = {"min_value": 1, "max_value": s.ID_MAX}


class PromiseIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    amount = s.MoneyInput()
    promised_date = serializers.DateField(help_text="today or later")
    instalments = serializers.ListField(child=serializers.IntegerField(**ID), required=False, default=list,
                                        help_text="the instalments promised for; none: the account")
    pause_dunning = serializers.BooleanField(required=False, default=False,
                                             help_text="no reminders for those instalments until the promised date")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PromiseOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    amount = s.MoneyOutput()
    promised_date = serializers.DateField()
    made_on = serializers.DateField()
    status = serializers.ChoiceField(choices=PromiseStatus.choices)
    pause_dunning = serializers.BooleanField()
    note = serializers.CharField()
    settled_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()


class DisputeIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    amount = s.MoneyInput(help_text="the part disputed; excluded from dunning, shown apart in aging")
    document = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                        help_text="a document (spread over its open instalments, earliest first)")
    instalment = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                          help_text="or one instalment")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DisputeOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    document = serializers.IntegerField(source="document_id", allow_null=True)
    instalment = serializers.IntegerField(source="instalment_id", allow_null=True)
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    amount = s.MoneyOutput()
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    resolution = serializers.CharField()
    resolution_note = serializers.CharField()
    credit = serializers.IntegerField(source="credit_id", allow_null=True)
    note = serializers.CharField()
    opened_on = serializers.DateField()
    resolved_on = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()


def _promises(request):
    return _limited(request, coll_selectors.promises(user=request.user, company=company_of(request)))


def _disputes(request):
    return _limited(request, coll_selectors.disputes(user=request.user, company=company_of(request)))


def _filters(qs, request):
    p = request.query_params
    if p.get("status"):
        qs = qs.filter(status=p["status"])
    if p.get("customer"):
        qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
    return qs


class PromiseList(RowsList):
    serializer_class = PromiseOut
    rows = s.Rows(PromiseOut)
    sync_field = "created_at"

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(PromiseStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filters(_promises(self.request), self.request)

    @extend_schema(request=PromiseIn, responses={201: PromiseOut})
    @idempotent
    def post(self, request):
        data = _valid(PromiseIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        promise = coll.record_promise(company=company, customer_id=customer.pk, amount=data["amount"],
                                      promised_date=data["promised_date"], today=clock.today(company),
                                      actor=request.user, instalment_ids=data["instalments"],
                                      pause_dunning=data["pause_dunning"], note=data["note"])
        return Response(PromiseOut(promise).data, status=status.HTTP_201_CREATED)


class PromiseDetail(APIView):
    @extend_schema(responses={200: PromiseOut})
    def get(self, request, pk):
        return Response(PromiseOut(_get(_promises(request), pk)).data)


class DisputeList(RowsList):
    serializer_class = DisputeOut
    rows = s.Rows(DisputeOut)
    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(DisputeStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filters(_disputes(self.request), self.request)

    @extend_schema(request=DisputeIn, responses={201: DisputeOut})
    @idempotent
    def post(self, request):
        data = _valid(DisputeIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        if data["document"]:
            _get(documents(request).filter(customer=customer), data["document"])
        dispute = coll.open_dispute(company=company, customer_id=customer.pk, reason=data["reason"],
                                    amount=data["amount"], actor=request.user, today=clock.today(company),
                                    document_id=data["document"], instalment_id=data["instalment"], note=data["note"])
        return Response(DisputeOut(_disputes(request).get(pk=dispute.pk)).data, status=status.HTTP_201_CREATED)


class DisputeDetail(APIView):
    @extend_schema(responses={200: DisputeOut})
    def get(self, request, pk):
        return Response(DisputeOut(_get(_disputes(request), pk)).data)
