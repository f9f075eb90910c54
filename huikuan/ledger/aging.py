"""Aging as of any date, computed in one SQL statement.

Only what was posted and allocated on or before ``as_of`` counts:

    open as of X = amount − Σ allocations dated ≤ X
                 = open_amount + Σ allocations dated > X        (documents not reversed)

and a document reversed on or before X is gone. Bucket edges are turned into date boundaries in
Python (``due_date`` between X−hi and X−lo), so the SQL is the same on SQLite and PostgreSQL and
the ``(company, due_date)`` indexes apply. Amounts are summed as integer minor units and returned
as Decimal, so bucket totals equal the open balance to the fen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.scoping import owner_q
from huikuan.common.money import ZERO, from_minor, from_minor_each
from huikuan.customers.models import Customer

COLLECTION_EDGES = (30, 60, 90, 120)
ACCOUNTING_YEARS = (1, 2, 3)
GROUPS = ("customer", "salesperson", "team", "region", "group", "owner", "none")


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    # inclusive date range on the basis column (None = open-ended)
    date_from: dt.date | None
    date_to: dt.date | None


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def collection_buckets(as_of: dt.date, edges: tuple[int, ...] = COLLECTION_EDGES) -> list[Bucket]:
    """current (not yet due), then 1–e1, e1+1–e2, …, >last. ``edges`` strictly increasing positive days."""
    edges = tuple(int(e) for e in edges)
    if not edges or any(e <= 0 for e in edges) or list(edges) != sorted(set(edges)):
        raise ValueError("edges must be strictly increasing positive day counts")
    out = [Bucket("current", str(_("Current")), as_of, None)]
    lo = 1
    for i, hi in enumerate(edges):
        out.append(Bucket(f"b{i + 1}", f"{lo}–{hi}", as_of - dt.timedelta(days=hi), as_of - dt.timedelta(days=lo)))
        lo = hi + 1
    out.append(Bucket(f"b{len(edges) + 1}", f"{edges[-1]}+", None, as_of - dt.timedelta(days=lo)))
    return out


def accounting_buckets(as_of: dt.date, years: tuple[int, ...] = ACCOUNTING_YEARS) -> list[Bucket]:
    """账龄 by time since the receivable arose: 1年以内, 1–2年, …, N年以上."""
    out = []
    prev_bound = None  # date after which the bucket starts
    prev_year = 0
    for y in years:
        bound = _years_back(as_of, y)
        label = str(_("Within 1 year")) if prev_year == 0 else str(_("%(a)s–%(b)s years") % {"a": prev_year, "b": y})
        out.append(Bucket(f"y{y}", label, bound + dt.timedelta(days=1), prev_bound))
        prev_bound = bound
        prev_year = y
    out.append(Bucket(f"y{prev_year}+", str(_("Over %(n)s years") % {"n": prev_year}), None, prev_bound))
    return out


def buckets_for(*, as_of: dt.date, scheme: str = "collections", basis: str = "due",
                edges: tuple[int, ...] = COLLECTION_EDGES, years: tuple[int, ...] = ACCOUNTING_YEARS):
    """(buckets, the date column they apply to, effective basis) for a report's options."""
    if scheme == "accounting":
        return accounting_buckets(as_of, years), "document_date", "document"
    buckets = collection_buckets(as_of, edges)
    if basis == "document":
        # days since the document date: the first bucket is "0 days" rather than "not yet due"
        return [Bucket("current", str(_("0 days")), as_of, None)] + buckets[1:], "document_date", "document"
    return buckets, "due_date", "due"


@dataclass(frozen=True)
class AgingRow:
    key: object
    label: str
    buckets: tuple[Decimal, ...]
    total: Decimal
    extra: dict = field(default_factory=dict)
    # the part of ``total`` under dispute: Σ min(disputed_amount, open as of) — included in the buckets
    disputed: Decimal = ZERO


@dataclass(frozen=True)
class AgingReport:
    as_of: dt.date
    basis: str
    scheme: str
    group_by: str
    buckets: list[Bucket]
    rows: list[AgingRow]
    totals: tuple[Decimal, ...]
    total: Decimal
    row_count: int = 0
    disputed: Decimal = ZERO  # Σ of the rows' disputed parts (all groups, like ``totals``)


