"""The rows behind a bar of the cash-in forecast (issue 13: "every bar a link to the rows behind it").

A stored forecast (``ForecastRun``) keeps sums only (the cube of ``forecast.py``); this module lists the open
items that make up one of its sums — a week (0–12, the first one holding everything expected on or before
the as-of date), "beyond" (13), every week, or the part already overdue on the as-of date — for one scenario
column (P10 / P50 / P90 / due dates), in one currency, optionally for one salesperson or customer group, as
the reader may see it (scoped by the customers' owner, like the forecast).

Each item is placed by the rule ``forecast.cube_from_stored`` builds with, in SQL: its stored prediction
(``ItemPrediction``) when that prediction was made as of the forecast's date by the forecast's model
version; otherwise its due date, not before the as-of date (a forecast without a model uses the due dates
throughout). An item counts whole in its bucket (the forecast never splits an item over weeks), with its
open amount as of the as-of date (allocations dated later are undone, as ``features.load_items`` does).

So the rows add up to the bar exactly when the forecast was built from the predictions stored for its date
and nothing dated on or before that date was booked since; ``bar_value`` reads the bar from the cube, and the
page shows both figures and says why when they differ (a forecast of a past date predicted again, payments
booked later with earlier dates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf

from huikuan.accounts.scoping import owner_q, sees_all
from huikuan.common.money import ZERO, MoneyField, from_minor

from .forecast import SCENARIOS, WEEKS
from .models_forecast import BEYOND, ForecastCell, ForecastRun

ALL = "all"
OVERDUE = "overdue"


@dataclass(frozen=True)
class Bucket:
    """What one bar (or table cell) sums: ``scenario`` (p10 / p50 / p90 / naive), ``week`` (0–13, ALL or
    OVERDUE), ``salesperson`` / ``group`` (None: any; 0: none set; else the id)."""

    scenario: str = "p50"
    week: int | str = 0
    salesperson: int | None = None
    group: int | None = None

    def __post_init__(self):
        if self.scenario not in SCENARIOS:
            raise ValueError(self.scenario)
        if self.week not in (ALL, OVERDUE) and not (isinstance(self.week, int) and 0 <= self.week <= BEYOND):
            raise ValueError(self.week)


def pick_currency(run: ForecastRun, currency: str) -> str:
    """The currency the forecast page shows for ``currency`` (its default: the base currency when it has open
    items, else the largest) — the same choice as ``forecast.read_forecast``."""
    present = sorted(run.totals, key=lambda c: -Decimal(run.totals[c]["open"]))
    if currency in present:
        return currency
    base = run.company.base_currency
    return base if base in present or not present else present[0]


def week_dates(as_of: dt.date, week: int) -> tuple[dt.date | None, dt.date | None]:
    """The placement dates of bucket ``week`` (None: open-ended): week 0 takes everything up to as-of + 7."""
    low = None if week == 0 else as_of + dt.timedelta(days=7 * week + 1)
    high = None if week == BEYOND else as_of + dt.timedelta(days=7 * week + 7)
    return low, high


def _cells(run: ForecastRun, user, currency: str, bucket: Bucket):
    cells = ForecastCell.objects.filter(run=run, currency=currency)
    if user is not None:
        cells = cells.filter(owner_q(user, "owner"))
    if bucket.salesperson is not None:
        cells = cells.filter(salesperson_id=bucket.salesperson or None)
    if bucket.group is not None:
        cells = cells.filter(group_id=bucket.group or None)
    return cells


def bar_value(*, run: ForecastRun, user, currency: str, bucket: Bucket) -> Decimal:
    """The stored figure of the bar: the cube's sum for the bucket, in ``currency``, as ``user`` sees it."""
    cells = _cells(run, user, currency, bucket)
    if bucket.week == OVERDUE:  # stored beside the due-date column's first week
        return cells.aggregate(v=Sum("overdue"))["v"] or ZERO
    if bucket.week != ALL:
        cells = cells.filter(week=bucket.week)
    return cells.aggregate(v=Sum(bucket.scenario))["v"] or ZERO


def in_scope(*, run: ForecastRun, user, currency: str, salesperson: int | None = None,
             group: int | None = None) -> bool:
    """Whether the forecast as ``user`` sees it has any part for the salesperson / group asked for (the page
    answers 404 otherwise: another salesperson's line is not there to list)."""
    return _cells(run, user, currency, Bucket(week=ALL, salesperson=salesperson, group=group)).exists()


