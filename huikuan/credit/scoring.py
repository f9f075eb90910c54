"""Re-scoring: every customer's scorecard factors from SQL aggregates, then snapshots, grades, profiles.

Factors per customer as of X (a business date):
- ``paydex``: payment behaviour index of the amount-weighted days beyond terms over the last 365
  days — allocations of payments/discounts/write-offs (not credit notes, not reversed) dated in
  (X−365, X], aged at their date, plus items overdue at X, aged at X; None below the policy's
  minimum number of experiences ("insufficient history").
- ``paydex_trend``: index of the last 182 days (incl. items overdue at X) − index of days 183–365.
- ``overdue_ratio``: overdue ÷ open at X, in percent. ``max_days_overdue``: oldest item overdue at X.
- ``broken_promises``, ``disputes``: from registered behaviour sources (``credit.signals``).
- ``utilisation``: exposure ÷ limit in percent (None without a limit).
- ``relationship_months``: months since the first document. ``third_party_score``: latest report ≤ X.

"Open at X" = open now + allocations dated after X (reversals ignored), for documents dated ≤ X.
Everything is a handful of GROUP BY queries per company; Python only scores the resulting rows.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum, Value
from django.utils import timezone

from huikuan.common.models import AuditEvent
from huikuan.customers.models import Customer, CustomerStatus
from huikuan.ledger.models import Allocation, CreditKind, Instalment, ReceivableDocument, Status

from . import calculations as calc
from . import signals
from .models import CreditProfile, OrderStatus, SalesOrder, ScoreSnapshot, ThirdPartyReport
from .services import active_scorecard, policy_of


class DaysBetween(models.Func):
    """Whole days from ``start`` to ``end`` (end − start) as an integer, on PostgreSQL and SQLite."""

    output_field = models.IntegerField()
    arity = 2

    def __init__(self, end, start, **kw):
        super().__init__(end, start, **kw)

    def as_sql(self, compiler, connection, **extra):
        end, start = (compiler.compile(e) for e in self.source_expressions)
        if connection.vendor == "sqlite":
            sql = f"CAST(julianday({end[0]}) - julianday({start[0]}) AS INTEGER)"
        else:
            sql = f"(({end[0]})::date - ({start[0]})::date)"
        return sql, (*end[1], *start[1])


def _fen_times_days(amount_field: str, days) -> models.Expression:
    return models.ExpressionWrapper(F(amount_field) * days, output_field=models.BigIntegerField())


def _fen(field_name: str) -> models.Expression:
    """A money column as its raw integer fen (no Decimal conversion) for sums."""
    return models.ExpressionWrapper(F(field_name), output_field=models.BigIntegerField())


def _pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _index(wd: int, w: int) -> int | None:
    days = calc.weighted_days(wd, w)
    return None if days is None else calc.paydex(days)


def compute_factors(*, company, as_of: dt.date, customer_ids: list[int] | None = None) -> dict[int, dict]:
    """Factor values for every (or the given) customers of the company, keyed by customer id."""
    policy = policy_of(company)
    year_ago, half_ago = as_of - dt.timedelta(days=365), as_of - dt.timedelta(days=182)
    x = Value(as_of, output_field=models.DateField())

    def scoped(qs):
        return qs.filter(customer_id__in=customer_ids) if customer_ids is not None else qs

    customers = scoped(Customer.objects.filter(company=company).exclude(status=CustomerStatus.CLOSED)).order_by()
    base = {c["pk"]: c for c in customers.values("pk", "open_amount", "unapplied_amount")}
    ids = list(base)

    # settled experiences: allocations in (X−365, X], aged at the allocation date
    days_paid = DaysBetween(F("date"), F("instalment__due_date"))
    recent = Q(date__gt=half_ago)
    settled = {}
    # NOT EXISTS (not a LEFT JOIN … IS NULL): PostgreSQL estimated the anti-join at one row and chose
    # nested loops over a million allocations (18 s → see docs/PERFORMANCE.md)
    not_reversed = ~Exists(Allocation.objects.filter(reverses=OuterRef("pk")))
    rows = (scoped(Allocation.objects.filter(not_reversed, company=company, date__gt=year_ago, date__lte=as_of,
                                             amount__gt=0, reverses__isnull=True))
            .exclude(credit__kind=CreditKind.CREDIT_NOTE).order_by().values("customer_id")
            .annotate(w=Sum(_fen("amount")), wd=Sum(_fen_times_days("amount", days_paid)), n=Count("id"),
                      w_r=Sum(_fen("amount"), filter=recent), wd_r=Sum(_fen_times_days("amount", days_paid), filter=recent)))
    for r in rows:
        settled[r["customer_id"]] = r

    # open at X: open now (documents dated ≤ X) …
    days_open = DaysBetween(x, F("due_date"))
    over = Q(due_date__lt=as_of)
    open_now = {}
    rows = (scoped(Instalment.objects.filter(company=company, open_amount__gt=0, document_date__lte=as_of))
            .order_by().values("customer_id")
            .annotate(open=Sum(_fen("open_amount")), over=Sum(_fen("open_amount"), filter=over),
                      wd=Sum(_fen_times_days("open_amount", days_open), filter=over), n=Count("id", filter=over),
                      oldest=Min("due_date", filter=over)))
    for r in rows:
        open_now[r["customer_id"]] = r
    # … plus what was paid after X (nothing when X is today)
    paid_after = {}
    days_open_i = DaysBetween(x, F("instalment__due_date"))
    over_i = Q(instalment__due_date__lt=as_of)
    rows = (scoped(Allocation.objects.filter(not_reversed, company=company, date__gt=as_of, amount__gt=0,
                                             instalment__document_date__lte=as_of))
            .order_by().values("customer_id")
            .annotate(open=Sum(_fen("amount")), over=Sum(_fen("amount"), filter=over_i),
                      wd=Sum(_fen_times_days("amount", days_open_i), filter=over_i), n=Count("id", filter=over_i),
                      oldest=Min("instalment__due_date", filter=over_i)))
    for r in rows:
        paid_after[r["customer_id"]] = r

    first_doc = dict(scoped(ReceivableDocument.objects.filter(company=company, status=Status.POSTED,
                                                               document_date__lte=as_of))
                     .order_by().values("customer_id").annotate(first=Min("document_date")).values_list("customer_id", "first"))
    orders = dict(scoped(SalesOrder.objects.filter(company=company, status=OrderStatus.OPEN)).order_by()
                  .values("customer_id").annotate(s=Sum(_fen("amount"))).values_list("customer_id", "s"))
    limits = {p["customer_id"]: p for p in scoped(CreditProfile.objects.filter(company=company)).values(
        "customer_id", "limit_amount")}
    third = dict(scoped(ThirdPartyReport.objects.filter(company=company, report_date__lte=as_of, score__isnull=False))
                 .order_by("customer_id", "report_date", "id").values_list("customer_id", "score"))
    behaviour = signals.behaviour(company, ids, as_of)

    out: dict[int, dict] = {}
    for cid in ids:
        s = settled.get(cid) or {}
        o = open_now.get(cid) or {}
        p = paid_after.get(cid) or {}
        w_s, wd_s, n_s = s.get("w") or 0, s.get("wd") or 0, s.get("n") or 0
        w_o = (o.get("over") or 0) + (p.get("over") or 0)
        wd_o = (o.get("wd") or 0) + (p.get("wd") or 0)
        n_o = (o.get("n") or 0) + (p.get("n") or 0)
        paydex = _index(wd_s + wd_o, w_s + w_o) if n_s + n_o >= policy.min_experiences else None
        recent_i = _index((s.get("wd_r") or 0) + wd_o, (s.get("w_r") or 0) + w_o)
        prior_i = _index(wd_s - (s.get("wd_r") or 0), w_s - (s.get("w_r") or 0))
        trend = recent_i - prior_i if recent_i is not None and prior_i is not None and paydex is not None else None
        open_total = (o.get("open") or 0) + (p.get("open") or 0)
        oldest = [d for d in (o.get("oldest"), p.get("oldest")) if d]
        limit = limits.get(cid, {}).get("limit_amount") or Decimal(0)
        expo_fen = (int(base[cid]["open_amount"] * 100) + (orders.get(cid) or 0) - int(base[cid]["unapplied_amount"] * 100))
        first = first_doc.get(cid)
        months = ((as_of.year - first.year) * 12 + as_of.month - first.month - (as_of.day < first.day)) if first else None
        out[cid] = {
            "paydex": paydex,
            "paydex_trend": trend,
            "overdue_ratio": str(_pct(w_o, open_total)) if open_total else None,
            "max_days_overdue": (as_of - min(oldest)).days if oldest else 0,
            "broken_promises": behaviour.get(cid, {}).get("broken_promises", 0),
            "disputes": behaviour.get(cid, {}).get("disputes", 0),
            "utilisation": str(_pct(max(expo_fen, 0), int(limit * 100))) if limit else None,
            "relationship_months": max(months, 0) if months is not None else None,
            "third_party_score": third.get(cid),
        }
    return out


def _update_profiles(profiles: list[CreditProfile]) -> None:
    """Write score, date, grade and review date of many profiles, set-wise: Django's bulk_update (a CASE per
    column and row) took 5 minutes for 100,000 profiles on PostgreSQL and most of a minute on SQLite.

    PostgreSQL: one UPDATE … FROM (VALUES …) per 5,000 rows. SQLite: the new values into a temporary table
    (executemany), then one UPDATE … FROM it (SQLite ≥ 3.33)."""
    if not profiles:
        return
    table = CreditProfile._meta.db_table
    if connection.vendor != "postgresql":
        ops = connection.ops
        now = ops.adapt_datetimefield_value(timezone.now())  # as the PostgreSQL path's now(): a change for API sync
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS credit_rescore_profile (id integer PRIMARY KEY, score integer, "
                        "grade varchar(10), scored_on date, review date)")
            cur.execute("DELETE FROM credit_rescore_profile")
            cur.executemany("INSERT INTO credit_rescore_profile (id, score, grade, scored_on, review) VALUES (%s, %s, %s, %s, %s)",
                            [(p.pk, p.score, p.grade, ops.adapt_datefield_value(p.scored_on),
                              ops.adapt_datefield_value(p.next_review_date)) for p in profiles])
            cur.execute(f'UPDATE "{table}" SET score = t.score, grade = t.grade, scored_on = t.scored_on, '
                        f'next_review_date = t.review, updated_at = %s FROM credit_rescore_profile AS t '
                        f'WHERE "{table}".id = t.id', [now])
            cur.execute("DELETE FROM credit_rescore_profile")
        return
    with connection.cursor() as cur:
        for start in range(0, len(profiles), 5000):
            part = profiles[start:start + 5000]
            values = ", ".join(["(%s, %s, %s, %s::date, %s::date)"] * len(part))
            params = [x for p in part for x in (p.pk, p.score, p.grade, p.scored_on, p.next_review_date)]
            cur.execute(
                f'UPDATE "{table}" AS p SET score = v.score, grade = v.grade, scored_on = v.scored_on, '
                f"next_review_date = v.review, updated_at = now() "
                f"FROM (VALUES {values}) AS v(id, score, grade, scored_on, review) WHERE p.id = v.id", params)


def _same_day(customer_ids: list[int], as_of: dt.date) -> dict[int, tuple]:
    """The snapshots already stored for these customers and date (a second run on the same date):
    customer id → (version id, score, grade, factors, points)."""
    rows = (ScoreSnapshot.objects.filter(customer_id__in=customer_ids, as_of=as_of).order_by()
            .values_list("customer_id", "version_id", "score", "grade", "factors", "points"))
    return {r[0]: tuple(r[1:]) for r in rows}


def _write_snapshots(company, version, as_of: dt.date, rows: list[tuple]) -> None:
    """Store (customer id, score, grade, factors, points) snapshots of ``as_of``, replacing that date's earlier ones."""
    if not rows:
        return
    ScoreSnapshot.objects.filter(customer_id__in=[r[0] for r in rows], as_of=as_of).delete()
    if connection.vendor == "postgresql":
        ScoreSnapshot.objects.bulk_create([
            ScoreSnapshot(company=company, customer_id=cid, as_of=as_of, version=version, score=score, grade=grade,
                          factors=f, points=points) for cid, score, grade, f, points in rows], batch_size=2000)
        return
    # SQLite: one prepared INSERT run over the rows (no model instances, no per-row field preparation)
    ops, table = connection.ops, ScoreSnapshot._meta.db_table
    now, day = ops.adapt_datetimefield_value(timezone.now()), ops.adapt_datefield_value(as_of)
    with connection.cursor() as cur:
        cur.executemany(f'INSERT INTO "{table}" (company_id, customer_id, as_of, version_id, score, grade, factors, points, '
                        f"created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [(company.pk, cid, day, version.pk, score, grade, json.dumps(f), json.dumps(points), now)
                         for cid, score, grade, f, points in rows])


