"""Issue 18: a client generated with openapi-python-client from the live schema works, alone, against the
live server: page through customers, create a customer, post an invoice (with an Idempotency-Key)."""

import datetime as dt
import importlib
import os
import shutil
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

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


@pytest.mark.django_db(transaction=True)
def test_generated_client_integrator_flow(generated, live_server, company, users, make_key):
    """The integrator flow of issue 18 through the generated client alone, every response checked against
    the schema: page customers, create one (external key; 409 with the existing id on a re-post), credit
    check with reservation, invoice with a schedule, payment twice with one Idempotency-Key, allocate,
    reverse, upsert by external key, log a call, aging, then sync with updated_since following next_cursor."""
    from hkclient import AuthenticatedClient
    from hkclient.api.activities import activities_create
    from hkclient.api.aging import aging_retrieve
    from hkclient.api.credit_checks import credit_checks_create
    from hkclient.api.customers import customers_by_external_key_update, customers_create, customers_list
    from hkclient.api.documents import documents_create, documents_list
    from hkclient.api.payments import (
        payments_allocations_create,
        payments_allocations_reverse_create,
        payments_create,
        payments_retrieve,
    )
    from hkclient.models import (
        ActivityIn,
        AllocateIn,
        AllocationLineIn,
        CreditCheckIn,
        CustomerIn,
        CustomerUpsertIn,
        DocumentIn,
        LineIn,
        PaymentIn,
        ReverseIn,
        ScheduleIn,
    )

    from huikuan.common import clock
    from huikuan.credit import services as credit_services
    from huikuan.credit.models import CreditProfile

    from . import contract

    checked = []

    def against_schema(response):
        response.read()
        contract.check(response.request.method, response.request.url.path, response)
        checked.append(response.status_code)

    for i in range(3):
        customer_services.create_customer(company=company, actor=users["admin"], code=f"PG{i}", name=f"分页客户{i}")
    _key, raw = make_key("finance")
    api = AuthenticatedClient(base_url=live_server.url, token=raw, raise_on_unexpected_status=True,
                              httpx_args={"event_hooks": {"response": [against_schema]}})
    today = clock.today(company)
    mark = timezone.now()

    codes, page = [], 1
    while True:
        got = customers_list.sync_detailed(client=api, page=page, page_size=2).parsed
        codes += [c.code for c in got.results]
        if not got.next_:
            break
        page += 1
    assert {"PG0", "PG1", "PG2"} <= set(codes)

    made = customers_create.sync_detailed(client=api, body=CustomerIn(code="CRM-42", name="杭州集成客户有限公司",
                                                                      external_key="crm:42"))
    assert made.status_code == 201 and made.parsed.external_key == "crm:42"
    cid = made.parsed.id
    dup = customers_create.sync_detailed(client=api, body=CustomerIn(code="CRM-42B", name="重复", external_key="crm:42"))
    assert dup.status_code == 409 and dup.parsed.error.code == "duplicate_external_key"
    assert dup.parsed.error.existing_id == cid
    # the sync write (apiops): upsert by the CRM's key — changes only what is sent, or creates
    up = customers_by_external_key_update.sync_detailed("crm:42", client=api, body=CustomerUpsertIn(region="华东"))
    assert up.status_code == 200 and up.parsed.id == cid and up.parsed.region == "华东"
    assert up.parsed.name == "杭州集成客户有限公司"
    new = customers_by_external_key_update.sync_detailed("crm:43", client=api, body=CustomerUpsertIn(
        code="CRM-43", name="宁波集成客户有限公司"))
    assert new.status_code == 201 and new.parsed.external_key == "crm:43"

    credit_services.policy_of(company)
    CreditProfile.objects.create(company=company, customer_id=cid, limit_amount=D("5000"), grade="A")
    check = credit_checks_create.sync_detailed(client=api, body=CreditCheckIn(customer=cid, amount="1200.50",
                                                                              order_reference="SO-CRM-42"))
    assert check.status_code == 201 and check.parsed.outcome == "approve" and check.parsed.order_status == "open"

    doc = documents_create.sync_detailed(client=api, body=DocumentIn(
        customer=cid, document_date=today - dt.timedelta(days=40), number="INV-CRM-42",
        lines=[LineIn(description="货款", amount="1200.50")],
        instalments=[ScheduleIn(due_date=today - dt.timedelta(days=10), amount="600.00"),
                     ScheduleIn(due_date=today + dt.timedelta(days=5), amount="600.50")]))  # 45 days: grade A's maximum
    assert doc.status_code == 201 and [i.amount for i in doc.parsed.instalments] == ["600.00", "600.50"]
    first_due = doc.parsed.instalments[0].id

    body = PaymentIn(customer=cid, amount="600.00", date=today, auto_allocate=False, external_key="bank:9001")
    pay = payments_create.sync_detailed(client=api, body=body, idempotency_key="crm-pay-9001")
    again = payments_create.sync_detailed(client=api, body=body, idempotency_key="crm-pay-9001")
    assert pay.status_code == again.status_code == 201 and again.parsed.id == pay.parsed.id
    assert again.headers.get("Idempotent-Replayed") == "true" and pay.parsed.unapplied_amount == "600.00"

    alloc = payments_allocations_create.sync_detailed(pay.parsed.id, client=api, body=AllocateIn(
        allocations=[AllocationLineIn(instalment=first_due, amount="600.00")]))
    assert alloc.status_code == 201 and alloc.parsed[0].amount == "600.00"
    assert payments_retrieve.sync_detailed(pay.parsed.id, client=api).parsed.unapplied_amount == "0.00"
    undone = payments_allocations_reverse_create.sync_detailed(pay.parsed.id, alloc.parsed[0].id, client=api,
                                                               body=ReverseIn(reason="分错了客户的发票"))
    assert undone.status_code == 200 and undone.parsed.amount == "-600.00"
    assert payments_retrieve.sync_detailed(pay.parsed.id, client=api).parsed.unapplied_amount == "600.00"

    logged = activities_create.sync_detailed(client=api, body=ActivityIn(customer=cid, note="对账后已付第一期"))
    assert logged.status_code == 201 and logged.parsed.customer == cid and logged.parsed.promise is None

    aging = aging_retrieve.sync_detailed(client=api, as_of=today.isoformat()).parsed
    assert aging.total == "1200.50"

    changed, cursor = [], UNSET_CURSOR
    while True:
        kw = {"cursor": cursor} if cursor is not UNSET_CURSOR else {"updated_since": mark}
        got = customers_list.sync_detailed(client=api, page_size=2, **kw).parsed
        changed += [c.id for c in got.results]
        if got.next_cursor is None:
            break
        cursor = got.next_cursor
    assert cid in changed and len(changed) == len(set(changed))
    docs = documents_list.sync_detailed(client=api, updated_since=mark).parsed
    assert [d.number for d in docs.results] == ["INV-CRM-42"]
    assert checked and all(code < 500 for code in checked)


UNSET_CURSOR = object()
