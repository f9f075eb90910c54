"""Aging of past dates from stored per-customer figures, exact to the fen at every moment.

A *build* (``AgingBuild``) stores every customer's default aging (collections buckets 30/60/90/120 by
due date, disputed part) as of one past date X in ``CustomerAgingAt``. Month ends of the last 12 months
are built by the daily job; any other past date on its first view (that view pays the live computation
once, plus the insert). At most ``KEEP_OTHER`` dates besides those month ends are kept per company, the
least recently viewed dropped first.

Exactness. Triggers on ``ledger_instalment`` (migration 0004) upsert an ``AgingMark(customer, since,
tx)`` for every inserted or updated instalment whose aging as of some date ≥ ``since`` may have changed.
A read as of X takes the stored rows of the customers with no mark that the build did not see and
``since ≤ X``, and recomputes those customers live (``ledger.aging.grouped_sql(customers=...)``), so it
equals ``ledger.aging.aging_report`` whatever was posted, paid, reversed or disputed since the build.
"Did not see" is decided without races:

* PostgreSQL: ``tx`` is the writing transaction's id (``pg_current_xact_id()``). The build runs in one
  REPEATABLE READ transaction whose first statement reads ``pg_current_snapshot()``: the aggregate and
  the stored snapshot are the same snapshot S. A mark is unseen iff ``NOT pg_visible_in_snapshot(tx, S)``
  — this includes a transaction that had already marked the customer but was uncommitted when S was
  taken. The upsert overwrites ``tx`` of an existing (customer, since) row; that can never hide an unseen
  change: a transaction T2 that overwrites the row written by T waits for T's row lock (or, for a row T
  inserted, for T's unique-index entry) and so commits after T. If T is not visible in S, T had not
  committed when S was taken, so neither had T2: T2 is not visible in S either. (An aborted T leaves no
  row and no change.) ``tx ≥ xmin(S)`` (stored in ``AgingBuild.tx``) is implied by "not visible" and lets
  the index on (company, tx) skip old marks.
* SQLite: one writer at a time. ``tx`` is the value of the one-row ``AgingClock``; a build, inside its
  write transaction (IMMEDIATE: it holds the write lock from its first statement), records the clock's
  value c and sets it to c + 1. Every other write transaction runs wholly before the build (its marks
  have tx ≤ c and its changes are in the aggregate) or wholly after it (its marks have tx = c + 1 or
  more). A mark is unseen iff ``tx > c``. This does not depend on transaction identity, so it also holds
  inside one test transaction.

Marks every build has seen are deleted by ``prune`` (under the same company lock as the builds, so a
build in progress whose snapshot is not yet stored cannot lose one). A build that has many unseen marks
(a busy day of back-dated work) is rebuilt by the daily job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from huikuan.common import clock
from huikuan.ledger.aging import COLLECTION_EDGES, AgingReport, buckets_for, fetch, grouped_sql

from . import kpi_store, report
from .models import AgingBuild, AgingMark, CustomerAgingAt
from .report import STORED, N
from .services import month_ends

MONTH_ENDS = 12  # month ends kept (built by the daily job when missing)
KEEP_OTHER = 24  # other dates kept per company (least recently viewed dropped first)
TOUCH_EVERY = dt.timedelta(hours=1)  # a view records itself at most this often (one UPDATE)
REBUILD_MIN, REBUILD_SHARE = 200, 0.05  # the daily job rebuilds a date with more unseen customers than both
# a view rebuilds its date first from this many unseen marks: recomputing them live on every view costs more
# (PostgreSQL, 100,000 customers: 1,000 unseen 185 ms a view, 10,000 unseen 1.6 s; a rebuild ~1.3 s once)
READ_REBUILD_AT = 1000
# the daily job also rebuilds the one least recently built date once it is this old: the marks every build
# has seen are pruned, so the oldest build's snapshot bounds how long marks are kept
REFRESH_AFTER = dt.timedelta(days=7)
LOCK_CLASS = 0x4167  # pg_advisory_lock(LOCK_CLASS, company id): builds and pruning of one company



def _pg() -> bool:
    return connection.vendor == "postgresql"


def applies(*, company, as_of, scheme, basis, group_by, edges, customer_id) -> bool:
    """Options served from stored dates: default buckets by due date, by customer or totals, a past date."""
    return (scheme == "collections" and basis == "due" and tuple(edges) == COLLECTION_EDGES
            and group_by in ("customer", "none") and customer_id is None and as_of < clock.today(company))


def can_build() -> bool:
    """A build needs its own transaction: not inside a caller's ``atomic`` block (PostgreSQL: not inside
    any, as its snapshot must be the REPEATABLE READ transaction's own)."""
    if _pg():
        return not connection.in_atomic_block
    return not any(not getattr(b, "_from_testcase", False) for b in connection.atomic_blocks)


