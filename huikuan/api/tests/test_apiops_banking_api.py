"""Issue 18 (apiops): bank statements through the API — import (base64 in JSON, all or nothing), statements
and lines, matching again and confirming a line — with the banking screens' services and permissions."""

import base64
import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus
from huikuan.ledger import services as ledger
from huikuan.ledger.models import Credit, Instalment

pytestmark = pytest.mark.django_db
HEAD = "招商银行企业网银 交易明细\n账号：755912345610001  币种：人民币\n交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途\n"


def _file(rows) -> str:
    return base64.b64encode((HEAD + "\n".join(rows) + "\n").encode("gbk")).decode()


@pytest.fixture
def account(company):
    return BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")


def test_import_lines_and_confirm(company, customer, finance, account, api):
    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 1),
                               total=D("3000.00"), actor=finance, number="XS-1")
    c = api("finance")
    body = {"file_name": "cmb.csv", "content": _file([
        "2026年03月06日,A1,,1000.00,某某个人,6222000000000001,转账",
        "2026年03月07日,A2,50.00,,中国电信,,电话费"])}
    r = c.post("/api/v1/bank-statements/", body, format="json", HTTP_IDEMPOTENCY_KEY="stmt-1")
    assert r.status_code == 201, r.content
    got = r.json()
    assert got["total"] == 2 and got["new"] == 2 and got["outgoing"] == 1
    assert got["statement"]["account"] == account.pk
    again = c.post("/api/v1/bank-statements/", body, format="json", HTTP_IDEMPOTENCY_KEY="stmt-1")
    assert again.json()["statement"]["id"] == got["statement"]["id"] and BankStatement.objects.count() == 1
    sid = got["statement"]["id"]
    assert [s["id"] for s in c.get("/api/v1/bank-statements/").json()["results"]] == [sid]
    lines = c.get("/api/v1/bank-lines/", {"statement": sid, "status": "open"}).json()["results"]
    assert len(lines) == 1 and lines[0]["amount"] == "1000.00"
    lid = lines[0]["id"]
    since = lines[0]["updated_at"]
    assert c.post("/api/v1/bank-lines/match/", {"lines": [lid]}, format="json").status_code == 200
    inst = Instalment.objects.get(document=doc)
    BankLine.objects.update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # both lines long unchanged
    done = c.post(f"/api/v1/bank-lines/{lid}/confirm/", {"customer": customer.pk, "allocations": [
        {"instalment": inst.pk, "amount": "1000.00"}]}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == LineStatus.CONFIRMED and done.json()["payment"]
    inst.refresh_from_db()
    assert inst.open_amount == D("2000.00")
    # a sync by change time finds the confirmed line (its change moved updated_at), and only changed lines
    changed = c.get("/api/v1/bank-lines/", {"updated_since": "2026-06-01T00:00:00Z"}).json()["results"]
    assert [x["id"] for x in changed] == [lid] and changed[0]["status"] == LineStatus.CONFIRMED
    assert changed[0]["updated_at"] > since
    twice = c.post(f"/api/v1/bank-lines/{lid}/confirm/", {"customer": customer.pk}, format="json")
    assert twice.status_code == 409
    assert Credit.objects.count() == 1


def test_import_and_confirm_refusals(company, customer, other_customer, finance, account, api):
    c = api("finance")
    assert c.post("/api/v1/bank-statements/", {"file_name": "x.csv", "content": "%%%"},
                  format="json").status_code == 422
    bad = c.post("/api/v1/bank-statements/", {"file_name": "x.csv", "content": _file(["garbage,row"])},
                 format="json")
    assert bad.status_code == 422 and bad.json()["error"]["code"].startswith("statement")
    assert api("sales_east").post("/api/v1/bank-statements/", {"file_name": "x.csv", "content": _file([])},
                                  format="json").status_code == 403
    assert api("sales_east").get("/api/v1/bank-lines/").status_code == 403
    assert BankStatement.objects.count() == 0 and BankLine.objects.count() == 0
    ok = c.post("/api/v1/bank-statements/", {"file_name": "c.csv", "content": _file([
        "2026年03月06日,B1,,500.00,某某个人,6222000000000001,转账"])}, format="json")
    assert ok.status_code == 201
    lid = BankLine.objects.get().pk
    url = f"/api/v1/bank-lines/{lid}/confirm/"
    assert c.post(url, {}, format="json").status_code == 422  # neither a proposal nor a customer
    assert c.post(url, {"proposal": 7}, format="json").status_code == 422
    assert api("auditor").post(url, {"customer": customer.pk}, format="json").status_code == 403
    assert c.post("/api/v1/bank-lines/match/", {"lines": [lid, 999999]}, format="json").status_code == 404
    assert c.get("/api/v1/bank-lines/", {"status": "weird"}).status_code == 422
    assert BankLine.objects.get().status in (LineStatus.UNMATCHED, LineStatus.SUGGESTED)
    assert Credit.objects.count() == 0
    on_account = c.post(url, {"customer": other_customer.pk}, format="json")
    assert on_account.status_code == 200 and on_account.json()["customer"] == other_customer.pk
