"""KPIs from stored facts — the same figures as the live statements of ``insight.kpis``, exact to the fen.

Every stored aging date (``insight.past``: an ``AgingBuild`` of date X) also stores, per customer and
salesperson, the *facts* the KPIs sum (``KpiFact``), and their sums per salesperson (rows with no customer):

* flows over X's month up to X: credit sales by document date (every invoice and charge, whatever became
  of it later), instalments falling due (not those due before their own document date), and allocations
  by their date (collected, written off, on time, Σ fen × days to pay, Σ fen × days late);
* the open AR as of X and its not-yet-due part.

Flows over a range of days are then differences of sums: the flows of [S, E] are, month by month, the
facts of the build at the month's last day in the range, less those of the build at S − 1 for the first
month when S is not its first day. What depends on the period's end is not stored but added live from
small partial indexes: documents reversed by the end are taken out of credit sales, instalments of
documents reversed by the end out of "due", and instalments due before their document date added.

Exactness after the build is that of the stored aging: a change that can alter the facts of date X (an
instalment inserted — its document date is ≤ the dates it counts at —, an allocation or reversal dated on
or before X, a changed due date or amount) leaves a mark with ``since ≤ X`` the build did not see, and a read
takes such customers' stored rows out and recomputes them live (``past.unseen_sql``). The salesperson of an
instalment or document is never changed after posting, so it is not watched.

A report uses the builds of S − 1, of E and of the month ends between them (and of the 12 month ends of the
countback); S − 1 and E are built on their first view (like a past date's aging, ``past.current_build``, today
included: the marks keep a build of today exact as the day goes on), the daily job keeps the last 12 month
ends and yesterday, and a month end with no build is summed live. Without a build of E or S − 1 (PostgreSQL:
inside a caller's transaction) the report is computed live (``insight.kpis``).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from huikuan.common import clock
from huikuan.ledger import aging as ledger_aging
from huikuan.ledger.aging import _base_sql, fetch

from . import kpi_calc
from .models import AgingBuild, KpiFact

FIELDS = ("billed", "due", "collected", "written_off", "on_time", "days_to_pay", "days_late", "ar", "current")
N = len(FIELDS)
BILLED, DUE, AR, CURRENT = 0, 1, 7, 8
FLOWS = 7  # the first seven are flows (additive over days); ar and current are as of the date
TABLE = KpiFact._meta.db_table


def _days(later: str, earlier: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _in(col: str, customers: tuple[str, list] | None) -> tuple[str, list]:
    return ("", []) if customers is None else (f" AND {col} IN ({customers[0]})", list(customers[1]))


def facts_sql(*, company, start: dt.date, end: dt.date, ar_as_of: dt.date | None = None,
              customers: tuple[str, list] | None = None) -> tuple[str, list]:
    """SELECT c (customer), s (salesperson), f0…f8 (``FIELDS``, fen) per customer and salesperson: the flows
    of [start, end] and, with ``ar_as_of``, the open AR as of that date; ``customers`` (a sub-SELECT of ids
    and its params) limits it to those customers."""
    zero = lambda n: "".join(", 0" for _i in range(n))  # noqa: E731
    parts, params = [], []
    scope, sp = _in("d.customer_id", customers)
    parts.append(f"SELECT d.customer_id AS c, d.salesperson_id AS s, d.total_amount AS f0"
                 f"{''.join(f', 0 AS f{i}' for i in range(1, N))} FROM ledger_receivabledocument d "
                 f"WHERE d.company_id = %s AND d.kind IN ('invoice', 'charge') AND d.document_date >= %s "
                 f"AND d.document_date <= %s{scope}")
    params += [company.pk, start, end, *sp]
    scope, sp = _in("i.customer_id", customers)
    parts.append(f"SELECT i.customer_id, i.salesperson_id, 0, i.amount{zero(N - 2)} FROM ledger_instalment i "
                 f"WHERE i.company_id = %s AND i.due_date >= %s AND i.due_date <= %s "
                 f"AND i.due_date >= i.document_date{scope}")
    params += [company.pk, start, end, *sp]
    scope, sp = _in("a.customer_id", customers)
    paid_on = "COALESCE(o.date, a.date)"  # a reversal row carries the lateness of what it undoes
    pay = "cr.kind = 'payment'"
    parts.append(
        f"SELECT i.customer_id, i.salesperson_id, 0, 0, CASE WHEN {pay} THEN a.amount ELSE 0 END, "
        f"CASE WHEN cr.kind = 'write_off' THEN a.amount ELSE 0 END, "
        f"CASE WHEN {pay} AND {paid_on} <= i.due_date THEN a.amount ELSE 0 END, "
        f"CASE WHEN {pay} THEN a.amount * {_days(paid_on, 'i.document_date')} ELSE 0 END, "
        f"CASE WHEN {pay} AND {paid_on} > i.due_date THEN a.amount * {_days(paid_on, 'i.due_date')} ELSE 0 END, "
        f"0, 0 FROM ledger_allocation a JOIN ledger_credit cr ON cr.id = a.credit_id "
        f"JOIN ledger_instalment i ON i.id = a.instalment_id LEFT JOIN ledger_allocation o ON o.id = a.reverses_id "
        f"WHERE a.company_id = %s AND a.date >= %s AND a.date <= %s AND cr.kind IN ('payment', 'write_off'){scope}")
    params += [company.pk, start, end, *sp]
    if ar_as_of is not None:
        inner, ip = _base_sql(user=None, company=company, as_of=ar_as_of, customers=customers)
        parts.append(f"SELECT t.customer_id, t.salesperson_id{zero(FLOWS)}, t.x, "
                     f"CASE WHEN t.due_date >= %s THEN t.x ELSE 0 END FROM ({inner}) t")
        params += [ar_as_of, *ip]
    sums = ", ".join(f"CAST(SUM(u.f{i}) AS BIGINT) AS f{i}" for i in range(N))
    return f"SELECT u.c AS c, u.s AS s, {sums} FROM ({' UNION ALL '.join(parts)}) u GROUP BY u.c, u.s", params


def store(b: AgingBuild, company) -> None:
    """Write build ``b``'s facts (inside the build's transaction, so they share its snapshot)."""
    cols = ", ".join(FIELDS)
    sql, params = facts_sql(company=company, start=b.as_of.replace(day=1), end=b.as_of, ar_as_of=b.as_of)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {TABLE} (build_id, customer_id, salesperson_id, {cols}) "
                    f"SELECT %s, g.c, g.s, {', '.join(f'g.f{i}' for i in range(N))} FROM ({sql}) g", [b.pk, *params])
        cur.execute(f"INSERT INTO {TABLE} (build_id, customer_id, salesperson_id, {cols}) "
                    f"SELECT build_id, NULL, salesperson_id, {', '.join(f'SUM({c})' for c in FIELDS)} FROM {TABLE} "
                    f"WHERE build_id = %s AND customer_id IS NOT NULL GROUP BY build_id, salesperson_id", [b.pk])
    AgingBuild.objects.filter(pk=b.pk).update(kpi_facts=True)
    b.kpi_facts = True


def drop(cur, marks: str, ids: list[int]) -> None:
    cur.execute(f"DELETE FROM {TABLE} WHERE build_id IN ({marks})", ids)


# ---------------------------------------------------------------- reading


def _key(group_by: str, sp: str, cust: str) -> tuple[str, str]:
    from .kpis import _key_join

    return _key_join(group_by, sp, cust)


def _list(ids) -> tuple[str, list]:
    ids = sorted(ids)
    return ", ".join(["%s"] * len(ids)), ids


def _unseen(builds: list[AgingBuild]) -> dict[int, set[int]]:
    """{build id: customers changed since it, for its date} — one statement for all builds."""
    from .past import unseen_sql

    parts, params = [], []
    for b in builds:
        sql, p = unseen_sql(b)
        parts.append(f"SELECT {int(b.pk)}, customer_id FROM ({sql}) u{b.pk}")
        params += p
    out: dict[int, set[int]] = {b.pk: set() for b in builds}
    if parts:
        for bid, cid in fetch(" UNION ALL ".join(parts), params):
            out[bid].add(cid)
    return out


class Unavailable(Exception):
    """The stored facts cannot serve this report (the caller computes it live)."""


def _builds(company, dates: set[dt.date], must: set[dt.date]) -> dict[dt.date, AgingBuild]:
    """The builds of ``dates`` that have facts; those of ``must`` built now when missing, made before the
    facts existed, or stale (``past.current_build``)."""
    from . import past

    found = {b.as_of: b for b in AgingBuild.objects.filter(company=company, as_of__in=dates, kpi_facts=True)}
    for day in sorted(must):
        if not past.can_build():
            if day not in found:
                raise Unavailable
            continue
        if day not in found and AgingBuild.objects.filter(company=company, as_of=day).exists():
            b = past.build(company=company, as_of=day, replace=True)  # stored before KPI facts existed
        else:
            b = past.current_build(company=company, as_of=day)
        if b is None or not b.kpi_facts:
            raise Unavailable
        found[day] = b
    return found


def read(*, user, company, period, group_by: str, countback_months: int):
    """(per key: [ar_begin, ar_end, current_end, billed, due, collected, written_off, on_time, days_to_pay,
    days_late], per key: {month index: billed}) in fen, or raise ``Unavailable``."""
    today = clock.today(company)
    start, end = period.start, period.end
    if end > today:
        raise Unavailable
    before = start - dt.timedelta(days=1)
    months = kpi_calc.months_back(end, countback_months)
    # the flows of the period: per month, + build at the month's last day in it, − build at S − 1 (first month)
    segments: list[tuple[dt.date, dt.date]] = []
    day = start
    while day <= end:
        last = min(end, kpi_calc.month_end(day))
        segments.append((day, last))
        day = last + dt.timedelta(days=1)
    wanted = {end, before} | {b for _a, b in segments} | {b for _a, b in months}
    for _attempt in range(3):
        builds = _builds(company, wanted, {end, before})
        result = _read(user=user, company=company, builds=builds, segments=segments, months=months, end=end,
                       before=before, group_by=group_by)
        used = {b.pk for b in builds.values()}
        if AgingBuild.objects.filter(pk__in=used).count() == len(used):  # none replaced or dropped meanwhile
            return result
    raise Unavailable


def _read(*, user, company, builds, segments, months, end, before, group_by):
    scoped = not ledger_aging.sees_all(user)
    visible = ledger_aging.scope_sql(user, company) if scoped else None
    rollup = not scoped and group_by in ("none", "salesperson", "team")
    # roles of each build: weight in the flows, ar_end, ar_begin, countback month index
    flows: dict[dt.date, int] = {}
    live: list[tuple[dt.date, dt.date]] = []
    for a, b in segments:
        if b in builds:
            flows[b] = flows.get(b, 0) + 1
            if a.day != 1:
                flows[before] = flows.get(before, 0) - 1  # a == start: before is S − 1, in the same month
        else:
            live.append((a, b))
    by_date = {d: builds[d] for d in {*flows, end, before, *(b for _a, b in months if b in builds)}}
    unseen = _unseen(list(by_date.values()))
    if scoped and any(unseen.values()):
        every = set().union(*unseen.values())
        marks, ids = _list(every)
        ok = {r[0] for r in fetch(f"SELECT c.id FROM customers_customer c WHERE c.id IN ({marks}) "
                                  f"AND c.id IN ({visible[0]})", [*ids, *visible[1]])}
        unseen = {k: v & ok for k, v in unseen.items()}
    per_build: dict[int, dict] = {b.pk: {} for b in by_date.values()}

    def add(target: dict, key, vec, sign=1):
        cur = target.setdefault(key, [0] * N)
        for i in range(N):
            cur[i] += sign * (vec[i] or 0)

    # 1. stored rows of every build (sums per salesperson, or customers' rows for a scope or a customer grouping)
    key_sql, join = _key("none" if group_by == "none" else group_by, "f.salesperson_id", "f.customer_id")
    bmarks, bids = _list(b.pk for b in by_date.values())
    where = "f.customer_id IS NULL" if rollup else "f.customer_id IS NOT NULL"
    params = list(bids)
    if scoped:
        where += f" AND f.customer_id IN ({visible[0]})"
        params += visible[1]
    # combined in SQL by each build's role (one row per group, whatever the number of dates): ar at S − 1,
    # ar and current at E, the flows weighted ±1, credit sales of each countback month
    out: dict = {}  # key: [ar_begin, ar_end, current_end, flows…]
    per_month: dict = {}

    def slot(key):
        return out.setdefault(key, [0] * (3 + FLOWS))

    weight = "CASE f.build_id " + " ".join(f"WHEN {int(by_date[d].pk)} THEN {int(w)}" for d, w in flows.items()) + \
        " ELSE 0 END" if flows else "0"
    stored_months = [(mi, by_date[b].pk) for mi, (_a, b) in enumerate(months) if b in by_date]
    cols = [f"CAST(SUM(CASE WHEN f.build_id = {int(by_date[before].pk)} THEN f.ar ELSE 0 END) AS BIGINT)",
            f"CAST(SUM(CASE WHEN f.build_id = {int(by_date[end].pk)} THEN f.ar ELSE 0 END) AS BIGINT)",
            f"CAST(SUM(CASE WHEN f.build_id = {int(by_date[end].pk)} THEN f.current ELSE 0 END) AS BIGINT)",
            *(f"CAST(SUM(f.{c} * {weight}) AS BIGINT)" for c in FIELDS[:FLOWS]),
            *(f"CAST(SUM(CASE WHEN f.build_id = {int(pk)} THEN f.billed ELSE 0 END) AS BIGINT)"
              for _mi, pk in stored_months)]
    for row in fetch(f"SELECT {key_sql}, {', '.join(cols)} FROM {TABLE} f{join} WHERE f.build_id IN ({bmarks}) "
                     f"AND {where} GROUP BY {key_sql}", params):
        key = _norm(group_by, row[0])
        s = slot(key)
        for i in range(3 + FLOWS):
            s[i] += row[1 + i] or 0
        if stored_months:
            pm = per_month.setdefault(key, {})
            for j, (mi, _pk) in enumerate(stored_months):
                pm[mi] = pm.get(mi, 0) + (row[4 + FLOWS + j] or 0)
    cols = ", ".join(f"CAST(SUM(f.{c}) AS BIGINT)" for c in FIELDS)
    # 2. customers changed since a build: their stored rows out, recomputed live in
    for b in by_date.values():
        changed = unseen[b.pk]
        if not changed:
            continue
        marks, ids = _list(changed)
        for row in fetch(f"SELECT {key_sql}, {cols} FROM {TABLE} f{join} WHERE f.build_id = %s "
                         f"AND f.customer_id IN ({marks}) GROUP BY {key_sql}", [b.pk, *ids]):
            add(per_build[b.pk], _norm(group_by, row[0]), row[1:], -1)
        sql, p = facts_sql(company=company, start=b.as_of.replace(day=1), end=b.as_of, ar_as_of=b.as_of,
                           customers=(marks, ids))
        for key, vec in _grouped(sql, p, group_by):
            add(per_build[b.pk], key, vec)
    # 3. months of the period with no build: summed live
    live_flows: dict = {}
    for a, b in live:
        sql, p = facts_sql(company=company, start=a, end=b, customers=visible)
        for key, vec in _grouped(sql, p, group_by):
            add(live_flows, key, vec)

    # the changed customers' corrections, by the same roles
    for key, vec in per_build[by_date[before].pk].items():
        slot(key)[0] += vec[AR]
    for key, vec in per_build[by_date[end].pk].items():
        slot(key)[1] += vec[AR]
        slot(key)[2] += vec[CURRENT]
    for day, w in flows.items():
        for key, vec in per_build[by_date[day].pk].items():
            s = slot(key)
            for i in range(FLOWS):
                s[3 + i] += w * vec[i]
    for key, vec in live_flows.items():
        s = slot(key)
        for i in range(FLOWS):
            s[3 + i] += vec[i]
    live_months = []
    for mi, (a, b) in enumerate(months):
        if b in by_date:
            for key, vec in per_build[by_date[b].pk].items():
                pm = per_month.setdefault(key, {})
                pm[mi] = pm.get(mi, 0) + vec[BILLED]
        else:
            live_months.append((mi, a, b))
    if live_months:
        _live_billed(company=company, visible=visible, group_by=group_by, months=live_months, per_month=per_month)
    _corrections(company=company, visible=visible, group_by=group_by, start=segments[0][0], end=end,
                 months=months, out=out, per_month=per_month, slot=slot)
    return out, per_month


def _norm(group_by: str, key):
    return 1 if group_by == "none" else key


def _grouped(sql: str, params: list, group_by: str):
    key_sql, join = _key(group_by, "g.s", "g.c")
    cols = ", ".join(f"CAST(SUM(g.f{i}) AS BIGINT)" for i in range(N))
    for row in fetch(f"SELECT {key_sql}, {cols} FROM ({sql}) g{join} GROUP BY {key_sql}", params):
        yield _norm(group_by, row[0]), row[1:]


def _live_billed(*, company, visible, group_by, months, per_month) -> None:
    """Credit sales (gross, as stored) of countback months with no build, per month, in one statement."""
    key_sql, join = _key(group_by, "d.salesperson_id", "d.customer_id")
    scope, sp = _in("d.customer_id", visible)
    case = " ".join(f"WHEN d.document_date >= %s AND d.document_date <= %s THEN {mi}" for mi, _a, _b in months)
    case_params = [x for _mi, a, b in months for x in (a, b)]
    first, last = min(a for _mi, a, _b in months), max(b for _mi, _a, b in months)
    for key, mi, total in fetch(
            f"SELECT {key_sql}, CASE {case} ELSE -1 END, CAST(SUM(d.total_amount) AS BIGINT) "
            f"FROM ledger_receivabledocument d{join} WHERE d.company_id = %s AND d.kind IN ('invoice', 'charge') "
            f"AND d.document_date >= %s AND d.document_date <= %s{scope} GROUP BY {key_sql}, CASE {case} ELSE -1 END",
            [*case_params, company.pk, first, last, *sp, *case_params]):
        if mi is not None and mi >= 0:
            pm = per_month.setdefault(_norm(group_by, key), {})
            pm[mi] = pm.get(mi, 0) + (total or 0)


def _corrections(*, company, visible, group_by, start, end, months, out, per_month, slot) -> None:
    """What depends on the period's end, live from partial indexes: documents reversed by the end out of
    credit sales (period and countback months), instalments of documents reversed by the end out of "due",
    instalments due before their own document date (never stored) in."""
    key_sql, join = _key(group_by, "d.salesperson_id", "d.customer_id")
    scope, sp = _in("d.customer_id", visible)
    first = min([start, *(a for a, _b in months)])
    case = " ".join(f"WHEN d.document_date >= %s AND d.document_date <= %s THEN {mi}" for mi, (_a, _b) in
                    enumerate(months))
    case_params = [x for a, b in months for x in (a, b)]
    month_sql = f"CASE {case} ELSE -1 END" if months else "-1"
    for key, mi, in_period, total in fetch(
            f"SELECT {key_sql}, {month_sql}, CAST(SUM(CASE WHEN d.document_date >= %s THEN d.total_amount ELSE 0 END) "
            f"AS BIGINT), CAST(SUM(d.total_amount) AS BIGINT) FROM ledger_receivabledocument d{join} "
            f"WHERE d.id IN (SELECT r.document_id FROM ledger_instalment r WHERE r.company_id = %s "
            f"AND r.reversed_on IS NOT NULL AND r.reversed_on <= %s AND r.document_date >= %s "
            f"AND r.document_date <= %s) AND d.company_id = %s AND d.status <> 'posted' "
            f"AND d.kind IN ('invoice', 'charge') AND d.document_date >= %s AND d.document_date <= %s{scope} "
            f"GROUP BY {key_sql}, {month_sql}",
            [*case_params, start, company.pk, end, first, end, company.pk, first, end, *sp, *case_params]):
        key = _norm(group_by, key)
        slot(key)[3 + BILLED] -= in_period or 0
        if mi is not None and mi >= 0:
            pm = per_month.setdefault(key, {})
            pm[mi] = pm.get(mi, 0) - (total or 0)
    key_sql, join = _key(group_by, "i.salesperson_id", "i.customer_id")
    scope, sp = _in("i.customer_id", visible)
    for key, total in fetch(
            f"SELECT {key_sql}, CAST(SUM(i.amount) AS BIGINT) FROM ledger_instalment i{join} "
            f"WHERE i.company_id = %s AND i.reversed_on IS NOT NULL AND i.reversed_on <= %s AND i.due_date >= %s "
            f"AND i.due_date <= %s AND i.due_date >= i.document_date{scope} GROUP BY {key_sql}",
            [company.pk, end, start, end, *sp]):
        slot(_norm(group_by, key))[3 + DUE] -= total or 0
    for key, total in fetch(
            f"SELECT {key_sql}, CAST(SUM(i.amount) AS BIGINT) FROM ledger_instalment i{join} "
            f"WHERE i.company_id = %s AND i.due_date < i.document_date AND i.due_date >= %s AND i.due_date <= %s "
            f"AND i.document_date <= %s AND (i.reversed_on IS NULL OR i.reversed_on > %s){scope} GROUP BY {key_sql}",
            [company.pk, start, end, end, end, *sp]):
        slot(_norm(group_by, key))[3 + DUE] += total or 0


# ---------------------------------------------------------------- the trend (month by month)


def trend(*, user, company, spans: list[tuple[dt.date, dt.date]]) -> dict[int, tuple[int, int, int, int]]:
    """The KPI trend's monthly figures from the stored dates: {index of ``spans``: (open AR at the span's end,
    its not-yet-due part, credit sales in the span, payments applied in it)} in fen, or raise ``Unavailable``.

    ``spans`` are ``kpi_calc.months_back(end, n)``: whole months, the latest cut at ``end``; each starts on a
    month's first day, so its flows are exactly the facts of the build of its last day. Credit sales are
    those not reversed by ``end`` (as the live trend counts them): documents reversed by then are taken out
    live from the partial index of reversed instalments. A month end with no build (older than the daily
    job's twelve, or a build made for the aging page without facts) is built on this first view and kept
    like any past date; customers changed since a build are read live through its marks."""
    today = clock.today(company)
    end = spans[0][1]
    if end > today:
        raise Unavailable
    dates = {b for _a, b in spans}
    have = set(AgingBuild.objects.filter(company=company, as_of__in=dates, kpi_facts=True)
               .values_list("as_of", flat=True))
    for _attempt in range(3):
        builds = _builds(company, dates, {end} | (dates - have))
        result = _read_trend(user=user, company=company, builds=builds, spans=spans)
        used = {b.pk for b in builds.values()}
        if AgingBuild.objects.filter(pk__in=used).count() == len(used):  # none replaced or dropped meanwhile
            return result
        have = set()
    raise Unavailable


def _read_trend(*, user, company, builds: dict[dt.date, AgingBuild], spans) -> dict[int, tuple[int, int, int, int]]:
    scoped = not ledger_aging.sees_all(user)
    visible = ledger_aging.scope_sql(user, company) if scoped else None
    unseen = _unseen(list(builds.values()))
    if scoped and any(unseen.values()):
        every = set().union(*unseen.values())
        marks, ids = _list(every)
        ok = {r[0] for r in fetch(f"SELECT c.id FROM customers_customer c WHERE c.id IN ({marks}) "
                                  f"AND c.id IN ({visible[0]})", [*ids, *visible[1]])}
        unseen = {k: v & ok for k, v in unseen.items()}
    picked = ("ar", "current", "billed", "collected")
    cols = ", ".join(f"CAST(SUM(f.{c}) AS BIGINT)" for c in picked)
    # 1. the stored sums of every build in one statement (per salesperson rows, or the visible customers' rows)
    bmarks, bids = _list(b.pk for b in builds.values())
    where, params = ("f.customer_id IS NULL", list(bids)) if not scoped else (
        f"f.customer_id IS NOT NULL AND f.customer_id IN ({visible[0]})", [*bids, *visible[1]])
    per_build = {b.pk: [0, 0, 0, 0] for b in builds.values()}
    for bid, *vec in fetch(f"SELECT f.build_id, {cols} FROM {TABLE} f WHERE f.build_id IN ({bmarks}) AND {where} "
                           f"GROUP BY f.build_id", params):
        per_build[bid] = [v or 0 for v in vec]
    # 2. customers changed since a build: their stored rows out, recomputed live in
    live_cols = ", ".join(f"CAST(SUM(g.f{FIELDS.index(c)}) AS BIGINT)" for c in picked)
    for b in builds.values():
        changed = unseen[b.pk]
        if not changed:
            continue
        marks, ids = _list(changed)
        (out,) = fetch(f"SELECT {cols} FROM {TABLE} f WHERE f.build_id = %s AND f.customer_id IN ({marks})",
                       [b.pk, *ids])
        sql, p = facts_sql(company=company, start=b.as_of.replace(day=1), end=b.as_of, ar_as_of=b.as_of,
                           customers=(marks, ids))
        (back,) = fetch(f"SELECT {live_cols} FROM ({sql}) g", p)
        per_build[b.pk] = [v + (n or 0) - (o or 0) for v, o, n in zip(per_build[b.pk], out, back, strict=True)]
    result = {}
    for i, (_a, b) in enumerate(spans):
        ar, current, billed, collected = per_build[builds[b].pk]
        result[i] = [ar, current, billed, collected]
    # 3. credit sales reversed by the trend's end, out of their month (documents reversed: partial index)
    end, first = spans[0][1], spans[-1][0]
    scope, sp = _in("d.customer_id", visible)
    case = " ".join(f"WHEN d.document_date >= %s THEN {i}" for i in range(len(spans)))
    starts = [a for a, _b in spans]
    for mi, total in fetch(
            f"SELECT CASE {case} ELSE -1 END, CAST(SUM(d.total_amount) AS BIGINT) FROM ledger_receivabledocument d "
            f"WHERE d.id IN (SELECT r.document_id FROM ledger_instalment r WHERE r.company_id = %s "
            f"AND r.reversed_on IS NOT NULL AND r.reversed_on <= %s AND r.document_date >= %s "
            f"AND r.document_date <= %s) AND d.company_id = %s AND d.status <> 'posted' "
            f"AND d.kind IN ('invoice', 'charge') AND d.document_date >= %s AND d.document_date <= %s{scope} "
            f"GROUP BY CASE {case} ELSE -1 END",
            [*starts, company.pk, end, first, end, company.pk, first, end, *sp, *starts]):
        if mi is not None and mi >= 0:
            result[mi][2] -= total or 0
    return {i: tuple(v) for i, v in result.items()}
