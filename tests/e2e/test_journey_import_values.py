"""Issue 11 points 3–5 through the UI, in zh-hans and en: a 金蝶-shaped GBK file (title rows, customer by
name, Chinese dates, ¥ amounts, 人民币, terms by spelling, a due-date column) → the mapping step shows three
sample values per column → the preview lists the unknown terms once with their meaning, a due date that
differs from 2/10 net 30, and a bad registration code as a warning → one decision each → import → the
instalment keeps its discount."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from huikuan.customers.models import PaymentTerm
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.ledger.models import ReceivableDocument

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [
    "测试科技有限公司,,,,,",
    "应收单列表,,,,,",
    "期间：2026年1月,,,,,单位：元",
    "客户名称,单据编号,业务日期,价税合计（元）,币别,收款条件,到期日",
    "上海华东机械有限公司,JD-1,2026年1月5日,\"￥10,000.00\",人民币,2/10 N30,2026年2月28日",
    "上海华东机械有限公司,JD-2,2026年1月6日,\"￥2,000.00\",人民币,月结45天,",
    "广州南方贸易有限公司,JD-3,2026.1.7,１，５００,RMB,Net 30,",
]


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_journey_import_values_terms_due_dates(page, live_server, shot, tmp_path, immediate_tasks, company, customer,
                                               other_customer, finance, lang):
    PaymentTerm.objects.create(company=company, code="D2", name="2/10 net 30", kind="net", days=30,
                               discount_percent=Decimal(2), discount_days=10)
    c = Client()
    c.force_login(finance)
    page.context.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": lang, "url": live_server.url},
    ])
    path = tmp_path / "应收单列表.csv"
    path.write_bytes(("\n".join(ROWS) + "\n").encode("gbk"))
    page.goto(f"{live_server.url}/imports/")
    page.select_option("select[name=kind]", "documents")
    page.set_input_files("input[name=file]", str(path))
    page.click("form[action$='/upload/'] button[type=submit]")
    page.wait_for_selector("#column-samples")
    samples = page.locator("#column-samples tr", has_text="业务日期").inner_text()
    assert "2026年1月5日" in samples and "2026.1.7" in samples
    page.click("form.stacked:has(select[name=map_number]) button[type=submit]")
    page.wait_for_selector("#unknown-terms")
    assert page.locator("#unknown-terms").inner_text().count("月结45天") == 1
    assert page.locator("#due-date-choice").is_visible()
    shot(page, f"import-values-preview-{lang}-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, f"import-values-preview-{lang}-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("#unknown-terms button[type=submit]")  # "create EOM45" is preselected
    page.wait_for_selector("#due-date-choice")
    page.check("#due-date-choice input[value=file]")
    page.click("#due-date-choice button[type=submit]")
    page.wait_for_selector("form[action$='/commit/']")
    page.click("form[action$='/commit/'] button[type=submit]")
    page.wait_for_load_state()
    job = ImportJob.objects.get()
    assert job.status == JobStatus.DONE, (job.status, job.errors)
    jd1 = ReceivableDocument.objects.get(number="JD-1")
    assert [(i.due_date, i.discount_amount, i.discount_date) for i in jd1.instalments.all()] == [
        (dt.date(2026, 2, 28), Decimal("200.00"), dt.date(2026, 1, 15))]
    assert ReceivableDocument.objects.get(number="JD-2").payment_term.code == "EOM45"
    assert ReceivableDocument.objects.get(number="JD-3").total_amount == Decimal("1500.00")