@contextlib.contextmanager
def _company_lock(company):
    if not _pg():  # SQLite: the build's IMMEDIATE transaction is the lock
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, company.pk])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, company.pk])


def build(*, company, as_of: dt.date, replace: bool = False, stale_at: int | None = None,
          kpi: bool = True) -> AgingBuild:
    """Store every customer's aging as of ``as_of`` (unless already stored and not ``replace``; with
    ``stale_at``, only if the stored one still has that many unseen marks — a concurrent view may have
    rebuilt it while this one waited for the lock). With ``kpi``, the date's KPI facts too (same snapshot);
    a date built for the aging page alone leaves them out (they cost more than the aging: the first view
    of a past date would wait for them), and the KPI report or the night's job adds them when needed."""
    with _company_lock(company), transaction.atomic(durable=True):
        with connection.cursor() as cur:
            if _pg():
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # the first statement fixes the transaction's snapshot: the aggregate below reads the same one
                cur.execute("SELECT pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                snapshot, tx = cur.fetchone()
            else:
                cur.execute("INSERT OR IGNORE INTO insight_agingclock (id, tx) VALUES (1, 0)")
                cur.execute("SELECT tx FROM insight_agingclock WHERE id = 1")
                (tx,), snapshot = cur.fetchone(), ""
                cur.execute("UPDATE insight_agingclock SET tx = tx + 1 WHERE id = 1")
        old = AgingBuild.objects.filter(company=company, as_of=as_of).first()
        if old is not None and (not replace or (stale_at is not None and unseen_count(old, stale_at) < stale_at)):
            return old
        if old is not None:
            _drop([old.pk])
        now = timezone.now()
        b = AgingBuild.objects.create(company=company, as_of=as_of, snapshot=snapshot, tx=tx, used_at=now)
        buckets, column, _basis = buckets_for(as_of=as_of)
        sql, params = grouped_sql(user=None, company=company, as_of=as_of, buckets=buckets, column=column,
                                  group_by="customer")
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {CustomerAgingAt._meta.db_table} (build_id, customer_id, {', '.join(STORED)}, total, disputed) "
                f"SELECT %s, g.k, {', '.join(f'g.b{i}' for i in range(N))}, g.total, g.disputed FROM ({sql}) g",
                [b.pk, *params])
            b.rows = cur.rowcount
        AgingBuild.objects.filter(pk=b.pk).update(rows=b.rows)
        if kpi:
            kpi_store.store(b, company)  # the KPI facts of the date, same snapshot
        return b


def _drop(ids: list[int]) -> None:
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cur:
        kpi_store.drop(cur, marks, ids)
        cur.execute(f"DELETE FROM {CustomerAgingAt._meta.db_table} WHERE build_id IN ({marks})", ids)
        cur.execute(f"DELETE FROM {AgingBuild._meta.db_table} WHERE id IN ({marks})", ids)


def unseen_sql(b: AgingBuild) -> tuple[str, list]:
    """Sub-SELECT of the customers whose aging as of ``b.as_of`` may have changed since build ``b``."""
    if _pg():
        return ("SELECT customer_id FROM insight_agingmark WHERE company_id = %s AND tx >= %s AND since <= %s "
                "AND NOT pg_visible_in_snapshot(tx::text::xid8, %s::pg_snapshot)",
                [b.company_id, b.tx, b.as_of, b.snapshot])
    return ("SELECT customer_id FROM insight_agingmark WHERE company_id = %s AND tx > %s AND since <= %s",
            [b.company_id, b.tx, b.as_of])


