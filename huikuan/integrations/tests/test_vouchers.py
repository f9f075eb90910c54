"""Voucher export (凭证导出): golden files per layout, balanced vouchers, unmapped accounts refused by name,
each receipt exported once, a re-export marked as such."""

import csv
import datetime as dt
import io
import os
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation

from huikuan.banking.models import BankAccount, BankApplication, BankLine, BankStatement
from huikuan.common.errors import NotAllowed
from huikuan.integrations import vouchers
from huikuan.integrations.models import ExportedCredit, VoucherExport
from huikuan.integrations.voucher_layouts import LAYOUTS
from huikuan.ledger import services as ledger
from huikuan.ledger.settlements import record_bank_charge

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden"
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
MAPPING = {"ar_account": "1122", "default_bank_account": "100201", "credit_note_account": "6001",
           "write_off_account": "1231", "bank_charge_account": "660301", "discount_account": "660302"}


@pytest.fixture
def period(company, users, customer, other_customer, finance):
    """March: a bank receipt (from a statement line) with a bank charge, a hand-recorded receipt, a credit
    note and an approved write-off."""
    d = dt.date(2026, 3, 2)
    inv = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 2, 1),
                               total=D("10000.00"), actor=finance)
    inv2 = ledger.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 2, 1),
                                total=D("3000.00"), actor=finance)
    pay = ledger.record_payment(company=company, customer_id=customer.pk, amount=D("9990.00"), date=d, actor=finance)
    inst = inv.instalments.get()
    record_bank_charge(company=company, payment_id=pay.pk, instalment_id=inst.pk, amount=D("10.00"), actor=finance,
                       on=d, tolerance=D("50.00"))
    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="755900001")
    st = BankStatement.objects.create(company=company, account=acct, source_format="csv", file_name="m.csv",
                                      file_hash="x")
    line = BankLine.objects.create(company=company, account=acct, statement=st, date=d, amount=D("9990.00"),
                                   dedupe_key="k1", credit=pay, customer=customer)
    BankApplication.objects.create(company=company, line=line, customer=customer, credit=pay, amount=D("9990.00"))
    ledger.record_payment(company=company, customer_id=other_customer.pk, amount=D("1000.00"),
                          date=dt.date(2026, 3, 5), actor=finance)
    ledger.issue_credit_note(company=company, customer_id=other_customer.pk, amount=D("200.00"),
                             date=dt.date(2026, 3, 6), reason="price", actor=finance)
    req = ledger.request_write_off(company=company, instalment_id=inv2.instalments.get().pk, amount=D("1800.00"),
                                   reason="bankrupt", actor=finance)
    ledger.decide_write_off(company=company, request_id=req.pk, approve=True, actor=users["admin"],
                            on=dt.date(2026, 3, 20))
    return acct


def _map(company, users, acct, **over):
    vouchers.save_mapping(actor=users["finance"], company=company, values={**MAPPING, **over},
                          bank_codes={acct.pk: over.get("bank", "100202")})


def _csv(export) -> str:
    from huikuan.common.export import iter_csv

    layout = LAYOUTS[export.layout]
    return "".join(iter_csv(columns=layout.columns, rows=(layout.row(x) for x in vouchers.stored_lines(export))))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_golden_file_and_balanced_per_voucher(company, users, period, layout):
    _map(company, users, period)
    export = vouchers.export_vouchers(actor=users["finance"], company=company, layout=layout,
                                      period_from=MARCH[0], period_to=MARCH[1])
    text = _csv(export)
    if os.environ.get("HUIKUAN_WRITE_GOLDEN") == "1":  # regenerate after a deliberate layout change, then review
        (GOLDEN / f"{layout}.csv").write_bytes(text.encode())
    assert text == (GOLDEN / f"{layout}.csv").read_bytes().decode()
    sums = defaultdict(lambda: [D(0), D(0)])
    for x in vouchers.stored_lines(export):
        sums[(x.word, x.number)][0] += x.debit
        sums[(x.word, x.number)][1] += x.credit
    assert sums and all(dr == cr and dr > 0 for dr, cr in sums.values())
    assert export.voucher_count == 4 and export.credit_count == 5  # 2 receipts (one with its charge), CN, write-off


