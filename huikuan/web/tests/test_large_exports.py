"""Every large list's XLSX written by the worker (issue 13, ``common.export_jobs``): documents, payments, customers,
the aging drill-down, the collections worklist, the bank review queue and the audit log. A list of at most
``EXPORT_NOW_ROWS`` rows answers the file at once; a larger one queues a job whose file holds the same rows (the
threshold is set low here), read as its requester sees the list: a salesperson's job holds only their customers,
and only the requester follows or downloads it (anyone else: 404). A requester who may no longer see the list when
the worker runs gets a failed job that says why, in the reader's language."""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from huikuan.accounts.models import Role
from huikuan.banking.models import BankAccount, BankLine, BankStatement, LineStatus
from huikuan.collections.worklist import refresh_queue
from huikuan.common import clock, export_jobs
from huikuan.common.models import ExportJob
from huikuan.customers.models import Customer
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 2)
    return monkeypatch


@pytest.fixture
def books(company, users, customer, other_customer, net30, finance):
    """Three customers (two of sales_east, one of sales_west), invoices and payments of each, overdue today."""
    third = Customer.objects.create(company=company, code="C003", name="杭州东方电子有限公司", owner=users["sales_east"],
                                    payment_term=net30)
    today = clock.today(company)
    for n, c in enumerate((customer, other_customer, third, customer, other_customer, customer)):
        ls.post_document(company=company, customer_id=c.pk, document_date=today - dt.timedelta(days=40 + 20 * n),
                         total=D("1000.00") + n, actor=finance, reference=f"=PO-{n}")
    for n, c in enumerate((customer, other_customer, third)):
        ls.record_payment(company=company, customer_id=c.pk, amount=D("100.00") + n, date=today, actor=finance)
    refresh_queue(company=company, as_of=today)
    return {"east": (customer, third), "west": other_customer, "today": today}


def _rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def _login(client, user, language="en"):
    client.force_login(user)
    client.cookies["django_language"] = language


def both_ways(client, url, worker, capture, *, user):
    """The list's XLSX asked twice by ``user``: once below the threshold (the file at once), once above it (a job the
    worker runs); both files' rows, which must be equal. Returns (job, rows)."""
    _login(client, user)
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 10_000)
    before = ExportJob.objects.count()
    r = client.get(url)
    assert r.status_code == 200 and "spreadsheetml" in r["Content-Type"], (url, r.status_code)
    assert ExportJob.objects.count() == before  # small: no job
    direct = _rows(b"".join(r.streaming_content))
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 1)
    with capture() as callbacks:
        r = client.get(url)
    job = ExportJob.objects.filter(created_by=user).latest("pk")
    assert r.status_code == 302 and r["Location"] == f"/exports/{job.pk}/", (url, r.status_code)
    assert job.status == "queued" and "format" not in job.params and "export" not in job.params and job.url == url
    for callback in callbacks:
        callback()  # the commit's callback enqueues the task; the immediate backend runs it here
    job.refresh_from_db()
    assert job.status == "done", (url, job.status, job.error)
    d = client.get(f"/exports/{job.pk}/download/")
    assert d.status_code == 200
    via_job = _rows(b"".join(d.streaming_content))
    assert len(direct) > 2 and via_job == direct, url  # the same header, rows and totals either way
    assert job.done == job.total
    return job, direct


def _not_theirs(client, job, *others):
    for other in others:
        _login(client, other)
        assert client.get(f"/exports/{job.pk}/").status_code == 404
        assert client.get(f"/exports/{job.pk}/download/").status_code == 404
        assert f"/exports/{job.pk}/" not in client.get("/exports/").content.decode()


SCOPED = [
    ("/documents/?format=xlsx&sort=-amount", 4),  # (url, column of the customer's code or name)
    ("/payments/?format=xlsx&sort=amount", 4),
    ("/customers/export.xlsx?sort=code", 0),
    ("/reports/aging/items/?format=xlsx&as_of={today}&group=none&bucket=-1&sort=-amount", 1),
    ("/collections/?export=xlsx&collector=", 0),
]


@pytest.mark.parametrize(("url", "col"), SCOPED)
def test_a_scoped_list_is_the_same_file_at_once_or_by_the_worker_and_only_the_requester_s(
    client, books, users, worker, django_capture_on_commit_callbacks, url, col
):
    url = url.format(today=books["today"])
    job, rows = both_ways(client, url, worker, django_capture_on_commit_callbacks, user=users["finance"])
    body = [r for r in rows[1:] if r[0] not in ("Total", None, "")]
    assert any("C002" in str(r[col]) or "广州" in str(r[col]) for r in body)  # finance sees every customer
    _not_theirs(client, job, users["finance2"], users["sales_east"], users["admin"])
    # the salesperson's job holds exactly their customers' rows
    job, rows = both_ways(client, url, worker, django_capture_on_commit_callbacks, user=users["sales_east"])
    body = [r for r in rows[1:] if r[0] not in ("Total", None, "")]
    assert body and not any("C002" in str(r[col]) or "广州" in str(r[col]) for r in body)
    _not_theirs(client, job, users["sales_west"], users["finance"])


