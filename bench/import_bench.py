"""Time the import of a 100,000-row documents file: preview, commit, and a 1 %-bad file.

    DATABASE_URL=sqlite:////tmp/import-bench.sqlite3 .venv/bin/python bench/import_bench.py [--rows 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/import_bench .venv/bin/python bench/import_bench.py

Use a scratch database (it is migrated, and every run adds a fresh bench company). Steps:
1. create N/20 customers (bulk, bench setup only) and one hand-keyed document for the
   "duplicate against the database" case;
2. write a UTF-8 CSV of N documents (one row each, terms from the customer) and a copy in which
   1 % of the rows are bad in 10 different ways;
3. time, through the same services as the web and the CLI: the bad file's preview (it must write
   nothing and report every bad row), the good file's preview, and its commit (validation again +
   one transaction for every row). Peak RSS is ``resource.getrusage`` of this process so far.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.customers.models import Customer, PaymentTerm  # noqa: E402
from huikuan.imports.models import JobStatus  # noqa: E402
from huikuan.imports.services import commit_job, create_job, preview_job  # noqa: E402
from huikuan.ledger.checks import check_ledger  # noqa: E402
from huikuan.ledger.models import ReceivableDocument  # noqa: E402
from huikuan.ledger.services import post_document  # noqa: E402

HEADER = ["单据编号", "业务日期", "客户编码", "价税合计", "摘要"]
BAD_KINDS = [
    "unknown customer", "bad date", "letters in amount", "too many decimals", "negative amount",
    "duplicate in file", "duplicate against database", "formula text", "missing number", "unknown currency",
]


def rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024  # kilobytes on Linux


def setup(n_rows: int):
    stamp = dt.datetime.now().strftime("%H%M%S%f")
    company = Company.objects.create(code=f"IB{stamp}"[:20], name="导入基准测试有限公司")
    admin = User.objects.create(username=f"ib-admin-{stamp}", role=Role.ADMIN)
    admin.companies.add(company)
    term = PaymentTerm.objects.create(company=company, code="N30", name="Net 30", days=30)
    n_customers = max(10, n_rows // 20)
    Customer.objects.bulk_create(
        [Customer(company=company, code=f"C{i:06d}", name=f"基准客户{i}有限公司", payment_term=term)
         for i in range(n_customers)],
        batch_size=2000,
    )
    first = Customer.objects.filter(company=company).order_by("pk").first()
    post_document(company=company, customer_id=first.pk, document_date=dt.date(2025, 12, 1), actor=admin,
                  number=f"{company.code}-HAND", total="100.00")
    return company, admin, n_customers


def write_files(folder: Path, company, n_rows: int, n_customers: int) -> tuple[Path, Path, int]:
    rng = random.Random(7)
    good, bad = folder / "documents.csv", folder / "documents-bad.csv"
    bad_lines = 0
    with open(good, "w", newline="", encoding="utf-8") as g, open(bad, "w", newline="", encoding="utf-8") as b:
        gw, bw = csv.writer(g), csv.writer(b)
        gw.writerow(HEADER)
        bw.writerow([*HEADER, "币别"])
        for i in range(n_rows):
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
            row = [f"{company.code}-{i:07d}", day.isoformat(), f"C{rng.randrange(n_customers):06d}",
                   f"{rng.randrange(100, 5_000_000) / 100:,.2f}", "货款"]
            gw.writerow(row)
            row = [*row, ""]
            if i % 100 == 50:
                kind = (i // 100) % len(BAD_KINDS)
                bad_lines += 1
                if kind == 0:
                    row[2] = "NO-SUCH"
                elif kind == 1:
                    row[1] = "2025-02-30"
                elif kind == 2:
                    row[3] = "12O.00"
                elif kind == 3:
                    row[3] = "10.005"
                elif kind == 4:
                    row[3] = "-300.00"
                elif kind == 5:
                    row[0] = f"{company.code}-{i - 1:07d}"
                elif kind == 6:
                    row[0] = f"{company.code}-HAND"
                elif kind == 7:
                    row[4] = "=cmd|' /C calc'!A0"
                elif kind == 8:
                    row[0] = ""
                else:
                    row[5] = "XYZ"
            bw.writerow(row)
    return good, bad, bad_lines


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    print(f"{label:<34} {took:8.1f} s   peak RSS {rss_mb():7.0f} MB")
    return result, took


def job_for(path: Path, company, admin):
    with open(path, "rb") as fh:
        return create_job(company=company, actor=admin, kind="documents", file_name=path.name,
                          chunks=iter(lambda: fh.read(1 << 20), b""), size=path.stat().st_size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor}, rows: {args.rows}")
    (company, admin, n_customers), _t = timed("setup (customers)", lambda: setup(args.rows))
    with tempfile.TemporaryDirectory() as tmp:
        (good, bad, bad_lines), _t = timed("write CSV files", lambda: write_files(Path(tmp), company, args.rows, n_customers))
        print(f"file: {good.stat().st_size / 1e6:.1f} MB, bad rows planted: {bad_lines} of {len(BAD_KINDS)} kinds")
        before = ReceivableDocument.objects.filter(company=company).count()
        job, _t = timed("bad file: upload + preview", lambda: preview_job(job=job_for(bad, company, admin), actor=admin))
        assert job.status == JobStatus.INVALID, job.status
        assert ReceivableDocument.objects.filter(company=company).count() == before
        print(f"  reported {len(job.errors)} problems on {job.error_rows} lines (planted {bad_lines}); nothing written")
        job, _t = timed("good file: upload + preview", lambda: preview_job(job=job_for(good, company, admin), actor=admin))
        assert job.status == JobStatus.READY, job.errors[:5]
        job, took = timed("good file: commit (check + write)", lambda: commit_job(job_id=job.pk, actor=admin))
        assert job.status == JobStatus.DONE, (job.status, job.message)
        print(f"  {job.created_count} documents, {job.created_count / took:,.0f} rows/s")
    problems, _t = timed("check-ledger", check_ledger)
    assert problems == [], problems[:5]


if __name__ == "__main__":
    main()
