"""``Idempotency-Key`` for API POSTs.

Same key + same body → the stored response (header ``Idempotent-Replayed: true``);
same key + different body → 422; a duplicate while the first is still running → 409.
The record is claimed in its own committed row before the operation runs, so two concurrent
requests with one key can never both execute. Failed operations release the key.
"""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .errors import ApiError
from .models import ApiKey, IdempotencyRecord


def _fingerprint(request) -> str:
    body = request.data if isinstance(request.data, dict) else {"_": request.data}
    canonical = json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(method):
    @functools.wraps(method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return method(self, request, *args, **kwargs)
        if len(key) > 100:
            raise ApiError(422, "invalid_idempotency_key", _("The Idempotency-Key is longer than 100 characters."))
        digest = _fingerprint(request)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user=request.user, api_key=api_key, key=key, request_hash=digest)
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if record is None:  # released meanwhile by a failed first attempt
                raise ApiError(409, "idempotency_conflict", _("A request with this Idempotency-Key is in progress.")) from None
            if record.request_hash != digest:
                raise ApiError(
                    422, "idempotency_key_reused", _("This Idempotency-Key was used with a different request.")
                ) from None
            if record.in_progress:
                raise ApiError(409, "idempotency_conflict", _("A request with this Idempotency-Key is in progress.")) from None
            return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})
        try:
            response = method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            in_progress=False, response_status=response.status_code, response_body=json.loads(json.dumps(response.data, default=str))
        )
        return response

    wrapper.honours_idempotency_key = True  # declared in the schema by huikuan.api.schema.AutoSchema
    return wrapper