def test_the_bank_queue_and_the_audit_log_by_the_worker(client, company, books, users, worker, finance,
                                                        django_capture_on_commit_callbacks):
    account = BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001",
                                         currency="CNY")
    st = BankStatement.objects.create(company=company, account=account, source_format="camt053", file_name="q.xml",
                                      file_hash="h1")
    for n in range(4):
        BankLine.objects.create(company=company, account=account, statement=st, date=books["today"],
                                amount=D("10.00") + n, counterparty_name=f"付款人{n}", memo="=HYPERLINK(1)",
                                dedupe_key=f"k{n}", status=LineStatus.UNMATCHED)
    job, rows = both_ways(client, "/bank/queue.xlsx?sort=-amount", worker, django_capture_on_commit_callbacks,
                          user=finance)
    assert [r[1] for r in rows[1:]] == [13, 12, 11, 10] and rows[1][4] == "'=HYPERLINK(1)"
    _not_theirs(client, job, users["finance2"])
    job, rows = both_ways(client, "/kpis/audit/events/?format=xlsx&verb=ledger.document.posted", worker, django_capture_on_commit_callbacks,
                          user=users["auditor"])
    assert len(rows) == 7  # the header and the six documents posted (the log's own export events left out)
    _not_theirs(client, job, users["admin"], finance)
    # the audit report's events of one category, the same way
    both_ways(client, "/kpis/audit/?format=xlsx&category=backdated", worker, django_capture_on_commit_callbacks,
              user=users["auditor"])


def test_a_requester_who_lost_the_list_gets_a_failed_job_that_says_why(
    client, company, books, users, worker, django_capture_on_commit_callbacks
):
    auditor = users["auditor"]
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 1)
    _login(client, auditor)
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.get("/kpis/audit/events/?format=xlsx").status_code == 302
    auditor.role = Role.SALESPERSON  # before the worker runs: no audit.report any more
    auditor.save()
    callbacks[0]()
    job = ExportJob.objects.get(created_by=auditor)
    assert job.status == "failed" and not job.path
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "You may no longer see this list." in page and "export-download" not in page
    _login(client, auditor, "zh-hans")  # the reason in the reader's language, stored as a code
    assert "您已无权查看此列表。" in client.get(f"/exports/{job.pk}/").content.decode()
    # a finance clerk removed from the company meanwhile: the same
    clerk = users["finance"]
    _login(client, clerk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.get("/documents/?format=xlsx").status_code == 302
    clerk.companies.remove(company)
    callbacks[0]()
    job = ExportJob.objects.get(created_by=clerk)
    with translation.override("en"):
        assert job.status == "failed" and str(job.error) == "You may no longer see this list."


def test_at_the_threshold_the_file_comes_at_once(client, books, users, worker):
    _login(client, users["finance"])
    n = Customer.objects.count()
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", n)
    r = client.get("/customers/export.xlsx")
    assert r.status_code == 200 and len(_rows(b"".join(r.streaming_content))) == n + 2  # header, rows, totals
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", n - 1)
    assert client.get("/customers/export.xlsx").status_code == 302
    assert not ExportJob.objects.exclude(kind="customers.list").exists()


def test_a_list_longer_than_a_file_takes_stops_at_its_first_rows_and_says_so(
    client, books, users, worker, django_capture_on_commit_callbacks
):
    _login(client, users["finance"])
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 1)
    worker.setattr(export_jobs, "EXPORT_MAX_ROWS", 2)  # the six documents: the first two by amount, largest first
    with django_capture_on_commit_callbacks() as callbacks:
        client.get("/documents/?format=xlsx&sort=-amount")
    callbacks[0]()
    job = ExportJob.objects.get()
    rows = _rows(b"".join(client.get(f"/exports/{job.pk}/download/").streaming_content))
    assert [r[9] for r in rows[1:]] == [1005, 1004, 2009]  # the rows, then their total
    assert job.done == job.total == 2
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "The file holds the list's first 2 rows" in page


def test_my_exports_polls_while_a_job_is_active_and_stops_after(client, company, users):
    from huikuan.common.models import ExportJobStatus

    _login(client, users["finance"])
    assert 'id="exports-empty"' in client.get("/exports/").content.decode()
    job = ExportJob.objects.create(company_id=company.pk, created_by=users["finance"], kind="ledger.documents",
                                   params={}, language="en", title="Documents", status=ExportJobStatus.RUNNING,
                                   done=3, total=4, started_at=timezone.now(), heartbeat_at=timezone.now())
    page = client.get("/exports/").content.decode()
    assert 'hx-trigger="every 2s"' in page and "3 / 4" in page and "Writing 75%" in page
    table = client.get("/exports/", HTTP_HX_REQUEST="true").content.decode()
    assert table.startswith('\n<div class="table-scroll" id="exports-table"') or 'id="exports-table"' in table
    assert "<html" not in table
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJobStatus.FAILED, error=None)
    assert "hx-trigger" not in client.get("/exports/").content.decode()


