import datetime as dt
import io
from decimal import Decimal as D

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, customer, other_customer, finance):
    for c, day, total, days in ((customer, dt.date(2026, 4, 1), "5000", 30), (customer, dt.date(2026, 6, 1), "6000", 10),
                                (customer, dt.date(2026, 6, 20), "4000", 30),
                                (other_customer, dt.date(2026, 6, 5), "1000", 30)):
        s.post_document(company=company, customer_id=c.pk, document_date=day, total=D(total), actor=finance,
                        schedule=[s.ScheduleInput(due_date=day + dt.timedelta(days=days), amount=D(total))])
    s.record_payment(company=company, customer_id=other_customer.pk, amount=D("400"), date=dt.date(2026, 6, 25),
                     actor=finance)


def test_kpi_page_definitions_comparisons_trend_and_groups(client, book, finance, customer):
    client.force_login(finance)
    r = client.get(reverse("insight:kpis"), {"period": "2026-06", "group": "customer", "trend": "12"})
    assert r.status_code == 200
    html = r.content.decode()
    # every figure carries its definition; the vector row shows DSO 45 for the first customer
    assert 'title="DSO = 期末应收 ÷ 期内赊销额 × 期间天数。"' in html
    assert "45.00" in html and "12.00" in html and "33.00" in html
    assert "上期" in html or "Previous period" in html
    assert html.count("<polyline") >= 2 and "<rect" in html
    assert f'href="/customers/{customer.pk}/"' in html or f"/customers/{customer.pk}" in html
    # the comparison periods are the month before and the same month a year before
    assert r.context["prev_p"].start == dt.date(2026, 5, 1) and r.context["yoy_p"].start == dt.date(2025, 6, 1)
    by_code = {f["m"].code: f for f in r.context["figures"]}
    assert by_code["billed"]["now"] == D("11000.00") and by_code["billed"]["prev"] == D("0.00")
    assert by_code["ar_end"]["d_prev"] == D("10600.00")  # 15,600 now, 5,000 at the end of May


