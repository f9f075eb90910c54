"""Prediction panels on the customer 360 and the document page, the model page (backtest, versions,
activate / roll back) and their XLSX — through the real views."""

import datetime as dt
import io

import openpyxl
import pytest

from huikuan.common.models import AuditEvent
from huikuan.customers.models import Customer
from huikuan.prediction import services
from huikuan.prediction.models import ItemPrediction, ModelVersion

from .conftest import load_synthetic

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 1, 5)


@pytest.fixture
def trained(company, users, finance):
    load_synthetic(company, finance, n_invoices=900, n_customers=12, seed=5)
    ids = list(Customer.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))
    Customer.objects.filter(pk__in=ids[::2]).update(owner=users["sales_east"])
    Customer.objects.filter(pk__in=ids[1::2]).update(owner=users["sales_west"])
    services.train_model(company=company, as_of=AS_OF, actor=finance)
    return company


def _east_prediction(users):
    return ItemPrediction.objects.filter(customer__owner=users["sales_east"]).select_related("document", "customer").first()


def test_customer_panel_shows_predictions_in_both_languages_and_exports(client, trained, users):
    p = _east_prediction(users)
    client.force_login(users["sales_east"])
    html = client.get(f"/predictions/customers/{p.customer_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "回款预测" in html and p.document.number in html and p.predicted_date.isoformat() in html
    assert f"{p.low_date:%Y-%m-%d} – {p.high_date:%Y-%m-%d}" in html
    client.cookies["django_language"] = "en"
    html = client.get(f"/predictions/customers/{p.customer_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Payment prediction" in html and "Expected to be paid late" in html
    r = client.get(f"/predictions/customers/{p.customer_id}/?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Document number" and rows[0][7] == "Probability late"
    assert len(rows) - 1 == ItemPrediction.objects.filter(customer_id=p.customer_id).count()
    # the customer 360 loads the panel; another salesperson's customer is 404
    assert f'/predictions/customers/{p.customer_id}/' in client.get(f"/customers/{p.customer_id}/").content.decode()
    client.force_login(users["sales_west"])
    assert client.get(f"/predictions/customers/{p.customer_id}/").status_code == 404
    assert client.get(f"/predictions/customers/{p.customer_id}/?format=xlsx").status_code == 404


def test_a_customer_s_many_predictions_are_exported_by_the_worker_for_the_requester_only(
    client, trained, users, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from huikuan.common import export_jobs
    from huikuan.common.models import ExportJob

    settings.DATA_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    from django.db.models import Count

    busiest = (ItemPrediction.objects.filter(customer__owner=users["sales_east"]).values("customer_id")
               .annotate(n=Count("id")).order_by("-n").first())
    assert busiest["n"] > 1
    p = ItemPrediction.objects.filter(customer_id=busiest["customer_id"]).select_related("customer").first()
    url = f"/predictions/customers/{p.customer_id}/?format=xlsx"
    client.force_login(users["sales_east"])
    client.cookies["django_language"] = "en"
    direct = list(openpyxl.load_workbook(io.BytesIO(b"".join(client.get(url).streaming_content))).active
                  .iter_rows(values_only=True))
    monkeypatch.setattr(export_jobs, "EXPORT_NOW_ROWS", 1)  # this customer's items are more than that
    with django_capture_on_commit_callbacks() as callbacks:
        r = client.get(url)
    job = ExportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/exports/{job.pk}/" and job.params == {"customer": str(p.customer_id)}
    assert p.customer.code in client.get(r["Location"]).content.decode()  # the page names the customer
    callbacks[0]()
    d = client.get(f"/exports/{job.pk}/download/")
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(d.streaming_content))).active.iter_rows(values_only=True))
    assert len(rows) > 2 and rows == direct
    # another salesperson: 404 for the list (no job) and for this job
    client.force_login(users["sales_west"])
    assert client.get(url).status_code == 404 and ExportJob.objects.count() == 1
    assert client.get(f"/exports/{job.pk}/download/").status_code == 404
    # the customer handed to another owner before the worker runs: the job fails, nothing written
    client.force_login(users["sales_east"])
    with django_capture_on_commit_callbacks() as callbacks:
        client.get(url + "&again=1")
    Customer.objects.filter(pk=p.customer_id).update(owner=users["sales_west"])
    callbacks[0]()
    failed = ExportJob.objects.latest("pk")
    assert failed.status == "failed" and "You may no longer see this list." in client.get(
        f"/exports/{failed.pk}/").content.decode()


def test_document_panel_shows_each_open_instalment(client, trained, users):
    p = _east_prediction(users)
    client.force_login(users["collector"])
    assert f"/predictions/documents/{p.document_id}/" in client.get(f"/documents/{p.document_id}/").content.decode()
    html = client.get(f"/predictions/documents/{p.document_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert p.predicted_date.isoformat() in html and f"{(p.p_late * 100).quantize(1)} %" in html
    for code, params in p.reasons:
        from django.utils import translation

        from huikuan.prediction.texts import reason
        with translation.override("en"):
            assert reason(code, params).split("%")[0][:12] in html.replace("&#x27;", "'")
    client.force_login(users["sales_west"])
    assert client.get(f"/predictions/documents/{p.document_id}/").status_code == 404


def test_model_page_backtest_versions_and_rollback(client, trained, users, finance):
    services.train_model(company=trained, as_of=AS_OF, actor=finance)  # v2 live
    client.force_login(users["finance"])
    html = client.get("/predictions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Backtest: the model beside the baselines" in html and "Baseline: the customer&#x27;s own late rate" in html
    assert "Calibration of the model" in html and 'id="version-1"' in html and "Roll back to this version" in html
    r = client.get("/predictions/?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    names = [row[0] for row in ws.iter_rows(values_only=True)]
    assert len([n for n in names if n and "aseline" in str(n) or n and "基准" in str(n)]) == 5
    assert client.get("/predictions/?version=99").status_code == 404
    # roll back: v1 live, predictions refreshed by v1, audited
    r = client.post("/predictions/versions/1/activate/")
    assert r.status_code == 302
    v1 = ModelVersion.objects.get(company=trained, version=1)
    assert v1.is_active and set(ItemPrediction.objects.values_list("version_id", flat=True)) == {v1.pk}
    assert AuditEvent.objects.filter(verb="prediction.model.activated", actor=finance).exists()
    assert client.post("/predictions/versions/99/activate/").status_code == 404
    client.force_login(users["credit_manager"])  # may read the report, may not activate
    assert client.get("/predictions/").status_code == 200
    assert client.post("/predictions/versions/2/activate/").status_code == 403
    client.force_login(users["collector"])
    assert client.get("/predictions/").status_code == 403


def test_pages_without_a_model_say_so(client, company, customer, users):
    client.force_login(users["finance"])
    assert "No model has been trained yet" in client.get("/predictions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    html = client.get(f"/predictions/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No prediction model has been trained yet" in html
