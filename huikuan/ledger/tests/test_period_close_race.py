"""Period close (关账) against concurrent postings (PostgreSQL only): never a posting dated in the closed month
committed after the close.

The close reads, inside its own transaction and after it has taken its locks, every ledger row dated on or
before the new lock date (a close hook, as insight's provision hook does). If a posting dated in the closed
month committed after the close, it would be missing from that reading — so the test compares the reading
with the rows that exist at the end. Each posting thread either committed before the close (and is in the
reading) or was refused with PeriodClosed naming the lock date; nothing else (no IntegrityError, no deadlock).
Repeated for several months, with posting threads for the closed month and the next (open) one together.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from huikuan.ledger import periods
from huikuan.ledger import services as s
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.errors import PeriodClosed
from huikuan.ledger.models import LedgerEntry, ReceivableDocument
from huikuan.ledger.tests.test_concurrency import postgres_only, run_threads, split

pytestmark = postgres_only

TODAY = dt.date(2026, 12, 6)
MONTHS = [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]
POSTERS = 5


def test_no_posting_in_a_closed_month_commits_after_the_close(company, customer, finance):
    seen: dict[dt.date, tuple[int, D]] = {}

    def reading(*, company, month_end, actor, previous_lock):
        rows = LedgerEntry.objects.filter(company=company, date__lte=month_end)
        seen[month_end] = (rows.count(), sum((e.debit_amount - e.credit_amount for e in rows), D("0")))

    periods._CLOSE_HOOKS.append(reading)
    try:
        for month in MONTHS:
            end = periods.month_end(month)
            nxt = end + dt.timedelta(days=1)

            def work(i, month=month, nxt=nxt):
                if i == 0:
                    return periods.close_month(company=company, month=month, actor=finance, today=TODAY)
                day = month.replace(day=15) if i % 2 else nxt.replace(day=5)
                return s.post_document(company=company, customer_id=customer.pk, document_date=day,
                                       total=D("100.00"), actor=finance, number=f"R-{month:%m}-{i}")

            results = run_threads(POSTERS + 1, work)
            ok, errors = split(results)
            assert not isinstance(results[0], BaseException), results[0]
            assert all(type(e) is PeriodClosed and e.params.get("lock_date") == end.isoformat() for e in errors), errors
            # postings dated in the next (open) month always go through
            assert all(not isinstance(results[i], BaseException) for i in range(2, POSTERS + 1, 2))
            rows = LedgerEntry.objects.filter(company=company, date__lte=end)
            final = (rows.count(), sum((e.debit_amount - e.credit_amount for e in rows), D("0")))
            assert seen[end] == final, (month, seen[end], final)
            refused = {f"R-{month:%m}-{i}" for i in range(1, POSTERS + 1, 2) if isinstance(results[i], BaseException)}
            assert not ReceivableDocument.objects.filter(number__in=refused).exists()
        assert periods.lock_date(company.pk) == periods.month_end(MONTHS[-1])
        assert check_ledger() == []
    finally:
        periods._CLOSE_HOOKS.remove(reading)
