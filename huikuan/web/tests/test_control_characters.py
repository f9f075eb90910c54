"""Issue 19 finding 2: control characters are refused at the edge (forms, query strings, API bodies, imports)
and stripped by the XLSX writer, so a customer called ``Bell\\x07Co`` can never make an export answer 500."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from huikuan.common.cleantext import first_control, for_xml
from huikuan.common.export import build_xlsx
from huikuan.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_helpers():
    assert first_control("Bell\x07Co") == "U+0007"
    assert first_control("line\none\ttab\r\n") is None
    assert first_control("del\x7f") == "U+007F"
    assert for_xml("Bell\x07Co\x0b") == "BellCo"
    assert for_xml("tab\tand\nnew") == "tab\tand\nnew"


def test_xlsx_strips_what_xml_cannot_hold_and_still_neutralises_formulas():
    buf = io.BytesIO()
    build_xlsx(sheet_title="S\x07", columns=[("Name\x01", "text"), ("Date", "date")],
               rows=[["Bell\x07Co", "\x1b[31m"], ["\x07=1+1", None]], fileobj=buf)
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Name" and rows[1] == ("BellCo", "[31m") and rows[2][0] == "'=1+1"


def test_a_customer_with_a_bell_in_its_name_exports(client, company, customer, finance):
    Customer.objects.filter(pk=customer.pk).update(name="Bell\x07Co")  # stored before the edge refused it
    client.force_login(finance)
    r = client.get(reverse("web:customer-export"))
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert any("BellCo" in str(v) for row in ws.iter_rows(values_only=True) for v in row)


def test_forms_and_query_strings_refuse_control_characters(client, company, finance):
    client.force_login(finance)
    r = client.post(reverse("web:customer-create"), {"code": "B1", "name": "Bell\x07Co"})
    assert r.status_code == 400 and "U+0007" in r.content.decode()
    assert not Customer.objects.filter(code="B1").exists()
    assert client.get(reverse("web:customer-list"), {"q": "a\x1bb"}).status_code == 400
    # tab and newline are text
    assert client.get(reverse("web:customer-list"), {"q": "a\tb"}).status_code == 200


def test_import_reports_the_control_character_as_a_row_error(tmp_path, company, users, net30):
    from huikuan.imports.models import JobStatus
    from huikuan.imports.services import preview_job
    from huikuan.imports.tests.helpers import job_for, write_csv

    actor = users["finance"]
    rows = [["客户编码", "客户名称"], ["K001", "Bell\x07Co"], ["K002", "好公司"]]
    job = job_for(write_csv(tmp_path / "c.csv", rows), company=company, actor=actor, kind="customers")
    job = preview_job(job=job, actor=actor)
    assert job.status != JobStatus.READY
    assert any("U+0007" in str(p["reason"]) for p in job.errors), job.errors
    assert not Customer.objects.filter(code__in=["K001", "K002"]).exists()