def rescore(*, company, as_of: dt.date, actor=None, customer_ids: list[int] | None = None,
            progress: Callable[[str, int, int], None] | None = None, chunk: int = 5000) -> dict:
    """Score customers as of a date with the active scorecard: one snapshot per customer and date
    (replacing an earlier one of the same date), profile score/grade updated (an overridden grade is
    kept), and an audit event on the customer's timeline for every grade change. Returns counts."""
    tell = progress or (lambda phase, done, total: None)
    policy = policy_of(company)
    version = active_scorecard(company)
    bands = [calc.Band(g.code, g.min_score, g.max_score) for g in policy.grades.all()]
    review_days = {g.code: g.review_interval_days for g in policy.grades.all()}
    tell("factors", 0, 1)
    started = time.perf_counter()
    factors = compute_factors(company=company, as_of=as_of, customer_ids=customer_ids)
    factor_seconds = time.perf_counter() - started
    total = len(factors)
    tell("factors", 1, 1)
    profiles = {p.customer_id: p for p in CreditProfile.objects.filter(company=company, customer_id__in=list(factors))
                .only("pk", "customer_id", "grade", "grade_override", "score", "scored_on", "next_review_date")} \
        if customer_ids is not None else {p.customer_id: p for p in CreditProfile.objects.filter(company=company).only(
            "pk", "customer_id", "grade", "grade_override", "score", "scored_on", "next_review_date")}
    changed = written = unchanged = 0
    ids = list(factors)
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    for start in range(0, total, chunk):
        part = ids[start:start + chunk]
        same_day = _same_day(part, as_of)
        snaps, new_profiles, upd, events = [], [], [], []
        for cid in part:
            f = factors[cid]
            total_score, points = calc.score(version.config, f)
            computed = calc.grade_for(bands, total_score)
            prof = profiles.get(cid)
            before = prof.grade if prof is not None else ""
            grade = before if prof is not None and prof.grade_override else computed
            review = prof.next_review_date if prof is not None else None
            if review is None and grade in review_days:
                review = as_of + dt.timedelta(days=review_days[grade])
            if prof is None:
                prof = CreditProfile(company=company, customer_id=cid, score=total_score, scored_on=as_of, grade=grade,
                                     next_review_date=review)
                new_profiles.append(prof)
            elif (prof.score, prof.scored_on, prof.grade, prof.next_review_date) != (total_score, as_of, grade, review):
                prof.score, prof.scored_on, prof.grade, prof.next_review_date = total_score, as_of, grade, review
                upd.append(prof)
            if grade != before:
                changed += 1
                events.append((prof, before, grade, total_score))
            # a second run on the same date rewrites only what changed (same version, factors and points: same row)
            if same_day.get(cid) != (version.pk, total_score, grade, f, points):
                snaps.append((cid, total_score, grade, f, points))
            else:
                unchanged += 1
        with transaction.atomic():
            _write_snapshots(company, version, as_of, snaps)
            CreditProfile.objects.bulk_create(new_profiles, batch_size=2000)
            _update_profiles(upd)
            if events:
                AuditEvent.objects.bulk_create([
                    AuditEvent(actor_id=actor_id, verb="credit.grade.changed", target_type="credit.creditprofile",
                               target_id=prof.pk, company_id=company.pk, customer_id=prof.customer_id,
                               summary=f"{before or '—'} → {grade or '—'} ({sc})",
                               data={"before": before, "after": grade, "score": sc, "version": version.number,
                                     "as_of": as_of.isoformat()})
                    for prof, before, grade, sc in events], batch_size=2000)
        written += len(part)
        tell("scores", written, total)
    return {"customers": total, "grade_changes": changed, "version": version.number, "unchanged": unchanged,
            "factor_seconds": round(factor_seconds, 1), "write_seconds": round(time.perf_counter() - started - factor_seconds, 1)}
