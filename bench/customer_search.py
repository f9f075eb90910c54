"""Customer search by substring at scale: the trigram prefilter against the plain LIKE conditions (issue 19).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_x .venv/bin/python bench/customer_search.py --company BENCH01
    DATABASE_URL=sqlite:////tmp/hk-bench.sqlite3 .venv/bin/python bench/customer_search.py --company BENCH01

For each term, the two statements the API list runs for a search (the count capped at 1,001 and the first
page's 50 ids in code order), as the list runs them now — counted through the trigram prefilter
(``customers.selectors.customer_list``), the page read with the plain conditions when the count says the term
is frequent (``customers.search.scan_in_order``; the plan is shown: "order" or "index") — and with the plain
conditions alone (what the list ran before the prefilter). Both must give the same rows (checked). Then the
customer picker's statements (``customer_pick``, up to 20 rows), summed.
PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)`` execution time and buffers touched, median of 5 — measures of
the work that do not depend on the machine's load as much as wall time does. SQLite: the CPU time of this
process (the queries run in it), median of 5. Read only: safe on a clone of ``huikuan_bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.customers import search  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.customers.selectors import customer_list, customer_pick  # noqa: E402

TERMS = ["上海", "sh", "西湖", "华东机", "shhd", "有限公司", "B00012", "科技有限", "zzzq", "hzxhmy"]


def plain(company, q):
    """The list's conditions before the prefilter (and before one or two letters meant a prefix)."""
    initials = q.lower().replace(" ", "")
    contains = "contains" if q.upper() == q.lower() else "icontains"
    match = Q(code__istartswith=q) | Q(**{f"name__{contains}": q}) | Q(**{f"short_name__{contains}": q})
    if initials.isascii() and initials.isalnum():
        match |= Q(name_initials__startswith=initials) | Q(name_initials__contains=" " + initials)
    return Customer.objects.filter(company=company).filter(match).order_by("code")


def statements(qs):
    return {
        "count": qs.order_by().values_list("pk", flat=True)[:1001],
        "page": qs.values_list("pk", flat=True)[:50],
    }


def pg_cost(qs) -> tuple[float, int]:
    sql, params = qs.query.sql_with_params()
    return pg_sql_cost(sql, params)


def pg_sql_cost(sql, params) -> tuple[float, int]:
    times, buffers = [], 0
    with connection.cursor() as cur:
        for _ in range(5):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            times.append(plan[0]["Execution Time"])
            top = plan[0]["Plan"]
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return statistics.median(times), buffers


def sqlite_cost(qs) -> tuple[float, int]:
    times = []
    for _ in range(5):
        c = time.process_time()
        list(qs)
        times.append((time.process_time() - c) * 1000)
    return statistics.median(times), 0


def picker_cost(finance, company, term, pg) -> tuple[float, int, int]:
    """The picker's statements for ``term``: (ms, buffers, statements) summed — PostgreSQL by EXPLAIN ANALYZE of
    each captured statement, SQLite by this process's CPU time for the whole call (median of 5)."""
    if not pg:
        times = []
        for _ in range(5):
            c = time.process_time()
            customer_pick(user=finance, company=company, q=term)
            times.append((time.process_time() - c) * 1000)
        return statistics.median(times), 0, 0
    with CaptureQueriesContext(connection) as ctx:
        customer_pick(user=finance, company=company, q=term)
    statements = [x["sql"] for x in ctx.captured_queries if "customers_customer" in x["sql"]]
    ms = buffers = 0
    with connection.cursor() as cur:
        for sql in statements:  # captured with the parameters inlined by the driver: run as they are
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = cur.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            one, buf = plan[0]["Execution Time"], plan[0]["Plan"].get("Shared Hit Blocks", 0)
            ms, buffers = ms + one, buffers + buf + plan[0]["Plan"].get("Shared Read Blocks", 0)
    return ms, buffers, len(statements)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--terms", default=",".join(TERMS))
    args = ap.parse_args()
    company = Company.objects.get(code=args.company)
    finance = User.objects.filter(role=Role.FINANCE).order_by("pk").first()
    n = Customer.objects.filter(company=company).count()
    pg = connection.vendor == "postgresql"
    cost = pg_cost if pg else sqlite_cost
    unit = "ms executing, buffers" if pg else "ms CPU"
    print(f"{connection.vendor}: {n:,} customers of {company.code}; median of 5 ({unit})")
    print(f"{'term':<10} {'matches':>8}  {'count now':>16} {'count before':>16}  {'page now':>22} "
          f"{'page by index':>16} {'page before':>16}  {'picker':>16}")
    for term in args.terms.split(","):
        now = customer_list(user=finance, company=company, q=term)
        before = plain(company, term)
        s_now, s_before = statements(now), statements(before)
        matches = len(list(s_now["count"]))
        in_order = search.scan_in_order(count=matches, offset=0, limit=50)
        # the page as the list reads it now: by the plain conditions once the count says the term is frequent
        page_now = (customer_list(user=finance, company=company, q=term, prefilter=False) if in_order else now)
        page_now = page_now.values_list("pk", flat=True)[:50]
        assert list(page_now) == list(s_now["page"]), term
        if not search.is_short(term):  # three characters or more: the same rows as before
            assert sorted(s_now["count"]) == sorted(s_before["count"]) or matches > 1000, term
            assert list(s_now["page"]) == list(s_before["page"]), term
        cells = []
        for qs in (s_now["count"], s_before["count"], page_now, s_now["page"], s_before["page"]):
            ms, buf = cost(qs)
            cells.append(f"{ms:8.2f}" + (f" {buf:6d}b" if pg else "        "))
        cells[2] = ("order " if in_order else "index ") + cells[2]
        ms, buf, k = picker_cost(finance, company, term, pg)
        pick = f"{ms:8.2f}" + (f" {buf:6d}b/{k}" if pg else "")
        shown = f"{matches:,}" if matches <= 1000 else ">1,000"
        print(f"{term:<10} {shown:>8}  {cells[0]:>16} {cells[1]:>16}  {cells[2]:>22} {cells[3]:>16} {cells[4]:>16}"
              f"  {pick:>16}")


if __name__ == "__main__":
    main()
