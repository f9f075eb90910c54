"""Statements from any bank (issue 11 point 7): bracketed / full-width headers, title rows, the account
number in the title selecting the account, 工行/建行/招行/农行 and Alipay personal exports, unknown
layouts mapped once (web and CLI) and read by themselves next time, bad mappings, mixed encodings,
abandoned uploads purged."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from openpyxl import Workbook

from huikuan.banking import services as bs
from huikuan.banking.models import BankAccount, BankLine, BankStatement, StatementLayout, StatementUpload
from huikuan.banking.parsers import LayoutUnknown, MappingError, StatementError, parse_file
from huikuan.common.models import AuditEvent

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 4, 20)


def imp(company, finance, path, **kw):
    return bs.import_statement(company=company, path=path, file_name=kw.pop("name", path.name), actor=finance, on=ON,
                               **kw)


@pytest.fixture
def accounts(company):
    """The company's four accounts (and the 755… one of conftest is not needed here)."""
    make = BankAccount.objects.create
    return {
        "icbc": make(company=company, bank="中国工商银行", account_number="1001234509001234567", currency="CNY"),
        "ccb": make(company=company, bank="中国建设银行", account_number="31050161373600001234", currency="CNY"),
        "cmb": make(company=company, bank="招商银行", account_number="7559 1234 5610 001", currency="CNY"),
        "abc": make(company=company, bank="中国农业银行", account_number="03120401040012345", currency="CNY"),
        "rural": make(company=company, bank="XX农商银行", account_number="62305200100000888", currency="CNY"),
    }


def cmb_xlsx(path):
    wb = Workbook()
    ws = wb.active
    ws.append(["招商银行交易明细"])
    ws.append(["账号：", "755912345610001"])  # the label in one cell, the number in the next
    ws.append(["币种：人民币", None, "查询区间：2026-03-01 至 2026-03-31"])
    ws.append([])
    ws.append(["交易日", "交易时间", "起息日", "交易类型", "借方金额", "贷方金额", "余额", "摘要", "流水号", "业务名称",
               "用途", "收/付方名称", "收/付方帐号", "收/付方开户行"])
    ws.append(["20260302", "10:11:12", "20260302", "汇入", None, 6600.5, 106600.5, "货款", "CMB0001", "网银",
               "INV-2026-00001", "上海华东机械有限公司", "6222021001001234", "工商银行"])
    ws.append(["20260303", "08:00:00", "20260303", "汇出", 100, None, 106500.5, "手续费", "CMB0002", "", "", "", "", ""])
    wb.save(path)
    return path


# ---------------------------------------------------------------- parsing


def test_icbc_title_rows_and_footer_account_from_the_title():
    st = parse_file(SAMPLES / "icbc_history_gbk.csv", "icbc.csv")
    assert st.format == "cn_debit_credit"
    assert st.account_number == "1001234509001234567"
    assert [(ln.date, ln.amount) for ln in st.lines] == [
        (dt.date(2026, 3, 2), D("50000.00")), (dt.date(2026, 3, 3), D("-2000.00")), (dt.date(2026, 3, 5), D("300.00"))]
    assert st.lines[0].counterparty_name == "上海华东机械有限公司"  # 对方单位名称
    assert (st.opening_balance, st.closing_balance) == (D("100000.00"), D("148300.00"))


def test_ccb_bracketed_full_width_headers_are_the_plain_ones():
    """借方发生额（支取） / 贷方发生额（收入）: the headers of the issue, with full-width brackets."""
    st = parse_file(SAMPLES / "ccb_detail_gbk.csv", "ccb.csv")
    assert st.account_number == "31050161373600001234"
    assert [ln.amount for ln in st.lines] == [D("12345.60"), D("-88.00")]
    assert st.lines[0].date == dt.date(2026, 3, 2) and st.lines[0].currency == "CNY"
    assert st.lines[0].serial == "31050161373600001234-0001"


