"""Month-end snapshots, computed from the as-of aging so past month ends can be back-filled."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction

from huikuan.common.money import ZERO
from huikuan.ledger.aging import aging_report

from .models import ArSnapshot


def month_ends(until: dt.date, months: int) -> list[dt.date]:
    """The last ``months`` month-end dates on or before ``until`` (oldest first)."""
    out = []
    y, m = until.year, until.month
    while len(out) < months:
        end = dt.date(y, m, calendar.monthrange(y, m)[1])
        if end <= until:
            out.append(end)
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return sorted(out)


@transaction.atomic(durable=True)
def take_snapshot(*, company, as_of: dt.date) -> int:
    """(Re)write the snapshot rows of ``as_of`` per customer owner. Idempotent; returns rows written."""
    rep = aging_report(user=None, company=company, as_of=as_of, group_by="owner")
    ArSnapshot.objects.filter(company=company, date=as_of).delete()
    rows = [
        ArSnapshot(company=company, date=as_of, owner_id=r.key, open_amount=r.total,
                   overdue_amount=sum(r.buckets[1:], ZERO))
        for r in rep.rows
    ]
    ArSnapshot.objects.bulk_create(rows)
    return len(rows)
