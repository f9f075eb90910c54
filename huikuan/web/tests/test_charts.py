"""Charts (issue 13): every bar links to the rows behind it, line-chart points carry their value as a
tooltip, the axes are labelled and month labels are distinct."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from huikuan.common import clock
from huikuan.insight.selectors import TrendPoint
from huikuan.ledger import services as s
from huikuan.web.views.shell import _line_chart, month_labels

pytestmark = pytest.mark.django_db


def test_month_labels_are_distinct_when_a_month_has_two_points():
    dates = [dt.date(2026, 10, 31), dt.date(2026, 11, 30), dt.date(2026, 12, 6), dt.date(2026, 12, 31)]
    labels = month_labels(dates)
    assert labels == ["2026-10", "2026-11", "2026-12", "12-31"]
    assert len(set(labels)) == len(labels)
    # across a year end the year keeps them apart
    assert month_labels([dt.date(2025, 12, 31), dt.date(2026, 12, 31)]) == ["2025-12", "2026-12"]


def test_trend_points_carry_their_value_and_the_axis_its_scale():
    points = [TrendPoint(dt.date(2026, m, 28), D(1000 * m), D(100 * m)) for m in range(1, 4)]
    chart = _line_chart(points)
    assert [d["title"].split(" · ")[0] for d in chart["open"]["dots"]] == ["2026-01-28", "2026-02-28", "2026-03-28"]
    assert chart["open"]["dots"][2]["title"].endswith("3,000.00")
    assert chart["overdue"]["dots"][0]["title"].endswith("100.00")
    assert chart["top"] == D(3000) and chart["mid"] == D(1500)
    many = [TrendPoint(dt.date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 28), D(1), D(0)) for m in range(1, 20)]
    labels = [lbl["text"] for lbl in _line_chart(many)["labels"]]
    assert len(labels) == 10 and labels[-1] == "2026-07"  # every other month, the latest always shown


def test_dashboard_aging_bars_open_the_instalments_behind_them(client, users, company, customer, finance):
    today = clock.today(company)
    s.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=75),
                    total=D("1234.50"), actor=finance, number="OLD-1")  # net 30: 45 days overdue → 31–60
    s.post_document(company=company, customer_id=customer.pk, document_date=today, total=D("99.00"), actor=finance,
                    number="NEW-1")  # not yet due
    client.force_login(users["admin"])
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()
    bars = re.findall(r'<a class="barrow" href="([^"]+)" title="([^"]+)">', html)
    assert len(bars) == 6
    url, title = bars[2]
    assert "1,234.50" in title
    assert url == f"/reports/aging/items/?as_of={today.isoformat()}&amp;group=none&amp;bucket=2"
    drill = client.get(url.replace("&amp;", "&")).content.decode()
    assert "OLD-1" in drill and "NEW-1" not in drill
    assert "1,234.50" in drill
    current = client.get(bars[0][0].replace("&amp;", "&")).content.decode()
    assert "NEW-1" in current and "OLD-1" not in current


def test_aging_drill_says_when_it_lists_only_the_oldest(client, users, company, customer, finance, monkeypatch):
    from huikuan.web.views import reports

    today = clock.today(company)
    for i in range(3):
        s.post_document(company=company, customer_id=customer.pk, document_date=today - dt.timedelta(days=40 + i),
                        total=D("10.00"), actor=finance, number=f"T-{i}")
    monkeypatch.setattr(reports, "DRILL_PAGE", 2)
    client.force_login(users["admin"])
    client.cookies["django_language"] = "en"
    html = client.get(f"/reports/aging/items/?as_of={today}&group=none&bucket=1").content.decode()
    assert "Only the oldest 2 instalments are listed" in html and "(2+)" in html
    assert "T-2" in html and "T-0" not in html  # oldest due first
    html = client.get("/reports/aging/").content.decode()
    assert html.count('class="barrow" href="/reports/aging/items/?') == 6
