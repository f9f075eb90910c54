"""XLSX exports at scale (issue 19: the aging by customer and the whole worklist, each ≤ 5 s).

Two parts, each printing wall time and the CPU time of this process (``time.process_time()``: on a
busy machine the wall time includes waiting for a core; the CPU time does not):

1. ``--rows N`` (default 100,000): ``common.export.build_xlsx`` alone into a temporary file, for rows shaped
   like the aging by customer (a name and 8 money columns) and like the worklist (12 columns: text,
   money, dates, an int). No database. This is the writer's share of an export.
2. ``--company CODE``: the two real exports through Django's test client as the company's finance user
   (aging by customer as of today, ``/reports/aging/?format=xlsx``; the whole collections worklist,
   ``/collections/?export=xlsx``), the file read back to count its rows. On SQLite the queries run in
   this process, so the CPU time is the whole export; on PostgreSQL the server's part is not in it.

    .venv/bin/python bench/xlsx_bench.py --rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_x .venv/bin/python bench/xlsx_bench.py --company BENCH01
    DATABASE_URL=sqlite:////tmp/hk-bench.sqlite3 .venv/bin/python bench/xlsx_bench.py --company BENCH01

The worklist part needs the queue table filled (``bench/worklist_bench.py`` or the daily job) — on a
clone, never on ``huikuan_bench`` itself (``--refresh-queue`` fills it first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()


def _timed(label: str, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shown = f"{len(out) / 1e6:.1f} MB" if isinstance(out, bytes) else out
    print(f"{label:<58} {wall:7.2f} s wall  {cpu:7.2f} s CPU  {shown}  (peak RSS so far {rss:.0f} MB)")
    return out


def synthetic(n: int) -> None:
    from huikuan.common.export import build_xlsx

    rnd = random.Random(19)
    names = [
        "上海华东机械有限公司",
        "深圳市南方电子科技有限公司",
        "Beijing Trading Co.",
        "杭州西湖贸易有限公司",
    ]
    aging_cols = [
        ("客户", "text"),
        *[(f"b{i}", "money") for i in range(6)],
        ("合计", "money"),
        ("争议", "money"),
    ]

    def money():
        return Decimal(rnd.randrange(0, 10**9)) / 100 if rnd.random() < 0.7 else Decimal("0.00")

    aging_rows = [(f"B{i:06d} {names[i % 4]}", *[money() for _ in range(8)]) for i in range(n)]
    day = dt.date(2026, 12, 1)
    work_cols = [
        ("code", "text"),
        ("name", "text"),
        ("owner", "text"),
        ("collector", "text"),
        ("overdue", "money"),
        ("disputed", "money"),
        ("oldest", "date"),
        ("risk", "text"),
        ("priority", "int"),
        ("next", "date"),
        ("promise", "date"),
        ("limitation", "date"),
    ]
    work_rows = [
        (
            f"B{i:06d}",
            names[i % 4],
            "销售 张三",
            "",
            money(),
            money(),
            day - dt.timedelta(days=i % 700),
            "1.25",
            rnd.randrange(10**6),
            None if i % 3 else day,
            None,
            day + dt.timedelta(days=i % 900),
        )
        for i in range(n)
    ]

    def write(columns, rows):
        with tempfile.TemporaryFile() as fh:
            build_xlsx(sheet_title="bench", columns=columns, rows=iter(rows), totals=None, fileobj=fh)
            return f"{fh.tell() / 1e6:.1f} MB"

    _timed(
        f"writer only, aging shape ({n:,} rows × {len(aging_cols)})", lambda: write(aging_cols, aging_rows)
    )
    _timed(
        f"writer only, worklist shape ({n:,} rows × {len(work_cols)})", lambda: write(work_cols, work_rows)
    )


def through_views(code: str, refresh: bool) -> None:
    from django.conf import settings
    from django.test import Client
    from openpyxl import load_workbook

    from huikuan.accounts.models import Company, Role, User
    from huikuan.common import clock

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    company = Company.objects.get(code=code)
    if refresh:
        if "huikuan_bench" in str(settings.DATABASES["default"].get("NAME")):
            sys.exit("refusing to write to huikuan_bench: run on a clone")
        from huikuan.collections.worklist import refresh_queue

        _timed(
            "refresh_queue (fills the worklist)",
            lambda: refresh_queue(company=company, as_of=clock.today(company)),
        )
    finance = (
        User.objects.filter(role=Role.FINANCE, companies=company).order_by("pk").first()
        or User.objects.filter(role=Role.FINANCE).order_by("pk").first()
    )
    if not finance.companies.filter(pk=company.pk).exists():
        finance.companies.add(company)
    client = Client()
    client.force_login(finance)
    session = client.session
    session["company_id"] = company.pk  # the bench company, not the user's first one
    session.save()
    for label, url in (
        ("aging by customer, today", "/reports/aging/?format=xlsx"),
        ("whole collections worklist", "/collections/?export=xlsx&collector="),
    ):

        def get(url=url):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            body = b"".join(r.streaming_content)
            return body

        body = _timed(f"view: {label}", get)
        ws = load_workbook(io.BytesIO(body), read_only=True).active
        print(f"    {sum(1 for _row in ws.iter_rows(values_only=True)) - 1:,} rows after the header")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--company", default="")
    ap.add_argument("--refresh-queue", action="store_true")
    args = ap.parse_args()
    if args.company:
        through_views(args.company, args.refresh_queue)
    else:
        synthetic(args.rows)


if __name__ == "__main__":
    main()
