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


# ---------------------------------------------------------------- the set-wise refresh against the former one


def _former_refresh_queue(*, company, as_of, customer_ids=None) -> int:
    """``worklist.refresh_queue`` as it was before the set-wise upsert (session 27): the reference the new one is
    compared with — model instances, ``bulk_create(update_conflicts=True)`` 2,000 at a time."""
    from django.db.models import Count, F, Min, Q, Sum
    from django.db.models.functions import Least

    from huikuan.collections.limitation import earliest_by_customer
    from huikuan.collections.models import PaymentPlan, PlanStatus, Promise, PromiseStatus
    from huikuan.collections.worklist import _prediction_sums
    from huikuan.common.money import ZERO, MoneyField

    base = Instalment.objects.filter(company=company, open_amount__gt=0, due_date__lt=as_of, replaced_on__isnull=True)
    if customer_ids is not None:
        customer_ids = list(customer_ids)
        base = base.filter(customer_id__in=customer_ids)
    disputed = Least(F("disputed_amount"), F("open_amount"))
    rows = base.order_by().values("customer_id").annotate(
        overdue=Sum(F("open_amount") - disputed, output_field=MoneyField()),
        disputed=Sum(disputed, output_field=MoneyField()), oldest=Min("due_date"),
        **_prediction_sums(as_of, Q(prediction__isnull=False)))
    since = as_of - dt.timedelta(days=365)
    promises = Promise.objects.filter(company=company, status=PromiseStatus.BROKEN, settled_on__gt=since)
    plans = PaymentPlan.objects.filter(company=company, status=PlanStatus.BROKEN, broken_on__gt=since)
    if customer_ids is not None:
        promises = promises.filter(customer_id__in=customer_ids)
        plans = plans.filter(customer_id__in=customer_ids)
    broken_p = dict(promises.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    broken_pl = dict(plans.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    owners = Customer.objects.filter(company=company)
    if customer_ids is not None:
        owners = owners.filter(pk__in=customer_ids)
    owner_of = dict(owners.values_list("pk", "owner_id"))
    limitation = earliest_by_customer(company=company, as_of=as_of, customer_ids=customer_ids)
    entries = []
    for r in rows:
        risk = calc.risk_factor(broken_promises=broken_p.get(r["customer_id"], 0),
                                broken_plans=broken_pl.get(r["customer_id"], 0))
        days = (as_of - r["oldest"]).days
        overdue = r["overdue"] or ZERO
        lim = limitation.get(r["customer_id"])
        wait, p90 = calc.predicted_wait(weight=r["pred_weight"], wait_sum=r["pred_wait"], p90_sum=r["pred_p90"])
        entries.append(QueueEntry(
            customer_id=r["customer_id"], company_id=company.pk, owner_id=owner_of.get(r["customer_id"]),
            overdue_amount=overdue, disputed_amount=r["disputed"] or ZERO, oldest_due=r["oldest"], risk=risk,
            priority=priority(overdue, days, risk, limitation_days=(lim - as_of).days if lim else None, wait_days=wait),
            snapshot_on=as_of, limitation_date=lim,
            predicted_date=None if wait is None else as_of + dt.timedelta(days=wait), p_late_90=p90))
    fields = ["owner", "overdue_amount", "disputed_amount", "oldest_due", "risk", "priority", "snapshot_on",
              "limitation_date", "predicted_date", "p_late_90"]
    for i in range(0, len(entries), 2000):
        QueueEntry.objects.bulk_create(entries[i:i + 2000], update_conflicts=True, unique_fields=["customer"],
                                       update_fields=fields)
    fresh = {e.customer_id for e in entries}
    stale = QueueEntry.objects.filter(company=company).filter(Q(overdue_amount__gt=0) | Q(disputed_amount__gt=0))
    if customer_ids is not None:
        stale = stale.filter(customer_id__in=customer_ids)
    gone = [cid for cid in stale.values_list("customer_id", flat=True) if cid not in fresh]
    QueueEntry.objects.filter(customer_id__in=gone).update(
        overdue_amount=0, disputed_amount=0, oldest_due=None, priority=0, snapshot_on=as_of, limitation_date=None,
        predicted_date=None, p_late_90=None)
    return len(entries)


def _queue_rows(company):
    return sorted(QueueEntry.objects.filter(company=company).values(), key=lambda r: r["customer_id"])


def _restore(company, rows):
    QueueEntry.objects.filter(company=company).delete()
    QueueEntry.objects.bulk_create([QueueEntry(**r) for r in rows])


def test_setwise_refresh_writes_what_the_former_one_wrote(company, finance, terms, users):
    """Every column of every queue row equal after the former refresh and after the set-wise one, from the same
    starting rows: new customers, rows updated (follow-up columns kept), rows of customers no longer overdue
    zeroed, broken promises and plans in the risk, a disputed part, a limitation date in the watch window, stored
    predictions (the factor and the columns), with and without ``customer_ids``."""
    from huikuan.collections.models import PaymentPlan, PlanStatus, Promise, PromiseStatus

    customers = [_customer(company, terms, f"S{k:02d}") for k in range(8)]
    for k, c in enumerate(customers):
        c.owner = users["sales_east"] if k % 2 else None
        c.save(update_fields=["owner"])
    items = []
    for k, c in enumerate(customers[:6]):
        items.append(_invoice(company, c, finance, f"{1000 + 137 * k}.{k}5", day=dt.date(2025, 11, 1 + 3 * k)))
        items.append(_invoice(company, c, finance, f"{250 + k}.50", day=dt.date(2026, 1, 10 + k)))
    old = _invoice(company, customers[2], finance, "880.00", day=dt.date(2023, 1, 20))  # 诉讼时效 within 180 days
    Instalment.objects.filter(pk=items[3].pk).update(disputed_amount=D("100.00"))
    for k, item in enumerate(items[:7]):
        _predict(item, TODAY + dt.timedelta(days=(3, 12, 40, 95, 0, 200, 20)[k]), ("0.0500", "0.1250", "0.3333",
                                                                                 "0.5000", "0.9999", "1.0000",
                                                                                 "0.0001")[k])
    _predict(old, TODAY + dt.timedelta(days=60), "0.7000")
    for c, n in ((customers[1], 2), (customers[3], 5)):
        for _ in range(n):
            Promise.objects.create(company=company, customer=c, amount=D("10.00"), promised_date=TODAY,
                                   made_on=TODAY - dt.timedelta(days=40), status=PromiseStatus.BROKEN,
                                   settled_on=TODAY - dt.timedelta(days=30))
    PaymentPlan.objects.create(company=company, customer=customers[4], status=PlanStatus.BROKEN, total_amount=D("9.00"),
                               requested_by=finance, broken_on=TODAY - dt.timedelta(days=10))
    # starting rows: an existing row with a follow-up (kept), one of a customer with nothing overdue (zeroed)
    QueueEntry.objects.create(customer=customers[0], company=company, overdue_amount=D("1.00"), priority=5,
                              next_action_date=TODAY, last_outcome="called")
    QueueEntry.objects.create(customer=customers[7], company=company, overdue_amount=D("3.00"),
                              disputed_amount=D("2.00"), priority=7, promise_date=TODAY)
    start = _queue_rows(company)
    for day, ids in ((TODAY, None), (TODAY, [customers[1].pk, customers[7].pk]), (TODAY + dt.timedelta(days=45), None)):
        _restore(company, start)
        n_former = _former_refresh_queue(company=company, as_of=day, customer_ids=ids)
        former = _queue_rows(company)
        _restore(company, start)
        assert refresh_queue(company=company, as_of=day, customer_ids=ids) == n_former
        assert _queue_rows(company) == former
    assert len(former) == 7 and any(r["limitation_date"] for r in former) and any(r["p_late_90"] for r in former)
    assert {r["risk"] for r in former} >= {D("1.50"), D("2.00")} and any(r["disputed_amount"] for r in former)