def scope_sql(user, company):
    """Visible customers as a sub-SELECT (``user=None``: unscoped, only for internal jobs such as snapshots)."""
    qs = Customer.objects.filter(company=company)
    if user is not None:
        qs = qs.filter(owner_q(user, "owner"))
    qs = qs.values("id")
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _base_sql(*, user, company, as_of: dt.date, customer_id: int | None = None, customers: tuple[str, list] | None = None,
              part: str = "all"):
    """Inner SELECT of (instalment fields, x = open amount as of) for instalments open on ``as_of``.

    ``open as of X = amount − Σ allocations dated ≤ X``, read from the instalment row itself unless
    it was allocated both on/before and after X (``first_allocated_on ≤ X < last_allocated_on``, the
    rare partly-paid-then case) or its document was reversed after X:
      - no allocation on or before X (``first_allocated_on`` NULL or after X): the whole ``amount``;
      - no allocation after X and not reversed: ``open_amount`` as stored;
      - otherwise: amount − Σ allocations dated ≤ X (one index probe per such instalment).
    The candidates come in three disjoint, index-driven parts:
      A. open now (partial index of open instalments);
      B. settled now and last allocated after X, document not reversed on or before X
         (partial index ``instalment_settled_after``);
      C. documents reversed after X with no allocation after X (partial index ``instalment_reversed_on``);
      D. instalments a payment plan replaced after X, with no allocation after X, document not reversed
         (partial index ``instalment_replaced_on``).
    A document reversed on or before X appears in none of them. Payment plans never rewrite the past: a
    replaced instalment counts, before ``replaced_on``, with the open amount the plan took over
    (``replaced_amount``) added back, and a plan's new instalment counts only from ``plan_from``.
    ``part``: "all", "open" (A only) or "closed" (B, C and D), for grouping A on its own (``grouped_sql``), or
    "arms": a list of (sql, params), one per part, each aggregated on its own (``totals_by_date_sql``).
    """
    visible, scope_params = ("", []) if sees_all(user) else scope_sql(user, company)
    scope = f" AND i.customer_id IN ({visible})" if visible else ""
    if customer_id is not None:
        scope += " AND i.customer_id = %s"
        scope_params = [*scope_params, int(customer_id)]
    if customers is not None:
        scope += f" AND i.customer_id IN ({customers[0]})"
        scope_params = [*scope_params, *customers[1]]
    # allocated up to X: a correlated sub-select, or on PostgreSQL the same as a PARALLEL SAFE function (migration
    # ledger 0019) — a sub-plan anywhere in the statement keeps the whole aggregate out of parallel workers
    upto = ("ledger_allocated_upto(i.id, %s)" if connection.vendor == "postgresql" else
            "CAST(COALESCE((SELECT SUM(a.amount) FROM ledger_allocation a "
            "WHERE a.instalment_id = i.id AND a.date <= %s), 0) AS BIGINT)")
    x_open = f"""CASE WHEN i.first_allocated_on IS NULL OR i.first_allocated_on > %s THEN i.amount
                WHEN i.last_allocated_on <= %s AND i.reversed_on IS NULL THEN i.open_amount
                ELSE i.amount - {upto} END"""
    # B, C, D: before its replacement by a payment plan an instalment still owed what the plan took over
    # (A, the open ones, are never replaced: they read only the covering index's columns)
    amt = "(i.amount + CASE WHEN i.replaced_on > %s THEN COALESCE(i.replaced_amount, 0) ELSE 0 END)"
    x = f"""CASE WHEN i.first_allocated_on IS NULL OR i.first_allocated_on > %s THEN {amt}
                WHEN i.last_allocated_on <= %s AND i.reversed_on IS NULL
                     AND (i.replaced_on IS NULL OR i.replaced_on <= %s) THEN i.open_amount
                ELSE {amt} - {upto} END"""
    head = ("i.id AS id, i.customer_id AS customer_id, i.document_id AS document_id, "
            "i.salesperson_id AS salesperson_id, i.due_date AS due_date, i.document_date AS document_date, "
            "i.amount AS amount, i.disputed_amount AS disputed")
    cols_open, cols = f"{head}, {x_open} AS x", f"{head}, {x} AS x"
    # a payment plan's new instalment does not exist before the plan (plan_from)
    born = " AND (i.plan_from IS NULL OR i.plan_from <= %s)"
    open_sql = f"""
        SELECT {cols_open} FROM ledger_instalment i
        WHERE i.company_id = %s AND i.open_amount > 0 AND i.document_date <= %s{born}{scope}"""
    closed_arms = [f"""
        SELECT {cols} FROM ledger_instalment i
        WHERE i.company_id = %s AND i.open_amount = 0 AND i.last_allocated_on > %s AND i.document_date <= %s
          AND (i.reversed_on IS NULL OR i.reversed_on > %s){born}{scope}
    """, f"""
        SELECT {cols} FROM ledger_instalment i
        WHERE i.company_id = %s AND i.reversed_on > %s AND i.open_amount = 0
          AND (i.last_allocated_on IS NULL OR i.last_allocated_on <= %s) AND i.document_date <= %s{born}{scope}
    """, f"""
        SELECT {cols} FROM ledger_instalment i
        WHERE i.company_id = %s AND i.replaced_on > %s AND i.open_amount = 0 AND i.reversed_on IS NULL
          AND (i.last_allocated_on IS NULL OR i.last_allocated_on <= %s) AND i.document_date <= %s{born}{scope}
    """]
    xp = [as_of] * 6
    open_params = [*xp[:3], company.pk, as_of, as_of, *scope_params]
    closed_params = [*xp, company.pk, as_of, as_of, as_of, as_of, *scope_params]
    if part == "arms":  # A, B, C, D one by one: [(sql, params), …]
        return [(open_sql, open_params), *((arm, list(closed_params)) for arm in closed_arms)]
    closed_sql = "        UNION ALL".join(closed_arms)
    closed_params = closed_params * len(closed_arms)
    if part == "open":
        return open_sql, open_params
    if part == "closed":
        return closed_sql, closed_params
    return f"{open_sql}\n        UNION ALL{closed_sql}", [*open_params, *closed_params]