def test_half_width_bracketed_headers_too(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("交易日期,借方发生额(支取),贷方发生额(收入),对方户名,摘要\n2026-03-02,,1000.00,上海华东机械有限公司,货款\n",
                 encoding="utf-8")
    assert parse_file(p, "b.csv").lines[0].amount == D("1000.00")


def test_cmb_xlsx_day_column_before_the_time_column(tmp_path):
    st = parse_file(cmb_xlsx(tmp_path / "cmb.xlsx"), "cmb.xlsx")
    assert st.account_number == "755912345610001"
    assert [(ln.date, ln.amount, ln.counterparty_name) for ln in st.lines] == [
        (dt.date(2026, 3, 2), D("6600.50"), "上海华东机械有限公司"), (dt.date(2026, 3, 3), D("-100.00"), "")]
    assert st.lines[0].counterparty_account == "6222021001001234"


def test_abc_chinese_dates_and_income_expense_columns():
    st = parse_file(SAMPLES / "abc_detail_gbk.csv", "abc.csv")
    assert st.account_number == "03120401040012345"
    assert [(ln.date, ln.amount) for ln in st.lines] == [(dt.date(2026, 3, 2), D("8800.00")),
                                                         (dt.date(2026, 3, 6), D("-500.00"))]


def test_alipay_personal_statement():
    st = parse_file(SAMPLES / "alipay_personal_gbk.csv", "支付宝交易明细.csv")
    assert st.format == "alipay"
    assert st.account_number == ""  # 138****0000 is masked: no account to select
    assert [(ln.amount, ln.counterparty_name) for ln in st.lines] == [
        (D("3500.00"), "上海华东机械有限公司"), (D("-45.50"), "某某餐厅"), (D("300.00"), "李四")]  # 不计收支 and 交易关闭 skipped
    assert st.lines[0].serial == "20260302200040011100590012345678"
    assert "INV-2026-00001" in st.lines[0].memo


def test_mixed_encoding_refused_with_line_numbers_nothing_written(company, finance, account):
    with pytest.raises(StatementError) as exc:
        imp(company, finance, SAMPLES / "mixed_encoding.csv")
    msg = str(exc.value.message)
    assert "1–2" in msg and "3–4" in msg
    assert not BankStatement.objects.exists() and not BankLine.objects.exists()


# ---------------------------------------------------------------- the account from the title rows


def test_title_account_selects_among_several(company, finance, accounts, tmp_path):
    assert imp(company, finance, SAMPLES / "icbc_history_gbk.csv").statement.account == accounts["icbc"]
    assert imp(company, finance, SAMPLES / "ccb_detail_gbk.csv").statement.account == accounts["ccb"]
    assert imp(company, finance, cmb_xlsx(tmp_path / "c.xlsx")).statement.account == accounts["cmb"]
    assert imp(company, finance, SAMPLES / "abc_detail_gbk.csv").statement.account == accounts["abc"]


def test_own_account_column_selects_the_account_when_the_title_has_none(company, finance, accounts, tmp_path):
    """工行 prints 本方账号 on every row: without title rows the account still comes from the file."""
    text = (SAMPLES / "icbc_history_gbk.csv").read_bytes().decode("gb18030")
    bare = tmp_path / "icbc_no_title.csv"
    bare.write_bytes("\n".join(text.splitlines()[5:]).encode("gb18030"))
    assert parse_file(bare, "x.csv").account_number == "1001234509001234567"
    assert imp(company, finance, bare).statement.account == accounts["icbc"]


def test_a_title_account_the_company_does_not_have_is_refused(company, finance, account):
    """One account (755…) but the file is 工行 1001…: never read into the wrong account."""
    with pytest.raises(bs.BankingError) as exc:
        imp(company, finance, SAMPLES / "icbc_history_gbk.csv")
    assert "1001234509001234567" in str(exc.value.message)
    assert not BankLine.objects.exists()


# ---------------------------------------------------------------- unknown layouts


MARCH_MAP = [("记账日", "date"), ("收款金额", "credit"), ("付款金额", "debit"), ("对手名称", "name"),
             ("对手账号", "account"), ("附言", "memo"), ("交易序号", "serial")]


def test_unknown_layout_mapped_once_then_read_by_itself(company, finance, accounts):
    with pytest.raises(LayoutUnknown) as exc:
        imp(company, finance, SAMPLES / "rural_march_gbk.csv")
    view = exc.value.preview
    assert view.headers[:3] == ["记账日", "收款金额", "付款金额"] and view.header_line == 3
    assert view.samples["对手名称"] == ["上海华东机械有限公司", "XX农商行"]
    assert view.account_number == "62305200100000888"
    assert not BankLine.objects.exists()

    res = imp(company, finance, SAMPLES / "rural_march_gbk.csv", mapping=MARCH_MAP)
    assert res.statement.account == accounts["rural"] and res.statement.source_format == "mapped"
    assert [ln.amount for ln in res.statement.lines.order_by("date")] == [D("5000.00"), D("-120.00")]
    layout = StatementLayout.objects.get(account=accounts["rural"])
    assert layout.fields["credit"] == "收款金额"
    assert AuditEvent.objects.filter(verb="banking.layout.saved").exists()

    # the next month's file of the same account: no mapping step
    res = imp(company, finance, SAMPLES / "rural_april_gbk.csv")
    assert res.new == 2 and res.statement.account == accounts["rural"]
    assert res.statement.lines.get(serial="A0101").counterparty_name == "广州南方贸易有限公司"
    layout.refresh_from_db()
    assert layout.uses == 2


def test_signed_amount_and_flag_mappings(company, finance, account, tmp_path):
    signed = tmp_path / "s.csv"
    signed.write_text("日子,钱,对方\n2026-03-02,100.00,甲公司\n2026-03-03,-20.00,乙公司\n", encoding="utf-8")
    res = imp(company, finance, signed, mapping=[("日子", "date"), ("钱", "amount"), ("对方", "name")])
    assert sorted(ln.amount for ln in res.statement.lines.all()) == [D("-20.00"), D("100.00")]
    flagged = tmp_path / "f.csv"
    flagged.write_text("日子,钱,方向,对方\n2026-03-05,100.00,贷,甲公司\n2026-03-06,30.00,借,乙公司\n", encoding="utf-8")
    res = imp(company, finance, flagged, mapping=[("日子", "date"), ("钱", "amount"), ("方向", "flag"), ("对方", "name")])
    assert sorted(ln.amount for ln in res.statement.lines.all()) == [D("-30.00"), D("100.00")]


@pytest.mark.parametrize("pairs, needle", [
    ([("记账日", "date"), ("收款金额", "credit"), ("付款金额", "credit")], "都映射到|both mapped to"),
    ([("记账日", "date"), ("对手名称", "name")], "金额|amount"),
    ([("收款金额", "credit")], "日期|date"),
    ([("记账日", "date"), ("收款金额", "money")], "money"),
    ([("记账日", "date"), ("收款金额", "credit"), ("金额", "debit")], "金额"),
    ([("记账日", "date"), ("收款金额", "credit"), ("收款金额", "amount")], "收款金额"),
    ([("记账日", "date"), ("收款金额", "amount"), ("付款金额", "debit")], "not both|不能同时"),
])
def test_bad_mappings_are_clear_errors_and_change_nothing(company, finance, accounts, pairs, needle):
    import re

    with pytest.raises(MappingError) as exc:
        imp(company, finance, SAMPLES / "rural_march_gbk.csv", mapping=pairs)
    assert re.search(needle, str(exc.value.message)), exc.value.message
    assert not BankLine.objects.exists() and not StatementLayout.objects.exists()


def test_mapping_labels_work_in_either_language(company, finance, accounts):
    pairs = [("记账日", "Transaction date"), ("收款金额", "Money in (贷方/收入)"), ("对手名称", "对方户名")]
    res = imp(company, finance, SAMPLES / "rural_march_gbk.csv", mapping=pairs)
    assert res.new == 1  # the outgoing line has no money-in value and no money-out column: nothing to store


# ---------------------------------------------------------------- CLI


def test_cli_map_once_then_import_by_itself(company, finance, users, accounts, capsys):
    with pytest.raises(CommandError) as exc:
        call_command("bank", "import", str(SAMPLES / "rural_march_gbk.csv"), "--language", "en")
    text = str(exc.value)
    assert "记账日: 2026/03/02" in text and "--map" in text and "rural_march_gbk.csv --map" in text
    args = ["bank", "import", str(SAMPLES / "rural_march_gbk.csv")]
    words = {"credit": "贷方", "debit": "借方", "memo": "附言"}  # how a clerk writes the fields
    for column, field in MARCH_MAP:
        args += ["--map", f"{column}={words.get(field, field)}"]
    call_command(*args)
    call_command("bank", "import", str(SAMPLES / "rural_april_gbk.csv"))  # no --map: the saved layout
    assert BankLine.objects.filter(account=accounts["rural"]).count() == 4
    with pytest.raises(CommandError) as exc:
        call_command("bank", "import", str(SAMPLES / "rural_march_gbk.csv"), "--map", "记账日=date",
                     "--map", "收款金额=credit", "--map", "付款金额=credit", "--language", "en")
    assert "both mapped to" in str(exc.value)


def test_cli_bank_account_add_and_list(company, users, capsys):
    call_command("bank", "account", "add", "--bank", "招商银行上海分行", "--number", "755912345610001", "--name", "基本户")
    call_command("bank", "account", "list")
    out = capsys.readouterr().out
    assert "755912345610001" in out and "招商银行上海分行" in out and "基本户" in out
    with pytest.raises(CommandError):
        call_command("bank", "account", "add", "--bank", "招商银行", "--number", "755912345610001")
    assert BankAccount.objects.filter(company=company).count() == 1


# ---------------------------------------------------------------- web


def test_web_mapping_step_then_next_file_without_it(client, company, users, accounts):
    client.force_login(users["finance"])
    with open(SAMPLES / "rural_march_gbk.csv", "rb") as fh:
        r = client.post("/bank/upload/", {"file": fh})
    upload = StatementUpload.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/bank/uploads/{upload.pk}/map/")
    page = client.get(r["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "上海华东机械有限公司 | XX农商行" in html and 'id="preview"' in html
    assert page.context["chosen"] == accounts["rural"].pk  # from the title rows
    preselected = {code: current for code, _label, current in page.context["fields"] if current}
    assert preselected == {"date": "记账日", "name": "对手名称", "account": "对手账号", "memo": "附言"}
    bad = client.post(r["Location"], {"account": accounts["rural"].pk, "col_date": "记账日", "col_credit": "收款金额",
                                      "col_debit": "收款金额"})
    assert bad.status_code == 422 and not BankLine.objects.exists()
    form = {"account": accounts["rural"].pk, **{f"col_{f}": c for c, f in MARCH_MAP}}
    ok = client.post(r["Location"], form)
    assert ok.status_code == 302 and "/bank/statements/" in ok["Location"]
    assert not StatementUpload.objects.exists()
    with open(SAMPLES / "rural_april_gbk.csv", "rb") as fh:
        r = client.post("/bank/upload/", {"file": fh})
    assert "/bank/statements/" in r["Location"] and not StatementUpload.objects.exists()
    assert BankLine.objects.count() == 4


def test_someone_elses_upload_is_404(client, company, users, accounts):
    client.force_login(users["finance"])
    with open(SAMPLES / "rural_march_gbk.csv", "rb") as fh:
        client.post("/bank/upload/", {"file": fh})
    upload = StatementUpload.objects.get()
    client.force_login(users["admin"])
    assert client.get(f"/bank/uploads/{upload.pk}/map/").status_code == 404


# ---------------------------------------------------------------- clean-up


def test_abandoned_uploads_purged_after_a_day(company, finance, accounts, tmp_path):
    old = bs.keep_upload(company=company, path=SAMPLES / "rural_march_gbk.csv", file_name="a.csv", actor=finance)
    new = bs.keep_upload(company=company, path=SAMPLES / "rural_march_gbk.csv", file_name="b.csv", actor=finance)
    StatementUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert bs.purge_abandoned_uploads(company=company, now=timezone.now()) == 1
    assert list(StatementUpload.objects.values_list("pk", flat=True)) == [new.pk]


def test_daily_job_purges_abandoned_uploads(company, finance, accounts):
    from huikuan.common.jobs import daily_jobs

    old = bs.keep_upload(company=company, path=SAMPLES / "rural_march_gbk.csv", file_name="a.csv", actor=finance)
    StatementUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    jobs = dict(daily_jobs(company, dt.date(2026, 4, 20)))
    jobs[f"bank-uploads:{company.pk}"]()
    assert not StatementUpload.objects.exists()
