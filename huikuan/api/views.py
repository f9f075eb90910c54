"""REST API v1. Every write goes through the same services as the web UI.

Scope: a key acts for its user (same visibility: a salesperson's key sees their customers) within
its company; a key limited to a customer sees only that customer; out of scope is 404.
"""

import contextlib
import hashlib

from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.accounts.models import User
from huikuan.common import clock
from huikuan.common.errors import ConcurrentChange, DomainError
from huikuan.common.paging import CappedPaginator
from huikuan.customers import bank_accounts as customer_bank_accounts
from huikuan.customers import selectors as customer_selectors
from huikuan.customers import services as customer_services
from huikuan.customers.models import Contact, Customer, PaymentTerm
from huikuan.insight.aging import aging_report
from huikuan.ledger import selectors as ledger_selectors
from huikuan.ledger import services as ledger
from huikuan.ledger.aging import GROUPS, bulk_objects
from huikuan.ledger.models import Credit, CreditKind, Instalment, ReceivableDocument

from . import serializers as s
from . import sync
from .errors import ApiError
from .idempotency import idempotent
from .models import ApiKey

SOURCE = "api"


class Pagination(PageNumberPagination):
    """Page-number pages whose ``count`` stops at 1,000 rows (or just past the requested page):
    ``count_capped`` is true when there are more rows than ``count`` (see huikuan/common/paging.py).
    The cap is lower than the web lists' 10,000: an integration pages on with ``next`` and needs no
    exact total, and counting 10,000 rows on every call cost more than the page itself under load.

    A view may set ``count_cache`` (``(key, seconds)``, see huikuan/common/paging.py): a capped count is then
    remembered that long, and the next calls for the same rows skip the count (the customer search does); and
    ``ids_with_count``: counting reads the page's ids in the same statement, which a count under the cap spares
    the page's own statement."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    count_cap = 1_000

    def paginate_queryset(self, queryset, request, view=None):
        self.next_cursor = None
        self.keyset = sync.sync_mode(request)
        if self.keyset:  # updated_since / cursor: change order, keyset pages (huikuan/api/sync.py)
            self.request = request
            size = self.get_page_size(request)
            rows, self.next_cursor, rest = sync.keyset_page(queryset, request, size=size,
                                                            field=sync.sync_field(view, queryset.model))
            n = rest.order_by().values("pk")[: self.count_cap + 1].count()
            self.keyset_count, self.keyset_capped = min(n, self.count_cap), n > self.count_cap
            return rows
        number = request.query_params.get(self.page_query_param)
        counted = getattr(view, "count_queryset", None)
        plan = getattr(view, "page_plan", None)
        remembered = getattr(view, "count_cache", None)
        with_ids = getattr(view, "ids_with_count", False)
        self.django_paginator_class = lambda qs, size: CappedPaginator(qs, size, number=number, cap=self.count_cap,
                                                                       count_queryset=counted, plan=plan,
                                                                       count_cache=remembered, ids_with_count=with_ids)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.keyset:
            return Response({"count": self.keyset_count, "next": sync.next_link(self.request, self.next_cursor),
                             "previous": None, "results": data, "count_capped": self.keyset_capped,
                             "next_cursor": self.next_cursor})
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.capped
        response.data["next_cursor"] = None
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count"]["description"] = (
            "Rows of the list (with `updated_since`/`cursor`: rows from this page on), counted up to 1,000.")
        schema["properties"]["count_capped"] = {"type": "boolean", "example": False,
                                                "description": "true when there are more rows than `count`."}
        schema["properties"]["next_cursor"] = {
            "type": "string", "nullable": True,
            "description": "With `updated_since`/`cursor`: pass it as `cursor` for the next page; null on the "
                           "last page (and in page-number mode)."}
        schema["required"] = [*schema.get("required", []), "count_capped", "next_cursor"]
        return schema


class RowsList(generics.ListAPIView):
    """A paginated list whose page is rendered by ``rows`` from value rows (same JSON as ``serializer_class``)."""

    pagination_class = Pagination
    rows: s.Rows
    page_plan = None  # a paginator's plan (common.paging): the page's ids read another way once counted

    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset()).select_related(None).prefetch_related(None)
        self.count_queryset = qs  # counted without the joins the rows' lookups add
        # The page's ids first (index order, no joins for the skipped rows of a deep page), then its rows.
        ids = self.paginate_queryset(qs.values_list("pk", flat=True))
        # unsorted: the page's order is the ids' (the model's ordering would only add a sort and its compiling)
        by_pk = self.rows.by_pk(qs.model, ids)
        return self.get_paginated_response(self.rows.render([by_pk[pk] for pk in ids]))


def company_of(request):
    if isinstance(request.auth, ApiKey):
        return request.auth.company
    company = getattr(request, "company", None)
    if company is None:
        raise PermissionDenied(_("No company is available to this user."))
    return company


def require(request, perm: str) -> None:
    allowed = request.auth.allows(perm) if isinstance(request.auth, ApiKey) else request.user.can(perm)
    if not allowed:
        raise PermissionDenied(_("You do not have permission to do this."))


def customers_in_scope(request):
    qs = customer_selectors.scoped_customers(user=request.user, company=company_of(request))
    if isinstance(request.auth, ApiKey) and request.auth.customer_id:
        qs = qs.filter(pk=request.auth.customer_id)
    return qs


MAX_ID = 2**63 - 1


def _id(value) -> int:
    """A database id from a path or query value: out of range or not a number is 404, never a 500."""
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if not 0 < n <= MAX_ID:
        raise Http404
    return n


def _valid_id(value) -> bool:
    return value.isdigit() and 0 < int(value) <= MAX_ID


def _get(qs, pk):
    return get_object_or_404(qs, pk=_id(pk))


def customer_in_scope(request, pk) -> Customer:
    try:
        return customers_in_scope(request).get(pk=_id(pk))
    except Customer.DoesNotExist as exc:
        raise Http404 from exc


def _limited(request, qs):
    """Narrow a scoped queryset further to the key's customer, when the key is limited to one."""
    if isinstance(request.auth, ApiKey) and request.auth.customer_id:
        qs = qs.filter(customer_id=request.auth.customer_id)
    return qs