def _expressions(run: ForecastRun, *, moved: bool, predictions: str = "case") -> dict:
    """The SQL expressions of an item's facts in ``run`` (see ``forecast_items``); ``moved``: whether any
    allocation is dated after the as-of date (else the open amount column is the as-of amount). ``predictions``:
    "case" (an item's prediction is used when it is of the run's date and version: a LEFT JOIN), "joined" (the
    rows are already joined to such a prediction: its columns as they are, which an index can order) or "none"
    (no item has one: the due dates)."""
    from huikuan.ledger.models import Allocation

    as_of = run.as_of
    money = MoneyField()  # hundredths in the database: the arithmetic below is on integers
    if moved:
        allocated = (Allocation.objects.filter(instalment_id=OuterRef("pk"), date__lte=as_of).order_by()
                     .values("instalment_id").annotate(s=Sum("amount")).values("s")[:1])
        open_as_of = Case(When(Q(last_allocated_on__gt=as_of), then=ExpressionWrapper(
            F("amount") - Coalesce(Subquery(allocated, output_field=money), Value(0, output_field=money)),
            output_field=money)), default=F("open_amount"), output_field=money)
    else:
        open_as_of = ExpressionWrapper(F("open_amount"), output_field=money)
    due = Greatest(F("due_date"), Value(as_of, output_field=DateField()))
    probability = DecimalField(max_digits=5, decimal_places=4)
    if run.version_id is not None and predictions == "joined":
        dates = {"p10": F("prediction__low_date"), "p50": F("prediction__predicted_date"),
                 "p90": F("prediction__high_date")}
        predicted = Value(1)
        p_late = F("prediction__p_late")
    elif run.version_id is not None and predictions == "case":
        mine = Q(prediction__as_of=as_of, prediction__version_id=run.version_id)

        def stored(name):
            return Case(When(mine, then=F(f"prediction__{name}")), default=due, output_field=DateField())

        dates = {"p10": stored("low_date"), "p50": stored("predicted_date"), "p90": stored("high_date")}
        predicted = Case(When(mine, then=Value(1)), default=Value(0))
        p_late = Case(When(mine, then=F("prediction__p_late")), default=None, output_field=probability)
    else:
        dates = {"p10": due, "p50": due, "p90": due}
        predicted = Value(0)
        # a typed NULL, not a bare one: PostgreSQL refuses ORDER BY NULL ("non-integer constant"), sorting by it does not
        p_late = Cast(Value(None), output_field=probability)
    dates["naive"] = due

    def name(prefix):
        return Coalesce(NullIf(F(f"{prefix}__display_name"), Value("")), F(f"{prefix}__username"))

    return {"open_as_of": open_as_of, "dates": dates, "predicted": predicted, "p_late": p_late,
            "sp": Coalesce(F("salesperson_id"), F("customer__owner_id")),
            "sp_name": Coalesce(name("salesperson"), name("customer__owner"))}


def books_moved(run: ForecastRun) -> bool:
    """Whether an allocation is dated after the forecast's as-of date (then the open amounts of that date are
    computed back; otherwise they are today's)."""
    from huikuan.ledger.models import Allocation

    # an instalment's last_allocated_on is the date of one of its allocations: asking the allocations uses their
    # (company, date) index (the instalments' column has no index of its own)
    return Allocation.objects.filter(company=run.company_id, date__gt=run.as_of).exists()


@dataclass(frozen=True)
class Stored:
    """What the company's stored predictions (``ItemPrediction``) are to a forecast ``run`` whose books have not
    moved: ``of_run`` — they were made as of its date by its version (a refresh replaces all of a company's rows at
    once, one date and one version: ``services.store_predictions``, so one row tells); ``unpredicted`` — the open
    items of the currency that have none, with their due dates (they are placed on those)."""

    of_run: bool
    unpredicted: tuple[tuple[int, dt.date], ...] = ()


