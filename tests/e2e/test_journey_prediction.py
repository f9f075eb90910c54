"""Payment prediction journey (issue 16): finance imports the old system's payment history (import kind
"history"), trains a model on demand ("Train now", run by the worker), reads the prediction of an open invoice
on its document page, and computes the cash-in forecast and sees its chart — small data, a few seconds."""

import csv
import datetime as dt
import random
import re
from decimal import Decimal

import pytest
from django.conf import settings as dj_settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from huikuan.common import clock
from huikuan.customers.models import Customer
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.ledger import services as ls
from huikuan.prediction import synthetic
from huikuan.prediction.models import ItemPrediction, ModelVersion
from tests.e2e import TIMEOUT_MS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_journey_history_train_predict_forecast(browser, live_server, shot, tmp_path, immediate_tasks, company, users,
                                                 net30):
    finance = users["finance"]
    today = clock.today(company)
    # the customers exist (imported first in real life); their history is 400 settled invoices of two years
    traits = synthetic.customers(12, random.Random(11))
    Customer.objects.bulk_create([Customer(company=company, code=t.code, name=f"合成客户{t.code}",
                                           payment_term=net30) for t in traits])
    settled, _open = synthetic.rows(n_invoices=400, n_customers=12, start=today - dt.timedelta(days=730),
                                    end=today - dt.timedelta(days=1), seed=11)
    path = tmp_path / "回款历史.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(synthetic.HEADER)
        w.writerows(settled)
    # one invoice still open today, issued last week: the one whose prediction we read
    slow = Customer.objects.get(company=company, code=traits[0].code)
    doc = ls.post_document(company=company, customer_id=slow.pk, document_date=today - dt.timedelta(days=7),
                           total=Decimal("8800.00"), actor=finance, reference="J-OPEN-1")

    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Client()
    c.force_login(finance)
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": "en", "url": live_server.url},
    ])
    try:
        # 1. import the history
        page.goto(f"{live_server.url}/imports/")
        page.select_option("select[name=kind]", "history")
        page.set_input_files("input[name=file]", str(path))
        page.click("form[action$='/upload/'] button[type=submit]")
        page.wait_for_url(re.compile(r"/imports/\d+/$"))
        if page.locator("#column-samples").count():  # the mapping step, when the headers need confirming
            page.click("form.stacked:has(#column-samples) button[type=submit], form.stacked button[type=submit]")
        page.wait_for_selector("form[action$='/commit/']")
        page.click("form[action$='/commit/'] button[type=submit]")
        page.wait_for_load_state()
        job = ImportJob.objects.get(company=company)
        assert job.status == JobStatus.DONE, (job.status, job.errors)

        # 2. train on demand
        page.goto(f"{live_server.url}/predictions/")
        page.locator("#train-now button").click()
        page.wait_for_url(f"{live_server.url}/predictions/")
        assert "has started" in page.locator(".messages").inner_text()
        v = ModelVersion.objects.get(company=company)
        assert v.is_active and v.window_end == today
        page.reload()
        assert page.locator("#version-1").is_visible()
        assert page.locator("table.backtest tbody tr").count() == 6  # the model and the five baselines
        shot(page, "prediction-trained-1366-en")

        # 3. the prediction on the open invoice's page (loaded by htmx)
        stored = ItemPrediction.objects.get(document=doc)
        page.goto(live_server.url + reverse("web:document-detail", args=[doc.pk]))
        panel = page.locator("#prediction-document")
        panel.locator("td.predicted").wait_for()
        assert f"{stored.predicted_date:%Y-%m-%d}" in panel.locator("td.predicted").inner_text()
        assert "%" in panel.locator("td.p-late").inner_text()
        shot(page, "prediction-document-1366-en")

        # 4. the cash-in forecast as of today, with its chart
        page.goto(f"{live_server.url}/forecast/")
        page.locator("#forecast-build input[name=as_of]").fill(today.isoformat())
        page.locator("#forecast-build button").click()
        # queued as a forecast job (the immediate task backend runs it when the request commits)
        page.wait_for_url(re.compile(r"/forecast/jobs/[0-9]+/$"))
        expect(page.locator("#forecast-job")).to_have_attribute("data-status", "done")
        page.locator("#forecast-job-done a").click()
        page.wait_for_url(f"{live_server.url}/forecast/?as_of={today}")
        assert page.locator("svg.forecast-chart rect").count() >= 13
        assert "Predicted by" in page.locator("#forecast-source").inner_text()
        shot(page, "prediction-forecast-1366-en")
    finally:
        ctx.close()
