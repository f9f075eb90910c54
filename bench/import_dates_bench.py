"""What reading year-last dates (1/26/2013) costs an import: the extra pass that decides the file's order.

    .venv/bin/python bench/import_dates_bench.py [--rows 100000]

Writes a US-style accounts-receivable CSV (12 columns, 3 mapped date columns, dates such as 1/26/2013)
to a temporary directory and measures, as CPU seconds of this process (``time.process_time``):
- one plain pass over the file's rows (what every import's validation pays once anyway),
- the order vote (``pipeline.vote_dates``, what ``Importer.date_vote`` runs: one more pass over the three
  date columns),
- reading every date cell in the decided order (``parsing.parse_date``, cached per distinct text),
  and the same cells written ISO (2013-01-26) for comparison.
No database. The vote runs only for files that contain a year-last date (ISO files pay nothing).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from huikuan.common.uploads import open_table  # noqa: E402
from huikuan.imports.parsing import parse_date  # noqa: E402
from huikuan.imports.pipeline import vote_dates  # noqa: E402

HEAD = ["countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate", "DueDate", "InvoiceAmount",
        "Disputed", "SettledDate", "PaperlessBill", "DaysToSettle", "DaysLate"]
DATES = (4, 5, 8)


def us(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def write(path: Path, rows: int, form) -> None:
    start = dt.date(2012, 1, 1)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEAD)
        for n in range(rows):
            inv = start + dt.timedelta(days=n % 730)
            due, settled = inv + dt.timedelta(days=30), inv + dt.timedelta(days=n % 60)
            w.writerow(["391", f"{n % 2500:04d}-XLQKO", form(inv), str(600000 + n), form(inv), form(due),
                        f"{n % 90 + 10}.94", "No", form(settled), "Paper", "20", "0"])


def cpu(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, form in (("year-last (1/26/2013)", us), ("ISO (2013-01-26)", dt.date.isoformat)):
            path = Path(tmp) / "ar.csv"
            write(path, args.rows, form)
            table = open_table(path, path.name)

            def plain(table=table):
                return sum(1 for _ in table.rows())

            def vote(table=table):
                return vote_dates(table, [(i, HEAD[i]) for i in DATES])

            def read(order, table=table):
                def run():
                    for _line, cells in table.rows():
                        for i in DATES:
                            parse_date(cells[i], order=order)
                return run

            t_plain, n = cpu(plain)
            t_vote, v = cpu(vote) if form is us else (0.0, None)
            order = v.order if v else None
            t_read, _ = cpu(read(order))
            print(f"{label}: {n} rows; plain pass {t_plain:.2f} s CPU"
                  + (f"; order vote {t_vote:.2f} s CPU (order {order}, proofs {v.proofs}, ambiguous {v.ambiguous})"
                     if v else "")
                  + f"; pass + parse 3 date columns {t_read:.2f} s CPU")


if __name__ == "__main__":
    main()