def documents(request):
    return _limited(request, ledger_selectors.documents_in_scope(user=request.user, company=company_of(request)))


def credits(request):
    return _limited(request, ledger_selectors.credits_in_scope(user=request.user, company=company_of(request)))


def _term(request, code):
    if not code:
        return None
    term = PaymentTerm.objects.filter(company=company_of(request), code=code).first()
    if term is None:
        raise ApiError(422, "invalid", _("Unknown payment terms."), {"payment_terms": [_("Unknown payment terms.")]})
    return term


def _user(request, username):
    if not username:
        return None
    user = User.objects.filter(username=username, companies=company_of(request)).first()
    if user is None:
        raise ApiError(422, "invalid", _("Unknown user."), {"owner": [_("Unknown user.")]})
    return user


def _collector(request, username):
    if not username:
        return None
    user = customer_services.assignable_collectors(company=company_of(request)).filter(username=username).first()
    if user is None:
        msg = _("Choose an active collector of this company.")
        raise ApiError(422, "invalid", msg, {"collector": [msg]})
    return user


def _valid(serializer_class, request, **kw):
    ser = serializer_class(data=request.data, **kw)
    ser.is_valid(raise_exception=True)
    return ser.validated_data


@contextlib.contextmanager
def _known_key_on_conflict(model, request, key: str, visible):
    """A concurrent POST recorded the same external key between the check and the insert: the service
    reports the unique constraint as a duplicate; answer 409 ``duplicate_external_key`` all the same."""
    try:
        yield
    except DomainError:
        sync.refuse_known_key(model=model, company=company_of(request), source=SOURCE, key=key, visible=visible)
        raise


