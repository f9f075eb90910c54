"""The collector's queue: one ``QueueEntry`` per customer, ranked in SQL by a transparent priority.

priority = overdue amount (yuan, disputed parts excluded) × days overdue (oldest unpaid due date) × risk
           × 2 when an item's limitation date (诉讼时效, collections.limitation) is within 180 days and not passed
           × the prediction factor (``calculations.prediction_factor``) when the payment prediction is live:
             0.5 / 1 / 1.5 / 2 as the overdue amount is expected within 7 / 30 / 90 days / later; else 1
risk     = 1 + 0.25 per broken promise in the last 365 days (≤ 4) + 0.5 per broken payment plan (≤ 2)
order    = tier, then priority descending, where tier is
           0 a promise falls due today or earlier / a promise was broken and not yet followed up,
           1 the next action date is today or earlier,
           2 everything else with money overdue,
           3 overdue but waiting: the next action date is later (the collector put it off) or a promise
             falls due later (no chasing before the promised date).

The money columns are a snapshot: ``refresh_queue`` computes them for a company (or some customers) in
one aggregate query per table and upserts them; the daily job runs it for the whole company and the
worklist actions for their customer. Follow-up columns (next action, promise date, broken promise) are
kept current by ``services``. Reading the page is therefore one indexed query on one table plus the
customers of the page, whatever the number of open instalments.

The prediction columns come from the prediction app's stored per-item predictions (``ItemPrediction``, one
row per open instalment, refreshed daily and after each training), read in the same aggregate through the
ORM relation ``Instalment.prediction`` (one LEFT JOIN; a name, not an import: the prediction app sits above
this one). No model live → no stored rows → the columns are empty and the factor is 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Least, Round

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import from_minor
from huikuan.credit.scoring import DaysBetween
from huikuan.customers.models import Customer
from huikuan.ledger.models import Instalment

from . import calculations as calc
from .limitation import WATCH_DAYS, earliest_by_customer
from .models import PaymentPlan, PlanStatus, Promise, PromiseStatus, QueueEntry

CHUNK = 2000


def refresh_queue(*, company, as_of: dt.date, customer_ids=None) -> int:
    """Recompute the snapshot columns for the company's customers (or only ``customer_ids``). Returns rows written.

    Set-wise: one aggregate query per table (instalments with their stored predictions, broken promises, broken
    plans, owners, limitation dates), each customer's priority computed from the aggregates (``priority``), then
    every row upserted by one statement per ``UPSERT_CHUNK`` customers — on PostgreSQL an ``INSERT … SELECT FROM
    unnest(arrays) ON CONFLICT DO UPDATE`` (no model instance or per-value conversion per row), on SQLite one
    prepared ``INSERT … ON CONFLICT DO UPDATE`` bound to every row — and the customers no longer overdue zeroed by
    one UPDATE per chunk. In one transaction (a reader never sees half a refresh). The follow-up columns (next
    action, promise, broken promise, last contact) are never touched by it."""
    base = Instalment.objects.filter(company=company, open_amount__gt=0, due_date__lt=as_of, replaced_on__isnull=True)
    if customer_ids is not None:
        customer_ids = list(customer_ids)
        base = base.filter(customer_id__in=customer_ids)
    disputed = Least(F("disputed_amount"), F("open_amount"))
    predicted = Q(prediction__isnull=False)
    rows = (base.order_by().values("customer_id").annotate(
        overdue=Sum(F("open_amount") - disputed, output_field=BigIntegerField()),  # fen
        disputed=Sum(disputed, output_field=BigIntegerField()),
        oldest=Min("due_date"),
        **_prediction_sums(as_of, predicted),
    ).values_list("customer_id", "overdue", "disputed", "oldest", "pred_weight", "pred_wait", "pred_p90"))
    since = as_of - dt.timedelta(days=365)
    promises = Promise.objects.filter(company=company, status=PromiseStatus.BROKEN, settled_on__gt=since)
    plans = PaymentPlan.objects.filter(company=company, status=PlanStatus.BROKEN, broken_on__gt=since)
    if customer_ids is not None:
        promises = promises.filter(customer_id__in=customer_ids)
        plans = plans.filter(customer_id__in=customer_ids)
    broken_p = dict(promises.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    broken_pl = dict(plans.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    owners = Customer.objects.filter(company=company)
    if customer_ids is not None:
        owners = owners.filter(pk__in=customer_ids)
    owner_of = dict(owners.values_list("pk", "owner_id").iterator(chunk_size=CHUNK * 5))
    limitation = earliest_by_customer(company=company, as_of=as_of, customer_ids=customer_ids)
    fresh = []  # (customer, owner, overdue fen, disputed fen, oldest due, risk, priority, limitation, predicted, p90)
    for cid, overdue_fen, disputed_fen, oldest, weight, wait_sum, p90_sum in rows.iterator(chunk_size=CHUNK):
        risk = calc.risk_factor(broken_promises=broken_p.get(cid, 0), broken_plans=broken_pl.get(cid, 0))
        lim = limitation.get(cid)
        wait, p90 = calc.predicted_wait(weight=weight, wait_sum=wait_sum, p90_sum=p90_sum)
        rank = priority(from_minor(overdue_fen or 0), (as_of - oldest).days, risk,
                        limitation_days=(lim - as_of).days if lim else None, wait_days=wait)
        fresh.append((cid, owner_of.get(cid), overdue_fen or 0, disputed_fen or 0, oldest, risk, rank, lim,
                      None if wait is None else as_of + dt.timedelta(days=wait), p90))
    stale = QueueEntry.objects.filter(company=company).filter(Q(overdue_amount__gt=0) | Q(disputed_amount__gt=0))
    if customer_ids is not None:
        stale = stale.filter(customer_id__in=customer_ids)
    with transaction.atomic():
        _upsert(company=company, as_of=as_of, rows=fresh)
        # customers that no longer have anything overdue
        seen = {r[0] for r in fresh}
        gone = [cid for cid in stale.values_list("customer_id", flat=True) if cid not in seen]
        for i in range(0, len(gone), CHUNK):
            QueueEntry.objects.filter(customer_id__in=gone[i:i + CHUNK]).update(
                overdue_amount=0, disputed_amount=0, oldest_due=None, priority=0, snapshot_on=as_of,
                limitation_date=None, predicted_date=None, p_late_90=None)
    if customer_ids is None and connection.vendor == "postgresql":
        with connection.cursor() as cur:  # the whole table changed: fresh planner statistics for the page query
            cur.execute(f"ANALYZE {QueueEntry._meta.db_table}")
    return len(fresh)


UPSERT_CHUNK = 20_000  # queue rows per upsert statement
# the snapshot columns ``refresh_queue`` writes, in the order of its row tuples (after customer_id)
_SNAPSHOT = ("owner_id", "overdue_amount", "disputed_amount", "oldest_due", "risk", "priority", "limitation_date",
             "predicted_date", "p_late_90")
_ARRAY_TYPES = ("bigint", "bigint", "bigint", "bigint", "date", "numeric", "bigint", "date", "date", "numeric")


def _upsert(*, company, as_of: dt.date, rows: list[tuple]) -> None:
    """Insert or update one queue row per tuple of ``rows`` (customer id, then the ``_SNAPSHOT`` columns; money in
    fen, as stored), with ``snapshot_on`` = ``as_of``; a new row gets the follow-up columns empty (the model's
    defaults), an existing one keeps them. What ``bulk_create(update_conflicts=True)`` of model instances wrote,
    without building them."""
    meta = QueueEntry._meta
    qn = connection.ops.quote_name
    col = {f.attname: f.column for f in meta.concrete_fields}
    snapshot = [col[name] for name in _SNAPSHOT]
    # a new row: the follow-up columns as the model's defaults would write them
    followups = [f for f in meta.concrete_fields
                 if f.attname not in {"customer_id", "company_id", "snapshot_on", *_SNAPSHOT}]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in followups]
    columns = [col["customer_id"], col["company_id"], col["snapshot_on"], *snapshot, *(f.column for f in followups)]
    updates = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in [col["snapshot_on"], *snapshot])
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
    tail = f" ON CONFLICT ({qn(col['customer_id'])}) DO UPDATE SET {updates}"
    with connection.cursor() as cur:
        for i in range(0, len(rows), UPSERT_CHUNK):
            part = rows[i:i + UPSERT_CHUNK]
            if connection.vendor == "postgresql":
                names = [f"c{k}" for k in range(len(_ARRAY_TYPES))]
                arrays = ", ".join(f"%s::{t}[]" for t in _ARRAY_TYPES)
                # typed placeholders: a SELECT list gives an untyped parameter no column type to take
                consts = ", ".join(f"%s::{f.db_type(connection)}" for f in followups)
                sql = (f"{head}SELECT c0, %s::{meta.get_field('company').target_field.db_type(connection)}, %s::date, "
                       f"{', '.join(names[1:])}, {consts} FROM unnest({arrays}) AS u({', '.join(names)}){tail}")
                cur.execute(sql, [company.pk, as_of, *defaults, *(list(c) for c in zip(*part, strict=True))])
            else:
                fields = [meta.get_field(name) for name in ("customer_id", *_SNAPSHOT)]
                sql = f"{head}VALUES ({', '.join(['%s'] * len(columns))}){tail}"
                prep_day = meta.get_field("snapshot_on").get_db_prep_save(as_of, connection)
                cur.executemany(sql, [
                    (r[0], company.pk, prep_day,
                     *(f.get_db_prep_save(v, connection) if f.attname not in ("overdue_amount", "disputed_amount")
                       else v for f, v in zip(fields[1:], r[1:], strict=True)), *defaults) for r in part])


def _prediction_sums(as_of: dt.date, predicted: Q) -> dict:
    """Per customer, over the overdue items that have a stored prediction: their open amount in fen, the
    fen × days from ``as_of`` to the predicted payment date (never negative), and the fen × p(90+ days late) in
    ten-thousandths — integers on both databases, divided in ``calculations.predicted_wait``."""
    fen = ExpressionWrapper(F("open_amount"), output_field=BigIntegerField())
    days = Greatest(DaysBetween(F("prediction__predicted_date"), Value(as_of)), Value(0))
    p90 = Cast(Round(F("prediction__p_late_90") * 10000), IntegerField())
    return {
        "pred_weight": Sum(fen, filter=predicted),
        "pred_wait": Sum(ExpressionWrapper(F("open_amount") * days, output_field=BigIntegerField()), filter=predicted),
        "pred_p90": Sum(ExpressionWrapper(F("open_amount") * p90, output_field=BigIntegerField()), filter=predicted),
    }


def priority(overdue: Decimal, days: int, risk: Decimal, *, limitation_days: int | None = None,
             wait_days: int | None = None) -> int:
    """amount (whole yuan) × days overdue × risk (× 2 while an item's limitation date is 0–180 days away: the
    last chance to restart it) × the prediction factor of ``wait_days`` (days until the predicted payment of
    the overdue amount; None: no prediction, × 1), as an integer for SQL ordering."""
    boost = 2 if limitation_days is not None and 0 <= limitation_days <= WATCH_DAYS else 1
    return int(overdue.to_integral_value() * max(days, 0) * risk * boost * calc.prediction_factor(wait_days))


@dataclass(frozen=True)
class Filters:
    q: str = ""
    owner_id: int | None = None
    tier: int | None = None
    # a collector's own queue: the customers assigned to this user; UNASSIGNED = customers with no collector
    collector_id: int | None = None


UNASSIGNED = 0


def tier_expr(today: dt.date):
    return Case(
        When(Q(broken_promise_on__isnull=False) | Q(promise_date__lte=today), then=Value(0)),
        When(next_action_date__lte=today, then=Value(1)),
        When(Q(next_action_date__gt=today) | Q(promise_date__gt=today), then=Value(3)),
        default=Value(2),
        output_field=IntegerField(),
    )


QUIET = Q(broken_promise_on__isnull=True, promise_date__isnull=True, next_action_date__isnull=True)


def queue(*, user, company, today: dt.date, filters: Filters = Filters()) -> QuerySet[QueueEntry]:
    """Today's queue for ``user`` (a salesperson: own customers; a sales manager: the team), ranked.

    The ranking reads only this table: scoping uses the row's ``owner`` column (refreshed with the row).
    Callers showing rows must pass them through ``in_scope`` (the scope checked on the customers
    themselves), so a row whose customer changed owner since the refresh is never shown to the old owner.
    The customers of the shown page are fetched afterwards (prefetch), so sorting never joins them.
    One ordered QuerySet (for exports and tests); ``queue_page`` reads the same order segment by segment.
    """
    qs = _base(user=user, company=company, today=today, filters=filters).annotate(tier=tier_expr(today))
    if filters.tier is not None:
        qs = qs.filter(tier=filters.tier)
    return qs.order_by("tier", "-priority", "customer_id")


def _base(*, user, company, today: dt.date, filters: Filters) -> QuerySet[QueueEntry]:
    qs = (QueueEntry.objects.filter(company=company).filter(owner_q(user, "owner"))
          .filter(Q(overdue_amount__gt=0) | Q(next_action_date__lte=today) | Q(promise_date__lte=today)
                  | Q(broken_promise_on__isnull=False))
          .prefetch_related("customer", "customer__owner"))
    if filters.q:
        q = filters.q
        matching = Customer.objects.filter(company=company).filter(
            Q(name__icontains=q) | Q(code__icontains=q) | Q(name_initials__icontains=q.lower())).values("pk")
        qs = qs.filter(customer_id__in=matching)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.collector_id is not None:
        # a semi-join on the customers' (company, collector) index: the ranking still reads only this table
        mine = Customer.objects.filter(company=company)
        mine = mine.filter(collector__isnull=True) if filters.collector_id == UNASSIGNED else \
            mine.filter(collector_id=filters.collector_id)
        qs = qs.filter(customer_id__in=mine.values("pk"))
    return qs


def queue_page(*, user, company, today: dt.date, filters: Filters = Filters(), offset: int = 0,
               limit: int = 50) -> list[QueueEntry]:
    """``queue(...)[offset:offset + limit]`` without sorting the whole queue.

    Tier 2 (nothing promised, no next action: the bulk) is exactly the rows whose three follow-up columns
    are empty, so it is read in priority order from a partial index; tiers 0/1 and 3 are the few rows
    with a follow-up and are sorted on their own. Counts only the small segment (and tier 2 only when a
    page runs past its end).
    """
    base = _base(user=user, company=company, today=today, filters=filters)
    busy = base.exclude(QUIET).annotate(tier=tier_expr(today))
    first = busy.filter(tier__in=[0, 1]).order_by("tier", "-priority", "customer_id")
    bulk = base.filter(QUIET, overdue_amount__gt=0).order_by("-priority", "customer_id")
    last = busy.filter(tier=3).order_by("-priority", "customer_id")
    if filters.tier is not None:
        segments = {0: [first.filter(tier=0)], 1: [first.filter(tier=1)], 2: [bulk], 3: [last]}[filters.tier]
    else:
        segments = [first, bulk, last]
    out: list[QueueEntry] = []
    skip = offset
    for i, seg in enumerate(segments):
        if len(out) >= limit:
            break
        if skip and i < len(segments) - 1 and seg is not bulk:
            n = seg.count()
            if skip >= n:
                skip -= n
                continue
        got = list(seg[skip:skip + limit - len(out)])
        if got:
            skip = 0
        elif skip and i < len(segments) - 1:
            skip = max(0, skip - seg.count())
        out += got
    for e in out:
        if not hasattr(e, "tier"):
            e.tier = 2
    return out


def in_scope(*, user, company, rows: list[QueueEntry]) -> list[QueueEntry]:
    """The rows whose customer the user may see now (one query on at most a page of customers)."""
    if owner_q(user, "owner") == Q():
        return rows
    ids = [r.customer_id for r in rows]
    ok: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        ok.update(Customer.objects.filter(company=company, pk__in=ids[i:i + CHUNK])
                  .filter(owner_q(user, "owner")).values_list("pk", flat=True))
    return [r for r in rows if r.customer_id in ok]