def test_kpi_page_in_english_and_bad_period(client, book, finance):
    client.force_login(finance)
    r = client.get(reverse("insight:kpis"), {"period": "2026-13"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    assert "Enter a period such as" in r.content.decode() or "请输入期间" in r.content.decode()
    r = client.get(reverse("insight:kpis"), {"period": "2026-06-30..2026-06-01"})
    assert "期间的结束日期早于开始日期" in r.content.decode() or "end is before" in r.content.decode()


def test_kpi_xlsx_matches_screen(client, book, finance):
    client.force_login(finance)
    r = client.get(reverse("insight:kpis"), {"period": "2026-06", "group": "salesperson", "format": "xlsx"})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.values)
    assert [row[0] for row in rows[1:]] == ["sales_east", "sales_west", "合计"]
    header = list(rows[0])
    assert rows[-1][header.index("开票（赊销额）")] == 11000


def test_drill_down_rows_and_scope(client, book, finance, users, customer, other_customer):
    client.force_login(finance)
    url = reverse("insight:kpi-items")
    r = client.get(url, {"period": "2026-06", "source": "billed"})
    assert [i.amount for i in r.context["items"]] == [D("6000.00"), D("1000.00"), D("4000.00")]
    r = client.get(url, {"period": "2026-06", "source": "overdue", "group": "customer", "key": customer.pk})
    assert sorted(i.amount for i in r.context["items"]) == [D("5000.00"), D("6000.00")]
    r = client.get(url, {"period": "2026-06", "source": "collected", "group": "salesperson",
                         "key": users["sales_west"].pk}, HTTP_HX_REQUEST="true")
    assert [i.amount for i in r.context["items"]] == [D("400.00")] and "<html" not in r.content.decode()
    x = client.get(url, {"period": "2026-06", "source": "collected", "format": "xlsx"})
    assert list(openpyxl.load_workbook(io.BytesIO(b"".join(x.streaming_content))).active.values)[1][-1] == 400
    assert client.get(url, {"period": "2026-06", "source": "planets"}).status_code == 404
    # a salesperson never sees another's rows, whatever key is asked for
    client.force_login(users["sales_east"])
    r = client.get(url, {"period": "2026-06", "source": "billed", "group": "customer", "key": other_customer.pk})
    assert r.context["items"] == []
    r = client.get(reverse("insight:kpis"), {"period": "2026-06", "group": "customer"})
    assert [g["row"].key for g in r.context["group_rows"]] == [customer.pk]


def test_dashboard_shows_kpis_and_cash_for_the_users_scope(client, book, finance, users,
                                                           django_assert_max_num_queries):
    with time_machine.travel(dt.datetime(2026, 6, 26, 2, 0, tzinfo=dt.UTC), tick=False):
        client.force_login(finance)
        assert 'hx-get="/kpis/dashboard-strip/"' in client.get(reverse("web:dashboard")).content.decode()
        client.get(reverse("insight:dashboard-strip"))  # the first view stores last month's end figures (insight.past)
        # constant: per period the stored dates of its ends (found, still fresh?), the changed customers, the
        # stored sums, three live corrections, the dates still there; then the cash outlook
        with django_assert_max_num_queries(30):
            r = client.get(reverse("insight:dashboard-strip"))
        k = r.context["kpi"]
        assert k["period"].start == dt.date(2026, 6, 1) and k["period"].end == dt.date(2026, 6, 26)
        cash = k["cash"]
        # open today: 5,000 (due 1 May) and 6,000 (due 11 June) overdue; 4,000 due 20 July; 600 due 5 July
        assert cash.overdue == D("11000.00") and cash.this_week == D("0.00") and cash.this_month == D("0.00")
        assert cash.next_month == D("4600.00")
        assert cash.collected_month == D("400.00") and cash.collected_last_month == D("0.00")
        html = r.content.decode()
        assert 'id="dashboard-kpis"' in html and 'id="dashboard-cash"' in html
        client.force_login(users["sales_west"])
        west = client.get(reverse("insight:dashboard-strip")).context["kpi"]["cash"]
        assert west.next_month == D("600.00") and west.overdue == D("0.00") and west.collected_month == D("400.00")


def test_dashboard_cash_from_the_stored_sums_equals_the_full_computation(book, company, customer, other_customer,
                                                                        finance, users):
    """The strip's cash outlook takes the overdue amount and both months' collections from the KPI sums it
    already has (stored figures) and reads only the open items due from today to the end of next month:
    the same figures as the two full statements, for every scope, after payments across both months."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.insight import kpis

    s.record_payment(company=company, customer_id=customer.pk, amount=D("700"), date=dt.date(2026, 5, 20),
                     actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1300"), date=dt.date(2026, 6, 3),
                     actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("90"), date=dt.date(2026, 5, 28),
                     actor=finance)
    today = dt.date(2026, 6, 26)
    for user in (finance, users["sales_east"], users["sales_west"]):
        stored = kpis.dashboard_kpis(user=user, company=company, today=today)["cash"]
        assert stored == kpis.cash_outlook(user=user, company=company, today=today)
    full = kpis.cash_outlook(user=finance, company=company, today=today)
    assert full.collected_month == D("1700.00") and full.collected_last_month == D("790.00")
    assert full.collected_last_month_to_date == D("700.00")  # up to 26 May: not the payment of the 28th
    # the open items read are a range of due dates (today … end of next month), not every open item
    with CaptureQueriesContext(connection) as ctx:
        kpis.dashboard_kpis(user=finance, company=company, today=today)
    outlook = [q["sql"] for q in ctx.captured_queries if "ledger_instalment i WHERE" in q["sql"]
               and "i.open_amount > 0" in q["sql"]]
    where = [q.split(" WHERE ", 1)[1] for q in outlook]
    assert where and all("i.due_date >= " in w and "i.due_date <= " in w for w in where)
