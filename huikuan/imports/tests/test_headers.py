"""The header row below title rows (金蝶/用友 exports), header normalisation, mixed encodings refused."""

import datetime as dt
from decimal import Decimal

import pytest

from huikuan.common.headers import find_header, header_key
from huikuan.common.uploads import FileRejected, open_table
from huikuan.imports.kinds import KINDS, known_headers
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.imports.services import commit_job, preview_job, upload_dir
from huikuan.ledger.models import ReceivableDocument

from .helpers import job_for, write_csv, write_xlsx

# a 金蝶 K/3 Cloud 应收单列表 as exported to Excel: title rows, period, unit line, a blank row, then the header
KINGDEE_TITLE = [
    ["测试科技有限公司", None, None, None, None],
    ["应收单列表", None, None, None, None],
    ["期间：2026年2月1日 至 2026年2月28日", None, None, None, "单位：元"],
    [None, None, None, None, None],
]
KINGDEE_HEADER = ["客户编码", "客户名称", "单据编号", "业务日期", "价税合计（元）"]


@pytest.mark.parametrize(("raw", "key"), [
    ("借方发生额(支取)", "借方发生额"),
    ("贷方发生额（收入）", "贷方发生额"),
    ("价税合计（元）", "价税合计"),
    ("客户　编码*", "客户编码"),
    (" 单据编号 ", "单据编号"),
    ("ＡＭＯＵＮＴ", "amount"),
    ("Customer_Code", "customercode"),
    ("到期日【计划】", "到期日"),
    ("收款日期：", "收款日期"),
])
def test_header_key_normalises(raw, key):
    assert header_key(raw) == key


def test_header_found_below_kingdee_title_rows_xlsx(tmp_path, company, finance, customer):
    rows = [*KINGDEE_TITLE, KINGDEE_HEADER, ["C001", "上海华东机械有限公司", "AR-2026-0001", dt.datetime(2026, 2, 3), 11300.0]]
    path = write_xlsx(tmp_path / "应收单列表.xlsx", rows)
    job = job_for(path, company=company, actor=finance, kind="documents")
    assert job.headers == KINGDEE_HEADER
    assert job.mapping["total"] == "价税合计（元）" and job.mapping["document_date"] == "业务日期"
    job = preview_job(job=job, actor=finance)
    assert job.status == JobStatus.READY, job.errors
    job = commit_job(job_id=job.pk, actor=finance)
    assert job.status == JobStatus.DONE, job.errors
    doc = ReceivableDocument.objects.get(number="AR-2026-0001")
    assert doc.total_amount == Decimal("11300.00") and doc.document_date == dt.date(2026, 2, 3)


def test_header_found_below_yonyou_title_rows_gbk_csv(tmp_path, company, finance):
    rows = [
        ["客户档案"],
        ["编制单位：测试科技有限公司", "", "", "打印日期：2026-02-28"],
        ["客户编码", "客户名称", "客户简称", "税号"],
        ["K001", "杭州西湖贸易有限公司", "西湖贸易", ""],
        ["K002", "南京紫金科技有限公司", "紫金科技", ""],
    ]
    path = write_csv(tmp_path / "客户档案.csv", rows, "gbk")
    table = open_table(path, path.name, known_headers(KINDS["customers"]))
    assert table.header_line == 3 and table.headers == rows[2]
    assert [line for line, _cells in table.rows()] == [4, 5]
    job = preview_job(job=job_for(path, company=company, actor=finance, kind="customers"), actor=finance)
    assert job.status == JobStatus.READY, job.errors
    assert job.total_rows == 2


def test_tab_separated_with_a_title_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("客户余额表\n客户编码\t客户名称\t期初余额\nC001\t上海华东\t1,200.00\n", encoding="utf-8")
    table = open_table(path, path.name, known_headers(KINDS["opening"]))
    assert table.headers == ["客户编码", "客户名称", "期初余额"]
    assert list(table.rows()) == [(3, ["C001", "上海华东", "1,200.00"])]


def test_unknown_layout_header_is_the_first_wide_row_of_labels(tmp_path):
    # none of these names is known: the row as wide as the table whose cells are labels is the header
    rows = [["某某公司往来明细"], ["2026年2月", "单位：元"], ["甲", "乙", "丙", "丁"], ["x1", "2026-02-01", "100", "y"]]
    path = write_csv(tmp_path / "u.csv", rows)
    table = open_table(path, path.name, known_headers(KINDS["documents"]))
    assert (table.header_line, table.headers) == (3, ["甲", "乙", "丙", "丁"])


def test_find_header_prefers_the_row_naming_the_most_known_columns():
    known = frozenset({"客户编码", "客户名称", "金额"})
    rows = [(1, ["客户名称：全部", ""]), (2, ["客户编码", "客户名称", "金额"]), (3, ["C1", "甲", "1"])]
    assert find_header(rows, known) == rows[1]
    assert find_header([], known) is None
    assert find_header([(4, ["", None])], known) is None


def test_plain_file_keeps_its_first_row(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["客户编码", "客户名称"], ["C1", "甲"]])
    assert open_table(path, path.name, known_headers(KINDS["customers"])).header_line == 1


def _mixed_file(path):
    lines = ["客户编码,客户名称,地区", "K001,杭州西湖贸易有限公司,浙江", "K002,南京紫金科技有限公司,江苏"]
    gbk = ["K003,北京燕山商贸有限公司,北京", "K004,深圳南山电子有限公司,广东"]
    data = "\n".join(lines).encode("utf-8") + b"\n" + "\n".join(gbk).encode("gbk") + b"\n" + b"K005,Acme Ltd,HK\n"
    path.write_bytes(data)
    return path


def test_mixed_encoding_refused_with_line_numbers_nothing_written(tmp_path, company, finance):
    path = _mixed_file(tmp_path / "mixed.csv")
    stored_before = set(upload_dir().iterdir())
    with pytest.raises(FileRejected) as info:
        job_for(path, company=company, actor=finance, kind="customers")
    message = str(info.value)
    assert "lines 1–3 are UTF-8" in message and "lines 4–5 are GBK/GB18030" in message
    assert not ImportJob.objects.exists()
    assert set(upload_dir().iterdir()) == stored_before


def test_whole_gbk_file_is_not_mistaken_for_a_mixed_one(tmp_path):
    rows = [["客户编码", "客户名称", "地址"]] + [[f"K{i:03d}", f"北京燕山商贸{i}有限公司", "北京市海淀区中关村大街1号"]
                                                 for i in range(200)]
    path = write_csv(tmp_path / "g.csv", rows, "gb18030")
    table = open_table(path, path.name)
    assert table.encoding == "gb18030" and len(list(table.rows())) == 200
