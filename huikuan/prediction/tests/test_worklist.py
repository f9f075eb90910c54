"""The payment prediction on the collections worklist: a column, a factor in the priority, the XLSX, the phone card.

The worklist reads the stored per-item predictions (``ItemPrediction``) in its snapshot's aggregate (one join),
so the page costs the same queries with or without a model; no model → no column, priority as before.
"""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from huikuan.collections import calculations as calc
from huikuan.collections.models import QueueEntry
from huikuan.collections.worklist import priority, refresh_queue
from huikuan.customers.models import Customer
from huikuan.ledger import services as ls
from huikuan.ledger.models import Instalment
from huikuan.prediction import services
from huikuan.prediction.models import ItemPrediction

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def terms(net30):
    return net30


def _customer(company, terms, code):
    return Customer.objects.create(company=company, code=code, name=f"客户{code}", payment_term=terms)


def _invoice(company, customer, finance, total, day=dt.date(2026, 1, 5)):
    doc = ls.post_document(
        company=company, customer_id=customer.pk, document_date=day, total=D(total), actor=finance
    )
    return Instalment.objects.get(document=doc)


def _predict(item, predicted: dt.date, p90: str):
    return ItemPrediction.objects.create(
        company_id=item.company_id,
        instalment=item,
        customer_id=item.customer_id,
        document_id=item.document_id,
        as_of=TODAY,
        due_date=item.due_date,
        p_late=D(1),
        p_late_30=D(p90),
        p_late_90=D(p90),
        predicted_date=predicted,
        low_date=TODAY,
        high_date=predicted + dt.timedelta(days=30),
        reasons=[],
        updated_at=timezone.now(),
    )


def test_prediction_factor_steps():
    assert [calc.prediction_factor(d) for d in (None, 0, 7, 8, 30, 31, 90, 91, 400)] == [
        1,
        D("0.5"),
        D("0.5"),
        1,
        1,
        D("1.5"),
        D("1.5"),
        2,
        2,
    ]
    assert calc.predicted_wait(weight=None, wait_sum=None, p90_sum=None) == (None, None)
    # 30,000 fen due in 10 days and 10,000 fen in 50: weighted 20 days; p90 (0.1 × 3 + 0.5 × 1) / 4 = 0.2
    assert calc.predicted_wait(
        weight=40000, wait_sum=30000 * 10 + 10000 * 50, p90_sum=30000 * 1000 + 10000 * 5000
    ) == (20, D("0.2000"))


def test_snapshot_reads_the_stored_predictions_and_weights_the_priority(company, finance, terms):
    soon, slow, plain = (_customer(company, terms, c) for c in ("P-SOON", "P-SLOW", "P-NONE"))
    a = _invoice(company, soon, finance, "300.00")
    b = _invoice(company, soon, finance, "100.00")
    c = _invoice(company, slow, finance, "400.00")
    _invoice(company, plain, finance, "400.00")
    _predict(a, TODAY + dt.timedelta(days=2), "0.1000")
    _predict(b, TODAY + dt.timedelta(days=10), "0.5000")
    _predict(c, TODAY + dt.timedelta(days=120), "0.8000")
    refresh_queue(company=company, as_of=TODAY)
    rows = {e.customer_id: e for e in QueueEntry.objects.filter(company=company)}
    e_soon, e_slow, e_plain = rows[soon.pk], rows[slow.pk], rows[plain.pk]
    # amount-weighted: (300 × 2 + 100 × 10) / 400 = 4 days; p90 (300 × 0.1 + 100 × 0.5) / 400 = 0.2
    assert e_soon.predicted_date == TODAY + dt.timedelta(days=4) and e_soon.p_late_90 == D("0.2000")
    assert e_slow.predicted_date == TODAY + dt.timedelta(days=120) and e_slow.p_late_90 == D("0.8000")
    assert e_plain.predicted_date is None and e_plain.p_late_90 is None
    days = (TODAY - e_plain.oldest_due).days
    base = priority(D("400.00"), days, D(1))
    assert e_plain.priority == base  # no prediction: as before
    assert e_soon.priority == base // 2  # expected within a week: × 0.5
    assert e_slow.priority == base * 2  # expected after 90 days: × 2
    assert e_slow.priority > e_plain.priority > e_soon.priority
    # the predictions removed (no model live): the snapshot is as before
    ItemPrediction.objects.all().delete()
    refresh_queue(company=company, as_of=TODAY)
    assert set(QueueEntry.objects.filter(company=company).values_list("priority", flat=True)) == {base}
    assert not QueueEntry.objects.filter(predicted_date__isnull=False).exists()


