"""Ledger operations beyond posting (issue 18): reversals, credit notes read, write-off requests and
decisions. The same services and scoping as the web screens (``huikuan.web.views.ledger``)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.ledger import selectors as ledger_selectors
from huikuan.ledger import services as ledger
from huikuan.ledger.models import CreditKind, ReceivableDocument, WriteOffRequest, WriteOffStatus

from . import serializers as s
from . import sync, views
from .idempotency import idempotent
from .views import RowsList, _get, _limited, _valid, _valid_id, company_of, credits, documents, require

# ------------------------------------------------------------------ serializers


class ReverseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="why it is reversed (kept in the history)")


class WriteOffIn(serializers.Serializer):
    instalment = serializers.IntegerField(min_value=1, max_value=s.ID_MAX)
    amount = s.MoneyInput(help_text="at most the instalment's open amount")
    reason = serializers.CharField(max_length=300)


class DecisionIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class WriteOffOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    instalment = serializers.IntegerField(source="instalment_id")
    document = serializers.IntegerField(source="instalment.document_id")
    amount = s.MoneyOutput()
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)
    credit = serializers.IntegerField(source="credit_id", allow_null=True,
                                      help_text="the write-off credit posted when approved")

    class Meta:
        model = WriteOffRequest
        fields = ["id", "customer", "instalment", "document", "amount", "reason", "status", "requested_by",
                  "requested_at", "decided_by", "decided_at", "decision_note", "credit"]


# ------------------------------------------------------------------ reversals


def _reverse(request, fn, **ids):
    require(request, "ledger.reverse")
    data = _valid(ReverseIn, request)
    company = company_of(request)
    return fn(company=company, actor=request.user, on=clock.today(company), reason=data["reason"], **ids)


class DocumentReverse(APIView):
    @extend_schema(request=ReverseIn, responses={200: s.DocumentOut})
    def post(self, request, pk):
        doc = _get(documents(request), pk)
        _reverse(request, ledger.reverse_document, document_id=doc.pk)
        doc = ReceivableDocument.objects.select_related("customer", "salesperson").prefetch_related("instalments") \
            .get(pk=doc.pk)
        return Response(s.DocumentOut(doc).data)


class PaymentReverse(APIView):
    @extend_schema(request=ReverseIn, responses={200: s.CreditOut})
    def post(self, request, pk):
        credit = _get(credits(request), pk)
        _reverse(request, ledger.reverse_credit, credit_id=credit.pk)
        return Response(s.CreditOut(credits(request).select_related("customer").get(pk=credit.pk)).data)


class AllocationReverse(APIView):
    @extend_schema(request=ReverseIn, responses={200: s.AllocationOut})
    def post(self, request, pk, allocation_pk):
        credit = _get(credits(request), pk)
        alloc = _get(credit.allocations.all(), allocation_pk)
        rev = _reverse(request, ledger.reverse_allocation, allocation_id=alloc.pk)
        return Response(s.AllocationOut(rev).data)


# ------------------------------------------------------------------ credit notes (read)


class CreditNoteList(RowsList):
    serializer_class = s.CreditOut
    post = views.CreditNoteList.post  # issue one (kept where it was written)
    rows = s.Rows(s.CreditOut)

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("document", int),
                               *sync.EXTERNAL_KEY_PARAMETERS, *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = sync.filter_external_key(credits(self.request).filter(kind=CreditKind.CREDIT_NOTE), self.request)
        for name in ("customer", "document"):
            if p.get(name):
                qs = qs.filter(**{f"{name}_id": int(p[name])}) if _valid_id(p[name]) else qs.none()
        return qs.order_by("-date", "-id")


class CreditNoteDetail(APIView):
    @extend_schema(responses={200: s.CreditOut})
    def get(self, request, pk):
        qs = credits(request).filter(kind=CreditKind.CREDIT_NOTE).select_related("customer")
        return Response(s.CreditOut(_get(qs, pk)).data)


# ------------------------------------------------------------------ write-offs


def _write_offs(request):
    return _limited(request, ledger_selectors.write_off_requests(user=request.user, company=company_of(request)))


class WriteOffList(RowsList):
    serializer_class = WriteOffOut
    rows = s.Rows(WriteOffOut)
    sync_field = "requested_at"

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(WriteOffStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _write_offs(self.request)
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        return qs

    @extend_schema(request=WriteOffIn, responses={201: WriteOffOut})
    @idempotent
    def post(self, request):
        require(request, "ledger.writeoff.request")
        data = _valid(WriteOffIn, request)
        company = company_of(request)
        inst = _get(_limited(request, ledger_selectors.instalments_in_scope(user=request.user, company=company)),
                    data["instalment"])
        req = ledger.request_write_off(company=company, instalment_id=inst.pk, amount=data["amount"],
                                       reason=data["reason"], actor=request.user)
        return Response(WriteOffOut(_write_offs(request).get(pk=req.pk)).data, status=status.HTTP_201_CREATED)


class WriteOffDetail(APIView):
    @extend_schema(responses={200: WriteOffOut})
    def get(self, request, pk):
        return Response(WriteOffOut(_get(_write_offs(request), pk)).data)


class WriteOffDecide(APIView):
    @extend_schema(request=DecisionIn, responses={200: WriteOffOut})
    def post(self, request, pk):
        require(request, "ledger.writeoff.approve")
        req = _get(_write_offs(request), pk)
        data = _valid(DecisionIn, request)
        company = company_of(request)
        ledger.decide_write_off(company=company, request_id=req.pk, approve=data["decision"] == "approve",
                                actor=request.user, note=data["note"], on=clock.today(company))
        return Response(WriteOffOut(_write_offs(request).get(pk=req.pk)).data)

