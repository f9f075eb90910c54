"""The 13-week cash-in forecast: exact totals, scenarios, scoping, as-of dates, orders, page, XLSX, backtest."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from huikuan.common.audit import AuditEvent
from huikuan.credit.models import OrderStatus, SalesOrder
from huikuan.customers.models import Customer, PaymentTerm
from huikuan.ledger.models import Allocation, Instalment
from huikuan.prediction import forecast as fc
from huikuan.prediction import services
from huikuan.prediction.models import ForecastCell, ForecastRun

from .conftest import END, spread_customers

pytestmark = pytest.mark.django_db


def _open_on(company, day, customers=None) -> Decimal:
    """Open amount on ``day`` computed independently: amounts of the documents dated by then minus what was
    allocated by then."""
    inst = Instalment.objects.filter(company=company, document_date__lte=day, replaced_on__isnull=True)
    alloc = Allocation.objects.filter(company=company, date__lte=day, instalment__document_date__lte=day)
    if customers is not None:
        inst, alloc = inst.filter(customer__in=customers), alloc.filter(customer__in=customers)
    return (inst.aggregate(s=Sum("amount"))["s"] or 0) - (alloc.aggregate(s=Sum("amount"))["s"] or 0)


@pytest.fixture
def small(company, users):
    return spread_customers(company, users, n_invoices=1500, n_customers=30, seed=5)


def _weeks_sum(f, s):
    return sum(f.scenarios[s].weeks, Decimal(0))


def test_without_a_model_the_forecast_uses_due_dates_and_adds_up_to_the_open_amount(small, users):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    assert run.source == "due_date" and run.version is None
    open_amount = Instalment.objects.filter(company=small, open_amount__gt=0).aggregate(s=Sum("open_amount"))["s"]
    assert open_amount > 0
    f = fc.read_forecast(run=run, user=users["finance"])
    for s in fc.SCENARIOS:  # every scenario: 13 weeks + beyond = the open amount, to the fen
        assert _weeks_sum(f, s) == open_amount
        assert f.scenarios[s].within + f.scenarios[s].weeks[fc.BEYOND] == open_amount
    assert f.open_amount == open_amount
    assert Decimal(run.totals["CNY"]["open"]) == open_amount
    overdue = Instalment.objects.filter(company=small, open_amount__gt=0, due_date__lt=END) \
        .aggregate(s=Sum("open_amount"))["s"] or Decimal(0)
    assert f.overdue_amount == overdue
    # the naive first week holds what is overdue plus what falls due in the week
    due_w1 = Instalment.objects.filter(company=small, open_amount__gt=0, due_date__gte=END,
                                       due_date__lte=END + dt.timedelta(days=7)).aggregate(s=Sum("open_amount"))["s"] or 0
    assert f.scenarios["naive"].weeks[0] == overdue + due_w1
    assert AuditEvent.objects.filter(verb="prediction.forecast.built", company_id=small.pk).count() == 1


def test_with_the_live_model_p10_is_earliest_and_totals_stay_exact(small, users):
    version = services.train_model(company=small, as_of=END)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    assert run.source == version.live and run.version_id == version.pk
    f = fc.read_forecast(run=run, user=users["finance"])
    open_amount = Instalment.objects.filter(company=small, open_amount__gt=0).aggregate(s=Sum("open_amount"))["s"]
    cum = {s: Decimal(0) for s in fc.SCENARIOS}
    for k in range(fc.BEYOND + 1):
        for s in cum:
            cum[s] += f.scenarios[s].weeks[k]
        assert cum["p10"] >= cum["p50"] >= cum["p90"]  # every item's P10 ≤ P50 ≤ P90 date
    for s in fc.SCENARIOS:
        assert cum[s] == open_amount
    # the model does not simply copy the due dates
    assert f.scenarios["p50"].weeks != f.scenarios["naive"].weeks


def _cells(cells):
    keys = ("owner_id", "salesperson_id", "group_id", "currency", "week", "p10", "p50", "p90", "naive", "items",
            "overdue")
    return sorted(tuple(-1 if c[k] is None else c[k] for k in keys) for c in cells)


@pytest.mark.parametrize("with_model", [False, True])
def test_the_sql_cube_from_stored_predictions_equals_predicting_again(small, users, with_model):
    version = services.train_model(company=small, as_of=END) if with_model else None  # stores predictions
    stored = fc.cube_from_stored(small, END, version)
    assert stored is not None
    active = services.active_model(small)
    od = fc.open_dates(company=small, as_of=END, trained=active[1] if active else None,
                       live=version.live if version else None)
    cells, totals = fc.cube(small, od)
    assert _cells(stored[0]) == _cells(cells) and stored[1] == totals and stored[2] == len(od.ids)
    # a past date (allocations after it) cannot use the stored rows
    assert fc.cube_from_stored(small, END - dt.timedelta(days=60), version) is None


def test_rebuilding_the_same_day_replaces_it_and_a_past_as_of_uses_the_books_of_that_day(small, users):
    past = END - dt.timedelta(days=75)
    fc.build_forecast(company=small, as_of=past, actor=users["finance"])
    run = fc.build_forecast(company=small, as_of=past, actor=users["finance"])
    assert ForecastRun.objects.filter(company=small).count() == 1
    f = fc.read_forecast(run=run, user=users["finance"])
    expected = _open_on(small, past)
    assert expected > Instalment.objects.filter(company=small, open_amount__gt=0, document_date__lte=past) \
        .aggregate(s=Sum("open_amount"))["s"]  # some of it was paid since
    for s in fc.SCENARIOS:
        assert _weeks_sum(f, s) == expected
    assert f.ranges[0] == (past + dt.timedelta(days=1), past + dt.timedelta(days=7))


def test_a_salesperson_sees_their_customers_only_and_breakdowns_add_up(small, users):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    west = Customer.objects.filter(company=small, owner=users["sales_west"])
    f = fc.read_forecast(run=run, user=users["sales_west"])
    assert f.open_amount == _open_on(small, END, west) > 0
    whole = fc.read_forecast(run=run, user=users["finance"])
    assert whole.open_amount > f.open_amount
    by_sp = fc.read_forecast(run=run, user=users["finance"], by="group")
    assert {ln.label for ln in by_sp.lines} == {"华北客户", "无客户分组"}
    for k in range(fc.BEYOND + 1):
        assert sum(ln.weeks[k] for ln in by_sp.lines) == whole.scenarios["p50"].weeks[k]
    by_cur = fc.read_forecast(run=run, user=users["finance"], by="currency")
    assert [ln.key for ln in by_cur.lines] == ["CNY"] and by_cur.lines[0].total == whole.open_amount


def test_orders_opt_in_split_terms_split_exactly(small, users):
    term = PaymentTerm.objects.create(company=small, code="S", name="30/70", kind="split",
                                      split_lines=[{"percent": "33.33", "days": 0}, {"percent": "66.67", "days": 60}])
    c = Customer.objects.filter(company=small, owner=users["sales_east"]).first()
    c.payment_term = term
    c.save()
    SalesOrder.objects.create(company=small, customer=c, reference="SO-1", amount=Decimal("1000.01"),
                              requested_amount=Decimal("1000.01"), status=OrderStatus.OPEN)
    SalesOrder.objects.create(company=small, customer=c, reference="SO-2", amount=Decimal("50.00"),
                              requested_amount=Decimal("50.00"), status=OrderStatus.HELD)
    today = dt.date.today()
    run = fc.build_forecast(company=small, as_of=today, actor=users["finance"])
    f = fc.read_forecast(run=run, user=users["finance"], orders=True)
    assert f.orders.total == Decimal("1000.01")  # the held order is not expected
    assert f.orders.weeks[0] == Decimal("333.30") and f.orders.weeks[8] == Decimal("666.71")
    assert fc.read_forecast(run=run, user=users["sales_west"], orders=True).orders.total == 0
    assert fc.order_dates(today, Decimal("0.03"), term, "CNY") == [(today, Decimal("0.01")),
                                                                   (today + dt.timedelta(days=60), Decimal("0.02"))]


def test_empty_company_builds_an_empty_forecast(company, users):
    run = fc.build_forecast(company=company, as_of=dt.date(2026, 3, 2), actor=users["finance"])
    assert run.items == 0 and not ForecastCell.objects.filter(run=run).exists()
    f = fc.read_forecast(run=run, user=users["finance"])
    assert f.open_amount == 0


# ---------------------------------------------------------------- page, build, XLSX


def test_page_chart_xlsx_and_build(client, small, users, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(users["finance"])
    r = client.get("/forecast/")
    assert r.status_code == 200 and b"forecast-empty" in r.content
    with django_capture_on_commit_callbacks(execute=True):  # queued, then run by the (immediate) worker
        r = client.post("/forecast/build/", {"as_of": END.isoformat()})
    assert r.status_code == 302 and r["Location"].startswith("/forecast/jobs/")
    r = client.get(r["Location"], HTTP_HX_REQUEST="true")
    assert r["HX-Redirect"] == f"/forecast/?as_of={END}"
    r = client.get(f"/forecast/?as_of={END}&by=salesperson", HTTP_ACCEPT_LANGUAGE="en")
    body = r.content.decode()
    assert r.status_code == 200 and "<svg" in body and "forecast-chart" in body and "sales_east" in body
    assert "No model trained yet" in body
    r = client.get(f"/forecast/?as_of={END}&by=salesperson&format=xlsx", HTTP_ACCEPT_LANGUAGE="en")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Line" and rows[0][-1] == "Total" and len(rows[0]) == 16
    open_amount = Instalment.objects.filter(company=small, open_amount__gt=0).aggregate(s=Sum("open_amount"))["s"]
    assert Decimal(str(rows[2][-1])) == open_amount  # the P50 row's total
    # a salesperson may look but not compute; a bad date is refused in words
    client.force_login(users["sales_east"])
    assert client.post("/forecast/build/", {"as_of": END.isoformat()}).status_code == 403
    assert client.get(f"/forecast/?as_of={END}").status_code == 200
    client.force_login(users["finance"])
    r = client.post("/forecast/build/", {"as_of": "2999-01-01"}, follow=True)
    assert "不晚于今天" in r.content.decode()
    assert client.get("/forecast/build/").status_code == 405


def test_page_in_chinese_says_which_model(client, small, users):
    services.train_model(company=small, as_of=END)
    fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    r = client.get("/forecast/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = r.content.decode()
    assert r.status_code == 200 and "回款预测" in body and "forecast-source" in body


# ---------------------------------------------------------------- backtest


def test_backtest_reports_weekly_wape_beside_the_naive_forecast(small, users):
    dates = [END - dt.timedelta(days=200), END - dt.timedelta(days=172), END - dt.timedelta(days=144)]
    res = fc.backtest_forecast(company=small, as_of_dates=dates)
    assert len(res.weeks) == 13 and len(res.per_date) == 3
    assert res.wape is not None and res.wape_naive is not None
    # the actual collections are the allocations of the items open on each date, in each week
    d = dates[0]
    open_ids = set(Instalment.objects.filter(company=small, document_date__lte=d).values_list("pk", flat=True))
    paid_before = {a for a in Allocation.objects.filter(company=small, date__lte=d).values_list("instalment_id", flat=True)}
    still = {i.pk for i in Instalment.objects.filter(pk__in=open_ids) if _open_item(i, d)}
    assert still <= open_ids and paid_before is not None
    collected = Allocation.objects.filter(instalment_id__in=still, date__gt=d, date__lte=d + dt.timedelta(days=91)) \
        .aggregate(s=Sum("amount"))["s"]
    assert res.per_date[0]["actual"] == collected
    assert sum(w["actual"] for w in res.weeks) == sum(p["actual"] for p in res.per_date)


def _open_item(inst, day):
    paid = Allocation.objects.filter(instalment=inst, date__lte=day).aggregate(s=Sum("amount"))["s"] or 0
    return inst.amount - paid > 0


def test_backtest_outside_the_data_is_a_clear_error(client, small, users):
    from django.utils import translation

    with translation.override("en"), pytest.raises(fc.ForecastError, match="outside the data"):
        fc.backtest_forecast(company=small, as_of_dates=[END])
    with translation.override("en"), pytest.raises(fc.ForecastError, match="outside the data"):
        fc.backtest_forecast(company=small, as_of_dates=[dt.date(2000, 1, 1)])
    client.force_login(users["finance"])
    r = client.get(f"/forecast/backtest/?run=1&last={END}&count=2&every=4", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 422 and "outside the data" in r.content.decode()


def test_backtest_page_and_xlsx(client, small, users):
    client.force_login(users["credit_manager"])
    assert client.get("/forecast/backtest/").status_code == 200
    last = END - dt.timedelta(days=120)
    r = client.get(f"/forecast/backtest/?run=1&last={last}&count=2&every=4")
    assert r.status_code == 200 and "wape-forecast" in r.content.decode()
    r = client.get(f"/forecast/backtest/?last={last}&count=2&every=4&format=xlsx")
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 1 + 13 + 1 and rows[1][0] == "1"


def test_command_line_forecast_and_backtest(small, tmp_path):
    import json

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("predict", "forecast", "--as-of", END.isoformat(), "--by", "group", "--format", "json", stdout=out)
    body = json.loads(out.getvalue())
    open_amount = Instalment.objects.filter(company=small, open_amount__gt=0).aggregate(s=Sum("open_amount"))["s"]
    assert body["source"] == "due_date" and Decimal(body["open_amount"]) == open_amount
    assert Decimal(body["lines"][1]["total"]) == open_amount and len(body["lines"][1]["amounts"]) == 14
    out = io.StringIO()
    call_command("predict", "forecast", "--as-of", END.isoformat(), stdout=out)
    assert "P50" in out.getvalue() and "beyond" in out.getvalue()
    out = io.StringIO()
    last = END - dt.timedelta(days=120)
    call_command("predict", "forecast-backtest", "--last", last.isoformat(), "--count", "2", stdout=out)
    assert "overall WAPE" in out.getvalue()
    xlsx = tmp_path / "bt.xlsx"
    call_command("predict", "forecast-backtest", "--last", last.isoformat(), "--count", "2", "--format", "xlsx",
                 "--output", str(xlsx), stdout=io.StringIO())
    assert xlsx.stat().st_size > 0
    with pytest.raises(CommandError, match="outside the data"):
        call_command("predict", "forecast-backtest", "--last", END.isoformat(), "--language", "en", stdout=io.StringIO())
