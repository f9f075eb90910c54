"""Values as finance staff write them (issue 11 point 3): golden input → parsed value, then through imports."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from huikuan.common.texts import render
from huikuan.customers.models import Customer, PaymentTerm
from huikuan.imports.kinds import YES_NO, Field
from huikuan.imports.models import JobStatus, MappingProfile
from huikuan.imports.parsing import CellError, parse_choice, parse_date, parse_money
from huikuan.imports.services import build_mapping, commit_job, preview_job, set_options
from huikuan.imports.values import TermGuess, guess_terms, parse_currency
from huikuan.ledger.models import ReceivableDocument

from .helpers import job_for, write_csv, write_xlsx

D = dt.date(2026, 11, 5)


@pytest.mark.parametrize("raw", [
    "2026-11-05", "2026/11/5", "2026.11.5", "2026.11.05", "20261105", "2026年11月5日", "2026年11月5号",
    "２０２６－１１－０５", "2026-11-05 00:00:00", "2026/11/5 14:30", 46331, 46331.0, "46331",
    dt.datetime(2026, 11, 5, 9, 0), D,
])
def test_dates(raw):
    assert parse_date(raw) == D


@pytest.mark.parametrize("raw", ["2026-02-30", "2026年13月1日", "tomorrow", "05/11/2026", "", 0.5])
def test_bad_dates(raw):
    with pytest.raises(CellError):
        parse_date(raw)


@pytest.mark.parametrize(("raw", "value"), [
    ("1,234.00", "1234.00"), ("1234.5", "1234.50"), ("¥1,234.00", "1234.00"), ("￥1,234", "1234.00"),
    ("1,234.00元", "1234.00"), ("1,234.00 元", "1234.00"), ("RMB 1,234.00", "1234.00"), ("CNY1234", "1234.00"),
    ("人民币1,234.56", "1234.56"), ("１，２３４．５０", "1234.50"), ("１２３４", "1234.00"), ("12,345,678.90", "12345678.90"),
    (1234.5, "1234.50"), (1234, "1234.00"), ("(1,234.00)", "-1234.00"), ("−1,234.00", "-1234.00"),
    ("-1,234.00", "-1234.00"), ("－1,234.00", "-1234.00"), ("-¥1,234.00", "-1234.00"), ("¥-1,234.00", "-1234.00"),
])
def test_amounts(raw, value):
    assert parse_money(raw, allow_negative=True) == Decimal(value)


@pytest.mark.parametrize("raw", ["(1,234.00)", "−1,234.00", "-5"])
def test_negative_amounts_refused_where_not_allowed(raw):
    with pytest.raises(CellError, match="negative"):
        parse_money(raw)


@pytest.mark.parametrize("raw", ["1.234", "12,34", "abc", "1,234.567", "￥"])
def test_bad_amounts(raw):
    with pytest.raises(CellError):
        parse_money(raw)


YES = Field("x", "x", "choice", choices=YES_NO).synonyms()


@pytest.mark.parametrize(("raw", "code"), [
    ("是", "yes"), ("否", "no"), ("Y", "yes"), ("N", "no"), ("y", "yes"), ("true", "yes"), ("TRUE", "yes"),
    ("false", "no"), ("1", "yes"), ("0", "no"), (True, "yes"), (False, "no"), (1.0, "yes"), ("Yes", "yes"),
])
def test_yes_no(raw, code):
    assert parse_choice(raw, YES) == code


@pytest.mark.parametrize(("raw", "code"), [
    ("CNY", "CNY"), ("cny", "CNY"), ("人民币", "CNY"), ("RMB", "CNY"), ("¥", "CNY"), ("￥", "CNY"), ("元", "CNY"),
    ("人民币元", "CNY"), ("USD", "USD"), ("美元", "USD"), ("$", "USD"), ("US$", "USD"), ("HKD", "HKD"),
    ("港币", "HKD"), ("港元", "HKD"), ("EUR", "EUR"), ("欧元", "EUR"), ("€", "EUR"), (" 人民币 ", "CNY"),
])
def test_currencies(raw, code):
    assert parse_currency(raw) == code


@pytest.mark.parametrize("raw", ["火星币", "XYZ", "", "RMBB"])
def test_unknown_currency(raw):
    with pytest.raises(CellError):
        parse_currency(raw)


@pytest.mark.parametrize(("raw", "guess"), [
    ("月结30天", TermGuess("eom", 30)), ("月结 60 天", TermGuess("eom", 60)), ("月结30", TermGuess("eom", 30)),
    ("月结", TermGuess("eom", 0)), ("30天月结", TermGuess("eom", 30)), ("EOM 30", TermGuess("eom", 30)),
    ("30天", TermGuess("net", 30)), ("30 days", TermGuess("net", 30)), ("Net 30", TermGuess("net", 30)),
    ("N30", TermGuess("net", 30)), ("net30", TermGuess("net", 30)), ("账期60天", TermGuess("net", 60)),
    ("2/10 N30", TermGuess("net", 30, Decimal(2), 10)), ("2/10 net 30", TermGuess("net", 30, Decimal(2), 10)),
    ("2/10,n/30", TermGuess("net", 30, Decimal(2), 10)), ("1.5/15 N45", TermGuess("net", 45, Decimal("1.5"), 15)),
    ("款到发货", TermGuess("net", 0)), ("货到付款", TermGuess("net", 0)), ("Cash in advance", TermGuess("net", 0)),
])
def test_terms_spellings(raw, guess):
    assert guess_terms(raw) == guess


@pytest.mark.parametrize("raw", ["特殊账期", "2/30 N30", "", "30/70"])
def test_terms_spellings_not_understood(raw):
    assert guess_terms(raw) is None


# ---------------------------------------------------------------- through the imports

def _run(path, *, company, actor, kind, **kw):
    job = preview_job(job=job_for(path, company=company, actor=actor, kind=kind, **kw), actor=actor)
    return job


@pytest.mark.django_db
def test_kingdee_customer_list_with_names_terms_and_currency_words(tmp_path, company, users, finance):
    users["sales_east"].display_name = "张伟"
    users["sales_east"].save()
    users["sales_west"].display_name = "李娜"
    users["sales_west"].save()
    eom30 = PaymentTerm.objects.create(company=company, code="Y30", name="月结 30", kind="eom", days=30)
    net60 = PaymentTerm.objects.create(company=company, code="N60", name="Net 60", kind="net", days=60)
    rows = [["客户档案"], ["客户编码", "客户名称", "业务员", "收款条件", "结算币别"],
            ["K001", "杭州西湖贸易有限公司", "张伟", "月结30天", "人民币"],
            ["K002", "南京紫金科技有限公司", "sales_west", "N60", "RMB"],
            ["K003", "香港维多利亚贸易公司", "李娜", "Net 60", "港币"]]
    path = write_xlsx(tmp_path / "客户.xlsx", rows)
    job = _run(path, company=company, actor=finance, kind="customers")
    assert job.status == JobStatus.READY, job.errors
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    got = {c.code: (c.owner.username, c.payment_term.code, c.currency) for c in Customer.objects.filter(code__startswith="K")}
    assert got == {"K001": ("sales_east", eom30.code, "CNY"), "K002": ("sales_west", net60.code, "CNY"),
                   "K003": ("sales_west", net60.code, "HKD")}


@pytest.mark.django_db
def test_ambiguous_salesperson_name_is_a_row_error_naming_the_candidates(tmp_path, company, users, finance):
    for name, number in (("sales_east", "E1001"), ("sales_west", "E1002")):
        users[name].display_name = "张伟"
        users[name].employee_number = number
        users[name].save()
    rows = [["客户编码", "客户名称", "业务员"], ["K001", "杭州西湖贸易有限公司", "张伟"], ["K002", "南京紫金科技", "nobody"]]
    job = _run(write_csv(tmp_path / "c.csv", rows), company=company, actor=finance, kind="customers")
    assert job.status == JobStatus.INVALID
    reasons = {e["line"]: render(e["reason"]) for e in job.errors}
    assert "Several users are called 张伟" in reasons[2]
    assert "sales_east (E1001)" in reasons[2] and "sales_west (E1002)" in reasons[2]
    assert "No active user" in reasons[3]
    assert not Customer.objects.filter(code__in=["K001", "K002"]).exists()
    # the employee number (or the login) settles it
    rows = [["客户编码", "客户名称", "业务员"], ["K001", "杭州西湖贸易有限公司", "E1002"], ["K002", "南京紫金科技", "e1001"]]
    job = commit_job(job_id=_run(write_csv(tmp_path / "c2.csv", rows), company=company, actor=finance,
                                 kind="customers").pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    assert {c.code: c.owner.username for c in Customer.objects.filter(code__in=["K001", "K002"])} == {
        "K001": "sales_west", "K002": "sales_east"}


@pytest.mark.django_db
def test_unknown_terms_listed_once_then_created_or_mapped(tmp_path, company, finance, customer, net30):
    rows = [["客户编码", "单据编号", "单据日期", "价税合计", "收款条件"],
            ["C001", "AR-1", "2026-01-10", "1,000.00", "月结45天"],
            ["C001", "AR-2", "2026-01-20", "2,000.00", "月结45天"],
            ["C001", "AR-3", "2026-01-25", "3,000.00", "老客户特殊账期"],
            ["C001", "AR-4", "2026-01-26", "4,000.00", "Net 30"]]
    job = _run(write_csv(tmp_path / "d.csv", rows, "gbk"), company=company, actor=finance, kind="documents")
    assert job.status == JobStatus.INVALID
    unknown = {u["text"]: u for u in job.unknown_terms}
    assert set(unknown) == {"月结45天", "老客户特殊账期"}
    assert unknown["月结45天"]["rows"] == 2 and unknown["月结45天"]["code"] == "EOM45"
    assert "End of month + 45 days" in unknown["月结45天"]["meaning"]
    assert unknown["老客户特殊账期"]["code"] == ""
    assert len(job.errors) == 2  # one problem per unknown spelling, not one per row
    assert ReceivableDocument.objects.count() == 0 and not PaymentTerm.objects.filter(code="EOM45").exists()

    job = set_options(job=job, actor=finance, terms={"月结45天": "create", "老客户特殊账期": "N30"})
    assert job.status == JobStatus.READY, job.errors
    assert not PaymentTerm.objects.filter(code="EOM45").exists()  # created by the commit, not the preview
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    eom45 = PaymentTerm.objects.get(company=company, code="EOM45")
    assert (eom45.name, eom45.kind, eom45.days) == ("月结45天", "eom", 45)
    docs = {d.number: d for d in ReceivableDocument.objects.prefetch_related("instalments")}
    assert docs["AR-1"].payment_term == eom45 and docs["AR-3"].payment_term == net30
    assert docs["AR-4"].payment_term == net30  # "Net 30" is the install's N30 by its name
    assert [i.due_date for i in docs["AR-1"].instalments.all()] == [dt.date(2026, 3, 17)]  # 1-31 + 45


@pytest.mark.django_db
def test_terms_cannot_be_created_from_an_unreadable_spelling(tmp_path, company, finance, customer):
    rows = [["客户编码", "单据编号", "单据日期", "价税合计", "收款条件"], ["C001", "AR-9", "2026-01-10", "10", "特殊"]]
    job = _run(write_csv(tmp_path / "d.csv", rows), company=company, actor=finance, kind="documents")
    job = set_options(job=job, actor=finance, terms={"特殊": "create"})
    assert job.status == JobStatus.INVALID
    assert "cannot be created" in render(job.errors[0]["reason"])
    job = set_options(job=job, actor=finance, terms={"特殊": "NOPE"})
    assert "do not exist" in render(job.errors[0]["reason"])


def test_two_columns_to_one_field_refused():
    from huikuan.common.uploads import FileRejected

    headers = ["客户编码", "金额", "价税合计"]
    with pytest.raises(FileRejected, match="Two columns"):
        build_mapping(kind="documents", headers=headers, base={}, overrides=[("金额", "total"), ("价税合计", "Amount")])
    with pytest.raises(FileRejected, match="no column"):
        build_mapping(kind="documents", headers=headers, base={}, overrides=[("不存在", "total")])
    with pytest.raises(FileRejected, match="no field"):
        build_mapping(kind="documents", headers=headers, base={}, overrides=[("金额", "tota")])
    mapping = build_mapping(kind="documents", headers=headers, base={"customer_code": "客户编码", "total": "价税合计"},
                            overrides=[("金额", "金额")], ignore=["客户编码"])
    assert mapping == {"total": "金额"}


def _cli(*args):
    out = io.StringIO()
    call_command("import", *args, "--company", "T01", "--user", "finance", "--language", "en", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_cli_map_ignore_profile_and_terms(tmp_path, company, finance, customer):
    rows = [["报表：应收明细"], ["客户", "凭证号", "日期", "本期应收", "备用金额", "收款条件"],
            ["C001", "V-1", "2026年1月5日", "¥1,200.00", "9", "月结60天"],
            ["C001", "V-2", "2026.01.06", "1,300.00元", "9", "月结60天"],
            ["C001", "V-3", "20260107", "１，４００", "9", "月结60天"]]
    path = write_csv(tmp_path / "yonyou.csv", rows, "gb18030")
    with pytest.raises(CommandError):
        _cli("documents", str(path), "--map", "本期应收=total", "--map", "备用金额=total")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "documents", str(path), "--map", "客户=customer_code", "--map", "凭证号=number",
                     "--map", "日期=document_date", "--map", "本期应收=total", "--ignore", "备用金额",
                     "--profile", "用友应收", "--company", "T01", "--user", "finance", "--language", "en", stdout=out)
    text = out.getvalue()
    assert "e.g. ¥1,200.00 | 1,300.00元 | １，４００" in text
    assert "unknown terms “月结60天” (3 rows)" in text and "EOM60" in text
    assert MappingProfile.objects.get(name="用友应收").mapping["total"] == "本期应收"
    out = _cli("documents", str(path), "--profile", "用友应收", "--terms", "月结60天=create", "--commit")
    assert "imported" in out
    docs = ReceivableDocument.objects.order_by("number")
    assert [(d.number, d.document_date.day, d.total_amount, d.payment_term.code) for d in docs] == [
        ("V-1", 5, Decimal("1200.00"), "EOM60"), ("V-2", 6, Decimal("1300.00"), "EOM60"),
        ("V-3", 7, Decimal("1400.00"), "EOM60")]


@pytest.mark.django_db
def test_samples_three_values_per_column(tmp_path, company, finance):
    rows = [["客户编码", "客户名称", "备注"], ["K1", "甲", ""], ["K2", "乙", "x"], ["K3", "丙", ""], ["K4", "丁", "y"]]
    job = job_for(write_csv(tmp_path / "s.csv", rows), company=company, actor=finance, kind="customers")
    assert job.samples == {"客户编码": ["K1", "K2", "K3"], "客户名称": ["甲", "乙", "丙"], "备注": ["x", "y"]}
