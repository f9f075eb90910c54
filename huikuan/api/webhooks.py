"""Webhook subscriptions over the API (administrators' keys): the same services as the web screens
(``huikuan.integrations.services``). Endpoints of another company are 404."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.integrations import services
from huikuan.integrations.events import EVENT_TYPES
from huikuan.integrations.models import Delivery, DeliveryStatus, Endpoint

from .idempotency import idempotent
from .operations import PAGED
from .serializers import ErrorEnvelope
from .views import Pagination, _get, _valid, company_of, require


class EndpointIn(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), allow_empty=False)
    description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class EndpointPatch(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), allow_empty=False,
                                   required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class EndpointOut(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields = ["id", "url", "description", "events", "secret", "previous_secret_expires_at", "is_active",
                  "disabled_at", "disabled_reason", "consecutive_failures", "created_at"]


class RotateIn(serializers.Serializer):
    overlap_hours = serializers.IntegerField(min_value=0, max_value=services.MAX_OVERLAP_HOURS, default=24)


class DeliveryOut(serializers.ModelSerializer):
    msg_id = serializers.CharField(source="message.msg_id")
    event_type = serializers.CharField(source="message.event_type")

    class Meta:
        model = Delivery
        fields = ["id", "msg_id", "event_type", "status", "attempts", "last_status_code", "last_error",
                  "next_attempt_at", "delivered_at", "created_at"]


def _endpoints(request):
    require(request, services.PERM)
    return Endpoint.objects.filter(company=company_of(request))


class EndpointList(generics.ListAPIView):
    serializer_class = EndpointOut
    pagination_class = Pagination

    @extend_schema(summary="List webhook endpoints",
                   description="The company's webhook subscriptions with their secrets, newest first. "
                               "Administrators' keys only." + PAGED)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _endpoints(self.request).order_by("-created_at", "-id")

    @extend_schema(request=EndpointIn, responses={201: EndpointOut, 403: ErrorEnvelope, 422: ErrorEnvelope},
                   summary="Subscribe a URL to events",
                   description="Creates a webhook endpoint; the response carries its `whsec_` signing secret. "
                               "Messages follow Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
                               "`webhook-signature`). A URL that is not http(s), or resolves to a loopback or "
                               "private address while the installation forbids it, is 422 on `url`.")
    @idempotent
    def post(self, request):
        _endpoints(request)
        data = _valid(EndpointIn, request)
        endpoint = services.create_endpoint(actor=request.user, company=company_of(request), url=data["url"],
                                            events=data["events"], description=data["description"])
        return Response(EndpointOut(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetail(APIView):
    @extend_schema(responses={200: EndpointOut, 404: ErrorEnvelope}, summary="Get a webhook endpoint",
                   description="One endpoint with its secret, status and consecutive failures.")
    def get(self, request, pk):
        return Response(EndpointOut(_get(_endpoints(request), pk)).data)

    @extend_schema(request=EndpointPatch, responses={200: EndpointOut, 404: ErrorEnvelope, 422: ErrorEnvelope},
                   summary="Change a webhook endpoint",
                   description="Changes the fields sent. `is_active: true` enables a disabled endpoint (its "
                               "failures counted from zero; waiting messages go out), `false` pauses it.")
    def patch(self, request, pk):
        endpoint = _get(_endpoints(request), pk)
        data = _valid(EndpointPatch, request)
        company = company_of(request)
        if {"url", "events", "description"} & set(data):
            endpoint = services.update_endpoint(actor=request.user, company=company, endpoint_id=endpoint.pk,
                                                url=data.get("url"), events=data.get("events"),
                                                description=data.get("description"))
        if "is_active" in data:
            endpoint = services.set_active(actor=request.user, company=company, endpoint_id=endpoint.pk,
                                           active=data["is_active"])
        return Response(EndpointOut(endpoint).data)


class EndpointRotate(APIView):
    @extend_schema(request=RotateIn, responses={200: EndpointOut, 404: ErrorEnvelope, 422: ErrorEnvelope},
                   summary="Rotate a webhook secret",
                   description="A new secret signs from now on; the old one keeps signing (a second signature in "
                               "`webhook-signature`) for `overlap_hours` (0–168, default 24).")
    def post(self, request, pk):
        endpoint = _get(_endpoints(request), pk)
        data = _valid(RotateIn, request)
        endpoint = services.rotate_secret(actor=request.user, company=company_of(request), endpoint_id=endpoint.pk,
                                          overlap_hours=data["overlap_hours"])
        return Response(EndpointOut(endpoint).data)


class DeliveryList(generics.ListAPIView):
    serializer_class = DeliveryOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values)],
                   summary="List an endpoint's deliveries",
                   description="The delivery log of one endpoint, newest first: status, attempts, the last "
                               "response code or error, the next retry. Filter by `status`." + PAGED)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        endpoint = _get(_endpoints(self.request), self.kwargs["pk"])
        qs = Delivery.objects.filter(endpoint=endpoint).select_related("message").order_by("-created_at", "-id")
        if self.request.query_params.get("status") in DeliveryStatus.values:
            qs = qs.filter(status=self.request.query_params["status"])
        return qs


class DeliveryRedeliver(APIView):
    @extend_schema(request=None, responses={202: DeliveryOut, 404: ErrorEnvelope, 422: ErrorEnvelope},
                   summary="Redeliver a webhook message",
                   description="Sends the message again with the same `webhook-id` and body, with a fresh 24-hour "
                               "retry window. A delivery being sent right now is 422.")
    def post(self, request, pk):
        company = company_of(request)
        require(request, services.PERM)
        d = _get(Delivery.objects.filter(endpoint__company=company).select_related("message"), pk)
        d = services.redeliver(actor=request.user, company=company, delivery_id=d.pk)
        return Response(DeliveryOut(d).data, status=status.HTTP_202_ACCEPTED)