def stored_predictions(run: ForecastRun, currency: str) -> Stored:
    """``Stored`` for ``run`` (with a model, books not moved) in ``currency``, in three index reads, never a pass
    over the ~1 M open items. An open item has no stored prediction only when it was not open at the refresh —
    posted since (an instalment id above the highest the refresh predicted: ids only grow) or reopened since (the
    one way an open amount grows is a reversal allocation, ``ledger.services._reverse_allocation_row``; allocations
    are append-only) — so those are the only candidates looked at, each still asked whether it has a row. Not
    covered: an instalment inserted by a transaction still uncommitted when the refresh read the open items, with
    an id below one committed before it (ARCHITECTURE.md)."""
    from huikuan.ledger.models import Allocation, Instalment

    from .models import ItemPrediction

    last = (ItemPrediction.objects.filter(company_id=run.company_id).order_by("-instalment_id")
            .values_list("instalment_id", "as_of", "version_id").first())
    if last is None or (last[1], last[2]) != (run.as_of, run.version_id):
        return Stored(of_run=False)
    base = Instalment.objects.filter(company_id=run.company_id, currency=currency, document_date__lte=run.as_of,
                                     open_amount__gt=0).order_by()
    reopened = Allocation.objects.filter(company_id=run.company_id, reverses__isnull=False).values("instalment_id")
    candidates = (base.filter(pk__gt=last[0]).values_list("pk", "due_date")
                  .union(base.filter(pk__in=reopened).values_list("pk", "due_date")))
    found = dict(candidates)
    have = set(ItemPrediction.objects.filter(instalment_id__in=list(found)).values_list("instalment_id", flat=True))
    return Stored(of_run=True, unpredicted=tuple(sorted((pk, due) for pk, due in found.items() if pk not in have)))


def placement(run: ForecastRun, bucket: Bucket, stored: Stored | None) -> tuple[str, list[int]]:
    """How ``forecast_items`` finds ``bucket`` with ``stored`` (None: not narrowed): "joined" (the instalments
    inner-joined to their prediction of the run: no unpredicted item falls in the bucket), "none" (no stored
    prediction is the run's: every item on its due date) or "case" (each item asked), and the unpredicted items
    the bucket's dates take (their due date, not before the as-of date)."""
    if stored is None:
        return "case", []
    if not stored.of_run:
        return "none", []
    low, high = week_dates(run.as_of, bucket.week) if bucket.week != ALL else (None, None)
    u_in = [pk for pk, due in stored.unpredicted
            if (low is None or max(due, run.as_of) >= low) and (high is None or max(due, run.as_of) <= high)]
    return ("case" if u_in else "joined"), u_in


