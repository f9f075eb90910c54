import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.urls import reverse

from huikuan.insight.models import ArSnapshot
from huikuan.insight.selectors import dashboard
from huikuan.insight.services import month_ends
from huikuan.ledger import services as s

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(company, customer, other_customer, finance):
    s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5), total=D("1000.00"), actor=finance)
    s.post_document(company=company, customer_id=other_customer.pk, document_date=dt.date(2026, 3, 1), total=D("300.00"), actor=finance)
    s.record_payment(company=company, customer_id=customer.pk, amount=D("1200.00"), date=dt.date(2026, 3, 10), actor=finance)


def test_month_ends():
    assert month_ends(dt.date(2026, 3, 15), 3) == [dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    assert month_ends(dt.date(2026, 3, 31), 1) == [dt.date(2026, 3, 31)]


def test_dashboard_figures_and_scope(book, company, finance, users):
    call_command("snapshot_ar", "--as-of", "2026-03-20", "--months", "3")
    assert ArSnapshot.objects.filter(date=dt.date(2026, 1, 31)).get().open_amount == D("1000.00")
    d = dashboard(user=finance, company=company, as_of=dt.date(2026, 3, 20))
    assert d.open_amount == D("300.00") and d.unapplied_amount == D("200.00") and d.unapplied_customers == 1
    assert d.overdue_amount == D("0.00")
    assert [(p.date, p.open_amount, p.overdue_amount) for p in d.trend] == [
        (dt.date(2026, 1, 31), D("1000.00"), D("0.00")),
        (dt.date(2026, 2, 28), D("1000.00"), D("1000.00")),
        (dt.date(2026, 3, 20), D("300.00"), D("0.00")),
    ]
    later = dashboard(user=finance, company=company, as_of=dt.date(2026, 4, 5))
    assert later.overdue_amount == D("300.00") and later.overdue_share == D("100.0")
    east = dashboard(user=users["sales_east"], company=company, as_of=dt.date(2026, 3, 20))
    assert east.open_amount == D("0.00") and [c.pk for c in east.top_debtors] == []
    assert [p.open_amount for p in east.trend] == [D("1000.00"), D("1000.00"), D("0.00")]


def test_dashboard_page_constant_queries(client, book, finance, django_assert_max_num_queries):
    import time_machine

    # a fixed "today" (15 April 2026) so the snapshots and the trend do not depend on the real date
    with time_machine.travel(dt.datetime(2026, 4, 15, 2, 0, tzinfo=dt.UTC), tick=False):
        client.force_login(finance)
        r = client.get(reverse("web:dashboard"))
        assert r.status_code == 200 and "<svg" not in r.content.decode()  # one point: no trend line yet
        call_command("snapshot_ar", "--months", "3")
        with django_assert_max_num_queries(14):  # the KPI strip loads after the page (insight:dashboard-strip)
            r = client.get(reverse("web:dashboard"))
        assert r.status_code == 200 and "<polyline" in r.content.decode()
