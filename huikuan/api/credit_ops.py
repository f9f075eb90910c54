"""Credit control for integrators (issue 18, apiops): credit profiles (limit, grade, score, hold) and their score
history, placing and releasing a customer's credit hold, the decision on held orders, and credit-limit (terms,
grade, hold-release) requests with their maker-checker approval. The same services, permissions and scope as
the credit screens (``huikuan.credit``)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.common.texts import render as render_text
from huikuan.credit import selectors as credit_selectors
from huikuan.credit import services as credit
from huikuan.credit.models import (
    CreditProfile,
    CreditRequest,
    HoldSource,
    RequestChannel,
    RequestKind,
    RequestStatus,
    ScoreSnapshot,
)
from huikuan.customers.models import PaymentTerm

from . import serializers as s
from . import sync
from .credit import OrderOut, _orders
from .errors import ApiError
from .idempotency import idempotent
from .views import Pagination, _get, _limited, _valid, _valid_id, company_of, customer_in_scope, require

ID = {"min_value": 1, "max_value": s.ID_MAX}


# ------------------------------------------------------------------ credit profiles, holds, scores


class ProfileOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    limit_amount = s.MoneyOutput()
    hold_source = serializers.CharField(help_text="manual, automatic, dunning or playbook; blank when not on hold")
    guarantee_amount = s.MoneyOutput()
    collateral_amount = s.MoneyOutput()
    hold_reason = serializers.SerializerMethodField(help_text="in the request's language when the system wrote it")

    def get_hold_reason(self, profile) -> str | None:
        return render_text(profile.hold_reason) if profile.hold_reason else None

    class Meta:
        model = CreditProfile
        fields = ["customer", "customer_code", "limit_amount", "valid_from", "valid_to", "terms_days",
                  "limit_exception", "grade", "grade_override", "score", "scored_on", "on_hold", "hold_reason",
                  "hold_source", "hold_since", "next_review_date", "guarantee_amount", "collateral_amount",
                  "updated_at"]


class ScoreOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    scorecard_version = serializers.IntegerField(source="version.number", read_only=True)
    factors = serializers.DictField(help_text="each factor's value as of the date")
    points = serializers.DictField(help_text="each factor's points")

    class Meta:
        model = ScoreSnapshot
        fields = ["id", "customer", "as_of", "score", "grade", "scorecard_version", "factors", "points",
                  "created_at"]


class HoldIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="why (kept on the profile and in the audit trail)")


def _profiles(request):
    return _limited(request, credit_selectors.profiles_in_scope(user=request.user, company=company_of(request))) \
        .select_related("customer")


class ProfileList(generics.ListAPIView):
    serializer_class = ProfileOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("on_hold", bool, description="only customers on (true) or off "
                                                                              "(false) credit hold"),
                               OpenApiParameter("grade", str), OpenApiParameter("customer", int),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _profiles(self.request)
        if p.get("on_hold") in ("true", "false"):
            qs = qs.filter(on_hold=p["on_hold"] == "true")
        elif p.get("on_hold"):
            raise ApiError(422, "invalid", _("Unknown option."), {"on_hold": [_("Unknown option.")]})
        if p.get("grade"):
            qs = qs.filter(grade=p["grade"])
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        return qs.order_by("customer__code", "id")


def _profile_of(request, pk):
    customer = customer_in_scope(request, pk)
    profile = CreditProfile.objects.filter(company=company_of(request), customer=customer).select_related("customer")
    return customer, profile.first()


class ProfileDetail(APIView):
    @extend_schema(responses={200: ProfileOut})
    def get(self, request, pk):
        _customer, profile = _profile_of(request, pk)
        if profile is None:
            raise ApiError(404, "not_found", _("Not found."))
        return Response(ProfileOut(profile).data)


class ScoreList(generics.ListAPIView):
    serializer_class = ScoreOut
    pagination_class = Pagination
    sync_field = "created_at"  # a snapshot is replaced, never changed: a rescore of the same date is a new row

    @extend_schema(parameters=[*sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        customer = customer_in_scope(self.request, self.kwargs["pk"])
        return ScoreSnapshot.objects.filter(company=company_of(self.request), customer=customer) \
            .select_related("version").order_by("-as_of", "-id")


class HoldPlace(APIView):
    @extend_schema(request=HoldIn, responses={200: ProfileOut})
    def post(self, request, pk):
        customer = customer_in_scope(request, pk)
        require(request, "credit.hold")
        data = _valid(HoldIn, request)
        credit.place_hold(company=company_of(request), customer_id=customer.pk, reason=data["reason"],
                          source=HoldSource.MANUAL, actor=request.user)
        return Response(ProfileOut(_profile_of(request, pk)[1]).data)


class HoldRelease(APIView):
    @extend_schema(request=HoldIn, responses={200: ProfileOut})
    def post(self, request, pk):
        customer = customer_in_scope(request, pk)
        require(request, "credit.hold")
        data = _valid(HoldIn, request)
        _c, profile = _profile_of(request, pk)
        if profile is None or not profile.on_hold:
            msg = _("The customer is not on hold.")
            raise ApiError(409, "not_on_hold", msg)
        credit.release_hold(company=company_of(request), customer_id=customer.pk, reason=data["reason"],
                            source=HoldSource.MANUAL, actor=request.user)
        return Response(ProfileOut(_profile_of(request, pk)[1]).data)


class HeldOrderDecisionIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(credit.QUEUE_ACTIONS),
                                     help_text="release; partial (release `amount`, the rest stays held as a new "
                                               "order); prepayment (ask for it, stays held); reject")
    reason = serializers.CharField(max_length=300)
    amount = s.MoneyInput(required=False, allow_null=True, default=None, help_text="with `partial`")


class HeldOrderDecide(APIView):
    @extend_schema(request=HeldOrderDecisionIn, responses={200: OrderOut})
    def post(self, request, pk):
        order = _get(_orders(request), pk)
        require(request, "credit.hold")
        data = _valid(HeldOrderDecisionIn, request)
        order = credit.decide_held_order(company=company_of(request), order_id=order.pk, action=data["action"],
                                         reason=data["reason"], actor=request.user, amount=data["amount"])
        return Response(OrderOut(_orders(request).get(pk=order.pk)).data)


# ------------------------------------------------------------------ credit requests (maker-checker)


class CreditRequestIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    reason = serializers.CharField(max_length=300)
    limit_amount = s.MoneyInput(required=False, allow_null=True, default=None, help_text="with kind `limit`")
    valid_to = serializers.DateField(required=False, allow_null=True, default=None, help_text="with kind `limit`")
    terms_days = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=3650,
                                          help_text="with kind `terms` (or `payment_terms`)")
    payment_terms = serializers.CharField(required=False, allow_null=True, default=None,
                                          help_text="with kind `terms`: a payment terms code")
    grade = serializers.CharField(max_length=10, required=False, allow_blank=True, default="",
                                  help_text="with kind `grade`")
    exception = serializers.BooleanField(required=False, default=False,
                                         help_text="ask for an exception above the grade's maximum (a second "
                                                   "approver decides)")


class CreditRequestOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    limit_amount = s.MoneyOutput(allow_null=True)
    payment_terms = serializers.CharField(source="payment_term.code", default=None, read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    first_approver = serializers.CharField(source="first_approver.username", default=None, read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    class Meta:
        model = CreditRequest
        fields = ["id", "customer", "kind", "status", "limit_amount", "valid_to", "terms_days", "payment_terms",
                  "grade", "reason", "channel", "exception", "needs_second", "requested_by", "requested_at",
                  "first_approver", "first_approved_at", "decided_by", "decided_at", "decision_note", "updated_at"]


class CreditDecisionIn(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def _requests(request):
    return _limited(request, credit_selectors.request_list(user=request.user, company=company_of(request)))


class CreditRequestList(generics.ListAPIView):
    serializer_class = CreditRequestOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=["open", *RequestStatus.values],
                                                description="`open`: pending or awaiting the second approval"),
                               OpenApiParameter("kind", str, enum=list(RequestKind.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _requests(self.request)
        st = p.get("status", "")
        if st == "open":
            qs = qs.filter(status__in=[RequestStatus.PENDING, RequestStatus.PARTLY])
        elif st in RequestStatus.values:
            qs = qs.filter(status=st)
        elif st:
            raise ApiError(422, "invalid", _("Unknown option."), {"status": [_("Unknown option.")]})
        if p.get("kind"):
            if p["kind"] not in RequestKind.values:
                raise ApiError(422, "invalid", _("Unknown option."), {"kind": [_("Unknown option.")]})
            qs = qs.filter(kind=p["kind"])
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        return qs.order_by("-requested_at", "-id")

    @extend_schema(request=CreditRequestIn, responses={201: CreditRequestOut})
    @idempotent
    def post(self, request):
        require(request, "credit.request")
        data = _valid(CreditRequestIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        term = None
        if data["payment_terms"]:
            term = PaymentTerm.objects.filter(company=company, code=data["payment_terms"], active=True).first()
            if term is None:
                msg = _("Unknown payment terms.")
                raise ApiError(422, "invalid", msg, {"payment_terms": [msg]})
        req = credit.request_change(company=company, customer_id=customer.pk, kind=data["kind"],
                                    reason=data["reason"], actor=request.user, as_of=clock.today(company),
                                    limit_amount=data["limit_amount"], valid_to=data["valid_to"],
                                    terms_days=data["terms_days"], payment_term=term, grade=data["grade"],
                                    exception=data["exception"], channel=RequestChannel.API)
        return Response(CreditRequestOut(_requests(request).get(pk=req.pk)).data, status=status.HTTP_201_CREATED)


class CreditRequestDetail(APIView):
    @extend_schema(responses={200: CreditRequestOut})
    def get(self, request, pk):
        return Response(CreditRequestOut(_get(_requests(request), pk)).data)


class CreditRequestDecide(APIView):
    @extend_schema(request=CreditDecisionIn, responses={200: CreditRequestOut})
    def post(self, request, pk):
        req = _get(_requests(request), pk)
        require(request, "credit.approve")
        data = _valid(CreditDecisionIn, request)
        company = company_of(request)
        credit.decide_request(company=company, request_id=req.pk, approve=data["approve"], actor=request.user,
                              note=data["note"], as_of=clock.today(company))
        return Response(CreditRequestOut(_requests(request).get(pk=req.pk)).data)