def forecast_items(*, run: ForecastRun, user, currency: str, bucket: Bucket, by_name: bool = False,
                   moved: bool | None = None, few: bool = False, stored: Stored | None = None):
    """The open instalments behind ``bucket`` of ``run`` (no ordering), for counting, totalling, ordering and
    paging: the aliases ``open_as_of`` (Decimal: the open amount on the as-of date), ``placed_on`` (the date
    that puts the item in the bucket), ``p_late`` and — ``by_name`` — ``sp_name`` can be ordered by;
    ``item_rows`` reads what a row shows. An item is open on the as-of date when its open amount then is
    positive; it is placed by its stored prediction of the forecast's date and version, else by its due date
    not before the as-of date.

    Where the placement is the due date (no model, or the due-date column), the bucket's dates are also
    given as plain ``due_date`` bounds, so the open-items index narrows a week to its own rows. ``few`` (or
    ``stored``, ``stored_predictions`` already read): a P50 week or every week of a forecast placed by the model,
    books not moved, is found through the stored predictions instead of joining every open item to its prediction
    (a sparse week read all ~1 M of them): when no open item without a stored prediction falls in the bucket (the
    usual case: the refresh predicted every open item), the rows are the instalments joined to a prediction of the
    run in the bucket's dates — an inner join whose date, probability and (company, predicted_date, instalment)
    index order the page; otherwise the items whose stored prediction falls in it and those listed unpredicted
    whose due date does (a superset, the placement still applies); when the stored predictions are not the run's,
    every item is placed on its due date."""
    from huikuan.ledger.models import Instalment, Status

    as_of = run.as_of
    moved = books_moved(run) if moved is None else moved
    narrow = ((few or stored is not None) and run.version_id is not None and bucket.scenario == "p50"
              and not moved and bucket.week != OVERDUE)
    if narrow:
        stored = stored or stored_predictions(run, currency)
    placed, u_in = placement(run, bucket, stored if narrow else None)
    e = _expressions(run, moved=moved, predictions=placed)
    qs = Instalment.objects.filter(company=run.company_id, document_date__lte=as_of, currency=currency)
    if moved:
        qs = qs.filter(Q(open_amount__gt=0) | Q(last_allocated_on__gt=as_of), document__status=Status.POSTED,
                       replaced_on__isnull=True, amount__gt=0)
    else:
        # an instalment with an open amount is one of a posted document (a reversal sets it to 0), not replaced by a
        # payment plan (which keeps only what was allocated) and of a positive amount (open ≤ amount): the ledger's
        # invariants (ledger.checks), which the aging relies on too. Not asking again keeps the document out of the
        # query, so a bucket is counted, summed and ordered on the instalments' own indexes.
        qs = qs.filter(open_amount__gt=0)
    if user is not None:
        qs = qs.filter(owner_q(user, "customer__owner"))
    if placed == "joined":  # every row's own prediction, of the run's date and version (an inner join)
        qs = qs.filter(prediction__company_id=run.company_id, prediction__as_of=as_of,
                       prediction__version_id=run.version_id)
    qs = qs.alias(open_as_of=e["open_as_of"], placed_on=e["dates"][bucket.scenario], p_late=e["p_late"])
    if moved:
        qs = qs.filter(open_as_of__gt=0)
    if bucket.salesperson is not None:
        qs = qs.alias(sp_id=e["sp"])
        qs = qs.filter(sp_id=bucket.salesperson) if bucket.salesperson else qs.filter(sp_id__isnull=True)
    if bucket.group is not None:
        qs = qs.filter(customer__group_id=bucket.group) if bucket.group else qs.filter(customer__group__isnull=True)
    if bucket.week == OVERDUE:
        qs = qs.filter(due_date__lt=as_of)
    elif bucket.week != ALL:
        low, high = week_dates(as_of, bucket.week)
        by_due = run.version_id is None or bucket.scenario == "naive" or placed == "none"
        if low is not None:
            qs = qs.filter(placed_on__gte=low, **({"due_date__gte": low} if by_due else {}))
        if high is not None:
            qs = qs.filter(placed_on__lte=high, **({"due_date__lte": high} if by_due else {}))
        if narrow and placed == "case":  # some unpredicted item falls in the week: those and the week's predicted ones
            from .models import ItemPrediction

            mine = ItemPrediction.objects.filter(as_of=as_of, version_id=run.version_id)
            within = {**({"gte": low} if low else {}), **({"lte": high} if high else {})}
            predicted = mine.filter(company_id=run.company_id,
                                    **{f"predicted_date__{k}": v for k, v in within.items()}).values("instalment_id")
            on_due = Instalment.objects.filter(pk__in=u_in).values("pk")
            qs = qs.filter(pk__in=predicted.union(on_due, all=True))
    if by_name:
        qs = qs.alias(sp_name=e["sp_name"])
    return qs


def for_order(qs, *, run: ForecastRun, key: str):
    """``forecast_items``' rows made ready to be ordered by the column ``key``: sorted by customer name or
    document number, the joined table is also asked for the company (always true), so PostgreSQL can walk its
    (company, name) / (company, number) index in order and stop after a page, instead of sorting the whole
    bucket (~850,000 rows). Only for the ordered query: the count and the sum need no join."""
    if key == "customer":
        return qs.filter(customer__company_id=run.company_id)
    if key == "document":
        return qs.filter(document__company_id=run.company_id)
    return qs


def item_rows(*, run: ForecastRun, ids: list[int], moved: bool | None = None) -> list:
    """The instalments ``ids`` (in that order) with what a row of the drill-down shows: ``amount_open`` (on the
    as-of date), ``p10_on`` / ``p50_on`` / ``p90_on`` (the predicted dates, or the due date not before the
    as-of date when the item has no prediction of the forecast's date and version), ``predicted`` (1 when it
    has one), ``p_late`` (or None), ``sp_name`` (the document's salesperson, else the customer's owner);
    document and customer joined. One query per 2,000 ids."""
    from huikuan.ledger.models import Instalment

    e = _expressions(run, moved=books_moved(run) if moved is None else moved) if ids else None
    found = {}
    for s in range(0, len(ids), 2000):
        chunk = ids[s:s + 2000]
        for i in (Instalment.objects.filter(pk__in=chunk).select_related("document", "customer")
                  .annotate(amount_open=e["open_as_of"], p10_on=e["dates"]["p10"], p50_on=e["dates"]["p50"],
                            p90_on=e["dates"]["p90"], predicted=e["predicted"], p_late=e["p_late"],
                            sp_name=e["sp_name"])):
            found[i.pk] = i
    return [found[pk] for pk in ids if pk in found]


