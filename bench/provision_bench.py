"""Bad-debt provision at scale, against data loaded by bench/generate.py.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/provision_bench.py [--company BENCH01] \
        [--as-of 2026-11-30] [--months 12]

Prints (median / max of 5 runs) the provision report as of ``--as-of`` (``insight.provision.provision_report``:
one aggregate statement over the as-of aging of every open instalment, by age band and individual assessment),
the same with 500 approved individual assessments in force (customer-level), and once the movement report
over ``--months`` months (one report per month end plus the write-off sums); the size of the data; the report's
totals (balance, provision) so two runs can be compared. Writes 500 assessments and a matrix version: use a
scratch database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from huikuan.accounts.models import Company, User  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.insight import provision as pv  # noqa: E402
from huikuan.insight.models import AssessmentStatus, ProvisionAssessment  # noqa: E402
from huikuan.ledger.models import Instalment  # noqa: E402


def timed(fn, runs=5):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), max(out), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--assessments", type=int, default=500)
    o = ap.parse_args()
    company = Company.objects.get(code=o.company)
    as_of = dt.date.fromisoformat(o.as_of)
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(f"customers: {Customer.objects.filter(company=company).count():,}; instalments: "
          f"{Instalment.objects.filter(company=company).count():,}; open now: "
          f"{Instalment.objects.filter(company=company, open_amount__gt=0).count():,}")
    ProvisionAssessment.objects.filter(company=company).delete()
    med, mx, rep = timed(lambda: pv.provision_report(company=company, as_of=as_of))
    print(f"provision report as of {as_of} (preset matrix, no assessments): {med:.2f} s median / {mx:.2f} s max; "
          f"receivables {rep.balance:,.2f}, provision {rep.provision:,.2f}")
    users = list(User.objects.filter(is_active=True)[:2])
    if len(users) < 2:
        users = [User.objects.create(username="bench-prov-a", role="finance"),
                 User.objects.create(username="bench-prov-b", role="finance")]
    ids = list(Customer.objects.filter(company=company, open_amount__gt=0).order_by("pk")
               .values_list("pk", flat=True)[: o.assessments])
    ProvisionAssessment.objects.bulk_create([
        ProvisionAssessment(company=company, customer_id=cid, rate=100, reason="bench", valid_from=dt.date(2020, 1, 1),
                            status=AssessmentStatus.APPROVED, requested_by=users[0], decided_by=users[1])
        for cid in ids])
    med, mx, rep = timed(lambda: pv.provision_report(company=company, as_of=as_of))
    print(f"provision report with {len(ids)} individual assessments: {med:.2f} s median / {mx:.2f} s max; "
          f"provision {rep.provision:,.2f} ({len(rep.individual)} individual lines)")
    t = time.perf_counter()
    rows = pv.movement_report(company=company, until=as_of, months=o.months)
    print(f"movement report, {o.months} months ({o.months + 1} month ends computed): {time.perf_counter() - t:.2f} s; "
          f"last month: opening {rows[-1].opening:,.2f}, write-off use {rows[-1].write_off_use:,.2f}, "
          f"closing {rows[-1].closing:,.2f}")
    ProvisionAssessment.objects.filter(company=company, reason="bench").delete()


if __name__ == "__main__":
    main()