def test_receipt_voucher_lines(company, users, period):
    _map(company, users, period)
    export = vouchers.export_vouchers(actor=users["finance"], company=company, layout="u8", period_from=MARCH[0],
                                      period_to=MARCH[1])
    first = [x for x in vouchers.stored_lines(export) if (x.word, x.number) == ("收", 1)]
    assert [(x.account, x.debit, x.credit, x.customer_code) for x in first] == [
        ("100202", D("9990.00"), D("0.00"), ""), ("660301", D("10.00"), D("0.00"), ""),
        ("1122", D("0.00"), D("10000.00"), "C001")]


def test_each_receipt_is_exported_once_and_a_re_export_is_marked(company, users, period, client):
    _map(company, users, period)
    first = vouchers.export_vouchers(actor=users["finance"], company=company, layout="k3cloud",
                                     period_from=MARCH[0], period_to=MARCH[1])
    assert ExportedCredit.objects.filter(export=first).count() == 5
    with translation.override("en"), pytest.raises(vouchers.VoucherError, match="re-export"):
        vouchers.export_vouchers(actor=users["finance"], company=company, layout="k3cloud", period_from=MARCH[0],
                                 period_to=MARCH[1])
    again = vouchers.export_vouchers(actor=users["finance"], company=company, layout="k3cloud",
                                     period_from=MARCH[0], period_to=MARCH[1], again=True)
    assert again.again and again.lines == first.lines
    assert ExportedCredit.objects.filter(export=again).count() == 0  # still owned by the first export
    client.force_login(users["finance"])
    r = client.get(reverse("integrations:voucher-download", args=[again.pk, "xlsx"]))
    assert "re-export" in r["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert "重新导出" in ws.title and ws.cell(1, 2).value == "凭证字"
    r = client.get(reverse("integrations:voucher-download", args=[first.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期", "凭证字", "凭证号"] and len(rows) == 1 + len(first.lines)


@pytest.mark.parametrize(("over", "named"), [({"bank": ""}, "755900001"), ({"credit_note_account": ""}, "credit notes"),
                                              ({"bank_charge_account": ""}, "bank charges"),
                                              ({"write_off_account": " "}, "write-offs")])
def test_an_unmapped_account_refuses_the_export_naming_it(company, users, period, over, named):
    _map(company, users, period, **over)
    with translation.override("en"), pytest.raises(vouchers.VoucherError, match=named):
        vouchers.export_vouchers(actor=users["finance"], company=company, layout="tplus", period_from=MARCH[0],
                                 period_to=MARCH[1])
    assert not VoucherExport.objects.exists() and not ExportedCredit.objects.exists()


def test_screen_and_permissions(company, users, period, client):
    with pytest.raises(NotAllowed):
        vouchers.export_vouchers(actor=users["sales_east"], company=company, layout="u8", period_from=MARCH[0],
                                 period_to=MARCH[1])
    client.force_login(users["finance"])
    r = client.post(reverse("integrations:vouchers"), {"layout": "u8", "period_from": "2026-03-01",
                                                      "period_to": "2026-03-31", "first_number": "1"})
    assert r.status_code == 422 and "755900001" in str(r.context["error"])  # unmapped: names the account
    client.post(reverse("integrations:vouchers"), {"form": "mapping", **MAPPING, "receipt_word": "收",
                                                  "transfer_word": "转", f"bank_{period.pk}": "100202"})
    r = client.post(reverse("integrations:vouchers"), {"layout": "u8", "period_from": "2026-03-01",
                                                      "period_to": "2026-03-31", "first_number": "7"})
    assert r.status_code == 302
    assert VoucherExport.objects.get().lines[0]["number"] == 7
    assert client.get(reverse("integrations:vouchers") + "?format=xlsx").status_code == 200
    client.force_login(users["sales_east"])
    assert client.get(reverse("integrations:vouchers")).status_code == 403
