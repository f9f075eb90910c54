"""Bank statements for integrators (issue 18, apiops): import a statement file (sent as base64 in JSON — the
API reads JSON only), list statements and their lines, match lines again, and confirm a line (a stored
proposal, a hand-made plan for one customer, or all of it on a customer's account). The same services and
permissions as the banking screens (``banking.view`` / ``banking.import`` / ``banking.confirm``); banking is
company-wide, as on the screens."""

import base64
import binascii
import tempfile
from pathlib import Path

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.banking import services as banking
from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus
from huikuan.common import clock
from huikuan.common.money import ZERO

from . import serializers as s
from .errors import ApiError
from .idempotency import idempotent
from .views import Pagination, _get, _valid, _valid_id, company_of, customer_in_scope, require

ID = {"min_value": 1, "max_value": s.ID_MAX}
MAX_FILE = 20 * 1024 * 1024  # as the upload screen


class BankStatementOut(serializers.ModelSerializer):
    account = serializers.IntegerField(source="account_id")
    account_number = serializers.CharField(source="account.account_number", read_only=True)
    opening_balance = s.MoneyOutput(allow_null=True)
    closing_balance = s.MoneyOutput(allow_null=True)
    file_movement = s.MoneyOutput(allow_null=True)

    class Meta:
        model = BankStatement
        fields = ["id", "account", "account_number", "source_format", "file_name", "period_start", "period_end",
                  "opening_balance", "closing_balance", "file_movement", "total_lines", "new_lines", "imported_at"]


class MatchCounts(serializers.Serializer):
    auto_applied = serializers.IntegerField()
    suggested = serializers.IntegerField()
    unmatched = serializers.IntegerField()


class ImportOut(serializers.Serializer):
    statement = BankStatementOut()
    total = serializers.IntegerField(help_text="lines in the file")
    new = serializers.IntegerField(help_text="lines stored (not imported before on this account)")
    duplicates = serializers.IntegerField()
    outgoing = serializers.IntegerField(help_text="payments out, kept as ignored")
    matched = MatchCounts(allow_null=True)


class ImportIn(serializers.Serializer):
    file_name = serializers.CharField(max_length=200, help_text="with its extension: .csv, .xlsx, .xls, .txt (MT940)…")
    content = serializers.CharField(help_text="the file's bytes, base64-encoded (at most 20 MB)")
    account = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                       help_text="the company's bank account (default: recognised from the file)")
    profile = serializers.CharField(max_length=30, required=False, allow_blank=True, default="",
                                    help_text="force a layout (a format code such as `mt940`, `camt053`); blank: "
                                              "recognised from the file (an unknown one is 422)")


class LineOut(serializers.ModelSerializer):
    statement = serializers.IntegerField(source="statement_id")
    account = serializers.IntegerField(source="account_id")
    amount = s.MoneyOutput(help_text="signed: + received, − paid out")
    balance = s.MoneyOutput(allow_null=True)
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    payment = serializers.IntegerField(source="credit_id", allow_null=True, help_text="the payment it became")
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3, coerce_to_string=True)
    category = serializers.CharField(help_text="a suggested category for money that is not a customer's payment "
                                               "(interest, tax_refund, refund, internal, loan, subsidy); blank if none")
    proposals = serializers.SerializerMethodField(help_text="the matches proposed, best first: `index` is what "
                                                            "`…/confirm/` takes as `proposal`")

    def get_proposals(self, line) -> list[dict]:
        out = []
        for i, p in enumerate(line.proposals or []):
            out.append({"index": i, "customer": p.get("customer_id"), "confidence": str(p.get("confidence", "")),
                        "allocations": [{"instalment": int(a[0]), "amount": str(a[1]), "discount": str(a[2])}
                                        for a in p.get("allocations", [])]})
        return out

    class Meta:
        model = BankLine
        fields = ["id", "statement", "account", "date", "amount", "currency", "counterparty_name",
                  "counterparty_account", "counterparty_bank", "memo", "serial", "balance", "status", "confidence",
                  "category", "customer", "payment", "proposals", "note", "decided_at", "updated_at"]


class MatchIn(serializers.Serializer):
    lines = serializers.ListField(child=serializers.IntegerField(**ID), min_length=1, max_length=5000,
                                  help_text="open lines to match again (others are left as they are)")


class AllocationIn(serializers.Serializer):
    instalment = serializers.IntegerField(**ID)
    amount = s.MoneyInput()


class ConfirmIn(serializers.Serializer):
    proposal = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                        help_text="apply the line as this stored proposal suggests")
    customer = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                        help_text="or: the customer who paid, with `allocations` (the rest stays "
                                                  "unapplied on the account), or none (all of it on account)")
    allocations = AllocationIn(many=True, required=False, default=list)

    def validate(self, attrs):
        if (attrs["proposal"] is None) == (attrs["customer"] is None):
            raise serializers.ValidationError({"proposal": [_("Choose a suggestion or a customer.")]})
        if attrs["proposal"] is not None and attrs["allocations"]:
            raise serializers.ValidationError({"allocations": [_("Choose a suggestion or a customer.")]})
        return attrs