def _page_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(reverse("collections:index"))
    assert r.status_code == 200
    return len(ctx.captured_queries), r.content.decode()


def test_worklist_column_export_and_query_count(client, company, finance, users, terms):
    soon, slow = _customer(company, terms, "P-SOON"), _customer(company, terms, "P-SLOW")
    a = _invoice(company, soon, finance, "300.00")
    c = _invoice(company, slow, finance, "400.00")
    refresh_queue(company=company, as_of=TODAY)
    client.force_login(users["collector"])
    n_before, body = _page_queries(client)
    assert 'id="predicted-head"' not in body and "prediction-factor" not in body  # no model live: no column
    _predict(a, TODAY + dt.timedelta(days=3), "0.0500")
    _predict(c, TODAY + dt.timedelta(days=95), "0.6250")
    refresh_queue(company=company, as_of=TODAY)
    n_after, body = _page_queries(client)
    assert n_after == n_before  # the column is in the snapshot row: no query added
    assert 'id="predicted-head"' in body and 'id="prediction-factor"' in body
    assert body.index("P-SLOW") < body.index(
        "P-SOON"
    )  # expected after 90 days: ranked above the one due in 3
    assert f'data-predicted="{TODAY + dt.timedelta(days=95):%Y-%m-%d}"' in body and "63%" in body
    r = client.get(reverse("collections:index") + "?export=xlsx")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content)).active
    values = list(ws.values)
    assert len(values[0]) == 14  # the two prediction columns last
    i_date, i_p90 = 12, 13
    by_code = {row[0]: row for row in values[1:]}
    assert by_code["P-SLOW"][i_date].date() == TODAY + dt.timedelta(days=95)
    assert by_code["P-SLOW"][i_p90] == pytest.approx(0.625)
    assert by_code["P-SOON"][i_date].date() == TODAY + dt.timedelta(days=3)


def test_refreshing_predictions_refreshes_the_worklist(synthetic_company, finance):
    """Training (and every refresh of the stored predictions) recomputes the worklist's snapshot at once."""
    as_of = dt.date(2026, 1, 5)
    refresh_queue(company=synthetic_company, as_of=as_of)
    assert not QueueEntry.objects.filter(company=synthetic_company, predicted_date__isnull=False).exists()
    services.train_model(company=synthetic_company, as_of=as_of, actor=finance)
    with_prediction = QueueEntry.objects.filter(
        company=synthetic_company, overdue_amount__gt=0, predicted_date__isnull=False
    )
    assert with_prediction.exists()
    assert not with_prediction.filter(predicted_date__lt=as_of).exists()


def test_train_now_runs_the_training_in_the_worker(
    client, company, users, settings, django_capture_on_commit_callbacks
):
    from huikuan.prediction.models import ModelVersion
    from huikuan.prediction.tests.conftest import END, load_synthetic

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    load_synthetic(company, users["finance"], n_invoices=800, n_customers=20, seed=7, end=END)
    url = reverse("prediction:train")
    client.force_login(users["sales_east"])
    assert client.post(url).status_code == 403
    client.force_login(users["finance"])
    assert client.get(url).status_code == 405
    assert not ModelVersion.objects.filter(company=company).exists()
    with django_capture_on_commit_callbacks(execute=True):  # enqueued once the request's transaction commits
        r = client.post(url)
    assert r.status_code == 302 and r["Location"] == reverse("prediction:models")
    v = ModelVersion.objects.get(company=company)
    assert v.is_active and v.trained_by == users["finance"] and v.window_end == TODAY
    assert ItemPrediction.objects.filter(company=company, as_of=TODAY).exists()