# ------------------------------------------------------------------ customers


class CustomerList(RowsList):
    serializer_class = s.CustomerOut
    rows = s.Rows(s.CustomerOut)
    # A capped count ("more than 1,000") is remembered this long for the same caller and filters: a frequent
    # term's count is the costliest statement of its page, and the plain list's a tenth of its request's CPU
    # (docs/ARCHITECTURE.md, "Capped counts …").
    count_seconds = 5
    # A count under the cap (a rare term) reads the page's ids in the same statement (common.paging.count_and_page).
    ids_with_count = True

    @extend_schema(description=("A capped count (`count_capped`: more than 1,000 customers) may be up to 5 seconds "
                                "old; a count under the cap is always exact."),
                   parameters=[OpenApiParameter("q", str, description="code, name or pinyin initials"),
                               OpenApiParameter("status", str), OpenApiParameter("region", str),
                               *sync.EXTERNAL_KEY_PARAMETERS, *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        self.count_cache = (_count_key(request), self.count_seconds)
        # counted through the search's index; a page of a frequent term read in code order (customers.search)
        self.page_plan = customer_selectors.search_page_plan(
            q=request.query_params.get("q", ""),
            plain=lambda: self.filter_queryset(self.get_queryset(prefilter=False)).select_related(None)
            .values_list("pk", flat=True))
        return super().list(request, *args, **kwargs)

    def get_queryset(self, prefilter: bool = True):
        qs = customer_selectors.customer_list(
            user=self.request.user, company=company_of(self.request), q=self.request.query_params.get("q", ""),
            status=self.request.query_params.get("status", ""), region=self.request.query_params.get("region", ""),
            prefilter=prefilter,
        ).select_related("payment_term")
        if isinstance(self.request.auth, ApiKey) and self.request.auth.customer_id:
            qs = qs.filter(pk=self.request.auth.customer_id)
        return sync.filter_external_key(qs, self.request)

    @extend_schema(request=s.CustomerIn, responses={201: s.CustomerWritten, 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "customer.edit")
        data = _valid(s.CustomerIn, request)
        company = company_of(request)
        ext = data["external_key"]
        sync.refuse_known_key(model=Customer, company=company, source=SOURCE, key=ext, visible=customers_in_scope(request))
        with _known_key_on_conflict(Customer, request, ext, customers_in_scope(request)):
            customer = customer_services.create_customer(
                company=company, actor=request.user, code=data["code"], name=data["name"],
                short_name=data["short_name"], credit_code=data["credit_code"], region=data["region"],
                industry=data["industry"], address=data["address"], owner=_user(request, data["owner"]),
                payment_term=_term(request, data["payment_terms"]), currency=data["currency"], status=data["status"],
                channel="api", external_source=SOURCE if ext else "", external_key=ext,
            )
        return Response(_with_terms_request(customer), status=status.HTTP_201_CREATED)


def _count_key(request) -> str:
    """The cache key of the customer list's capped count: everything the rows depend on — the company, the
    caller's visibility (user, role, team, a key's customer) and every query parameter but the page's."""
    auth = request.auth if isinstance(request.auth, ApiKey) else None
    user = request.user
    scope = (company_of(request).pk, user.pk, user.role, user.team_id, auth.customer_id if auth else None)
    params = sorted((k, v) for k, values in request.query_params.lists() if k not in ("page", "page_size")
                    for v in values)
    return "api:customer-search-count:" + hashlib.sha256(repr((scope, params)).encode()).hexdigest()


def _with_terms_request(customer) -> dict:
    if not hasattr(customer, "terms_request"):
        customer.terms_request = None
    return s.CustomerWritten(customer).data


class CustomerDetail(APIView):
    @extend_schema(responses={200: s.CustomerOut, 404: s.ErrorEnvelope})
    def get(self, request, pk):
        return Response(s.CustomerOut(customer_in_scope(request, pk)).data)

    @extend_schema(request=s.CustomerPatch, responses={200: s.CustomerWritten, 409: s.ErrorEnvelope, 422: s.ErrorEnvelope})
    def patch(self, request, pk):
        require(request, "customer.edit")
        customer = customer_in_scope(request, pk)
        data = _valid(s.CustomerPatch, request)
        version = data.pop("version")
        assign = "collector" in data
        if assign:
            # checked before anything is written: a refused collector leaves the other fields unchanged too
            require(request, "collections.assign")
            collector = _collector(request, data.pop("collector"))
        if "owner" in data:
            data["owner"] = _user(request, data["owner"])
        if "payment_terms" in data:
            data["payment_term"] = _term(request, data.pop("payment_terms"))
        if data or not assign:
            updated = customer_services.update_customer(customer_id=customer.pk, actor=request.user,
                                                        expected_version=version, channel="api", **data)
        elif customer.version != version:
            raise ConcurrentChange(_("Someone else changed this customer while you were editing. Reload the page "
                                     "and apply your changes again."))
        if assign:
            customer_services.assign_collector(company=company_of(request), customer_ids=[customer.pk],
                                               collector=collector, actor=request.user, channel="api")
        updated = customer_in_scope(request, pk) if assign else updated
        return Response(_with_terms_request(updated))


class ContactList(APIView):
    @extend_schema(responses={200: s.ContactOut(many=True)})
    def get(self, request, pk):
        customer = customer_in_scope(request, pk)
        return Response(s.ContactOut(Contact.objects.filter(customer=customer), many=True).data)

    @extend_schema(request=s.ContactIn, responses={201: s.ContactOut, 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request, pk):
        require(request, "customer.edit")
        customer = customer_in_scope(request, pk)
        data = _valid(s.ContactIn, request)
        contact = customer_services.add_contact(customer_id=customer.pk, actor=request.user, **data)
        return Response(s.ContactOut(contact).data, status=status.HTTP_201_CREATED)


class BankAccountList(APIView):
    """The accounts a customer pays from (cash application recognises statement lines from them)."""

    @extend_schema(responses={200: s.BankAccountOut(many=True), 404: s.ErrorEnvelope})
    def get(self, request, pk):
        customer = customer_in_scope(request, pk)
        return Response(s.BankAccountOut(customer_selectors.customer_bank_accounts(customer=customer), many=True).data)

    @extend_schema(request=s.BankAccountIn,
                   responses={201: s.BankAccountOut, 403: s.ErrorEnvelope, 404: s.ErrorEnvelope, 409: s.ErrorEnvelope,
                              422: s.ErrorEnvelope})
    @idempotent
    def post(self, request, pk):
        require(request, "customer.edit")
        customer = customer_in_scope(request, pk)
        data = _valid(s.BankAccountIn, request)
        acct = customer_bank_accounts.add_bank_account(customer_id=customer.pk, actor=request.user, **data)
        return Response(s.BankAccountOut(acct).data, status=status.HTTP_201_CREATED)


class BankAccountDetail(APIView):
    def _account(self, request, pk, account_pk):
        customer = customer_in_scope(request, pk)
        return _get(customer_selectors.customer_bank_accounts(customer=customer), account_pk)

    @extend_schema(responses={200: s.BankAccountOut, 404: s.ErrorEnvelope})
    def get(self, request, pk, account_pk):
        return Response(s.BankAccountOut(self._account(request, pk, account_pk)).data)

    @extend_schema(request=s.BankAccountPatch,
                   responses={200: s.BankAccountOut, 403: s.ErrorEnvelope, 404: s.ErrorEnvelope, 409: s.ErrorEnvelope,
                              422: s.ErrorEnvelope})
    def patch(self, request, pk, account_pk):
        require(request, "customer.edit")
        acct = self._account(request, pk, account_pk)
        data = _valid(s.BankAccountPatch, request)
        acct = customer_bank_accounts.update_bank_account(bank_account_id=acct.pk, actor=request.user, **data)
        return Response(s.BankAccountOut(acct).data)

    @extend_schema(responses={204: None, 403: s.ErrorEnvelope, 404: s.ErrorEnvelope})
    def delete(self, request, pk, account_pk):
        require(request, "customer.edit")
        acct = self._account(request, pk, account_pk)
        customer_bank_accounts.remove_bank_account(bank_account_id=acct.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------ documents


class DocumentList(RowsList):
    serializer_class = s.DocumentOut
    rows = s.Rows(s.DocumentOut, nested={"instalments": "document_id"})

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("status", str),
                               OpenApiParameter("open", bool), OpenApiParameter("date_from", str),
                               OpenApiParameter("date_to", str), OpenApiParameter("number", str),
                               *sync.EXTERNAL_KEY_PARAMETERS, *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = sync.filter_external_key(documents(self.request).select_related("customer", "salesperson"), self.request)
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        if p.get("number"):
            qs = qs.filter(number=p["number"])
        if p.get("open") in ("1", "true"):  # EXISTS, not JOIN + DISTINCT: the newest-first index still drives the page
            qs = qs.filter(Exists(Instalment.objects.filter(document=OuterRef("pk"), open_amount__gt=0)))
        try:
            if p.get("date_from"):
                qs = qs.filter(document_date__gte=p["date_from"])
            if p.get("date_to"):
                qs = qs.filter(document_date__lte=p["date_to"])
        except Exception as exc:  # noqa: BLE001 - a malformed date is a client error
            raise ApiError(422, "invalid", _("Enter a valid date.")) from exc
        return qs.prefetch_related("instalments").order_by("-document_date", "-id")

    @extend_schema(request=s.DocumentIn, responses={201: s.DocumentOut, 409: s.ErrorEnvelope, 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "ledger.post")
        data = _valid(s.DocumentIn, request)
        customer = customer_in_scope(request, data["customer"])
        term = _term(request, data["payment_terms"])
        ext = data["external_key"]
        sync.refuse_known_key(model=ReceivableDocument, company=company_of(request), source=SOURCE, key=ext,
                              visible=documents(request))
        with _known_key_on_conflict(ReceivableDocument, request, ext, documents(request)):
            doc = ledger.post_document(
                company=company_of(request), customer_id=customer.pk, document_date=data["document_date"],
                actor=request.user, kind=data["kind"], number=data["number"], total=data["total"],
                lines=[ledger.LineInput(**ln) for ln in data["lines"]], currency=data["currency"],
                payment_term_id=term.pk if term else None,
                schedule=[ledger.ScheduleInput(**x) for x in data["instalments"]] if data["instalments"] else None,
                reference=data["reference"], description=data["description"],
                external_source=SOURCE if ext else "", external_key=ext,
            )
        doc = ReceivableDocument.objects.select_related("customer", "salesperson").prefetch_related("instalments").get(pk=doc.pk)
        return Response(s.DocumentOut(doc).data, status=status.HTTP_201_CREATED)


class DocumentDetail(APIView):
    @extend_schema(responses={200: s.DocumentOut, 404: s.ErrorEnvelope})
    def get(self, request, pk):
        qs = documents(request).select_related("customer", "salesperson").prefetch_related("instalments")
        return Response(s.DocumentOut(_get(qs, pk)).data)


# ------------------------------------------------------------------ payments and credits


class PaymentList(RowsList):
    serializer_class = s.CreditOut
    rows = s.Rows(s.CreditOut)

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("kind", str),
                               OpenApiParameter("unapplied", bool), *sync.EXTERNAL_KEY_PARAMETERS,
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = sync.filter_external_key(credits(self.request).select_related("customer"), self.request)
        qs = qs.filter(kind=p["kind"]) if p.get("kind") else qs.filter(kind=CreditKind.PAYMENT)
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        if p.get("unapplied") in ("1", "true"):
            qs = qs.filter(unapplied_amount__gt=0)
        return qs.order_by("-date", "-id")

    @extend_schema(request=s.PaymentIn, responses={201: s.CreditOut, 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "ledger.payment")
        data = _valid(s.PaymentIn, request)
        customer = customer_in_scope(request, data.pop("customer"))
        ext = data.pop("external_key")
        company = company_of(request)
        sync.refuse_known_key(model=Credit, company=company, source=SOURCE, key=ext, visible=credits(request))
        with _known_key_on_conflict(Credit, request, ext, credits(request)):
            credit = ledger.record_payment(company=company, customer_id=customer.pk, actor=request.user,
                                           external_source=SOURCE if ext else "", external_key=ext,
                                           today=clock.today(company), **data)
        return Response(s.CreditOut(credit).data, status=status.HTTP_201_CREATED)


class PaymentDetail(APIView):
    @extend_schema(responses={200: s.CreditOut, 404: s.ErrorEnvelope})
    def get(self, request, pk):
        return Response(s.CreditOut(_get(credits(request).select_related("customer"), pk)).data)


class PaymentAllocations(APIView):
    @extend_schema(responses={200: s.AllocationOut(many=True)})
    def get(self, request, pk):
        credit = _get(credits(request), pk)
        return Response(s.AllocationOut(credit.allocations.order_by("pk"), many=True).data)

    @extend_schema(request=s.AllocateIn, responses={201: s.AllocationOut(many=True), 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request, pk):
        require(request, "ledger.allocate")
        credit = _get(credits(request), pk)
        data = _valid(s.AllocateIn, request)
        plan = None
        if data["allocations"]:
            plan = [ledger.AllocationInput(line["instalment"], line["amount"]) for line in data["allocations"]]
        made = ledger.allocate(company=company_of(request), credit_id=credit.pk, actor=request.user,
                               on=data["date"] or clock.today(company_of(request)), plan=plan)
        return Response(s.AllocationOut(made, many=True).data, status=status.HTTP_201_CREATED)


class CreditNoteList(APIView):
    @extend_schema(request=s.CreditNoteIn, responses={201: s.CreditOut, 422: s.ErrorEnvelope})
    @idempotent
    def post(self, request):
        require(request, "ledger.credit_note")
        data = _valid(s.CreditNoteIn, request)
        customer = customer_in_scope(request, data.pop("customer"))
        ext = data.pop("external_key")
        company = company_of(request)
        sync.refuse_known_key(model=Credit, company=company, source=SOURCE, key=ext, visible=credits(request))
        with _known_key_on_conflict(Credit, request, ext, credits(request)):
            credit = ledger.issue_credit_note(company=company, customer_id=customer.pk, actor=request.user,
                                              document_id=data.pop("document"), external_source=SOURCE if ext else "",
                                              external_key=ext, today=clock.today(company), **data)
        return Response(s.CreditOut(credit).data, status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------ reports


MAX_EDGE_DAYS = 36_600  # a bucket edge beyond a hundred years is not a bucket


def _query_date(request, name, default=None):
    import datetime as dt

    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid", _("Enter a valid date."), {name: [_("Enter a valid date (YYYY-MM-DD).")]}) from exc


class AgingView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD, default today"),
                    OpenApiParameter("scheme", str, enum=["collections", "accounting"]),
                    OpenApiParameter("basis", str, enum=["due", "document"]),
                    OpenApiParameter("group_by", str, enum=list(GROUPS)),
                    OpenApiParameter("edges", str, description="e.g. 30,60,90,120"),
                    OpenApiParameter("page_size", int, description="rows per page (largest total first); default: all rows"),
                    OpenApiParameter("page", int, description="with page_size; default 1")],
        responses={200: s.AgingOut, 422: s.ErrorEnvelope},
    )
    def get(self, request):
        company = company_of(request)
        p = request.query_params
        as_of = _query_date(request, "as_of", clock.today(company))
        group = p.get("group_by", "customer")
        if group not in GROUPS or p.get("scheme", "collections") not in ("collections", "accounting") \
                or p.get("basis", "due") not in ("due", "document"):
            raise ApiError(422, "invalid", _("Unknown option."))
        size = _valid_id(p.get("page_size", "")) and min(int(p["page_size"]), 1000)
        number = int(p["page"]) if _valid_id(p.get("page", "")) else 1
        if size and (number - 1) * size > MAX_ID:  # the offset must fit the database's 64-bit integer
            raise ApiError(422, "out_of_range", _("The page number is out of range."),
                           {"page": [_("The page number is out of range.")]})
        try:
            edges = tuple(int(x) for x in p.get("edges", "30,60,90,120").split(",") if x.strip())
            if any(abs(e) > MAX_EDGE_DAYS for e in edges):  # days; a 64-bit overflow otherwise
                raise ValueError("edge out of range")
            rep = aging_report(user=request.user, company=company, as_of=as_of, scheme=p.get("scheme", "collections"),
                               basis=p.get("basis", "due"), group_by=group, edges=edges,
                               customer_id=request.auth.customer_id if isinstance(request.auth, ApiKey) else None,
                               offset=(number - 1) * size if size else 0, limit=size or None)
        except ValueError as exc:
            raise ApiError(422, "invalid", _("Bucket edges must be increasing whole numbers of days."),
                           {"edges": [_("Bucket edges must be increasing whole numbers of days.")]}) from exc
        data = s.AgingOut({
            "as_of": rep.as_of, "scheme": rep.scheme, "basis": rep.basis, "group_by": rep.group_by,
            "buckets": [b.label for b in rep.buckets], "totals": rep.totals, "total": rep.total, "disputed": rep.disputed,
            "row_count": rep.row_count, "rows": [],
        }).data
        # the rows as AgingRowOut writes them, without a serializer per row: all 99,876 customers' rows (no
        # page_size) took 1.51 s of CPU through the field machinery, 0.37 s so (bench clone, load 18)
        with bulk_objects():
            data["rows"] = [{"key": None if r.key is None else str(r.key), "label": str(r.label),
                             "buckets": [format(v, "f") for v in r.buckets], "total": format(r.total, "f"),
                             "disputed": format(r.disputed, "f")} for r in rep.rows]
        return Response(data)


class StatementView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("from", OpenApiTypes.DATE, description="period start, default 1 January of `to`"),
                    OpenApiParameter("to", OpenApiTypes.DATE, description="period end, default today"),
                    OpenApiParameter("format", str, enum=["json", "pdf"],
                                     description="`pdf` returns the printable statement (application/pdf)")],
        responses={(200, "application/json"): s.StatementOut,
                   (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the statement PDF"),
                   404: s.ErrorEnvelope, 422: s.ErrorEnvelope},
    )
    def get(self, request, pk):
        from django.http import HttpResponse

        from huikuan.statements.pdf import render_statement_pdf
        from huikuan.statements.selectors import statement_data

        customer = customer_in_scope(request, pk)
        today = clock.today(company_of(request))
        period_to = _query_date(request, "to", today)
        period_from = _query_date(request, "from", period_to.replace(month=1, day=1))
        if period_from > period_to:
            raise ApiError(422, "invalid", _("The period's start must be on or before its end."))
        data = statement_data(user=request.user, customer=customer, period_from=period_from, period_to=period_to)
        if request.query_params.get("format") == "pdf":
            resp = HttpResponse(render_statement_pdf(data=data), content_type="application/pdf")
            resp["Content-Disposition"] = f'attachment; filename="statement-{customer.code}-{period_to}.pdf"'
            return resp
        return Response(s.StatementOut(data).data)
