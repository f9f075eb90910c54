"""KPIs, dashboard, salespeople's page and commission at scale, against data loaded by bench/generate.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/huikuan_bench_kpi .venv/bin/python bench/kpi_bench.py \
        [--company BENCH01] [--month 2026-11] [--requests 20]

Prints (median / max of 5 runs): company KPIs for a month, KPIs grouped by salesperson, the KPI trend of
12 months; p50/p95 of ``--requests`` requests for the dashboard, the KPI page and the salespeople's page
(the leaderboard) through Django's test client as finance; and the commission computation for a month
(every payment allocation of the month, all salespeople) with the number of lines and statements.
Run it on a scratch database: it writes a commission rule and the month's statements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.insight import commission  # noqa: E402
from huikuan.insight.kpi_calc import parse_period  # noqa: E402
from huikuan.insight.kpis import kpi_report, kpi_trend  # noqa: E402
from huikuan.insight.models import CommissionLine, CommissionStatement  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def timed(fn, runs=5):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), max(out)


def page_stats(client, url, n):
    times = []
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        queries = len(ctx.captured_queries)
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)], queries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="")
    ap.add_argument("--month", default="2026-11")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--no-customer", action="store_true", help="skip the KPIs grouped by customer (minutes)")
    args = ap.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    company = Company.objects.get(code=args.company) if args.company else \
        Company.objects.filter(code__startswith="BENCH").order_by("-pk").first()
    finance = User.objects.filter(role="finance", companies=company).first() or User.objects.filter(role="finance").first()
    finance.companies.add(company)
    month = parse_period(args.month)
    n_inst = Instalment.objects.filter(company=company).count()
    n_people = Instalment.objects.filter(company=company).values("salesperson").distinct().count()
    print(f"# {connection.vendor}: company {company.code}, {n_inst:,} instalments, {n_people} salespeople, month {month.label}")
    print("\n## KPI engine (median / max of 5, seconds)")
    med, mx = timed(lambda: kpi_report(user=finance, company=company, period=month))
    print(f"- company KPIs for {month.label}: {med:.3f} / {mx:.3f} s")
    med, mx = timed(lambda: kpi_report(user=finance, company=company, period=month, group_by="salesperson"))
    print(f"- KPIs grouped by salesperson: {med:.3f} / {mx:.3f} s")
    if not args.no_customer:
        med, mx = timed(lambda: kpi_report(user=finance, company=company, period=month, group_by="customer"), runs=3)
        print(f"- KPIs grouped by customer: {med:.3f} / {mx:.3f} s (3 runs)")
    med, mx = timed(lambda: kpi_trend(user=finance, company=company, end=month.end, months=12), runs=3)
    print(f"- 12-month trend: {med:.3f} / {mx:.3f} s (3 runs)")

    if not commission.rule_for(company, month.end):
        commission.save_rule(company=company, valid_from=dt.date(2020, 1, 1), actor=finance,
                             bands=commission.parse_bands("0-30:1, 31-90:0.5, 91-:0"),
                             bill_mode="reduced", bill_share=Decimal(50))
    print("\n## commission for the month (all salespeople)")
    for run in range(3):
        t = time.perf_counter()
        lines = commission.compute_month(company=company, month=month.start, actor=finance)
        took = time.perf_counter() - t
        n_st = CommissionStatement.objects.filter(company=company, month=month.start).count()
        print(f"- run {run + 1}: {took:.2f} s, {lines:,} lines, {n_st} statements")
    assert CommissionLine.objects.filter(statement__company=company, statement__month=month.start).count() == lines

    client = Client()
    client.force_login(finance)
    session = client.session
    session["company_id"] = company.pk
    session.save()
    print(f"\n## pages as finance ({args.requests} requests each after one warm-up: p50 / p95 ms, queries)")
    for label, url in (("dashboard", "/"), ("dashboard KPI strip (htmx)", "/kpis/dashboard-strip/"),
                       ("KPI page (month, total)", f"/kpis/?period={month.label}"),
                       ("KPI page by salesperson", f"/kpis/?period={month.label}&group=salesperson"),
                       ("salespeople / leaderboard", f"/kpis/people/?month={month.label}")):
        p50, p95, q = page_stats(client, url, args.requests)
        print(f"- {label}: {p50:.0f} / {p95:.0f} ms, {q} queries")


if __name__ == "__main__":
    main()
