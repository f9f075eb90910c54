"""Issue 18: the OpenAPI schema is the integrator's contract (JSON only, English, errors, headers, nulls)."""

import json

import pytest
from rest_framework.test import APIClient

from huikuan.customers.models import Customer


@pytest.fixture
def schema(client, users):
    client.force_login(users["finance"])
    r = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/")
    return json.loads(r.content)


def _ops(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, op


def test_format_json_version_servers_and_english(schema, client):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["version"] == "1.0.0"
    assert schema["servers"] and schema["servers"][0]["url"]
    assert client.get("/api/v1/schema/?format=yaml").content.startswith(b"openapi:")
    assert client.get("/api/v1/schema/?format=xml").status_code == 404
    # fetched in Chinese, written in English: no CJK outside examples of Chinese input
    text = json.dumps(schema, ensure_ascii=False)
    assert "请" not in text and "无效" not in text and "必须" not in text
    bad = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert json.loads(bad.content)["info"]["title"] == "Huikuan API"


def test_writes_accept_json_only(schema, api, customer):
    for path, method, op in _ops(schema):
        if "requestBody" in op:
            assert list(op["requestBody"]["content"]) == ["application/json"], (method, path)
        if method in ("post", "put", "patch"):
            assert "415" in op["responses"], (method, path)
    c = api()
    r = c.post("/api/v1/customers/", {"code": "F1", "name": "表单客户"})  # multipart form: not parsed
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert not Customer.objects.filter(code="F1").exists()
    r = c.post("/api/v1/customers/", "code=F1&name=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415 and not Customer.objects.filter(code="F1").exists()
    r = c.post("/api/v1/customers/", "", content_type="application/x-www-form-urlencoded")  # an empty form too
    assert r.status_code == 415
    assert c.post("/api/v1/customers/", {"code": "F1", "name": "表单客户"}, format="json").status_code == 201


def test_security_schemes_and_error_statuses(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {**schemes["ApiKeyHeader"], "type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert schemes["ApiKey"]["scheme"] == "bearer"
    envelope = "#/components/schemas/ErrorEnvelope"
    for path, method, op in _ops(schema):
        assert {"ApiKey": []} in op["security"] and {"ApiKeyHeader": []} in op["security"]
        codes = set(op["responses"])
        assert {"401", "403", "429"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method in ("post", "patch"):
            assert {"409", "422"} <= codes, (method, path)
        for code in codes & {"401", "403", "404", "409", "422", "429"}:
            body = op["responses"][code]["content"]["application/json"]["schema"]
            assert body["$ref"] == envelope, (method, path, code)
    err = schema["components"]["schemas"]["ErrorEnvelope"]
    assert "error" in err["properties"]


def test_idempotency_headers_declared_on_writes_that_honour_them(schema):
    post = schema["paths"]["/api/v1/payments/"]["post"]
    header = [p for p in post["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert header and not header[0].get("required")
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    for path in ("/api/v1/customers/", "/api/v1/documents/", "/api/v1/credit-notes/",
                 "/api/v1/payments/{id}/allocations/"):
        names = [p["name"] for p in schema["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path
    # a GET or a PATCH does not pretend to honour it
    get = schema["paths"]["/api/v1/payments/"]["get"]
    assert "Idempotency-Key" not in [p["name"] for p in get.get("parameters", [])]


def test_nullable_fields_are_declared_nullable(schema, api, company, users):
    from huikuan.customers import services

    comps = schema["components"]["schemas"]
    for name in ("group", "owner", "payment_terms"):
        assert comps["CustomerOut"]["properties"][name].get("nullable") is True, name
    assert comps["DocumentOut"]["properties"]["salesperson"].get("nullable") is True
    # and they really arrive null
    services.create_customer(company=company, actor=users["admin"], code="NUL1", name="无负责人客户")
    rows = api().get("/api/v1/customers/?q=NUL1").json()["results"]
    assert rows[0]["owner"] is None and rows[0]["group"] is None and rows[0]["payment_terms"] is None


def test_statement_pdf_is_declared_binary(schema):
    ok = schema["paths"]["/api/v1/customers/{id}/statement/"]["get"]["responses"]["200"]["content"]
    assert ok["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert "$ref" in ok["application/json"]["schema"]


def test_x_api_key_header_authenticates(make_key):
    _key, raw = make_key()
    c = APIClient()
    assert c.get("/api/v1/customers/").status_code == 401
    assert c.get("/api/v1/customers/", HTTP_X_API_KEY=raw).status_code == 200


def test_openapi_spec_validator_passes(schema):
    from openapi_spec_validator import validate

    validate(schema)  # raises on any violation of the OpenAPI 3 specification


def test_operation_ids_are_unique(schema):
    ids = [op["operationId"] for _p, _m, op in _ops(schema)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert "/api/v1/credit-checks" not in schema["paths"] and "/api/v1/credit-checks/" in schema["paths"]


def test_every_operation_has_a_summary_and_an_integrator_description(schema):
    for path, method, op in _ops(schema):
        assert op.get("summary"), (method, path, "add it to huikuan/api/operations.py")
        assert len(op.get("description", "")) >= 30, (method, path, "add it to huikuan/api/operations.py")
    # view docstrings (written for the code's readers) never reach the contract
    text = json.dumps(schema)
    assert "value rows" not in text and "Rows" not in text.replace("Rows of the list", "")
