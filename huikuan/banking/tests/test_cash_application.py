"""Issue 14: lines the statement line itself determines are applied without a person, never wrongly.

One test per kind of line (bank fees, part payments with a reference, combinations, personal payers,
typos, discount rounding, passes, money that is not a customer's), on statements shaped like a
Chinese corporate export (招商银行 CSV: 交易日期 / 贷方发生额 / 对方户名 / 用途).
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import translation

from huikuan.banking import services as bs
from huikuan.banking.models import BankLine, LineStatus
from huikuan.common.models import AuditEvent
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Credit, CreditKind, EntryKind, Instalment, LedgerEntry, Status

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 20)
HEAD = "招商银行企业网银 交易明细\n账号：755912345610001  币种：人民币\n交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途\n"


def statement(company, finance, write, rows, name="m.csv"):
    path = write(name, (HEAD + "\n".join(rows) + "\n").encode("gbk"))
    return bs.import_statement(company=company, path=path, file_name=name, actor=finance, on=ON)


def line(serial):
    return BankLine.objects.get(serial=serial)


def open_of(doc):
    return Instalment.objects.get(document=doc).open_amount


# ---------------------------------------------------------------- 1. bank fees deducted


def test_bank_fee_within_tolerance_is_settled_as_a_bank_charge_and_undone_with_the_line(
        company, finance, account, customer, post, write):
    doc = post(customer, "12000.00", number="XS-2026-0311")
    post(customer, "3000.00", number="XS-2026-0312")
    statement(company, finance, write, ["2026年03月06日,F1,,11975.00,上海华东机械有限公司,6222021001001234,货款(已扣手续费)"])
    ln = line("F1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert open_of(doc) == 0
    charge = Credit.objects.get(kind=CreditKind.BANK_CHARGE)
    assert charge.amount == D("25.00") and charge.parent_id == ln.credit_id and charge.status == Status.POSTED
    entry = LedgerEntry.objects.get(kind=EntryKind.BANK_CHARGE)
    assert entry.credit_amount == D("25.00")
    assert AuditEvent.objects.filter(verb="ledger.bank_charge.recorded").count() == 1
    with translation.override("zh-hans"):
        assert str(EntryKind.BANK_CHARGE.label) == "手续费"
    assert check_ledger(company_id=company.pk) == []
    bs.undo_line(company=company, line_id=ln.pk, actor=finance, on=ON, reason="客户说是另一张单")
    charge.refresh_from_db()
    assert charge.status == Status.REVERSED and open_of(doc) == D("12000.00")
    assert check_ledger(company_id=company.pk) == []


def test_shortfall_beyond_the_tolerance_is_not_a_bank_charge(company, finance, account, customer, post, write):
    doc = post(customer, "12000.00")
    statement(company, finance, write, ["2026-03-06,F2,,11900.00,上海华东机械有限公司,,货款"])
    ln = line("F2")
    assert ln.status == LineStatus.SUGGESTED
    assert not Credit.objects.filter(kind=CreditKind.BANK_CHARGE).exists()
    assert open_of(doc) == D("12000.00")


def test_a_small_item_is_never_settled_by_a_large_share_of_bank_charge(company, finance, account, customer, post,
                                                                       write):
    doc = post(customer, "120.00")
    statement(company, finance, write, ["2026-03-06,F3,,80.00,上海华东机械有限公司,,货款"])
    assert line("F3").status == LineStatus.SUGGESTED
    assert open_of(doc) == D("120.00")


def test_settings_that_would_over_apply_are_refused(company, finance):
    with pytest.raises(bs.BankingError) as exc:
        bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                           fee_tolerance="5000")
    assert exc.value.field == "fee_tolerance"
    with pytest.raises(bs.BankingError) as exc:
        bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                           fee_tolerance="50", discount_rounding="0.05")
    assert exc.value.field == "discount_rounding"
    conf = bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                              fee_tolerance="30", discount_rounding="0")
    assert (conf.fee_tolerance, conf.discount_rounding) == (D("30.00"), D("0.00"))


def test_a_bank_charge_above_the_tolerance_is_refused_by_the_service(company, finance, account, customer, post,
                                                                     write):
    doc = post(customer, "5000.00")
    statement(company, finance, write, ["2026-03-06,F4,,4900.00,某人,,x"])
    inst = Instalment.objects.get(document=doc)
    with pytest.raises(bs.OverApplication):
        bs.apply_line(company=company, line_id=line("F4").pk, actor=finance, on=ON,
                      parts=[bs.Part(customer.pk, [(inst.pk, D("4900"), D(0))], charges=[(inst.pk, D("100"))])])
    assert open_of(doc) == D("5000.00") and not Credit.objects.exists()
