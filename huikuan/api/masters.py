"""Master data an integration needs beside customers (issue 18): contact update/deactivate, payment
terms and users (read). Same services and scoping as the web screens."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.accounts.models import User
from huikuan.common.errors import DomainError
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, Customer, PaymentTerm

from . import serializers as s
from . import sync
from .errors import ApiError
from .views import (
    SOURCE,
    Pagination,
    _get,
    _term,
    _user,
    _valid,
    _valid_id,
    _with_terms_request,
    company_of,
    customer_in_scope,
    customers_in_scope,
    require,
)


class ContactPatch(s.ContactIn):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        for f in self.fields.values():
            f.required = False
            f.default = serializers.empty


class ContactDetail(APIView):
    def _contact(self, request, pk, contact_pk):
        return _get(Contact.objects.filter(customer=customer_in_scope(request, pk)), contact_pk)

    @extend_schema(responses={200: s.ContactOut})
    def get(self, request, pk, contact_pk):
        return Response(s.ContactOut(self._contact(request, pk, contact_pk)).data)

    @extend_schema(request=ContactPatch, responses={200: s.ContactOut})
    def patch(self, request, pk, contact_pk):
        require(request, "customer.edit")
        contact = self._contact(request, pk, contact_pk)
        data = _valid(ContactPatch, request)
        contact = customer_services.update_contact(contact_id=contact.pk, actor=request.user, **data)
        return Response(s.ContactOut(contact).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, contact_pk):
        require(request, "customer.edit")
        contact = self._contact(request, pk, contact_pk)
        customer_services.deactivate_contact(contact_id=contact.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentTermOut(serializers.ModelSerializer):
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    split_lines = serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                        help_text='split terms: [{"percent": "30", "days": 0}, …]')

    class Meta:
        model = PaymentTerm
        fields = ["id", "code", "name", "kind", "days", "split_lines", "discount_percent", "discount_days",
                  "roll_to_working_day", "active"]


class PaymentTermList(generics.ListAPIView):
    serializer_class = PaymentTermOut
    pagination_class = Pagination

    def get_queryset(self):
        return PaymentTerm.objects.filter(company=company_of(self.request)).order_by("code", "id")


class UserOut(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", default=None, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "role", "team", "is_active"]


class UserList(generics.ListAPIView):
    """Users of the key's company: the usernames ``owner`` and ``salesperson`` fields name."""

    serializer_class = UserOut
    pagination_class = Pagination

    def get_queryset(self):
        return User.objects.filter(companies=company_of(self.request)).select_related("team").order_by("username", "id")


# ------------------------------------------------------------------ contacts of all customers (sync)


class ContactSyncList(generics.ListAPIView):
    """Every contact of the customers in scope: what a CRM reads to keep its contacts in step."""

    serializer_class = s.ContactOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("customer", int),
                               OpenApiParameter("active", bool, description="only active (true) or inactive (false)"),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = Contact.objects.filter(customer__in=customers_in_scope(self.request).values("pk"))
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        if p.get("active") in ("true", "false"):
            qs = qs.filter(is_active=p["active"] == "true")
        elif p.get("active"):
            raise ApiError(422, "invalid", _("Unknown option."), {"active": [_("Unknown option.")]})
        return qs.order_by("customer_id", "-is_primary", "name", "id")


# ------------------------------------------------------------------ customer upsert by external key


class CustomerUpsertIn(s.CustomerIn):
    code = serializers.CharField(max_length=30, required=False, help_text="required when the customer is created")
    name = serializers.CharField(max_length=200, required=False, help_text="required when the customer is created")
    version = serializers.IntegerField(required=False, help_text="optional: the version you read; when sent and "
                                                                 "stale, the change is refused with 409")
    external_key = None  # the path names it

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        for f in self.fields.values():
            f.required = False
            f.default = serializers.empty


def _by_key(company, key: str):
    return Customer.objects.filter(company=company, external_source=SOURCE, external_key=key).values_list(
        "pk", flat=True).first()


class CustomerByExternalKey(APIView):
    """``/customers/by-external-key/{external_key}/``: read, or create-or-update (upsert), the customer
    recorded with your system's id — the sync write that needs no id bookkeeping on the caller's side."""

    def _visible(self, request, key):
        if not key or len(key) > 100:
            raise ApiError(404, "not_found", _("Not found."))
        pk = _by_key(company_of(request), key)
        return pk, (pk is not None and customers_in_scope(request).filter(pk=pk).exists())

    @extend_schema(responses={200: s.CustomerOut})
    def get(self, request, external_key):
        pk, visible = self._visible(request, external_key)
        if not visible:
            raise ApiError(404, "not_found", _("Not found."))
        return Response(s.CustomerOut(customer_in_scope(request, pk)).data)

    @extend_schema(request=CustomerUpsertIn, responses={200: s.CustomerWritten, 201: s.CustomerWritten})
    def put(self, request, external_key):
        require(request, "customer.edit")
        data = _valid(CustomerUpsertIn, request)
        company = company_of(request)
        for attempt in (1, 2):
            pk, visible = self._visible(request, external_key)
            if pk is not None and not visible:
                msg = _("An object with external key %(key)s already exists.") % {"key": external_key}
                raise ApiError(409, "duplicate_external_key", msg, {"external_key": [msg]}, existing_id=None)
            if pk is not None:
                return Response(_with_terms_request(self._update(request, pk, dict(data))))
            missing = {f: [_("This field is required.")] for f in ("code", "name") if not data.get(f)}
            if missing:
                raise ApiError(422, "invalid", _("The request is not valid."), missing)
            try:
                customer = customer_services.create_customer(
                    company=company, actor=request.user, code=data["code"], name=data["name"],
                    short_name=data.get("short_name", ""), credit_code=data.get("credit_code", ""),
                    region=data.get("region", ""), industry=data.get("industry", ""),
                    address=data.get("address", ""), owner=_user(request, data.get("owner")),
                    payment_term=_term(request, data.get("payment_terms")),
                    currency=data.get("currency", "CNY"), status=data.get("status", "active"),
                    channel="api", external_source=SOURCE, external_key=external_key)
            except DomainError:
                if attempt == 2 or _by_key(company, external_key) is None:
                    raise
                continue  # another request created it meanwhile: update it instead
            return Response(_with_terms_request(customer), status=status.HTTP_201_CREATED)
        raise AssertionError("unreachable")

    def _update(self, request, pk, data):
        version = data.pop("version", None)
        if version is None:
            version = Customer.objects.filter(pk=pk).values_list("version", flat=True).get()
        if "owner" in data:
            data["owner"] = _user(request, data["owner"])
        if "payment_terms" in data:
            data["payment_term"] = _term(request, data.pop("payment_terms"))
        return customer_services.update_customer(customer_id=pk, actor=request.user, expected_version=version,
                                                 channel="api", **data)
