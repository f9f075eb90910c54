"""Time a statement PDF for a customer with N movements (default 2,000).

    DATABASE_URL=sqlite:////tmp/hk-stmt.sqlite3 .venv/bin/python bench/statement_pdf.py [--movements 1000 2000 5000]

Migrates the scratch database, creates one customer per size N with N/2 invoices and N/2 payments
through the ledger services (once; reruns reuse them), then times statement_data() and the PDF render
(median of 3) and prints the page count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
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

from django.core.management import call_command  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.ledger import services  # noqa: E402
from huikuan.statements.pdf import render_statement_pdf  # noqa: E402
from huikuan.statements.selectors import statement_data  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--movements", type=int, nargs="+", default=[2000])
    args = ap.parse_args()
    call_command("migrate", verbosity=0)
    company, _ = Company.objects.get_or_create(code="STMT", defaults={"name": "对账单基准测试有限公司",
                                                                       "bank_account_number": "6225 0000 0000 0001"})
    user, _ = User.objects.get_or_create(username="stmt-finance", defaults={"role": Role.FINANCE})
    user.companies.add(company)
    for n in args.movements:
        run(company, user, n)


def run(company, user, n):
    customer, created = Customer.objects.get_or_create(company=company, code=f"S{n:05d}",
                                                       defaults={"name": "上海对账测试有限公司"})
    start = dt.date(2025, 1, 1)
    if customer.entries.count() < n:
        t = time.perf_counter()
        for i in range(n // 2):
            day = start + dt.timedelta(days=i % 330)
            services.post_document(company=company, customer_id=customer.pk, document_date=day,
                                   total=Decimal(1000 + i % 97) + Decimal("0.35"), actor=user)
            services.record_payment(company=company, customer_id=customer.pk, amount=Decimal(900 + i % 89),
                                    date=day + dt.timedelta(days=20), actor=user)
        print(f"loaded {n} movements in {time.perf_counter() - t:.1f} s")
    times_data, times_pdf, pages = [], [], 0
    for _ in range(3):
        t = time.perf_counter()
        data = statement_data(user=user, customer=customer, period_from=start, period_to=dt.date(2026, 12, 31))
        times_data.append(time.perf_counter() - t)
        t = time.perf_counter()
        pdf = render_statement_pdf(data=data)
        times_pdf.append(time.perf_counter() - t)
        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"{len(data.movements)} movements: statement data {statistics.median(times_data) * 1000:.0f} ms, "
          f"PDF render {statistics.median(times_pdf):.2f} s (median of 3), {pages} pages, {len(pdf) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
