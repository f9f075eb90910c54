"""The OpenAPI schema is the integrator's contract (issue 18).

``AutoSchema`` adds what every operation really does but DRF cannot see: the error statuses with the
error envelope (401 without a valid key, 403 without the permission, 404 outside scope, 409 on a
stale version / duplicate / an Idempotency-Key still running, 422 on invalid input or a reused
Idempotency-Key, 429 when throttled), the ``Idempotency-Key`` request header and the
``Idempotent-Replayed`` response header on writes that honour it, and ``nullable`` on output fields
that read through an optional relation (``owner``, ``group``, ``payment_terms``, ``salesperson`` …).
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

ERROR_DESCRIPTIONS = {
    "401": "No API key, or the key is invalid, expired or revoked.",
    "403": "The key's user lacks the permission this operation needs.",
    "404": "No such object within the key's scope, in the path or named in the body (objects of other "
           "companies, salespeople or customers "
           "are reported as missing); on a list read by page number, a `page` past the last page.",
    "409": "Conflict: a stale `version`, a duplicate number or external key, a state that forbids the "
           "change, or a request with the same Idempotency-Key still running.",
    "422": "The request is not valid (field errors in `error.fields`: the body, or a query value such as a "
           "date, `updated_since` or `cursor`), or its Idempotency-Key was used with a different request.",
    "415": "The body is not JSON (`Content-Type: application/json`); form and multipart posts are refused.",
    "429": "Too many requests; retry after the number of seconds in the `Retry-After` header.",
}

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def is_idempotent(view_method) -> bool:
    return bool(getattr(view_method, "honours_idempotency_key", False))


class AutoSchema(openapi.AutoSchema):
    # Summaries and descriptions come from huikuan.api.operations (or an explicit extend_schema): a view's
    # docstring is written for the code's readers, not for integrators, and never reaches the schema.
    def get_summary(self):
        from .operations import OPERATIONS

        entry = OPERATIONS.get(self.get_operation_id())
        return entry[0] if entry else None

    def get_description(self):
        from .operations import OPERATIONS

        entry = OPERATIONS.get(self.get_operation_id())
        return entry[1] if entry else ""

    def _view_method(self):
        return getattr(self.view, self.method.lower(), None)

    def _idempotent(self) -> bool:
        return self.method == "POST" and is_idempotent(self._view_method())

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self._idempotent():
            params += [
                OpenApiParameter(
                    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                    description="Any unique string of up to 100 characters (e.g. a UUID). Sending the same key "
                                "with the same body again returns the first response instead of doing the work "
                                "twice; the same key with a different body is refused with 422; while the first "
                                "request is still running, 409.",
                ),
                OpenApiParameter(
                    "Idempotent-Replayed", str, OpenApiParameter.HEADER, response=["200", "201"], enum=["true"],
                    description="Present (`true`) when this response is the stored response of an earlier request "
                                "with the same Idempotency-Key.",
                ),
            ]
        return params

    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429"]
        if "{" in self.path or self.method in WRITES or (self.method == "GET" and self._is_list_view()):
            codes.append("404")  # outside the scope (path or body); on a page-number list, a page past the last
        if self.method == "GET" and (self._is_list_view() or any(
                p.location == OpenApiParameter.QUERY for p in super().get_override_parameters()
                if isinstance(p, OpenApiParameter))):
            codes.append("422")  # a malformed query value (date, cursor, updated_since, option)
        elif self.method == "GET" and "{" in self.path:
            codes.append("422")  # a path value with a control character (common.middleware), e.g. an external key
        if self.method in WRITES:
            codes.append("409")
            if self.method != "DELETE":
                codes += ["415", "422"]
        if self._idempotent() and "422" not in codes:
            codes.append("422")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/"):
            return responses
        from .serializers import ErrorEnvelope

        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorEnvelope, description=ERROR_DESCRIPTIONS[code]), code, direction=direction
                )
            elif not responses[code].get("description"):
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A blank default ("") is not a valid value of a formatted string (email, uri): leave it undeclared.
        if isinstance(schema, dict) and schema.get("format") and schema.get("default") == "":
            del schema["default"]
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # A blank-allowed formatted string is "either blank or an e-mail": "" fits both branches, which
        # `oneOf` forbids (exactly one must match) — so a blank e-mail would break a validating client.
        if "oneOf" in schema and any(b.get("maxLength") == 0 for b in schema["oneOf"]):
            schema["anyOf"] = schema.pop("oneOf")

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        # An output field read through an optional relation (source="owner.username", default=None)
        # is null when the relation is empty: say so, or generated clients reject the response.
        if getattr(field, "read_only", False) and getattr(field, "default", object()) is None:
            meta["nullable"] = True
        return meta
