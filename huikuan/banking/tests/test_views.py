"""Screens through the client: upload, statement + reconciliation, queue, confirm, undo, exports, CLI."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from huikuan.banking.models import BankAlias, BankLine, BankStatement, LineStatus
from huikuan.ledger.models import Instalment

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    s = client.session
    s["company_id"] = user.companies.first().pk
    s.save()


def test_upload_statement_reconciliation_queue_confirm_undo(client, company, finance, account, customer, post,
                                                            other_customer, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 10, 0))
    doc = post(customer, "12345.60", number="INV-2026-00001")
    d2 = post(other_customer, "1000.00")
    login(client, finance)
    data = (SAMPLES / "cn_debit_credit_gbk.csv").read_bytes()
    r = client.post("/bank/upload/", {"file": SimpleUploadedFile("stmt.csv", data, "text/csv")})
    st = BankStatement.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/bank/statements/{st.pk}/")
    assert Instalment.objects.get(document=doc).open_amount == 0
    page = client.get(f"/bank/statements/{st.pk}/").content.decode()
    assert "83,330.60" in page or "83330.60" in page
    assert "badge ok" in page  # opening + lines = closing
    line = BankLine.objects.get(serial="HK0303001")
    assert line.status == LineStatus.AUTO_APPLIED  # exact payer name, exact amount, nothing else close
    assert Instalment.objects.get(document=d2).open_amount == 0
    client.post(f"/bank/lines/{line.pk}/undo/", {"reason": "check"})
    assert Instalment.objects.get(document=d2).open_amount == D("1000.00")
    assert BankLine.objects.get(pk=line.pk).status == LineStatus.SUGGESTED
    q = client.get("/bank/queue/").content.decode()
    assert "广州南方贸易有限公司" in q
    r = client.post(f"/bank/lines/{line.pk}/confirm/", {"index": 0, "next": "queue"})
    assert r.status_code == 302
    assert Instalment.objects.get(document=d2).open_amount == 0
    assert BankLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED
    for url in ("/bank/statements.xlsx", f"/bank/statements/{st.pk}/lines.xlsx",
                f"/bank/statements/{st.pk}/reconciliation.xlsx", "/bank/queue.xlsx", "/bank/aliases.xlsx"):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/bank/lines/{line.pk}/").status_code == 200


def test_bad_upload_shows_an_error_and_saves_nothing(client, company, finance, account):
    login(client, finance)
    r = client.post("/bank/upload/", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4", "application/pdf")},
                    follow=True)
    assert r.status_code == 200
    assert not BankStatement.objects.exists()
    assert any("CSV" in str(m) for m in r.context["messages"])


def test_unknown_layout_goes_to_the_mapping_step_and_saves_no_lines(client, company, finance, account):
    login(client, finance)
    r = client.post("/bank/upload/", {"file": SimpleUploadedFile("x.csv", "交易日期,金额\n2026-01-01,1\n".encode(),
                                                                  "text/csv")}, follow=True)
    assert r.status_code == 200 and r.redirect_chain[-1][0].endswith("/map/")
    assert not BankStatement.objects.exists()


def test_manual_split_refuses_over_application(client, company, finance, account, customer, post, write):
    doc = post(customer, "50.00")
    inst = Instalment.objects.get(document=doc)
    login(client, finance)
    path = write("s.csv", "交易日期,流水号,借方发生额,贷方发生额,对方户名\n2026-03-02,X1,,40.00,张三\n")
    client.post("/bank/upload/", {"file": SimpleUploadedFile("s.csv", path.read_bytes(), "text/csv")})
    line = BankLine.objects.get(serial="X1")
    client.post(f"/bank/lines/{line.pk}/apply/", {"customer": customer.pk, f"amt-{inst.pk}": "45.00"})
    assert BankLine.objects.get(pk=line.pk).status in (LineStatus.SUGGESTED, LineStatus.UNMATCHED)
    client.post(f"/bank/lines/{line.pk}/apply/", {"customer": customer.pk, f"amt-{inst.pk}": "40.00"})
    assert BankLine.objects.get(pk=line.pk).status == LineStatus.CONFIRMED
    assert Instalment.objects.get(pk=inst.pk).open_amount == D("10.00")
    assert BankAlias.objects.filter(name="张三", customer=customer).exists()


def test_cli_import_is_idempotent(company, finance, users, account, customer, post):
    post(customer, "12345.60", number="INV-2026-00001")
    call_command("bank", "import", str(SAMPLES / "mt940.sta"), "--user", "admin")
    call_command("bank", "import", str(SAMPLES / "mt940.sta"), "--user", "admin")
    assert BankLine.objects.count() == 2
    assert BankLine.objects.get(serial="MT0302001").status == LineStatus.AUTO_APPLIED
    with pytest.raises(CommandError):
        call_command("bank", "import", str(SAMPLES / "camt053.xml"), "--account", "nope", "--user", "admin")
    call_command("bank", "match", "--user", "admin")