def export_rows(qs, *, run: ForecastRun, limit: int, moved: bool | None = None):
    """The first ``limit`` rows of ``forecast_items``' ``qs`` (ordered) as tuples for the XLSX: document number,
    instalment no., customer code and name, salesperson, due date, open amount on the as-of date, P50 / P10 / P90
    dates, probability late (or None) and whether the item has a prediction (1 / 0). One statement, read in
    chunks (a server-side cursor on PostgreSQL): no per-page id lists, no second read by id."""
    e = _expressions(run, moved=books_moved(run) if moved is None else moved)
    return (qs.annotate(x_amount=e["open_as_of"], x_p10=e["dates"]["p10"], x_p50=e["dates"]["p50"],
                        x_p90=e["dates"]["p90"], x_p_late=e["p_late"], x_predicted=e["predicted"], x_sp=e["sp_name"])
            .values_list("document__number", "seq", "customer__code", "customer__name", "x_sp", "due_date", "x_amount",
                         "x_p50", "x_p10", "x_p90", "x_p_late", "x_predicted")[:limit]
            .iterator(chunk_size=5000))


def items_total(qs, *, run: ForecastRun, moved: bool | None = None, limit: int | None = None) -> tuple[Decimal, int]:
    """Σ open amount on the as-of date and the number of items of ``forecast_items``' rows (one aggregate); with
    ``limit``, of at most that many of them (any; the statement stops there): a count of ``limit`` means "at
    least", and the sum is then of an arbitrary part (the caller shows the bar's stored figure instead)."""
    from django.db.models import Count

    e = _expressions(run, moved=books_moved(run) if moved is None else moved)
    if limit is None:
        row = qs.order_by().aggregate(v=Sum(e["open_as_of"]), n=Count("pk"))
    else:
        row = qs.order_by().annotate(x_amount=e["open_as_of"]).values("pk", "x_amount")[:limit].aggregate(
            v=Sum("x_amount"), n=Count("pk"))
    return row["v"] or ZERO, row["n"] or 0


def _entries(*, run: ForecastRun, user, currency: str, bucket: Bucket):
    """A joined bucket's prediction entries (the run's, in the week's dates) and the instalment side alone (scope,
    line, currency, open: every week placed by due date, no prediction joined) to ask each entry's instalment."""
    from .models import ItemPrediction

    low, high = week_dates(run.as_of, bucket.week) if bucket.week != ALL else (None, None)
    entries = ItemPrediction.objects.filter(company_id=run.company_id, as_of=run.as_of, version_id=run.version_id)
    if low is not None:
        entries = entries.filter(predicted_date__gte=low)
    if high is not None:
        entries = entries.filter(predicted_date__lte=high)
    mine = forecast_items(run=run, user=user, currency=currency, moved=False, stored=Stored(of_run=False),
                          bucket=Bucket(week=ALL, salesperson=bucket.salesperson, group=bucket.group))
    return entries, mine


ENTRY_ORDERS = {"p_late": "p_late", "due": "due_date"}  # a page order read from the predictions' own columns


HEAD_ROWS = 256  # the fewest prediction entries a joined page in an entry order looks at first (see ``FirstFound``)
HEAD_WIDEN = 8  # ... and how many times the rows wanted; multiplied by this whenever too few of them are the reader's


class FirstFound:
    """A joined bucket's instalment ids in an entry order, read by slices (``ids[offset:offset + size]``, as a paginator
    reads a page): the week's entries sorted first and only the first of them (``HEAD_ROWS``, or ``HEAD_WIDEN`` times
    the rows up to the slice's end) have their instalment asked, widened by ``HEAD_WIDEN`` while the slice is not full
    and there are more entries. The order is total (the instalment breaks ties), so the rows found among the first
    ``n`` entries are the list's first rows: the slice is exact. PostgreSQL top-N sorts the week's entries along the
    predictions' date index and runs the sub-select for those ``n`` only, instead of for each of the ~62,000 entries
    of a week before sorting them (0.2–0.5 s of CPU a page at 100,000 customers, docs/PERFORMANCE.md)."""

    def __init__(self, entries, found, order):
        self.entries, self.found, self.order = entries, found, order

    def __getitem__(self, s: slice) -> list[int]:
        from .models import ItemPrediction

        if not isinstance(s, slice) or s.step is not None or s.stop is None:
            raise TypeError("FirstFound reads slices with an end")
        start = s.start or 0
        if s.stop <= start:
            return []
        n = max(HEAD_ROWS, HEAD_WIDEN * s.stop)
        while True:
            head = self.entries.order_by(*self.order).values("instalment_id")[:n]
            rows = list(ItemPrediction.objects.filter(instalment_id__in=head).annotate(x_found=self.found)
                        .filter(x_found__isnull=False).order_by(*self.order)
                        .values_list("instalment_id", flat=True)[start:s.stop])
            if len(rows) == s.stop - start or self.entries.order_by().values("pk")[:n + 1].count() <= n:
                return rows  # the slice is full, or the first n entries were all of them
            n *= HEAD_WIDEN


