"""Exports from US/EU systems: dates written year last (order decided per file), English month names,
and history rows for customers the company does not have yet (created only when the user says so)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from huikuan.common import datetext
from huikuan.common.models import AuditEvent
from huikuan.common.texts import render
from huikuan.customers.models import Customer
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.imports.parsing import CellError, parse_date
from huikuan.imports.services import preview_job
from huikuan.imports.tests.helpers import job_for, write_csv
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Allocation, Instalment, ReceivableDocument

D = dt.date

# ---------------------------------------------------------------- the parser (pure)


@pytest.mark.parametrize("text, expected", [
    ("1/26/2013", D(2013, 1, 26)),           # proves month first
    ("26/01/2013", D(2013, 1, 26)),          # proves day first
    ("1-26-2013", D(2013, 1, 26)),
    ("26.01.2013", D(2013, 1, 26)),
    ("1/26/13", D(2013, 1, 26)),             # two-digit year, Excel window
    ("26/1/29", D(2029, 1, 26)),
    ("26/1/30", D(1930, 1, 26)),
    ("5/5/2013", D(2013, 5, 5)),             # both orders agree
    ("26-Jan-2013", D(2013, 1, 26)),
    ("26-Jan-13", D(2013, 1, 26)),
    ("26 Jan 2013", D(2013, 1, 26)),
    ("Jan 26, 2013", D(2013, 1, 26)),
    ("January 26 2013", D(2013, 1, 26)),
    ("Sept 3rd, 2013", D(2013, 9, 3)),
    ("1/26/2013 12:00:00 AM", D(2013, 1, 26)),
    ("2026-01-05", D(2026, 1, 5)),           # the forms that were read before stay as they were
    ("2026/1/5", D(2026, 1, 5)),
    ("2026.1.5", D(2026, 1, 5)),
    ("2026年1月5日", D(2026, 1, 5)),
    ("20260105", D(2026, 1, 5)),
    ("46027", D(2026, 1, 5)),
])
def test_one_reading_without_an_order(text, expected):
    assert parse_date(text) == expected


def test_ambiguous_value_names_both_readings_and_the_choice():
    with pytest.raises(CellError) as exc, translation.override("en"):
        parse_date("1/2/2013")
    with translation.override("en"):
        text = render(exc.value.reason.as_data())
    assert text == ("1/2/2013 could be 2 January 2013 or 1 February 2013: choose the date order of this file "
                    "(month first or day first).")
    with translation.override("zh-hans"):
        assert "2013年1月2日" in render(exc.value.reason.as_data())
    assert parse_date("1/2/2013", order="mdy") == D(2013, 1, 2)
    assert parse_date("1/2/2013", order="dmy") == D(2013, 2, 1)
    assert parse_date("1/2/13", order="dmy") == D(2013, 2, 1)


def test_a_value_the_chosen_order_cannot_read():
    with pytest.raises(CellError) as exc:
        parse_date("26/1/2013", order="mdy")
    with translation.override("en"):
        assert render(exc.value.reason.as_data()) == (
            "26/1/2013 cannot be read month first (month/day/year), the date order chosen for this file; read the "
            "other way it is 26 January 2013.")
    for bad in ("2/30/2013", "13/13/2013", "0/5/2013", "26-Foo-2013", "Jan 2013", "1/2"):
        with pytest.raises(CellError):
            parse_date(bad, order="mdy")


def test_order_vote_counts_proofs_per_file():
    vote = datetext.OrderVote()
    for line, text in enumerate(["1/2/2013", "1/26/2013", "2/28/2013", "26/1/2013", "3/3/2013", "2026-01-05"], 2):
        vote.add(line, "d", text)
    assert vote.proofs == {"mdy": 2, "dmy": 1} and vote.ambiguous == 1
    assert vote.order == "mdy" and vote.outvoted("dmy") and not vote.outvoted("mdy")
    assert vote.first == {"mdy": (3, "d", "1/26/2013"), "dmy": (5, "d", "26/1/2013")}
    tie = datetext.OrderVote()
    tie.add(2, "d", "1/26/2013")
    tie.add(3, "d", "26/1/2013")
    assert tie.order is None and tie.outvoted("mdy") and tie.outvoted("dmy")


# ---------------------------------------------------------------- a US accounts-receivable export

US_HEAD = ["countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate", "DueDate", "InvoiceAmount",
           "Disputed", "SettledDate", "PaperlessBill", "DaysToSettle", "DaysLate"]
US_MAP = ["customerID=customer_code", "invoiceNumber=number", "InvoiceDate=document_date", "DueDate=due_date",
          "InvoiceAmount=amount", "Disputed=disputed", "SettledDate=settled_date", "PaperlessBill=delivery",
          "countryCode=region"]


def us_rows(*dates):
    """One settled invoice per (invoice date, due date, settled date), each for a new customer code."""
    rows = [US_HEAD]
    for n, (inv, due, settled) in enumerate(dates, 1):
        rows.append(["391", f"{n:04d}-XLQKO", "4/6/2013", f"61110{n}", inv, due, f"{n}5.94", "No" if n % 2 else "Yes",
                     settled, "Paper" if n % 2 else "Electronic", "21", "0"])
    return rows


def cli(*args):
    out = io.StringIO()
    try:
        call_command("import", "history", *args, *sum((["--map", m] for m in US_MAP), []), "--company", "T01",
                     "--user", "finance", "--language", "en", stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


@pytest.mark.django_db
def test_us_history_by_cli_creates_customers_audited_and_dry_run_writes_nothing(tmp_path, company, finance):
    path = write_csv(tmp_path / "ar.csv", us_rows(("1/2/2013", "2/1/2013", "1/15/2013"),
                                                  ("1/26/2013", "2/25/2013", "3/14/2013"),
                                                  ("7/8/2013", "8/7/2013", "8/1/2013")))
    out, ok = cli(str(path), "--dry-run")
    assert not ok and "--create-customers" in out and "Unknown customer code" in out
    assert "line 2 [customerID] “0001-XLQKO”" in out

    out, ok = cli(str(path), "--create-customers", "--dry-run")
    assert ok, out
    assert "3 new customers" in out and "nothing written" in out
    assert "read month first (month/day/year) as the file shows (line 2 [SettledDate]: 1/15/2013)" in out, out
    assert "warning: line 2 [customerID] “0001-XLQKO”: Customer 0001-XLQKO is new" in out
    assert Customer.objects.count() == 0 and ReceivableDocument.objects.count() == 0

    out, ok = cli(str(path), "--create-customers", "--commit")
    assert ok and "imported" in out, out
    new = Customer.objects.get(code="0001-XLQKO")
    assert new.name == "0001-XLQKO" and new.currency == company.base_currency
    events = AuditEvent.objects.filter(verb="customers.customer.created")
    assert sorted(e.summary for e in events)[0].startswith("0001-XLQKO") and events.count() == 3
    assert {e.actor_id for e in events} == {finance.pk}
    # 1/2/2013 in a file whose 1/26/2013 proves month first: 2 January
    doc = ReceivableDocument.objects.get(number="611101")
    assert (doc.customer_id, doc.document_date) == (new.pk, D(2013, 1, 2))
    inst = Instalment.objects.get(document=doc)
    assert (inst.due_date, inst.open_amount) == (D(2013, 2, 1), 0)
    assert list(Allocation.objects.filter(instalment=inst).values_list("date", "amount")) == [
        (D(2013, 1, 15), Decimal("15.94"))]
    assert check_ledger() == []
    out, ok = cli(str(path), "--create-customers", "--commit")  # again: nothing new
    assert ok and "3 unchanged" in out and Customer.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("order, invoice_date", [("mdy", D(2013, 1, 2)), ("dmy", D(2013, 2, 1))])
def test_an_all_ambiguous_file_needs_the_date_order(tmp_path, company, finance, order, invoice_date):
    path = write_csv(tmp_path / "amb.csv", us_rows(("1/2/2013", "3/4/2013", "5/6/2013")))
    out, ok = cli(str(path), "--create-customers")
    assert not ok
    assert ("line 2 [InvoiceDate] “1/2/2013”: 1/2/2013 could be 2 January 2013 or 1 February 2013: choose the date "
            "order of this file (month first or day first).") in out
    # and once for the file, at its header line
    assert "line 1 [InvoiceDate] “1/2/2013”: Dates such as 1/2/2013 (line 2) could be month first or day first" in out
    out, ok = cli(str(path), "--create-customers", "--date-order", order, "--commit")
    assert ok, out
    assert "read " + ("month" if order == "mdy" else "day") + " first" in out and "as chosen (--date-order)" in out
    assert ReceivableDocument.objects.get().document_date == invoice_date


@pytest.mark.django_db
def test_a_file_mixing_orders_is_refused_on_the_outvoted_cells(tmp_path, company, finance):
    path = write_csv(tmp_path / "mix.csv", us_rows(("1/26/2013", "2/25/2013", "3/14/2013"),
                                                   ("1/27/2013", "2/26/2013", "3/15/2013"),
                                                   ("28/1/2013", "2/27/2013", "3/16/2013")))
    out, ok = cli(str(path), "--create-customers")
    assert not ok and "3 rows, 1 with problems" in out
    assert ("line 4 [InvoiceDate] “28/1/2013”: 28/1/2013 can only be day first (28 January 2013), but other dates in "
            "this file are month first (line 2: 1/26/2013)") in out
    # the user's choice overrides the vote: the day-first cell is then the one the order cannot read
    out, ok = cli(str(path), "--create-customers", "--date-order", "mdy")
    assert not ok and "28/1/2013 cannot be read month first" in out
    assert ReceivableDocument.objects.count() == 0 and Customer.objects.count() == 0


@pytest.mark.django_db
def test_new_customer_names_from_the_file_and_bad_rows_reported_row_by_row(tmp_path, company, finance, customer):
    head = ["客户编码", "客户名称", "单据编号", "单据日期", "到期日", "金额", "收款日期"]
    rows = [head,
            ["N1", "新客户甲", "H1", "26-Jan-2024", "Feb 25, 2024", "100.00", "2024/3/1"],   # 2 fine, creates N1
            ["N1", "新客户甲", "H2", "1/2/2024", "2/3/2024", "50.00", "3/4/2024"],           # 3 ambiguous dates
            ["N1", "别的名字", "H3", "2024-01-05", "2024-02-04", "10.00", "2024-03-01"],     # 4 another name for N1
            ["C001", "", "H4", "2024-01-05", "2024-02-04", "10.00", "2024-03-01"]]          # 5 existing customer
    with translation.override("en"):
        job = job_for(write_csv(tmp_path / "n.csv", rows), company=company, actor=finance, kind="history")
        job.options = {"create_customers": True}
        job.save()
        job = preview_job(job=job, actor=finance)
    assert job.status == JobStatus.INVALID
    lines = {(e["line"], e["column"]) for e in job.errors}
    assert lines == {(1, "单据日期"), (3, "到期日"), (3, "单据日期"), (3, "收款日期"), (4, "客户名称")}
    by_line = {e["line"]: render(e["reason"]) for e in job.errors if e["line"] == 4}
    with translation.override("en"):
        assert "Line 2 names the new customer N1 “新客户甲”" in by_line[4]
    assert job.findings["new_customers"] == 1 and job.warnings == []
    assert Customer.objects.count() == 1  # C001 only: checking writes nothing


@pytest.mark.django_db
def test_creating_customers_needs_the_right(tmp_path, company, finance, monkeypatch):
    path = write_csv(tmp_path / "r.csv", us_rows(("1/26/2013", "2/25/2013", "3/14/2013")))
    with translation.override("en"):
        job = job_for(path, company=company, actor=finance, kind="history",
                      overrides=[tuple(m.split("=")) for m in US_MAP])
        job.options = {"create_customers": True}
        job.save()
        # every role that may post history may also edit customers today; the check must hold regardless
        can = type(finance).can
        monkeypatch.setattr(type(finance), "can", lambda self, perm: perm != "customer.edit" and can(self, perm))
        job = preview_job(job=job, actor=finance)
    assert job.status == JobStatus.INVALID
    assert [render(e["reason"]) for e in job.errors if e["line"] == 1] == [
        "You are not allowed to create customers: import the customers first, or ask someone who may."]


# ---------------------------------------------------------------- the web wizard


@pytest.mark.django_db
def test_wizard_offers_date_order_and_create_customers_then_imports(tmp_path, client, users, company,
                                                                    django_capture_on_commit_callbacks, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(users["finance"])
    client.cookies["django_language"] = "en"
    path = write_csv(tmp_path / "us.csv", us_rows(("1/2/2013", "3/4/2013", "5/6/2013"),
                                                  ("2/3/2013", "4/5/2013", "6/7/2013")))
    resp = client.post(reverse("imports:upload"), {"kind": "history", "preset": "", "profile": "",
                                                   "file": SimpleUploadedFile(path.name, path.read_bytes())})
    assert resp.status_code == 302
    job = ImportJob.objects.get()
    url = reverse("imports:job", args=[job.pk])
    mapping = {f"map_{m.split('=')[1]}": m.split("=")[0] for m in US_MAP}
    page = client.post(url, mapping)  # no order, no creation: refused row by row, the choices explained
    assert page.status_code == 422
    html = page.content.decode()
    assert 'name="date_order" value="mdy"' in html and 'id="create_customers"' in html
    assert "1/2/2013 could be 2 January 2013 or 1 February 2013" in html
    assert "--create-customers" in html
    page = client.post(url, {**mapping, "date_order": "dmy", "create_customers": "1"})
    assert page.status_code == 200, page.content.decode()[:3000]
    assert "2 new customers will be created with the import." in page.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.READY and job.options == {"date_order": "dmy", "create_customers": True}
    assert Customer.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("imports:commit", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.errors
    assert ReceivableDocument.objects.get(number="611101").document_date == D(2013, 2, 1)
    assert Customer.objects.count() == 2
    client.cookies["django_language"] = "zh-hans"
    page = client.get(url).content.decode()
    assert "已创建 2 个新客户。" in page