def sees_all(user) -> bool:
    """True for roles that see every customer of the company (no scope sub-SELECT needed)."""
    return user is None or (user.is_authenticated and user.is_active and owner_q(user, "owner") == Q())


def fetch(sql: str, params: list) -> list[tuple]:
    """Run one aging statement (PostgreSQL connections run without JIT, see config/settings.py)."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


_GROUP_SQL = {
    # grouped on the instalment's own column; labels are read for the shown page only (_labels)
    "customer": ("t.customer_id", None, ""),
    "salesperson": ("t.salesperson_id", None, ""),
    "team": ("u.team_id", None, "LEFT JOIN accounts_user u ON u.id = t.salesperson_id"),
    "region": ("c.region", "c.region", "JOIN customers_customer c ON c.id = t.customer_id"),
    "group": ("c.group_id", None, "JOIN customers_customer c ON c.id = t.customer_id"),
    "owner": ("c.owner_id", None, "JOIN customers_customer c ON c.id = t.customer_id"),
    "none": ("1", None, ""),
}


def sum_bigint(arg: str, where: str = "") -> str:
    """SQL of the sum of the BIGINT expression ``arg`` (over the rows where ``where`` holds) as a BIGINT, NULL over no
    row. PostgreSQL: ``ledger_sum_bigint`` (migration ledger 0021), whose state is a BIGINT — ``SUM`` keeps a 128-bit
    state per group, which parallel workers serialize for their leader, and returns ``numeric``, cast back here;
    SQLite: ``SUM``, already 64-bit."""
    if connection.vendor == "postgresql":
        return f"ledger_sum_bigint({arg})" + (f" FILTER (WHERE {where})" if where else "")
    return f"CAST(SUM({arg})" + (f" FILTER (WHERE {where})" if where else "") + " AS BIGINT)"


def grouped_sql(*, user, company, as_of: dt.date, buckets: list[Bucket], column: str, group_by: str,
                customer_id: int | None = None, customers: tuple[str, list] | None = None,
                marked: tuple[str, list] | None = None, marked_mode: str = "only") -> tuple[str, list]:
    """SELECT key, label, bucket sums…, total, disputed (integers, minor units) per group, unordered.

    ``customers`` (a sub-SELECT of customer ids and its params) limits it to those customers
    (insight's aggregate recomputes its changed customers with it). ``marked`` (a sub-SELECT of instalment
    ids, e.g. the items financed as of the date) keeps only those instalments (``marked_mode`` "only") or
    leaves them out ("exclude")."""
    # totals on PostgreSQL: summed per date first (totals_by_date_sql)
    if group_by == "none" and connection.vendor == "postgresql":
        return totals_by_date_sql(user=user, company=company, as_of=as_of, buckets=buckets, column=column,
                                  customer_id=customer_id, customers=customers, marked=marked, marked_mode=marked_mode)

    column = f"t.{column}"
    key_sql, label_sql, join = _GROUP_SQL[group_by]
    sums = []
    bucket_params: list = []
    for b in buckets:
        cond = []
        if b.date_from is not None:
            cond.append(f"{column} >= %s")
            bucket_params.append(b.date_from)
        if b.date_to is not None:
            cond.append(f"{column} <= %s")
            bucket_params.append(b.date_to)
        # FILTER, not SUM(CASE … ELSE 0): a row is added to its own bucket only, one aggregate step instead of one
        # per bucket (5–15 % less CPU for the whole statement on PostgreSQL, docs/PERFORMANCE.md)
        sums.append(f"COALESCE({sum_bigint('t.x', ' AND '.join(cond) or '1=1')}, 0) AS b{len(sums)}")
    label_col = f", MIN({label_sql}) AS label" if label_sql else ", NULL AS label"
    # min(disputed, x) per row; rows with nothing disputed add 0 (disputed_amount ≥ 0), unless x < 0
    disputed = (f"COALESCE({sum_bigint('CASE WHEN t.disputed < t.x THEN t.disputed ELSE t.x END',
                                       't.disputed > 0 OR t.x < 0')}, 0) AS disputed")
    where, marked_params = "t.x <> 0", []
    if marked is not None:
        if marked_mode not in ("only", "exclude"):
            raise ValueError("bad marked_mode")
        where += f" AND t.id {'NOT ' if marked_mode == 'exclude' else ''}IN ({marked[0]})"
        marked_params = list(marked[1])
    def grouped(part: str) -> tuple[str, list]:
        inner, params = _base_sql(user=user, company=company, as_of=as_of, customer_id=customer_id,
                                  customers=customers, part=part)
        sql = (f"SELECT {key_sql} AS k{label_col}, {''.join(x + ', ' for x in sums)}{sum_bigint('t.x')} AS total, "
               f"{disputed} FROM ({inner}) t {join} WHERE {where} GROUP BY {key_sql}")
        return sql, bucket_params + params + marked_params

    if group_by != "customer" or connection.vendor != "postgresql":
        return grouped("all")
    # By customer on PostgreSQL: the open instalments (~all the rows) are grouped on their own, read in customer
    # order from ``instalment_open_customer`` (no sort of ~1 M rows; parallel workers may split the scan), the
    # few settled / reversed / replaced after the date on their own, and the two rows of a customer added up by a
    # full join on the customer (a merge of two ordered inputs, integer additions) — not a second GROUP BY over the
    # union, whose numeric sums per customer cost ~130 ms at 100,000 customers (docs/PERFORMANCE.md).
    open_sql, open_params = grouped("open")
    closed_sql, closed_params = grouped("closed")
    cols = [f"b{i}" for i in range(len(sums))] + ["total", "disputed"]
    sql = (f"SELECT COALESCE(o.k, s.k) AS k, NULL AS label, "
           f"{', '.join(f'COALESCE(o.{c}, 0) + COALESCE(s.{c}, 0) AS {c}' for c in cols)} "
           f"FROM ({open_sql}) o FULL JOIN ({closed_sql}) s ON s.k = o.k")
    return sql, open_params + closed_params


def totals_by_date_sql(*, user, company, as_of: dt.date, buckets: list[Bucket], column: str,
                       customer_id: int | None = None, customers: tuple[str, list] | None = None,
                       marked: tuple[str, list] | None = None, marked_mode: str = "only",
                       flow: bool = True) -> tuple[str, list]:
    """The totals row of ``grouped_sql(group_by="none")`` — same columns, same values — summed first per date of the
    bucket column within each part (A, B, C, D of ``_base_sql``: a few hundred dates), then bucketed over those sums.

    Why (PostgreSQL, issue 19): summed row by row into six ``FILTER``ed bucket sums over the four parts' ``UNION ALL``,
    every instalment went through a sub-query scan, an append and eight aggregate filters; here each part is scanned
    by its own aggregate (one hash entry per date: the open amount, the disputed part, the count of rows not zero)
    and the buckets are cut from a few hundred rows (docs/PERFORMANCE.md). A row whose open amount as of the date is
    zero adds nothing to any sum; the count keeps the "no row when nothing is open" of the row-wise statement.

    On PostgreSQL, for the whole company by due date (``flow``, the default), the open amounts per due date come from
    the running sums of ``ledger_agingflow`` instead (``flow_arms``)."""
    if marked is not None and marked_mode not in ("only", "exclude"):
        raise ValueError("bad marked_mode")
    if (flow and connection.vendor == "postgresql" and column == "due_date" and sees_all(user) and customer_id is None
            and customers is None and marked is None):
        arms, params = flow_arms(company=company, as_of=as_of)
        return _totals_over(arms, params, buckets)
    keep, keep_params = "", []
    if marked is not None:
        keep = f" WHERE t.id {'NOT ' if marked_mode == 'exclude' else ''}IN ({marked[0]})"
        keep_params = list(marked[1])
    arms, params = [], []
    for i, (inner, inner_params) in enumerate(_base_sql(user=user, company=company, as_of=as_of,
                                                         customer_id=customer_id, customers=customers, part="arms")):
        # ``t.x`` is written four times below and PostgreSQL evaluates it at each: cheap for the open part (A), whose
        # rows rarely need their allocations summed; the settled part (B: ~1 % of its rows a year back, one function
        # call each) is kept a sub-query (OFFSET 0), so each row's x is computed once
        fence = " OFFSET 0" if i and connection.vendor == "postgresql" else ""
        arms.append(
            f"SELECT t.{column} AS d, SUM(t.x) AS x, "
            f"SUM(CASE WHEN t.disputed < t.x THEN t.disputed ELSE t.x END) FILTER (WHERE t.disputed > 0 OR t.x < 0) "
            f"AS disputed, COUNT(*) FILTER (WHERE t.x <> 0) AS n FROM ({inner}{fence}) t{keep} GROUP BY t.{column}")
        params += [*inner_params, *keep_params]
    return _totals_over(arms, params, buckets)


def _totals_over(arms: list[str], params: list, buckets: list[Bucket]) -> tuple[str, list]:
    """The totals row from ``arms`` of (d: the bucket column's date, x, disputed, n: rows not zero) per date."""
    sums, bucket_params = [], []
    for b in buckets:
        cond = []
        if b.date_from is not None:
            cond.append("u.d >= %s")
            bucket_params.append(b.date_from)
        if b.date_to is not None:
            cond.append("u.d <= %s")
            bucket_params.append(b.date_to)
        sums.append(f"COALESCE(CAST(SUM(u.x) FILTER (WHERE {' AND '.join(cond) or '1=1'}) AS BIGINT), 0) AS b{len(sums)}")
    sql = (f"SELECT 1 AS k, NULL AS label, {''.join(x + ', ' for x in sums)}CAST(SUM(u.x) AS BIGINT) AS total, "
           f"COALESCE(CAST(SUM(u.disputed) AS BIGINT), 0) AS disputed FROM ({' UNION ALL '.join(arms)}) u "
           f"HAVING SUM(u.n) > 0")
    return sql, bucket_params + params


def flow_arms(*, company, as_of: dt.date) -> tuple[list[str], list]:
    """The arms of ``_totals_over`` for the whole company by due date, PostgreSQL: the open amount as of ``as_of``
    per due date summed from ``ledger_agingflow`` (its rows dated ≤ the date: a few thousand, whatever the date), and
    the disputed part computed from the instalments that can have one — those with a disputed amount, and those with
    a reversed allocation (the only ones whose open amount as of a past date can be below zero, which the row-wise
    statement adds to the disputed part as it is) — each read by its index.

    Same row as the row-wise statement: every sum is linear in the rows; a row exists when one instalment is open by
    a non-zero amount as of the date, i.e. when a due date's sum is not zero or one of the instalments read here is
    not zero (the others are never below zero, so they cannot add up to zero unless each is zero)."""
    x = ("i.amount + CASE WHEN i.replaced_on > %s THEN COALESCE(i.replaced_amount, 0) ELSE 0 END "
         "- ledger_allocated_upto(i.id, %s)")
    summed = ("SELECT f.due_date AS d, SUM(f.amount) AS x, NULL::numeric AS disputed, "
              "CASE WHEN SUM(f.amount) <> 0 THEN 1 ELSE 0 END AS n "
              "FROM ledger_agingflow f WHERE f.company_id = %s AND f.day <= %s GROUP BY f.due_date")
    live = (f"SELECT t.d, 0 AS x, SUM(CASE WHEN t.disputed < t.x THEN t.disputed ELSE t.x END) "
            f"FILTER (WHERE t.disputed > 0 OR t.x < 0) AS disputed, COUNT(*) FILTER (WHERE t.x <> 0) AS n "
            f"FROM (SELECT i.due_date AS d, i.disputed_amount AS disputed, {x} AS x FROM ledger_instalment i "
            f"WHERE i.company_id = %s AND i.document_date <= %s AND (i.plan_from IS NULL OR i.plan_from <= %s) "
            f"AND (i.reversed_on IS NULL OR i.reversed_on > %s) AND i.id IN ("
            f"SELECT d.id FROM ledger_instalment d WHERE d.company_id = %s AND d.disputed_amount > 0 UNION "
            f"SELECT a.instalment_id FROM ledger_allocation a WHERE a.company_id = %s AND a.amount < 0) OFFSET 0) t "
            f"GROUP BY t.d")
    return [summed, live], [company.pk, as_of, as_of, as_of, company.pk, as_of, as_of, as_of, company.pk, company.pk]


def compact_flow(*, company) -> int:
    """Merge a company's ``ledger_agingflow`` rows into one per (due date, day), dropping those that add up to zero;
    returns the rows left. Rows written meanwhile by other transactions are not in this statement's snapshot and
    stay as they are (PostgreSQL; nothing to do on SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cur:
        cur.execute("WITH gone AS (DELETE FROM ledger_agingflow WHERE company_id = %s RETURNING due_date, day, amount) "
                    "INSERT INTO ledger_agingflow (company_id, due_date, day, amount) "
                    "SELECT %s, due_date, day, SUM(amount) FROM gone GROUP BY due_date, day HAVING SUM(amount) <> 0",
                    [company.pk, company.pk])
        return cur.rowcount


def aging_report(
    *,
    user,
    company,
    as_of: dt.date,
    basis: str = "due",
    scheme: str = "collections",
    group_by: str = "customer",
    edges: tuple[int, ...] = COLLECTION_EDGES,
    years: tuple[int, ...] = ACCOUNTING_YEARS,
    min_total: Decimal | None = None,
    customer_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    marked: tuple[str, list] | None = None,
    marked_mode: str = "only",
) -> AgingReport:
    """Aging of open instalments as of ``as_of`` (a business date), grouped and bucketed in SQL.

    ``scheme`` "collections" buckets days past due (``basis`` "due") or days since the document date
    (``basis`` "document"); "accounting" buckets 账龄 by years since the document date.
    Rows come largest total first; ``offset``/``limit`` return one page of them (``row_count`` is the
    number of groups, ``totals`` always cover all of them). ``marked``/``marked_mode``: see ``grouped_sql``.
    """
    if group_by not in GROUPS:
        raise ValueError("unknown grouping")
    buckets, column, basis = buckets_for(as_of=as_of, scheme=scheme, basis=basis, edges=edges, years=years)
    sql, params = grouped_sql(user=user, company=company, as_of=as_of, buckets=buckets, column=column,
                              group_by=group_by, customer_id=customer_id, marked=marked, marked_mode=marked_mode)
    n = len(buckets)
    whole = limit is None and not offset and group_by == "customer"
    floor = None if min_total is None else int(min_total * 100)
    if whole:  # every row is shown (XLSX, API without a page size): labels joined, not a 100,000-id IN list
        cols = ", ".join(f"g.b{i}" for i in range(n))
        sql = (f"SELECT g.k, c.code || ' ' || c.name, {cols}, g.total, g.disputed FROM ({sql}) g "
               f"LEFT JOIN {Customer._meta.db_table} c ON c.id = g.k")
    with bulk_objects():
        raw = fetch(f"{sql} ORDER BY {3 + n} DESC, 1", params)  # integers (minor units): cheap to total before any Decimal
        if floor is not None:
            raw = [r for r in raw if (r[2 + n] or 0) >= floor]
        if whole:
            return whole_report(raw, as_of=as_of, basis=basis, scheme=scheme, group_by=group_by, buckets=buckets)
    totals = tuple(from_minor(sum((r[2 + i] or 0) for r in raw)) for i in range(n))
    page = raw[offset: None if limit is None else offset + limit]
    labels = _labels(group_by, [r[0] for r in page])
    rows = [
        AgingRow(key=r[0], label=str(r[1] if r[1] is not None else labels.get(r[0], "")),
                 buckets=tuple(from_minor(v or 0) for v in r[2:2 + n]), total=from_minor(r[2 + n] or 0),
                 disputed=from_minor(r[3 + n] or 0))
        for r in page
    ]
    return AgingReport(as_of=as_of, basis=basis, scheme=scheme, group_by=group_by, buckets=buckets, rows=rows,
                       totals=totals, total=sum(totals, ZERO), row_count=len(raw),
                       disputed=from_minor(sum((r[3 + n] or 0) for r in raw)))


@contextlib.contextmanager
def bulk_objects():
    """Pause Python's cyclic garbage collector while a report's ~100,000 rows of objects are made (none of them in
    a cycle): its collections, triggered every few hundred new tuples, rescan the growing list each time — at
    100,000 customers they cost more than making the rows (0.78 s → 0.26 s of CPU for the Decimal conversion).

    On the way out the objects made meanwhile are moved to the oldest generation at once (``gc.freeze()`` then
    ``gc.unfreeze()``: two list splices, no traversal) instead of being left in the youngest: the first allocation
    after ``gc.enable()`` would otherwise start a collection of everything made meanwhile — ~300,000 row objects,
    their dicts and tuples, 0.12 s of CPU at 100,000 customers, a quarter of the full report's Python time — and
    later ones would traverse them again on their way to the oldest generation (docs/PERFORMANCE.md, issue 19).
    Nothing is lost: objects in a cycle made meanwhile are found by the next full collection. Skipped when some
    objects are frozen already (a pre-forking server may freeze its heap): unfreezing would thaw those too."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def whole_report(raw: list[tuple], *, as_of: dt.date, basis: str, scheme: str, group_by: str,
                 buckets: list[Bucket]) -> AgingReport:
    """An ``AgingReport`` of every row of ``raw`` — (key, label, bucket sums…, total, disputed) in minor units,
    already in the report's order: the column totals are added up as integers, and each figure becomes a
    Decimal once, without a per-row query or model instance (100,000 customers: ~0.3 s of Python)."""
    n = len(buckets)
    cols = list(zip(*raw, strict=True)) or [()] * (n + 4)
    totals = tuple(from_minor(sum(filter(None, cols[2 + i]))) for i in range(n))
    return AgingReport(as_of=as_of, basis=basis, scheme=scheme, group_by=group_by, buckets=buckets,
                       rows=row_objects(raw, n), totals=totals, total=sum(totals, ZERO), row_count=len(raw),
                       disputed=from_minor(sum(filter(None, cols[3 + n]))))