def joined_order(*, run: ForecastRun, user, currency: str, bucket: Bucket, key: str, descending: bool) -> FirstFound:
    """The instalment ids of a bucket ``placement`` finds "joined", ordered by ``key`` (``ENTRY_ORDERS``: probability
    late, or the due date — the prediction's copy of its instalment's, which never changes: a payment plan replaces
    an instalment) then the instalment, from the week's prediction entries alone, each entry's instalment asked by a
    sub-select per entry, only for the first entries in that order (``FirstFound``): the ~62,000 entries of a week
    not joined to their instalments first (0.5–0.7 s), by due date descending not the due-date index walked back
    over ~160,000 open items for a page, and not every entry of the week asked before the sort."""
    entries, mine = _entries(run=run, user=user, currency=currency, bucket=bucket)
    found = Subquery(mine.order_by().filter(pk=OuterRef("instalment_id")).values("pk")[:1])
    col, tie = F(ENTRY_ORDERS[key]), F("instalment_id")
    order = [col.desc(), tie.desc()] if descending else [col.asc(), tie.asc()]
    return FirstFound(entries, found, order)


def _salespeople(run: ForecastRun, currency: str) -> tuple[list[int], bool]:
    """The salespeople of the company's open items in ``currency`` (a superset of any bucket's: document date, scope
    and week not asked) and whether some open item has none of its own. On PostgreSQL a walk of the
    ``instalment_open_salesperson`` index that jumps from one salesperson to the next (one probe each), not a read of
    the ~1 M open items."""
    from django.db import connection

    from huikuan.ledger.models import Instalment

    open_items = Instalment.objects.filter(company_id=run.company_id, currency=currency, open_amount__gt=0).order_by()
    if connection.vendor == "postgresql":
        where = "company_id = %s AND currency = %s AND open_amount > 0"
        sql = (f"WITH RECURSIVE s(sp) AS ((SELECT salesperson_id FROM ledger_instalment WHERE {where} AND "
               f"salesperson_id IS NOT NULL ORDER BY salesperson_id LIMIT 1) UNION ALL SELECT (SELECT salesperson_id "
               f"FROM ledger_instalment WHERE {where} AND salesperson_id > s.sp ORDER BY salesperson_id LIMIT 1) "
               f"FROM s WHERE s.sp IS NOT NULL) SELECT sp FROM s WHERE sp IS NOT NULL")
        with connection.cursor() as cursor:
            cursor.execute(sql, [run.company_id, currency] * 2)
            ids = [row[0] for row in cursor.fetchall()]
    else:
        ids = list(open_items.filter(salesperson_id__isnull=False).values_list("salesperson_id", flat=True).distinct())
    return ids, open_items.filter(salesperson_id__isnull=True).exists()


class SalespersonPages:
    """A bucket's instalment ids sorted by salesperson (the name shown: the item's own salesperson, else its
    customer's owner; empty last) then the instalment, read by slices as a paginator reads a page — for a reader who
    sees the whole company. The salespeople are ranked by name first (one small query; equal names share a rank), and
    each rank's items come in id order, so the first rows of the list are the first rank's first items, then the
    next rank's: each rank is asked for the items still wanted (``ORDER BY id LIMIT k``, along the
    ``instalment_open_salesperson`` index, its week asked per item), and a rank that gives fewer is exhausted — the
    next one follows. Items without a salesperson of their own (only when the company has some) are asked by their
    customer's owner beside them. Exact: the slice is the full sort's (tested)."""

    def __init__(self, qs, *, run: ForecastRun, currency: str, descending: bool):
        self.qs, self.run, self.currency, self.descending = qs, run, currency, descending

    def _ranks(self) -> tuple[list[list[int]], bool]:
        from huikuan.customers.models import Customer

        ids, unowned = _salespeople(self.run, self.currency)
        if unowned:  # those items are their customer's owner's: any owner of the company's customers may be one
            ids += Customer.objects.filter(company_id=self.run.company_id, owner__isnull=False).order_by().values_list(
                "owner_id", flat=True).distinct()
        ranks = _name_ranks(ids)
        return (ranks[::-1] if self.descending else ranks), unowned

    def _first(self, qs, k: int) -> list[int]:
        return list(qs.order_by("-pk" if self.descending else "pk").values_list("pk", flat=True)[:k])

    def __getitem__(self, s: slice) -> list[int]:
        if not isinstance(s, slice) or s.step is not None or s.stop is None:
            raise TypeError("SalespersonPages reads slices with an end")
        start, need = s.start or 0, s.stop
        if need <= start:
            return []
        ranks, unowned = self._ranks()
        streams = [[self.qs.filter(salesperson_id__in=rank)] + (
            [self.qs.filter(salesperson_id__isnull=True, customer__owner_id__in=rank)] if unowned else [])
            for rank in ranks]
        if unowned:  # no salesperson and no owner: last, both ways
            streams.append([self.qs.filter(salesperson_id__isnull=True, customer__owner__isnull=True)])
        found: list[int] = []
        for rank in streams:
            k = need - len(found)
            ids = sorted((pk for qs in rank for pk in self._first(qs, k)), reverse=self.descending)[:k]
            found += ids
            if len(found) >= need:
                break
        return found[start:need]


