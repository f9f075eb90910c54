"""Month-end snapshots, computed from the as-of aging so past month ends can be back-filled."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import connection, transaction

from huikuan.common.dbstats import analyze
from huikuan.common.money import ZERO
from huikuan.ledger.aging import aging_report, buckets_for, grouped_sql

from .models import AgingChange, ArSnapshot, CustomerAging


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


def refresh_customer_aging(*, company, as_of: dt.date, atomic: bool = True) -> int:
    """Rebuild ``CustomerAging`` for ``company`` as of ``as_of`` (default collection buckets by due date);
    returns the number of customers with an open balance.

    Order matters for exactness: the change markers are cleared FIRST, then the aggregate is computed
    in a later statement — a posting committed in between is in the aggregate and (harmlessly) still
    marked; one still uncommitted when the markers are cleared keeps its marker (its row is not
    visible to the DELETE). Either way no change is lost."""
    if atomic:
        with transaction.atomic(durable=True):
            return refresh_customer_aging(company=company, as_of=as_of, atomic=False)
    buckets, column, _basis = buckets_for(as_of=as_of)
    sql, params = grouped_sql(user=None, company=company, as_of=as_of, buckets=buckets, column=column,
                              group_by="customer")
    AgingChange.objects.filter(company=company).delete()
    CustomerAging.objects.filter(company=company).delete()
    cols = "customer_id, company_id, as_of, current, b1, b2, b3, b4, b5, total, disputed"
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO insight_customeraging ({cols}) "
            f"SELECT g.k, %s, %s, g.b0, g.b1, g.b2, g.b3, g.b4, g.b5, g.total, g.disputed "
            f"FROM ({sql}) g",
            [company.pk, as_of, *params],
        )
        n = cur.rowcount
    # SQLite: the planner's row counts of both tables are now stale (the aggregate refilled, the marks
    # cleared); with the old ones the aging page's two queries took 117 + 101 ms instead of 38 + 27 ms
    # at 100,000 customers (docs/PERFORMANCE.md, "SQLite at full scale")
    analyze(CustomerAging._meta.db_table, AgingChange._meta.db_table)
    return n


FOLD_AT = 1000  # marked customers from which a read of the aggregate folds them in first (insight.aging)
FOLD_CHUNK = 500


def fold_changed_customers(*, company) -> int:
    """Recompute the customers marked in ``AgingChange`` into ``CustomerAging`` (as of the aggregate's date)
    and clear their marks; returns how many were folded. Same order as the rebuild, per chunk: the marks
    are deleted FIRST, then the customers recomputed in a later statement, so a posting committed in
    between is in the new rows and one still uncommitted keeps (or re-creates) its mark.

    Without it every read recomputes all marked customers live: 10,000 marks took the aging page from
    ~120 ms to 563 ms at 100,000 customers; 999 marks cost ~60 ms CPU per read, folding 1,000 ~0.1–0.2 s
    once (docs/PERFORMANCE.md, "SQLite at full scale")."""
    as_of = (CustomerAging.objects.filter(company=company).values_list("as_of", flat=True).first())
    if as_of is None:
        return 0
    buckets, column, _basis = buckets_for(as_of=as_of)
    cols = "customer_id, company_id, as_of, current, b1, b2, b3, b4, b5, total, disputed"
    done = 0
    with transaction.atomic(durable=True):
        ids = list(AgingChange.objects.filter(company=company).order_by("customer_id")
                   .values_list("customer_id", flat=True))
        for start in range(0, len(ids), FOLD_CHUNK):
            chunk = ids[start:start + FOLD_CHUNK]
            AgingChange.objects.filter(company=company, customer_id__in=chunk).delete()
            CustomerAging.objects.filter(company=company, customer_id__in=chunk).delete()
            marks = ", ".join(["%s"] * len(chunk))
            sql, params = grouped_sql(user=None, company=company, as_of=as_of, buckets=buckets, column=column,
                                      group_by="customer",
                                      customers=(f"SELECT id FROM customers_customer WHERE id IN ({marks})", chunk))
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO insight_customeraging ({cols}) "
                    f"SELECT g.k, %s, %s, g.b0, g.b1, g.b2, g.b3, g.b4, g.b5, g.total, g.disputed FROM ({sql}) g",
                    [company.pk, as_of, *params],
                )
            done += len(chunk)
    return done