def row_objects(raw, n: int) -> list[AgingRow]:
    """``AgingRow`` of each (key, label, n bucket sums, total, disputed) in minor units, in the order given: one
    conversion call per row (``from_minor_each``), and each frozen row made by setting its fields at once — the
    dataclass's ``__init__`` sets them one by one through ``object.__setattr__``, as much CPU as the Decimals
    (100,000 rows: ~0.25 s of 0.7 s). Equal to ``AgingRow(...)`` in every field (test)."""
    rows = []
    add, conv, new, cls = rows.append, from_minor_each, object.__new__, AgingRow
    for r in raw:
        v = conv(r[2:4 + n])
        row = new(cls)
        row.__dict__.update(key=r[0], label=r[1] or "", buckets=v[:n], total=v[n], extra={}, disputed=v[n + 1])
        add(row)
    return rows


def _labels(group_by: str, keys: list) -> dict:
    from huikuan.accounts.models import Team, User
    from huikuan.customers.models import CustomerGroup

    ids = [k for k in keys if k is not None]
    if group_by == "customer":
        # plain tuples: model instances cost ~6 µs more each (1.1 s instead of 0.45 s CPU for 100,000 customers)
        out = {pk: f"{code} {name}" for pk, code, name in Customer.objects.filter(pk__in=ids).values_list("pk", "code", "name")}
    elif group_by in ("salesperson", "owner"):
        out = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    elif group_by == "team":
        out = {t.pk: t.name for t in Team.objects.filter(pk__in=ids)}
    elif group_by == "group":
        out = {g.pk: g.name for g in CustomerGroup.objects.filter(pk__in=ids)}
    elif group_by == "none":
        out = {1: str(_("All customers"))}
    else:
        out = {}
    out.setdefault(None, str(_("(none)")))
    return out


