"""Issue 18: a client generated with openapi-python-client from the live schema works, alone, against the
live server: page through customers, create a customer, post an invoice (with an Idempotency-Key)."""

import datetime as dt
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from huikuan.customers import services as customer_services


@pytest.fixture
def generated(tmp_path, live_server, client, users):
    client.force_login(users["finance"])
    schema = client.get("/api/v1/schema/?format=json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert schema.status_code == 200
    spec = tmp_path / "schema.json"
    spec.write_bytes(schema.content)
    tool = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(tool), "generate", "--path", str(spec), "--meta", "none",
                           "--output-path", str(tmp_path / "hkclient")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # nothing of the schema was skipped
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("hkclient")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "hkclient" or m.startswith("hkclient.")]:
            del sys.modules[name]
        shutil.rmtree(tmp_path / "hkclient", ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_generated_client_flow(generated, live_server, company, users, make_key):
    from hkclient import AuthenticatedClient
    from hkclient.api.customers import customers_create, customers_list
    from hkclient.api.documents import documents_create
    from hkclient.models import CustomerIn, DocumentIn, LineIn

    for i in range(3):
        customer_services.create_customer(company=company, actor=users["admin"], code=f"PG{i}", name=f"分页客户{i}")
    _key, raw = make_key("finance")
    api = AuthenticatedClient(base_url=live_server.url, token=raw, raise_on_unexpected_status=True)

    seen, page = [], 1
    while True:
        got = customers_list.sync_detailed(client=api, page=page, page_size=2).parsed
        seen += [c.code for c in got.results]
        if not got.next_:
            break
        page += 1
    assert page >= 2 and {"PG0", "PG1", "PG2"} <= set(seen)
    assert got.results[-1].owner is None or isinstance(got.results[-1].owner, str)

    made = customers_create.sync_detailed(client=api, body=CustomerIn(code="CRM-001", name="杭州新客户有限公司"))
    assert made.status_code == 201 and made.parsed.code == "CRM-001" and made.parsed.owner is None

    body = DocumentIn(customer=made.parsed.id, document_date=dt.date(2026, 11, 2), number="INV-CRM-1",
                      lines=[LineIn(description="货款", amount="1200.50")])
    first = documents_create.sync_detailed(client=api, body=body, idempotency_key="crm-inv-1")
    again = documents_create.sync_detailed(client=api, body=body, idempotency_key="crm-inv-1")
    assert first.status_code == 201 and first.parsed.total_amount == "1200.50"
    assert again.status_code == 201 and again.parsed.id == first.parsed.id
    assert again.headers.get("Idempotent-Replayed") == "true"

    refused = documents_create.sync_detailed(client=api, body=DocumentIn(customer=made.parsed.id,
                                             document_date=dt.date(2026, 11, 2), total="-1"))
    assert refused.status_code == 422 and refused.parsed.error.code

    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{live_server.url}/api/v1/customers/", headers={"X-Api-Key": "hk_bad_key"}).raise_for_status()
