"""A response validator: every response the API tests receive is checked against the OpenAPI schema
(issue 18) — its status must be declared for the operation, and a JSON body must match the declared
schema (OpenAPI 3.0 semantics: ``nullable``, ``readOnly``), so the schema cannot drift from what the
API really answers."""

from __future__ import annotations

import functools
import json
import re

from openapi_schema_validator import OAS30ReadValidator

SKIP = ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/")


@functools.cache
def schema() -> dict:
    from django.utils import translation
    from drf_spectacular.generators import SchemaGenerator

    with translation.override("en"):
        return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


@functools.cache
def _routes() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in schema()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        out.append((re.compile(f"^{pattern}$"), template))
    return out


def _nullable_refs(node):
    """``{"allOf": [ref], "nullable": true}`` (how OpenAPI 3.0 generators write a nullable reference, and how
    openapi-python-client reads it) as ``anyOf [ref, null]``: the validator applies ``nullable`` only to a
    ``type`` beside it."""
    if isinstance(node, list):
        return [_nullable_refs(x) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_refs(v) for k, v in node.items()}
    if node.get("nullable") and "allOf" in node and "type" not in node:
        rest = {k: v for k, v in node.items() if k not in ("allOf", "nullable")}
        return {**rest, "anyOf": [{"allOf": node["allOf"]}, {"enum": [None]}]}
    return node


@functools.cache
def _components() -> dict:
    return _nullable_refs(schema()["components"])


def operation(path: str, method: str) -> dict | None:
    for pattern, template in _routes():  # /bank-lines/match/ also fits /bank-lines/{id}/: take the one with the method
        if pattern.match(path) and (op := schema()["paths"][template].get(method.lower())) is not None:
            return op
    return None


def check(method: str, path: str, response) -> None:
    """Raise AssertionError when ``response`` is not what the schema declares for ``method path``."""
    if not path.startswith("/api/v1/") or path.startswith(SKIP):
        return
    op = operation(path, method) or operation(path + "/", method)  # /credit-checks: the old alias of /credit-checks/
    assert op is not None, f"{method} {path}: no such operation in the schema"
    status = str(response.status_code)
    if status == "405":  # a method the path does not have: answered by DRF before any operation
        return
    declared = op["responses"].get(status)
    assert declared is not None, f"{method} {path}: status {status} is not declared ({sorted(op['responses'])})"
    ctype = response.headers.get("Content-Type", "").split(";")[0]
    if ctype != "application/json" or not response.content:
        return
    content = declared.get("content", {})
    assert "application/json" in content, f"{method} {path} {status}: JSON body, but none declared"
    body_schema = {**_nullable_refs(content["application/json"]["schema"]), "components": _components()}
    errors = sorted(OAS30ReadValidator(body_schema).iter_errors(json.loads(response.content)), key=str)
    assert not errors, f"{method} {path} {status}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
