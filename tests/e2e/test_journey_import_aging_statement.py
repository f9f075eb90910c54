"""Journey B (issue 3), through the UI: import a documents CSV with errors → the preview lists every bad row
(line, column, value, reason) and nothing is written → fix the file → import → commit → open the aging report →
drill down on a cell (htmx) → open the customer's statement → download the PDF.
"""

import re
from decimal import Decimal as D

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.imports.models import ImportJob, JobStatus
from huikuan.ledger.models import ReceivableDocument

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "单据编号,业务日期,客户编码,价税合计,摘要\n"
GOOD = [
    "XS-0001,2026-01-05,C001,\"1,200.00\",一月货款\n",
    "XS-0002,2026-02-10,C001,800.50,二月货款\n",
    "XS-0003,2026-03-15,C002,\"2,000.00\",三月货款\n",
]
# the same file with three mistakes on lines 2, 3 and 4 (line 1 is the header)
BAD = [
    "XS-0001,2026-13-05,C001,\"1,200.00\",一月货款\n",      # no 13th month
    "XS-0002,2026-02-10,C404,800.50,二月货款\n",            # unknown customer
    "XS-0003,2026-03-15,C002,\"2,000.0x\",三月货款\n",      # not an amount
]


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _login(page, live_server, user):
    c = Client()
    c.force_login(user)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])


def _upload_and_check(page, live_server, path):
    page.goto(f"{live_server.url}/imports/")
    page.select_option("select[name=kind]", "documents")
    page.set_input_files("input[name=file]", str(path))
    page.click("form[action$='/imports/upload/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    # the Chinese (金蝶-style) headers were recognised: the mapping is already filled in
    for field, header in [("number", "单据编号"), ("document_date", "业务日期"), ("customer_code", "客户编码"),
                          ("total", "价税合计"), ("description", "摘要")]:
        assert page.input_value(f"select[name=map_{field}]") == header
    page.click("form.stacked:has(select[name=map_number]) button[type=submit]")
    page.wait_for_load_state()
    return ImportJob.objects.order_by("-pk").first()


def test_journey_import_with_errors_fix_commit_aging_drill_statement_pdf(
        page, live_server, shot, tmp_path, immediate_tasks, customer, other_customer, finance):
    _login(page, live_server, finance)

    # ---- a file with errors: every bad row is listed, nothing is written
    bad = tmp_path / "documents-bad.csv"
    bad.write_text(HEADER + "".join(BAD), encoding="utf-8-sig")
    job = _upload_and_check(page, live_server, bad)
    assert job.status == JobStatus.INVALID
    problems = page.locator("#import-problems table.list").filter(has_text="C404")
    problems.wait_for()
    rows = [[c.strip() for c in r.locator("td").all_inner_texts()] for r in problems.locator("tbody tr").all()]
    assert [r[0] for r in rows] == ["2", "3", "4"]
    by_line = {r[0]: r for r in rows}
    assert by_line["2"][2] == "2026-13-05" and by_line["3"][2] == "C404" and by_line["4"][2] == "2,000.0x"
    assert all(r[1] and r[3] for r in rows)  # a column and a reason on every row
    assert "业务日期" in by_line["2"][1] or "date" in by_line["2"][1].lower()
    assert page.locator("form[action$='/commit/']").count() == 0  # no import button while anything is wrong
    assert not ReceivableDocument.objects.exists()
    shot(page, "journey-import-preview-errors")

    # ---- the fixed file: preview clean, import, committed in the background, progress page ends in "done"
    good = tmp_path / "documents-fixed.csv"
    good.write_text(HEADER + "".join(GOOD), encoding="utf-8-sig")
    job = _upload_and_check(page, live_server, good)
    assert job.status == JobStatus.READY and job.error_rows == 0 and job.total_rows == 3
    page.click("form[action$='/commit/'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/imports/{job.pk}/$"))
    page.locator("#import-progress .badge.ok").wait_for()
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.created_count == 3
    assert ReceivableDocument.objects.count() == 3
    shot(page, "journey-import-done")

    # ---- the aging report: one row per customer, totals equal the open balance
    page.goto(f"{live_server.url}/")
    page.click("nav.mainnav a[href='/reports/aging/']")
    page.wait_for_url(re.compile(r"/reports/aging/$"))
    table = page.locator("#aging-table")
    assert _amount(table.locator("tfoot td.total").inner_text()) == D("4000.50")
    row = table.locator("tbody tr").filter(has_text=customer.name)
    assert _amount(row.locator("td.total").inner_text()) == D("2000.50")

    # ---- drill down on the customer's total (htmx: the page stays, #drill fills in)
    url_before = page.url
    row.locator("td.total a").click()
    drill = page.locator("#drill table.list")
    drill.wait_for()
    assert page.url == url_before
    drill_text = drill.inner_text()
    assert "XS-0001" in drill_text and "XS-0002" in drill_text and "XS-0003" not in drill_text
    assert _amount(drill.locator("tfoot td.num").inner_text()) == D("2000.50")
    # and on a single bucket cell: its instalments add up to the cell
    cell = row.locator("td.num a").first
    cell_amount = _amount(cell.inner_text())
    cell.click()
    page.wait_for_function(
        "t => document.querySelector('#drill tfoot td.num') && "
        "document.querySelector('#drill tfoot td.num').innerText.replace(/,/g, '') === t",
        arg=f"{cell_amount:.2f}")
    shot(page, "journey-aging-drill")

    # ---- the customer's statement, and its PDF
    row.locator("td").first.locator("a").click()
    page.wait_for_url(re.compile(rf"^https?://[^/]+/customers/{customer.pk}/$"))
    page.click(f"a[href='/customers/{customer.pk}/statement/']")
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/statement/"))
    page.fill("input[name=from]", "2026-01-01")
    page.fill("input[name=to]", "2026-06-30")
    page.click("form.toolbar:has(input[name=from]) button")
    page.wait_for_url(re.compile(r"from=2026-01-01"))
    body = page.locator("main").inner_text()
    assert "XS-0001" in body and "XS-0002" in body and "XS-0003" not in body
    assert "2,000.50" in body
    shot(page, "journey-statement")
    with page.expect_download() as info:
        page.click("a[href*='format=pdf']")
    download = info.value
    assert download.suggested_filename.startswith(f"statement-{customer.code}-") and download.suggested_filename.endswith(".pdf")
    data = open(download.path(), "rb").read()
    assert data.startswith(b"%PDF") and len(data) > 1000


def _amount(text: str) -> D:
    return D(text.strip().replace(",", ""))
