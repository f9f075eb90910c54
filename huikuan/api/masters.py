"""Master data an integration needs beside customers (issue 18): contact update/deactivate, payment
terms and users (read). Same services and scoping as the web screens."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.accounts.models import User
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, PaymentTerm

from . import serializers as s
from .views import Pagination, _get, _valid, company_of, customer_in_scope, require


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
