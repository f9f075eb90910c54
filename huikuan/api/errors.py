"""One error envelope for the whole API:

    {"error": {"code": "over_allocation", "message": "…", "fields": {"amount": ["…"]}}}
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import exception_handler

from huikuan.common.errors import DomainError


class ApiError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str, fields=None, **extra):
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code
        self.fields = fields or {}
        self.extra = extra  # e.g. existing_id on duplicate_external_key (huikuan.api.sync)


def envelope(code: str, message: str, fields=None, **extra) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}, **extra}}


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {}


def _throttle_unauthenticated(exc, context):
    """DRF checks throttles only after authentication and permissions pass, so a request without a key (or
    with a wrong one, guessing) would never meet the anonymous rate: count it here, against the same rate
    and cache as the anonymous throttle (Redis when configured), and answer 429 once it is spent."""
    request = context.get("request")
    if request is None:
        return exc
    throttle = AnonRateThrottle()
    if throttle.allow_request(request, context.get("view")):
        return exc
    return exceptions.Throttled(throttle.wait())


def handle(exc, context):
    if isinstance(exc, DomainError):
        fields = {exc.field: [str(exc.message)]} if exc.field else {}
        return Response(envelope(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, ApiError):
        return Response(envelope(exc.error_code, exc.detail, exc.fields, **exc.extra), status=exc.status_code)
    if isinstance(exc, Http404):
        return Response(envelope("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        exc = _throttle_unauthenticated(exc, context)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": [str(x) for x in exc.detail]}
        response.data = envelope("invalid", _("The request is not valid."), fields)
        response.status_code = 422
        return response
    code = getattr(exc, "default_code", "error")
    detail = getattr(exc, "detail", str(exc))
    response.data = envelope(code, detail if isinstance(detail, str) else str(detail))
    return response