def test_the_documents_and_payments_files_read_as_values_equal_the_rows_of_their_models(books, company, users):
    """The exporters read value rows (labels from the choices, the salesperson's name as ``str(user)``): the same
    cells as the list's model instances give, for each kind of name a salesperson may have."""
    from huikuan.ledger.models import Credit, ReceivableDocument
    from huikuan.web.views.ledger import documents_export, payments_export

    east, west = users["sales_east"], users["sales_west"]
    east.display_name, east.first_name, east.last_name = "", "小明", "王"
    east.save()
    west.display_name = west.first_name = west.last_name = ""
    west.save()
    docs = list(ReceivableDocument.objects.all())
    docs[0].salesperson, docs[1].salesperson, docs[2].salesperson = east, west, None
    ReceivableDocument.objects.bulk_update(docs[:3], ["salesperson"])
    Credit.objects.filter(pk=Credit.objects.first().pk).update(method="", reference="", bill_number="B-1")
    finance = users["finance"]
    with translation.override("zh-hans"):
        got = {r[0]: r for r in documents_export(company_id=company.pk, user=finance, params={}).rows}
        for d in ReceivableDocument.objects.select_related("customer", "salesperson"):
            assert got[d.number][3:9] == (d.get_kind_display(), d.customer.code, d.customer.name,
                                          str(d.salesperson or ""), d.reference, d.get_status_display()), d.number
        assert {got[d.number][6] for d in docs[:3]} == {"小明 王", "sales_west", ""}
        got = {r[0]: r for r in payments_export(company_id=company.pk, user=finance, params={}).rows}
        for c in Credit.objects.select_related("customer"):
            assert got[c.number][2:8] == (c.get_kind_display(), c.get_method_display() if c.method else "",
                                          c.customer.code, c.customer.name, c.reference or c.bill_number,
                                          c.get_status_display()), c.number


def test_a_large_aging_cell_is_queued_without_its_items_being_read_in_the_request(client, books, users, worker,
                                                                                  django_capture_on_commit_callbacks):
    """Above the threshold the drill-down's export only counts the cell (up to the threshold, in no order) before
    queueing: reading the first items in order computes every open item's amount first (1.8 s of CPU at 1 M open
    items). The job then writes them, the same rows as at once."""
    from huikuan.web.views import reports

    url = f"/reports/aging/items/?format=xlsx&as_of={books['today']}&group=none&bucket=-1&sort=-amount"
    _login(client, users["finance"])
    read = []
    real = reports.aging_items
    worker.setattr(reports, "aging_items", lambda **kw: read.append(kw) or real(**kw))
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 2)
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/exports/") and read == []
    for callback in callbacks:
        callback()
    job = ExportJob.objects.filter(created_by=users["finance"]).latest("pk")
    assert job.status == "done" and job.done == 6 and len(read) == 1  # the worker read them
    worker.setattr(export_jobs, "EXPORT_NOW_ROWS", 6)  # exactly the cell: written at once, read once
    r = client.get(url)
    assert r.status_code == 200 and len(read) == 2 and len(_rows(b"".join(r.streaming_content))) == 8


def test_the_fapiao_register_at_once_or_by_the_worker_scoped(client, company, books, users, worker, finance,
                                                             django_capture_on_commit_callbacks):
    """The fapiao register's XLSX (56,000 fapiao took 6.9 s in a request at full scale): the same file at once or
    by the worker, a salesperson's holding only their customers' fapiao, the job only its requester's."""
    from huikuan.ledger import fapiao as fp
    from huikuan.ledger.models import ReceivableDocument

    for n, doc in enumerate(ReceivableDocument.objects.order_by("pk")):
        fp.record_fapiao(company=company, customer_id=doc.customer_id, number=f"F{n:03d}", fapiao_type="special",
                         issue_date=books["today"], amount=D("500.00") + n, actor=finance, document_id=doc.pk)
    url = "/fapiao/?format=xlsx&sort=-amount"
    job, rows = both_ways(client, url, worker, django_capture_on_commit_callbacks, user=finance)
    assert rows[0][0] == "Fapiao number" and [r[6] for r in rows[1:7]] == [505, 504, 503, 502, 501, 500]
    assert rows[7][5] == "Total" and rows[7][6] == sum(range(500, 506))
    _not_theirs(client, job, users["finance2"], users["sales_east"])
    job, rows = both_ways(client, url, worker, django_capture_on_commit_callbacks, user=users["sales_west"])
    body = rows[1:-1]
    assert body and all("广州" in r[3] for r in body)  # sales_west's one customer only
