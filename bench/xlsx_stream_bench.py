"""The forecast drill-down's workbook written two ways (issue 13): held in memory for a bold totals row (the export in
the request before the export job) and streamed with the totals as a plain last row (``common.export_jobs``' job).

    .venv/bin/python bench/xlsx_stream_bench.py [--rows 200000]

Rows shaped like the drill-down's 12 columns (text, an int, dates, a Decimal amount, a percent), made by a
generator in this process; prints the CPU time of this process (rows made + written), the wall time and the
file's size, and the load average. No database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from huikuan.common.export import build_xlsx  # noqa: E402

COLUMNS = [("Document", "text"), ("Instalment", "int"), ("Customer code", "text"), ("Customer", "text"),
           ("Salesperson", "text"), ("Due date", "date"), ("Open amount", "money"), ("Expected payment (P50)", "date"),
           ("Early (P10)", "date"), ("Late (P90)", "date"), ("Probability late", "percent"), ("Predicted", "text")]
TOTALS = ["Total", *[None] * 11]


def rows(n: int):
    day = dt.date(2026, 11, 30)
    for i in range(n):
        yield (f"INV-2026-{i:07d}", 1, f"C{i % 100000:06d}", f"客户有限公司 {i % 100000}", "销售员 张三", day,
               Decimal(i % 99999) + Decimal("0.25"), day, day, day, Decimal("12.3"), "Yes")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    a = ap.parse_args()
    for name, kwargs in (("held in memory, bold totals row", {"rows": rows(a.rows), "totals": TOTALS}),
                         ("streamed, totals as the last row", {"rows": itertools.chain(rows(a.rows), [TOTALS])})):
        with tempfile.TemporaryFile() as f:
            p, t = time.process_time(), time.perf_counter()
            build_xlsx(sheet_title="Forecast items", columns=COLUMNS, fileobj=f, **kwargs)
            f.seek(0, 2)
            print(f"{name}: CPU {time.process_time() - p:.2f} s, wall {time.perf_counter() - t:.2f} s, "
                  f"{f.tell():,} bytes")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
