"""Time the ``history`` import (issue 16): N settled-invoice rows, preview + commit, and a 1 %-bad file.

    DATABASE_URL=sqlite:////tmp/history-bench.sqlite3 .venv/bin/python bench/history_import_bench.py [--rows 100000]

Uses a scratch database (migrated; each run adds a fresh company). Rows come from
``huikuan.prediction.synthetic`` (one row per payment, ~10 % of invoices paid in two parts), for
N/40 customers created in bulk (bench setup only). Steps, through the same services as the web and
the CLI: the bad file's preview (must write nothing and report every bad row), then the good file's
preview and commit (one transaction: documents, payments applied to their own invoice, facts).
Peak RSS is ``resource.getrusage`` of this process.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
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

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.imports.models import JobStatus  # noqa: E402
from huikuan.imports.services import commit_job, create_job, preview_job  # noqa: E402
from huikuan.ledger.checks import check_ledger  # noqa: E402
from huikuan.ledger.models import Allocation, Credit, ReceivableDocument  # noqa: E402
from huikuan.prediction import synthetic  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def job(path: Path, company, admin):
    data = path.read_bytes()
    return create_job(company=company, actor=admin, kind="history", file_name=path.name, chunks=[data], size=len(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    call_command("migrate", verbosity=0)
    stamp = dt.datetime.now().strftime("%H%M%S%f")
    company = Company.objects.create(code=f"HB{stamp}"[:20], name="历史导入基准有限公司")
    admin = User.objects.create(username=f"hb-admin-{stamp}", role=Role.ADMIN)
    admin.companies.add(company)
    n_customers = max(20, args.rows // 40)
    settled, _open = synthetic.rows(n_invoices=int(args.rows / 1.1), n_customers=n_customers,
                                    start=dt.date(2021, 1, 1), end=dt.date(2025, 12, 31), seed=5, prefix=f"{company.code}-")
    settled = settled[: args.rows]
    Customer.objects.bulk_create([Customer(company=company, code=t.code, name=f"合成客户{t.code}")
                                  for t in synthetic.customers(n_customers, __import__("random").Random(5))],
                                 batch_size=2000)
    folder = Path(tempfile.mkdtemp())
    good, bad = folder / "history.csv", folder / "history-bad.csv"
    bad_lines = 0
    with open(good, "w", newline="") as g, open(bad, "w", newline="") as b:
        gw, bw = csv.writer(g), csv.writer(b)
        gw.writerow(synthetic.HEADER)
        bw.writerow(synthetic.HEADER)
        for i, row in enumerate(settled):
            gw.writerow(row)
            if i % 100 == 50:
                row = list(row)
                kind = (i // 100) % 3
                if kind == 0:
                    row[7] = "2000-01-01"  # settled before the document date
                elif kind == 1:
                    row[5] = "-" + row[5]  # negative amount
                else:
                    row[6] = "XYZ"  # unknown currency
                bad_lines += 1
            bw.writerow(row)
    before = (ReceivableDocument.objects.count(), Credit.objects.count())
    t0 = time.perf_counter()
    j = preview_job(job=job(bad, company, admin), actor=admin)
    t_bad = time.perf_counter() - t0
    assert j.status == JobStatus.INVALID, j.status
    assert (ReceivableDocument.objects.count(), Credit.objects.count()) == before
    print(f"bad file: {len(settled)} rows, {bad_lines} bad, preview {t_bad:.1f} s, reported lines {j.error_rows}")
    t0 = time.perf_counter()
    j = preview_job(job=job(good, company, admin), actor=admin)
    t_preview = time.perf_counter() - t0
    assert j.status == JobStatus.READY, j.errors[:5]
    t0 = time.perf_counter()
    j = commit_job(job_id=j.pk, actor=admin)
    t_commit = time.perf_counter() - t0
    assert j.status == JobStatus.DONE, j.errors[:5]
    docs = ReceivableDocument.objects.filter(company=company).count()
    pays = Credit.objects.filter(company=company, kind="payment").count()
    allocs = Allocation.objects.filter(company=company).count()
    print(f"good file: {len(settled)} rows → {docs} documents, {pays} payments, {allocs} allocations")
    print(f"preview {t_preview:.1f} s, commit (validation + write) {t_commit:.1f} s, "
          f"total {t_preview + t_commit:.1f} s, peak RSS {rss_mb():.0f} MB")
    problems = check_ledger()
    print(f"check_ledger: {len(problems)} problems")


if __name__ == "__main__":
    main()
