"""Issue 19 finding 5: a salesperson's dunning run page shows their own customers' figures, never the
company-wide totals stored on the run."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from huikuan.dunning import services

from .conftest import DOC_DATE, post

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 2, 4)


def _kpis(html: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="card kpi"><div>([^<]+)</div><strong>([^<]*)</strong>', html))


@pytest.mark.parametrize("dry_run", [False, True])
def test_salesperson_sees_only_own_figures_on_a_run(client, company, customer, other_customer, finance, users, dry_run):
    post(company, customer, finance, "100.00", DOC_DATE)             # sales_east's customer: 1 item
    for _ in range(3):                                               # sales_west's customer: 3 items
        post(company, other_customer, finance, "200.00", DOC_DATE)
    run = services.run_dunning(company=company, as_of=DUE + dt.timedelta(days=8), enqueue=False, dry_run=dry_run)
    assert (run.notices, run.items) == (2, 4)
    url = reverse("dunning:run", args=[run.pk])

    client.force_login(users["sales_east"])
    r = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert r.status_code == 200
    assert _kpis(html)["Notices"] == "1" and _kpis(html)["Items"] == "1", _kpis(html)
    assert "Skipped (no address)" not in html
    assert other_customer.name not in html

    client.force_login(users["finance"])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _kpis(html)["Notices"] == "2" and _kpis(html)["Items"] == "4"
    assert other_customer.name in html


def test_run_history_shows_a_salesperson_own_counts_only(client, company, customer, other_customer, finance, users):
    post(company, customer, finance, "100.00", DOC_DATE)
    for _ in range(3):
        post(company, other_customer, finance, "200.00", DOC_DATE)
    run = services.run_dunning(company=company, as_of=DUE + dt.timedelta(days=8), enqueue=False)
    client.force_login(users["sales_east"])
    html = client.get(reverse("dunning:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = re.search(rf'<tr>.*?{run.as_of:%Y-%m-%d}.*?</tr>', html, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "1"], row
    client.force_login(users["finance"])
    html = client.get(reverse("dunning:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = re.search(rf'<tr>.*?{run.as_of:%Y-%m-%d}.*?</tr>', html, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "4"], row