class ScopedSalespersonPages:
    """A joined bucket's instalment ids sorted by salesperson for a reader who sees some customers only (a
    salesperson, a sales manager), read by slices: the week's prediction entries of the reader's customers (the
    entry's copy of its instalment's customer, which never changes; the predictions' date index covers it) are
    sorted by the rank of their salesperson's name, asked of each one's instalment by a sub-select that also tells
    whether it is open in the currency (its own salesperson's rank, else its customer's owner's), then by the
    instalment: ~17,000 entries probed and sorted for a salesperson's first week, not the ~1 M open items joined
    (0.6 s). Entries whose instalment is not in the bucket rank last (NULL) and are dropped from the slice, so the
    slice is the full sort's."""

    def __init__(self, *, run: ForecastRun, user, currency: str, bucket: Bucket, descending: bool):
        self.run, self.user, self.currency, self.bucket, self.descending = run, user, currency, bucket, descending

    def __getitem__(self, s: slice) -> list[int]:
        from huikuan.customers.models import Customer
        from huikuan.ledger.models import Instalment

        if not isinstance(s, slice) or s.step is not None or s.stop is None:
            raise TypeError("ScopedSalespersonPages reads slices with an end")
        start = s.start or 0
        if s.stop <= start:
            return []
        owners = (Customer.objects.filter(owner_q(self.user, "owner"), company_id=self.run.company_id,
                                          owner__isnull=False).order_by().values_list("owner_id", flat=True).distinct())
        ranks = _name_ranks([*_salespeople(self.run, self.currency)[0], *owners])
        if self.descending:
            ranks = ranks[::-1]

        def rank_of(field):
            return Case(*(When(**{f"{field}__in": rank}, then=Value(r)) for r, rank in enumerate(ranks)),
                        default=None)

        entries, _mine = _entries(run=self.run, user=self.user, currency=self.currency, bucket=self.bucket)
        entries = entries.filter(owner_q(self.user, "customer__owner"))
        if self.bucket.group is not None:
            entries = (entries.filter(customer__group_id=self.bucket.group) if self.bucket.group
                       else entries.filter(customer__group__isnull=True))
        mine = Instalment.objects.filter(pk=OuterRef("instalment_id"), company_id=self.run.company_id,
                                         currency=self.currency, document_date__lte=self.run.as_of, open_amount__gt=0)
        found = Subquery(mine.order_by().annotate(x_rank=Coalesce(rank_of("salesperson_id"), OuterRef("o_rank")))
                         .values("x_rank")[:1])
        tie = F("instalment_id").desc() if self.descending else F("instalment_id").asc()
        rows = (entries.annotate(o_rank=rank_of("customer__owner_id")).annotate(x_rank=found)
                .order_by(F("x_rank").asc(nulls_last=True), tie).values_list("instalment_id", "x_rank")[start:s.stop])
        return [pk for pk, rank in rows if rank is not None]


def _name_ranks(ids) -> list[list[int]]:
    """The users ``ids`` grouped by the name a drill-down shows (display name, else username) in its order: a rank
    per name, equal names together (their items then sort by id alone, as in the full sort)."""
    from huikuan.accounts.models import User

    name = Coalesce(NullIf(F("display_name"), Value("")), F("username"))
    ranks, last = [], object()
    for pk, n in User.objects.filter(pk__in=set(ids)).annotate(n=name).order_by("n", "pk").values_list("pk", "n"):
        if n != last:
            ranks.append([])
        ranks[-1].append(pk)
        last = n
    return ranks


