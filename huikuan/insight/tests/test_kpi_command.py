import datetime as dt
import json
from decimal import Decimal as D
from io import StringIO

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, customer, other_customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 11, 2), total=D("3000"),
                    actor=finance)
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 11, 5),
                    total=D("1000"), actor=finance)


def _run(*args):
    out = StringIO()
    call_command("kpi", *args, stdout=out)
    return out.getvalue()


def test_kpi_by_salesperson_json_table_and_xlsx(book, tmp_path):
    data = json.loads(_run("--period", "2026-11", "--as-of", "2026-11-30", "--by", "salesperson", "--format", "json"))
    assert data["period"] == {"start": "2026-11-01", "end": "2026-11-30", "label": "2026-11"}
    assert [(r["label"], r["billed"], r["dso"]) for r in data["rows"]] == [
        ("sales_east", "3000.00", "30.00"), ("sales_west", "1000.00", "30.00")]
    assert data["total"]["ar_end"] == "4000.00"
    table = _run("--period", "2026-11", "--by", "salesperson", "--language", "en")
    assert "sales_east" in table and "3,000.00" in table and "Total" in table
    one = _run("--period", "2026-11", "--language", "zh-hans")
    assert "应收账款周转天数" in one or "DSO" in one
    path = tmp_path / "k.xlsx"
    _run("--period", "2026-11", "--by", "team", "--format", "xlsx", "--output", str(path), "--language", "en")
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.values)
    assert rows[0][1] == "Opening AR" and [r[0] for r in rows[1:]] == ["East", "West", "Total"]


def test_kpi_scoped_to_a_user_and_bad_input(book):
    data = json.loads(_run("--period", "2026-11", "--user", "sales_west", "--format", "json"))
    assert data["total"]["billed"] == "1000.00"
    with pytest.raises(CommandError):
        _run("--period", "2026-11-30..2026-11-01")
    with pytest.raises(CommandError):
        _run("--period", "2026-11", "--as-of", "2026-10-31")
    with pytest.raises(CommandError):
        _run("--user", "nobody")