@dataclass(frozen=True)
class AgingItem:
    instalment_id: int
    document_id: int
    document_number: str
    customer_id: int
    customer_label: str
    document_date: dt.date
    due_date: dt.date
    amount: Decimal
    open_amount: Decimal
    days_past_due: int
    marked: bool = False  # among ``aging_items(marked=…)`` (e.g. financed)


# the drill-down's sortable columns (issue 13): key → SQL expression over the drill's own query
DRILL_ORDER = {
    "document": "d.number", "customer": "c.code", "document_date": "t.document_date", "due": "t.due_date",
    "days": "t.due_date", "amount": "t.amount", "open": "t.x",
}


def _items_where(*, user, company, as_of, bucket, column, group_by, key, marked, marked_mode, counting=False):
    """The drill-down's rows as SQL: (FROM … WHERE … text, its parameters) over the instalments open on ``as_of``
    joined to their document, customer and salesperson (``aging_items``); ``counting``: only the join the group's
    key needs (each instalment has exactly one document and customer, so the count is the same)."""
    inner, params = _base_sql(user=user, company=company, as_of=as_of)
    where = ["t.x <> 0"]
    extra: list = []
    if column not in ("due_date", "document_date"):
        raise ValueError("bad column")
    if bucket is not None:
        if bucket.date_from is not None:
            where.append(f"t.{column} >= %s")
            extra.append(bucket.date_from)
        if bucket.date_to is not None:
            where.append(f"t.{column} <= %s")
            extra.append(bucket.date_to)
    if marked is not None and marked_mode in ("only", "exclude"):
        where.append(f"t.id {'NOT ' if marked_mode == 'exclude' else ''}IN ({marked[0]})")
        extra.extend(marked[1])
    if group_by != "none":
        key_sql = _GROUP_SQL[group_by][0]
        if key is None:
            where.append(f"{key_sql} IS NULL")
        else:
            where.append(f"{key_sql} = %s")
            extra.append(key)
    joins = (_GROUP_SQL[group_by][2] if counting else
             "JOIN ledger_receivabledocument d ON d.id = t.document_id JOIN customers_customer c ON c.id = t.customer_id "
             "LEFT JOIN accounts_user u ON u.id = t.salesperson_id")
    return f"FROM ({inner}) t {joins} WHERE {' AND '.join(where)}", params + extra


