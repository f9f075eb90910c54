"""Time the import of a 100,000-row documents (or payments) file: preview, commit, and a 1 %-bad file.

    DATABASE_URL=sqlite:////tmp/import-bench.sqlite3 .venv/bin/python bench/import_bench.py [--rows 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/import_bench .venv/bin/python bench/import_bench.py
    ... bench/import_bench.py --translated [--rows 100000]
    ... bench/import_bench.py --kind payments [--rows 100000] [--documents 50000] [--company BENCH01]

``--translated``: the documents file is shaped like a 金蝶 export and every value needs translating —
GB18030, three title rows above the header, the customer by its name (no code column), 2025年3月5日
dates, ¥1,234.00 amounts, 人民币 as the currency, and payment terms by name or usual spelling
("月结30天", "Net 30", "2/10 N30", matched to the install's EOM30 / N30 / D2 by meaning or name).

``--kind payments`` first posts ``--documents`` invoices to pay (through ``ledger.bulk.post_documents``,
the documents import's own path; a third of the customers on 2/10 net 30 terms so early-payment
discounts are earned), then imports N payments: ~20 per customer in file order, partial, exact
and over-payments, acceptance bills and cheques, some customers with nothing open.

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
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.customers.models import Customer, PaymentTerm  # noqa: E402
from huikuan.imports.models import JobStatus  # noqa: E402
from huikuan.imports.services import commit_job, create_job, preview_job  # noqa: E402
from huikuan.ledger import bulk  # noqa: E402
from huikuan.ledger.checks import check_ledger  # noqa: E402
from huikuan.ledger.models import Allocation, Credit, Instalment, ReceivableDocument  # noqa: E402
from huikuan.ledger.services import post_document, record_payment  # noqa: E402

HEADER = ["单据编号", "业务日期", "客户编码", "价税合计", "摘要"]
TRANSLATED_HEADER = ["单据编号", "业务日期", "客户名称", "价税合计（元）", "摘要", "币别", "收款条件"]
TITLE_ROWS = [["导入基准测试有限公司"], ["应收单列表"], ["期间：2025年1月1日 至 2025年12月31日", "", "", "单位：元"]]
TERM_SPELLINGS = ["月结30天", "Net 30", "2/10 N30", "月结 30 天", "net 30"]
BAD_KINDS = [
    "unknown customer", "bad date", "letters in amount", "too many decimals", "negative amount",
    "duplicate in file", "duplicate against database", "formula text", "missing number", "unknown currency",
]


PAY_HEADER = ["收款单号", "收款日期", "客户编码", "收款金额", "结算方式", "摘要", "票据号", "票据到期日"]
PAY_BAD_KINDS = [
    "unknown customer", "bad date", "letters in amount", "too many decimals", "negative amount",
    "duplicate in file", "duplicate against database", "formula text", "missing number", "unknown method",
    "bill without number", "bill maturing after 6 months",
]


def _spoil(row: list, kind: int, *, previous: str, taken: str, text: int) -> bool:
    """Plant bad-row kinds 0–8, shared by both files (number, date, customer, amount in columns 0–3; ``text``
    is a free-text column): False for a kind the caller plants itself."""
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
        row[0] = previous  # the number of the row before: a duplicate within the file
    elif kind == 6:
        row[0] = taken  # a number already in the database
    elif kind == 7:
        row[text] = "=cmd|' /C calc'!A0"
    elif kind == 8:
        row[0] = ""
    else:
        return False
    return True
METHODS = ["银行转账"] * 6 + ["现金", "微信", "支票", "银行承兑汇票", "商业承兑汇票"]


def rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024  # kilobytes on Linux


def setup(n_rows: int):
    stamp = dt.datetime.now().strftime("%H%M%S%f")
    company = Company.objects.create(code=f"IB{stamp}"[:20], name="导入基准测试有限公司")
    admin = User.objects.create(username=f"ib-admin-{stamp}", role=Role.ADMIN)
    admin.companies.add(company)
    term = PaymentTerm.objects.create(company=company, code="N30", name="Net 30", days=30)
    PaymentTerm.objects.create(company=company, code="EOM30", name="月结 30", kind="eom", days=30)
    PaymentTerm.objects.create(company=company, code="D2", name="2/10 net 30", days=30,
                               discount_percent=Decimal("2"), discount_days=10)
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


def write_files(folder: Path, company, n_rows: int, n_customers: int, *, translated: bool = False
                ) -> tuple[Path, Path, int]:
    rng = random.Random(7)
    good, bad = folder / "documents.csv", folder / "documents-bad.csv"
    bad_lines = 0
    encoding = "gb18030" if translated else "utf-8"
    with open(good, "w", newline="", encoding=encoding) as g, open(bad, "w", newline="", encoding=encoding) as b:
        gw, bw = csv.writer(g), csv.writer(b)
        if translated:
            gw.writerows(TITLE_ROWS)
            bw.writerows(TITLE_ROWS)
            gw.writerow(TRANSLATED_HEADER)
            bw.writerow(TRANSLATED_HEADER)
        else:
            gw.writerow(HEADER)
            bw.writerow([*HEADER, "币别"])
        for i in range(n_rows):
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(365))
            n = rng.randrange(n_customers)
            amount = rng.randrange(100, 5_000_000) / 100
            if translated:
                row = [f"{company.code}-{i:07d}", f"{day.year}年{day.month}月{day.day}日", f"基准客户{n}有限公司",
                       f"¥{amount:,.2f}", "货款", "人民币", TERM_SPELLINGS[i % len(TERM_SPELLINGS)]]
            else:
                row = [f"{company.code}-{i:07d}", day.isoformat(), f"C{n:06d}", f"{amount:,.2f}", "货款"]
            gw.writerow(row)
            if not translated:
                row = [*row, ""]
            if i % 100 == 50:
                kind = (i // 100) % len(BAD_KINDS)
                bad_lines += 1
                if not _spoil(row, kind, previous=f"{company.code}-{i - 1:07d}", taken=f"{company.code}-HAND", text=4):
                    row[5] = "XYZ"
            bw.writerow(row)
    return good, bad, bad_lines


def setup_payments(n_rows: int, n_docs: int):
    """Customers, the documents to pay (bulk path, 2/10 net 30 for a third of the customers) and one
    hand-recorded payment (the "duplicate against the database" case)."""
    company, admin, n_customers = setup(n_rows)
    disc = PaymentTerm.objects.create(company=company, code="D2", name="2/10 net 30", days=30,
                                      discount_percent=Decimal("2"), discount_days=10)
    ids = list(Customer.objects.filter(company=company).order_by("pk").values_list("pk", flat=True))
    Customer.objects.filter(pk__in=ids[::3]).update(payment_term=disc)
    rng = random.Random(11)
    with_documents = ids[: int(len(ids) * 0.95)]  # the last 5 % have nothing open
    docs = [bulk.DocumentInput(customer_id=rng.choice(with_documents), total=Decimal(rng.randrange(100_00, 5_000_000)) / 100,
                               document_date=dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(300)),
                               number=f"{company.code}-D{i:07d}")
            for i in range(n_docs)]
    docs.sort(key=lambda d: d.document_date)
    bulk.post_documents(company=company, documents=docs, actor=admin)
    record_payment(company=company, customer_id=ids[0], amount="50.00", date=dt.date(2025, 12, 1), actor=admin,
                   number=f"{company.code}-PHAND")
    return company, admin, n_customers


def existing_company(code: str):
    """``--company``: pay the open items of an existing company (e.g. BENCH01 in a clone of the generated
    bench database); a bench admin and one hand-recorded payment are added to it."""
    company = Company.objects.get(code=code)
    stamp = dt.datetime.now().strftime("%H%M%S%f")
    admin = User.objects.create(username=f"ib-admin-{stamp}", role=Role.ADMIN)
    admin.companies.add(company)
    first = Customer.objects.filter(company=company).order_by("pk").first()
    record_payment(company=company, customer_id=first.pk, amount="50.00", date=dt.date(2025, 12, 1), actor=admin,
                   number=f"{company.code}-PHAND")
    return company, admin


def write_payment_files(folder: Path, company, n_rows: int, codes: list[str]) -> tuple[Path, Path, int]:
    rng = random.Random(17)
    good, bad = folder / "payments.csv", folder / "payments-bad.csv"
    bad_lines = 0
    with open(good, "w", newline="", encoding="utf-8") as g, open(bad, "w", newline="", encoding="utf-8") as b:
        gw, bw = csv.writer(g), csv.writer(b)
        gw.writerow(PAY_HEADER)
        bw.writerow(PAY_HEADER)
        for i in range(n_rows):
            day = dt.date(2025, 1, 10) + dt.timedelta(days=rng.randrange(340))
            method = rng.choice(METHODS)
            bill = "承兑" in method
            amount = rng.choice([rng.randrange(100, 3_000_000), rng.randrange(100, 100_000), 2_450_000]) / 100
            row = [f"{company.code}-P{i:07d}", day.isoformat(), codes[rng.randrange(len(codes))],
                   f"{amount:,.2f}", method, "货款" if i % 3 else "",
                   f"BILL{i:08d}" if bill else "", (day + dt.timedelta(days=90)).isoformat() if bill else ""]
            gw.writerow(row)
            if i % 100 == 50:
                kind = (i // 100) % len(PAY_BAD_KINDS)
                bad_lines += 1
                if _spoil(row, kind, previous=f"{company.code}-P{i - 1:07d}", taken=f"{company.code}-PHAND", text=5):
                    pass
                elif kind == 9:
                    row[4] = "比特币"
                elif kind == 10:
                    row[4], row[6], row[7] = "银行承兑汇票", "", (day + dt.timedelta(days=90)).isoformat()
                else:
                    row[4], row[6], row[7] = "商业承兑汇票", f"BILL{i:08d}", (day + dt.timedelta(days=200)).isoformat()
            bw.writerow(row)
    return good, bad, bad_lines


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    print(f"{label:<34} {took:8.1f} s   peak RSS {rss_mb():7.0f} MB")
    return result, took


def job_for(path: Path, company, admin, kind="documents"):
    with open(path, "rb") as fh:
        return create_job(company=company, actor=admin, kind=kind, file_name=path.name,
                          chunks=iter(lambda: fh.read(1 << 20), b""), size=path.stat().st_size)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kind", choices=["documents", "payments"], default="documents")
    parser.add_argument("--translated", action="store_true",
                        help="documents: a 金蝶-shaped GB18030 file whose names, dates, amounts, currency and terms "
                             "all need translating")
    parser.add_argument("--documents", type=int, default=None, help="payments: documents to pay (default rows / 2)")
    parser.add_argument("--company", help="payments: pay an existing company's open items instead of setting one up "
                                          "(e.g. BENCH01 in a clone of the generated bench database; never huikuan_bench)")
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {connection.vendor}, kind: {args.kind}, rows: {args.rows}"
          + (", values translated" if args.translated else ""))
    if args.kind == "payments":
        return bench_payments(args.rows, args.documents if args.documents is not None else args.rows // 2, args.company)
    (company, admin, n_customers), _t = timed("setup (customers)", lambda: setup(args.rows))
    with tempfile.TemporaryDirectory() as tmp:
        (good, bad, bad_lines), _t = timed("write CSV files", lambda: write_files(Path(tmp), company, args.rows, n_customers,
                                                                                 translated=args.translated))
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
        if args.translated:
            terms = dict(ReceivableDocument.objects.filter(company=company, number__startswith=f"{company.code}-0")
                         .values_list("payment_term__code").annotate(n=Count("pk")).values_list("payment_term__code", "n"))
            print(f"  terms by translated spelling: {terms}")
            assert set(terms) == {"EOM30", "N30", "D2"}, terms
    problems, _t = timed("check-ledger", check_ledger)
    assert problems == [], problems[:5]


def bench_payments(n_rows: int, n_docs: int, company_code: str | None = None):
    if company_code:
        (company, admin), _t = timed(f"setup (existing company {company_code})", lambda: existing_company(company_code))
    else:
        (company, admin, _n), _t = timed(f"setup ({n_docs:,} documents)", lambda: setup_payments(n_rows, n_docs))
    codes = list(Customer.objects.filter(company=company).order_by("pk").values_list("code", flat=True))
    open_items = Instalment.objects.filter(company=company, open_amount__gt=0).count()
    print(f"{len(codes):,} customers, {open_items:,} open instalments")
    with tempfile.TemporaryDirectory() as tmp:
        (good, bad, bad_lines), _t = timed("write CSV files",
                                           lambda: write_payment_files(Path(tmp), company, n_rows, codes))
        print(f"file: {good.stat().st_size / 1e6:.1f} MB, bad rows planted: {bad_lines} of {len(PAY_BAD_KINDS)} kinds")
        before = (Credit.objects.filter(company=company).count(), Allocation.objects.filter(company=company).count())
        job, _t = timed("bad file: upload + preview", lambda: preview_job(job=job_for(bad, company, admin, "payments"),
                                                                          actor=admin))
        assert job.status == JobStatus.INVALID, job.status
        assert job.error_rows == bad_lines, (job.error_rows, bad_lines)
        assert (Credit.objects.filter(company=company).count(), Allocation.objects.filter(company=company).count()) == before
        print(f"  reported {len(job.errors)} problems on {job.error_rows} lines (planted {bad_lines}); nothing written")
        job, _t = timed("good file: upload + preview", lambda: preview_job(job=job_for(good, company, admin, "payments"),
                                                                           actor=admin))
        assert job.status == JobStatus.READY, job.errors[:5]
        job, took = timed("good file: commit (check + write)", lambda: commit_job(job_id=job.pk, actor=admin))
        assert job.status == JobStatus.DONE, (job.status, job.message)
        mine = Q(credit__external_source="import") | Q(credit__parent__external_source="import")
        paid = Credit.objects.filter(company=company, external_source="import")
        print(f"  {job.created_count} payments, {job.created_count / took:,.0f} rows/s; "
              f"{Allocation.objects.filter(mine, company=company).count():,} allocations, "
              f"{Credit.objects.filter(company=company, parent__in=paid).count():,} discounts, "
              f"{paid.filter(unapplied_amount__gt=0).count():,} payments with unapplied cash")
        job, _t = timed("same file again (all unchanged)", lambda: commit_job(
            job_id=preview_job(job=job_for(good, company, admin, "payments"), actor=admin).pk, actor=admin))
        assert job.status == JobStatus.DONE and job.unchanged_count == n_rows, (job.status, job.unchanged_count)
    problems, _t = timed("check-ledger", lambda: check_ledger(company_id=company.pk))
    assert problems == [], problems[:5]


if __name__ == "__main__":
    main()
