"""The internal audit over the API, read-only, for administrators and auditors (``audit.report``):

- ``GET /api/v1/audit/events/``: the audit-log search (``from``, ``to``, ``category``, ``verb``, ``user``,
  ``customer``, ``object_type``, ``object_id``, ``q``), newest first, in keyset pages: follow ``next`` (the
  ``after`` cursor) — each page costs the same however deep;
- ``GET /api/v1/audit/report/``: events per category and the segregation-of-duties findings of the period.

Same selectors as the pages (``huikuan.insight.audit_report``); a period ending before it starts is 422."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.common import clock
from huikuan.common.audit import describe
from huikuan.insight import audit_report as ar

from .errors import ApiError
from .serializers import ErrorEnvelope
from .views import _query_date, company_of, require

MAX_PAGE = 500


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.IntegerField(allow_null=True)
    actor_username = serializers.CharField(allow_null=True)
    verb = serializers.CharField()
    title = serializers.CharField(help_text="the verb's label in the request's language")
    detail = serializers.CharField(help_text="the event in the request's language")
    target_type = serializers.CharField()
    target_id = serializers.IntegerField(allow_null=True)
    customer = serializers.IntegerField(allow_null=True)
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    data = serializers.JSONField()


class AuditPageOut(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="the cursor of the next page (pass as ?after=), null at the end")
    results = AuditEventOut(many=True)


class CategoryOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    events = serializers.IntegerField()


class FindingOut(serializers.Serializer):
    rule = serializers.ChoiceField(choices=["request_approval", "customer_limit"])
    label = serializers.CharField()
    customer = serializers.IntegerField(allow_null=True, source="customer_id")
    object = serializers.CharField(source="object_label")
    first_step = serializers.CharField(source="first_verb")
    first_by = serializers.CharField(source="first_actor")
    first_at = serializers.DateTimeField()
    second_step = serializers.CharField(source="second_verb")
    second_by = serializers.CharField(source="second_actor")
    second_at = serializers.DateTimeField()
    same_account = serializers.BooleanField()


class AuditReportOut(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    categories = CategoryOut(many=True)
    findings = FindingOut(many=True)


def _int(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, "invalid", _("Enter a whole number."), {name: [_("Enter a whole number.")]})
    return int(raw)


def _filters(request, *, days: int) -> ar.Filters:
    company = company_of(request)
    today = clock.today(company)
    return ar.Filters(
        since=_query_date(request, "from", today - dt.timedelta(days=days)), until=_query_date(request, "to", today),
        category=request.query_params.get("category", "").strip(), actor_id=_int(request, "user"),
        customer_id=_int(request, "customer"), verb=request.query_params.get("verb", "").strip()[:80],
        target_type=request.query_params.get("object_type", "").strip()[:80], target_id=_int(request, "object_id"),
        text=request.query_params.get("q", "").strip()[:100])


FILTER_PARAMS = [
    OpenApiParameter("from", str, description="YYYY-MM-DD, in the company's time zone"),
    OpenApiParameter("to", str, description="YYYY-MM-DD (inclusive)"),
    OpenApiParameter("category", str, enum=list(ar.BY_CODE)), OpenApiParameter("user", int),
    OpenApiParameter("customer", int),
]


class AuditEventList(APIView):
    @extend_schema(parameters=[
        *FILTER_PARAMS, OpenApiParameter("verb", str, description="a verb, or a prefix ending in *"),
        OpenApiParameter("object_type", str), OpenApiParameter("object_id", int),
        OpenApiParameter("q", str, description="text in the summary or the data (before/after, notes)"),
        OpenApiParameter("after", str, description="cursor from the previous page's next"),
        OpenApiParameter("page_size", int, description="1–500, default 100")],
        responses={200: AuditPageOut, 403: ErrorEnvelope, 422: ErrorEnvelope})
    def get(self, request):
        require(request, "audit.report")
        company = company_of(request)
        size = _int(request, "page_size") or 100
        rows, after = ar.page_after(ar.events(company=company, f=_filters(request, days=30)),
                                    after=request.query_params.get("after", ""), size=min(max(size, 1), MAX_PAGE))
        out = []
        for ev, d in zip(rows, describe(rows), strict=True):
            data = ev.data or {}
            out.append({"id": ev.pk, "at": ev.at, "actor": ev.actor_id,
                        "actor_username": ev.actor.username if ev.actor_id else None, "verb": ev.verb,
                        "title": d.title, "detail": d.detail, "target_type": ev.target_type, "target_id": ev.target_id,
                        "customer": ev.customer_id, "before": data.get("before"), "after": data.get("after"),
                        "data": data})
        return Response(AuditPageOut({"next": after or None, "results": out}).data)


class AuditReportView(APIView):
    @extend_schema(parameters=FILTER_PARAMS, responses={200: AuditReportOut, 403: ErrorEnvelope, 422: ErrorEnvelope})
    def get(self, request):
        require(request, "audit.report")
        company = company_of(request)
        today = clock.today(company)
        f = _filters(request, days=today.day - 1)
        counts = ar.category_counts(company=company, f=f)
        return Response(AuditReportOut({
            "date_from": f.since, "date_to": f.until,
            "categories": [{"code": c.code, "label": str(c.label), "events": n} for c, n in counts],
            "findings": ar.sod_findings(company=company, f=f),
        }).data)