def _statements(request):
    require(request, "banking.view")
    return BankStatement.objects.filter(company=company_of(request)).select_related("account")


def _lines(request):
    require(request, "banking.view")
    return BankLine.objects.filter(company=company_of(request))


class StatementList(generics.ListAPIView):
    serializer_class = BankStatementOut
    pagination_class = Pagination
    sync_field = "imported_at"  # a statement is never changed

    @extend_schema(parameters=[OpenApiParameter("account", int)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = _statements(self.request)
        a = self.request.query_params.get("account")
        if a:
            qs = qs.filter(account_id=int(a)) if _valid_id(a) else qs.none()
        return qs.order_by("-imported_at", "-id")

    @extend_schema(request=ImportIn, responses={201: ImportOut})
    @idempotent
    def post(self, request):
        require(request, "banking.import")
        data = _valid(ImportIn, request)
        company = company_of(request)
        try:
            raw = base64.b64decode(data["content"], validate=True)
        except (binascii.Error, ValueError) as exc:
            msg = _("The content is not valid base64.")
            raise ApiError(422, "invalid", msg, {"content": [msg]}) from exc
        if not raw or len(raw) > MAX_FILE:
            msg = _("The file is too large.") if raw else _("The file is empty.")
            raise ApiError(422, "invalid", msg, {"content": [msg]})
        if data["account"] and not BankAccount.objects.filter(company=company, pk=data["account"]).exists():
            raise ApiError(404, "not_found", _("Not found."))
        suffix = Path(data["file_name"]).suffix.lower()[:10]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(raw)
            res = banking.import_statement(company=company, path=path, file_name=data["file_name"],
                                           actor=request.user, account_id=data["account"], profile=data["profile"],
                                           on=clock.today(company))
        out = {"statement": res.statement, "total": res.total, "new": res.new, "duplicates": res.duplicates,
               "outgoing": res.outgoing, "matched": res.matched or None}
        return Response(ImportOut(out).data, status=status.HTTP_201_CREATED)


class StatementDetail(APIView):
    @extend_schema(responses={200: BankStatementOut})
    def get(self, request, pk):
        return Response(BankStatementOut(_get(_statements(request), pk)).data)


class LineList(generics.ListAPIView):
    serializer_class = LineOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=[*LineStatus.values, "open"],
                                                description="`open`: unmatched or suggested"),
                               OpenApiParameter("statement", int), OpenApiParameter("account", int)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _lines(self.request)
        st = p.get("status", "")
        if st == "open":
            qs = qs.filter(status__in=[LineStatus.UNMATCHED, LineStatus.SUGGESTED], amount__gt=0)
        elif st in LineStatus.values:
            qs = qs.filter(status=st)
        elif st:
            raise ApiError(422, "invalid", _("Unknown option."), {"status": [_("Unknown option.")]})
        for name in ("statement", "account"):
            if p.get(name):
                qs = qs.filter(**{f"{name}_id": int(p[name])}) if _valid_id(p[name]) else qs.none()
        return qs.order_by("date", "id")


class LineDetail(APIView):
    @extend_schema(responses={200: LineOut})
    def get(self, request, pk):
        return Response(LineOut(_get(_lines(request), pk)).data)


class LineMatch(APIView):
    @extend_schema(request=MatchIn, responses={200: MatchCounts})
    def post(self, request):
        require(request, "banking.confirm")
        data = _valid(MatchIn, request)
        company = company_of(request)
        ids = list(_lines(request).filter(pk__in=data["lines"]).values_list("pk", flat=True))
        if len(ids) != len(set(data["lines"])):
            raise ApiError(404, "not_found", _("Not found."))
        counts = banking.match_lines(company=company, line_ids=ids, actor=request.user, on=clock.today(company))
        return Response(MatchCounts(counts).data)


class LineConfirm(APIView):
    @extend_schema(request=ConfirmIn, responses={200: LineOut})
    def post(self, request, pk):
        line = _get(_lines(request), pk)
        require(request, "banking.confirm")
        data = _valid(ConfirmIn, request)
        company = company_of(request)
        on = clock.today(company)
        if data["proposal"] is not None:
            banking.confirm_proposal(company=company, line_id=line.pk, index=data["proposal"], actor=request.user,
                                     on=on)
        else:
            customer = customer_in_scope(request, data["customer"])
            part = banking.Part(customer_id=customer.pk,
                                allocations=[(a["instalment"], a["amount"], ZERO) for a in data["allocations"]])
            banking.apply_line(company=company, line_id=line.pk, parts=[part], actor=request.user, on=on)
        return Response(LineOut(_lines(request).get(pk=line.pk)).data)