def prune(*, company, today: dt.date | None = None) -> int:
    """Drop the least recently viewed dates beyond ``KEEP_OTHER`` (month ends of the last ``MONTH_ENDS``
    months stay), then the marks every remaining build has seen. Returns the number of dates dropped."""
    today = today or clock.today(company)
    pinned = set(month_ends(today - dt.timedelta(days=1), MONTH_ENDS))
    with _company_lock(company), transaction.atomic():
        builds = list(AgingBuild.objects.filter(company=company).order_by("-used_at", "-id").values_list("pk", "as_of", "tx"))
        others = [pk for pk, day, _tx in builds if day not in pinned]
        drop = others[KEEP_OTHER:]
        _drop(drop)
        kept = [tx for pk, _day, tx in builds if pk not in drop]
        with connection.cursor() as cur:
            if _pg():
                # tx below every build's xmin: finished before each snapshot, so visible in all of them
                floor = min(kept) if kept else None
                if floor is None:
                    cur.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                    floor, = cur.fetchone()
                # rows a writer holds are skipped (it is changing them anyway; keeping a mark is always safe)
                cur.execute("DELETE FROM insight_agingmark WHERE id IN (SELECT id FROM insight_agingmark "
                            "WHERE company_id = %s AND tx < %s FOR UPDATE SKIP LOCKED)", [company.pk, floor])
            elif kept:
                cur.execute("DELETE FROM insight_agingmark WHERE company_id = %s AND tx <= %s", [company.pk, min(kept)])
            else:
                cur.execute("DELETE FROM insight_agingmark WHERE company_id = %s", [company.pk])
    return len(drop)


def unseen_count(b: AgingBuild, cap: int | None = None) -> int:
    """Customers changed since build ``b`` for its date; with ``cap``, marks counted up to ``cap`` (cheap)."""
    sql, params = unseen_sql(b)
    if cap is not None:
        (n,), = fetch(f"SELECT COUNT(*) FROM ({sql} LIMIT %s) u", [*params, cap])
        return n
    (n,), = fetch(f"SELECT COUNT(DISTINCT customer_id) FROM ({sql}) u", params)
    return n


def keep_dates(*, company, today: dt.date) -> str:
    """The daily job: build missing month ends and today, rebuild dates with many unseen changes or stored
    before the KPI facts existed (``insight.kpi_store``) and the oldest
    build once it is a week old (so marks are kept about as long as the stored dates' oldest refresh), prune.
    Builds need a transaction of their own: called inside one (PostgreSQL), it does nothing."""
    if not can_build():
        return "not run inside a transaction"
    built = rebuilt = 0
    for day in month_ends(today - dt.timedelta(days=1), MONTH_ENDS):
        if not AgingBuild.objects.filter(company=company, as_of=day).exists():
            build(company=company, as_of=day)
            built += 1
    # today: the KPIs of this month to date (dashboard, salespeople's page) read it all day, exact through
    # the marks; without it the first view of the day would pay the build
    if not AgingBuild.objects.filter(company=company, as_of=today).exists():
        build(company=company, as_of=today)
        built += 1
    for b in AgingBuild.objects.filter(company=company, as_of__lte=today):
        if not b.kpi_facts or unseen_count(b) > max(REBUILD_MIN, REBUILD_SHARE * b.rows):
            build(company=company, as_of=b.as_of, replace=True)
            rebuilt += 1
    oldest = (AgingBuild.objects.filter(company=company, as_of__lt=today, built_at__lt=timezone.now() - REFRESH_AFTER)
              .order_by("tx", "id").first())
    if oldest is not None:
        build(company=company, as_of=oldest.as_of, replace=True)
        rebuilt += 1
    dropped = prune(company=company, today=today)
    return f"{built} built, {rebuilt} rebuilt, {dropped} dropped"


def current_build(*, company, as_of: dt.date, kpi: bool = True, missing: str = "build") -> AgingBuild | None:
    """The stored date to read, built now if missing and possible (``missing="none"``: None when missing, for the
    aging page, whose first view of a date answers live and has it built in the background); ``kpi``: with the
    date's KPI facts (the aging page passes False: it reads the aging only)."""
    b = AgingBuild.objects.filter(company=company, as_of=as_of).first()
    if b is None:
        if not can_build() or missing == "none":
            return None
        b = build(company=company, as_of=as_of, kpi=kpi)
        prune(company=company)
        return b
    if can_build() and unseen_count(b, READ_REBUILD_AT) >= READ_REBUILD_AT:
        return build(company=company, as_of=as_of, replace=True, stale_at=READ_REBUILD_AT, kpi=kpi or b.kpi_facts)
    now = timezone.now()
    if b.used_at < now - TOUCH_EVERY:
        AgingBuild.objects.filter(pk=b.pk).update(used_at=now)
    return b