def salesperson_order(*, qs, run: ForecastRun, user, currency: str, bucket: Bucket, descending: bool,
                      joined: bool = False):
    """``forecast_items``' rows ``qs`` (of ``bucket``) sorted by salesperson, read by slices: a reader who sees the
    whole company a salesperson at a time (``SalespersonPages``); another, for a week ``placement`` finds "joined"
    and not one salesperson's line, from the week's entries of their customers (``ScopedSalespersonPages``). None
    otherwise (the bucket is sorted whole, as before): for a reader who sees some customers, a salesperson's rank could
    only be found empty by reading every item of that salesperson; and every week at once has all ~1 M entries, whose
    ~280,000 of a salesperson's probed one by one cost more than the join (0.76 against 0.55 s of CPU)."""
    if sees_all(user):
        return SalespersonPages(qs, run=run, currency=currency, descending=descending)
    if joined and bucket.salesperson is None and bucket.week != ALL:  # every week: ~1 M entries, the join is cheaper
        return ScopedSalespersonPages(run=run, user=user, currency=currency, bucket=bucket, descending=descending)
    return None


def joined_total(*, run: ForecastRun, user, currency: str, bucket: Bucket, limit: int) -> tuple[Decimal, int]:
    """``items_total`` with ``limit`` of a bucket ``placement`` finds "joined": the week's entries of the predictions'
    (company, predicted_date, instalment) index walked in order, each entry's instalment asked by a sub-select (its
    open amount if it is open, in the currency and the reader's scope and line), which PostgreSQL runs per entry and
    cannot turn into a join — as a join the planner could hash the week's predictions and read the ~1 M open items
    until enough matched (0.4–0.9 s for a week of ~30,000). One statement counts and sums up to ``limit`` entries
    found, each entry's sub-select run once (a derived table behind PostgreSQL's ``OFFSET 0`` fence, so the filter on
    its value is not pushed down and the sub-select repeated there): a week under the cap was asked twice before, once
    to count and once to sum (~0.5 s of a salesperson's sparse week, docs/PERFORMANCE.md). The sum is of at most
    ``limit`` rows: only meaningful when fewer are counted (the page shows the bar's figure above). Books not moved:
    the open amount is the as-of date's."""
    from django.db import connections

    entries, mine = _entries(run=run, user=user, currency=currency, bucket=bucket)
    amount = Subquery(mine.order_by().filter(pk=OuterRef("instalment_id")).values("open_amount")[:1],
                      output_field=MoneyField())
    inner = entries.annotate(x_amount=amount).order_by("predicted_date", "instalment_id").values("x_amount")
    sql, params = inner.query.get_compiler(using=inner.db).as_sql()
    connection = connections[inner.db]
    q = connection.ops.quote_name
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), SUM({q('x_amount')}) FROM (SELECT {q('x_amount')} FROM ({sql}{fence}) "
                       f"{q('entries')} WHERE {q('x_amount')} IS NOT NULL LIMIT %s) {q('found')}", [*params, limit])
        n, v = cursor.fetchone()
    if n >= limit:
        return ZERO, n
    return from_minor(v) or ZERO, n


def bar_items(*, run: ForecastRun, user, currency: str, bucket: Bucket) -> int | None:
    """The number of items in the bar as the forecast counted them when it was computed, where the cube keeps it:
    a week of the P50 column, or every week of any column (each item is in one P50 week); None otherwise."""
    if bucket.week == OVERDUE or (bucket.week != ALL and bucket.scenario != "p50"):
        return None
    cells = _cells(run, user, currency, bucket)
    if bucket.week != ALL:
        cells = cells.filter(week=bucket.week)
    return cells.aggregate(n=Sum("items"))["n"] or 0


__all__ = ["ALL", "ENTRY_ORDERS", "OVERDUE", "WEEKS", "Bucket", "FirstFound", "SalespersonPages", "ScopedSalespersonPages", "Stored", "bar_items", "bar_value", "books_moved", "export_rows", "for_order",
           "forecast_items", "in_scope", "item_rows", "items_total", "joined_order", "joined_total", "pick_currency", "placement", "salesperson_order", "stored_predictions", "week_dates"]
