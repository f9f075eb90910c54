"""/api/v1/customers/{id}/bank-accounts/: list, create, change, delete; scope → 404; OpenAPI schema."""

import pytest

pytestmark = pytest.mark.django_db


def test_api_list_create_delete_and_scope(api, customer, other_customer):
    c = api()
    url = f"/api/v1/customers/{customer.pk}/bank-accounts/"
    r = c.post(url, {"bank_name": "招商银行", "account_number": "7559 1234 5610 002", "account_name": "华东机械"},
               format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["account_number"] == "755912345610002"
    assert c.get(url).json()[0]["id"] == body["id"]
    dup = c.post(f"/api/v1/customers/{other_customer.pk}/bank-accounts/", {"account_number": "755912345610002"},
                 format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_bank_account"
    bad = c.post(url, {"account_number": "abc"}, format="json")
    assert bad.status_code == 422 and "account_number" in bad.json()["error"]["fields"]
    patched = c.patch(f"{url}{body['id']}/", {"note": "基本户"}, format="json")
    assert patched.status_code == 200 and patched.json()["note"] == "基本户"
    west = api("sales_west")
    assert west.get(url).status_code == 404
    assert west.delete(f"{url}{body['id']}/").status_code == 404
    # the account addressed under another customer is not found either
    assert c.delete(f"/api/v1/customers/{other_customer.pk}/bank-accounts/{body['id']}/").status_code == 404
    assert api("auditor").delete(f"{url}{body['id']}/").status_code == 403
    assert c.delete(f"{url}{body['id']}/").status_code == 204
    assert c.get(url).json() == []


def test_openapi_schema_describes_the_bank_account_routes(client, users):
    client.force_login(users["finance"])
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    lst = paths["/api/v1/customers/{id}/bank-accounts/"]
    one = paths["/api/v1/customers/{id}/bank-accounts/{account_pk}/"]
    assert set(lst) >= {"get", "post"} and set(one) >= {"get", "patch", "delete"}
    assert "409" in lst["post"]["responses"] and "204" in one["delete"]["responses"]
    req = lst["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][req]["required"] == ["account_number"]