def _rows_sql(*, user, b: AgingBuild, min_total: Decimal | None) -> tuple[str, list]:
    """All customers' rows as (k, label, b0…b5, total, disputed): stored or, when changed since, live."""
    return report.rows_sql(
        user=user, company=b.company, as_of=b.as_of, min_total=min_total,
        stored=(f"FROM {CustomerAgingAt._meta.db_table} a WHERE a.build_id = %s", [b.pk]), changed=unseen_sql(b),
    )


def aging_report(*, user, company, as_of: dt.date, group_by: str = "customer", min_total: Decimal | None = None,
                 offset: int = 0, limit: int | None = None) -> AgingReport | None:
    """``ledger.aging.aging_report`` for the options ``applies`` accepts, from a stored date. A date not stored
    yet is queued for a build (``request_build``) and this view answers live: by customer from statements that
    return only the page (``report.live_page_by_total``; with a floor ``report.live_page``), the totals alone by returning None (the caller's live
    statement costs about what a stored date does).

    The totals and the page are two statements, each with its own snapshot; a rebuild or pruning that
    drops the build in between (its rows, and marks only it had not seen) would leave them reading a
    partial build. So the build must still exist AFTER both: dropping it commits in one transaction with
    its rows (and with the marks pruning that relies on it), so if it is still there, neither statement
    saw any of that. Otherwise the read is retried on the date's new build."""
    for _attempt in range(3):
        b = current_build(company=company, as_of=as_of, kpi=False, missing="none")
        if b is None:
            request_build(company=company, as_of=as_of)
            if group_by != "customer" or (limit is None and not offset):
                # the totals alone, or every row (XLSX, API without a page size): the caller's one live statement
                # (``ledger.aging.aging_report``; every row reaches Python anyway, no count or totals pass)
                return None
            # first view of the date: this page computed live (nothing stored; each customer's total alone, then
            # the page's buckets and the column totals), and the date stored by the task worker for the views after it
            # (PostgreSQL: its column totals read the running sums; SQLite, without them, would group twice)
            if min_total is None and _pg():
                return report.live_page_by_total(user=user, company=company, as_of=as_of, offset=offset, limit=limit)
            return report.live_page(user=user, company=company, as_of=as_of, min_total=min_total, offset=offset,
                                    limit=limit)
        b.company = company
        rep = _report(user=user, b=b, group_by=group_by, min_total=min_total, offset=offset, limit=limit)
        if AgingBuild.objects.filter(pk=b.pk).exists():
            return rep
    return None


BUILD_REQUEST_TTL = 600  # seconds: a date asked for again within this is not queued again


def request_build(*, company, as_of: dt.date) -> None:
    """Queue the build of ``as_of`` (``insight.tasks.build_aging_date``) once the caller's transaction commits;
    once per date and ``BUILD_REQUEST_TTL`` in this cache (a second request finds the date built, or waits for
    the company's lock and then finds it: a build never runs twice for a date)."""
    from django.core.cache import cache

    from .tasks import build_aging_date

    if cache.add(f"aging-build:{company.pk}:{as_of.isoformat()}", 1, BUILD_REQUEST_TTL):
        transaction.on_commit(lambda: build_aging_date.enqueue(company.pk, as_of.isoformat()))


def _report(*, user, b: AgingBuild, group_by: str, min_total: Decimal | None, offset: int,
            limit: int | None) -> AgingReport:
    rows_sql, params = _rows_sql(user=user, b=b, min_total=min_total if group_by == "customer" else None)
    return report.assemble(rows_sql, params, as_of=b.as_of, group_by=group_by, min_total=min_total, offset=offset,
                           limit=limit)


__all__ = ["AgingMark", "aging_report", "applies", "build", "keep_dates", "prune", "unseen_sql"]