def count_aging_items(
    *,
    user,
    company,
    as_of: dt.date,
    cap: int,
    bucket: Bucket | None = None,
    column: str = "due_date",
    group_by: str = "none",
    key=None,
    marked: tuple[str, list] | None = None,
    marked_mode: str | None = None,
) -> int:
    """How many instalments ``aging_items`` would list for the same cell, counted up to ``cap``: without an
    order, so the scan stops at the ``cap``-th row — what an export needs to choose between the file now and
    the worker, at a fraction of reading the first ``cap`` items in order (every open item's amount as of the
    date is computed before an ordered top-N is known)."""
    body, params = _items_where(user=user, company=company, as_of=as_of, bucket=bucket, column=column,
                                group_by=group_by, key=key, marked=marked, marked_mode=marked_mode, counting=True)
    rows = fetch(f"SELECT COUNT(*) FROM (SELECT 1 {body} LIMIT %s) capped", [*params, int(cap)])
    return int(rows[0][0])


def aging_items(
    *,
    user,
    company,
    as_of: dt.date,
    bucket: Bucket | None = None,
    column: str = "due_date",
    group_by: str = "none",
    key=None,
    limit: int = 500,
    marked: tuple[str, list] | None = None,
    marked_mode: str | None = None,
    order: str = "due",
    descending: bool = False,
) -> list[AgingItem]:
    """The instalments behind one cell of the aging report (drill-down), open amounts as of ``as_of``;
    ``marked`` (a sub-SELECT of instalment ids) flags those items (``AgingItem.marked``), and with
    ``marked_mode`` "only" / "exclude" keeps only them / leaves them out. Sorted by ``order`` (a key of
    ``DRILL_ORDER``; days past due run against the due date), then the instalment id, in one direction."""
    if order not in DRILL_ORDER:
        raise ValueError("bad order")
    body, params = _items_where(user=user, company=company, as_of=as_of, bucket=bucket, column=column,
                                group_by=group_by, key=key, marked=marked, marked_mode=marked_mode)
    direction = "DESC" if descending != (order == "days") else "ASC"
    flag, flag_params = (f"CASE WHEN t.id IN ({marked[0]}) THEN 1 ELSE 0 END", list(marked[1])) if marked else ("0", [])
    sql = (
        f"SELECT t.id, t.document_id, d.number, c.id, c.code || ' ' || c.name, t.document_date, t.due_date, t.amount, t.x, "
        f"{flag} {body} ORDER BY {DRILL_ORDER[order]} {direction}, t.id {direction} LIMIT %s"
    )
    rows = fetch(sql, flag_params + params + [limit])
    out = []
    for r in rows:
        due = r[6] if isinstance(r[6], dt.date) else dt.date.fromisoformat(r[6])
        doc_date = r[5] if isinstance(r[5], dt.date) else dt.date.fromisoformat(r[5])
        out.append(AgingItem(r[0], r[1], r[2], r[3], r[4], doc_date, due, from_minor(r[7]), from_minor(r[8]),
                             max(0, (as_of - due).days), bool(r[9])))
    return out


def marked_totals(*, user, company, as_of: dt.date, group_by: str, marked: tuple[str, list],
                  customers: tuple[str, list] | None = None) -> dict:
    """Open-as-of total of the ``marked`` instalments per group key (Decimal), and under ``"*"`` their grand
    total: the "financed" column of the aging report. ``customers`` narrows the scan to the customers that have
    marked items (cheap when few are)."""
    if group_by not in GROUPS:
        raise ValueError("unknown grouping")
    sql, params = grouped_sql(user=user, company=company, as_of=as_of, buckets=[], column="due_date",
                              group_by=group_by, customers=customers, marked=marked, marked_mode="only")
    out = {r[0]: from_minor(r[2] or 0) for r in fetch(sql, params)}
    out["*"] = sum(out.values(), ZERO)
    return out
