"""Early warnings (风险预警): rules the company switches on and tunes, raised set-wise in SQL once per cause.

Each rule is one SELECT over the ledger (no Python loop over ledger rows) yielding one row per cause (customer,
key, amount in fen, figure, ref), computed once per run into a temporary table (``stage_causes``); from it one
UPDATE with an anti-join resolves the warnings whose cause ended (``resolve_ended``) and one
``INSERT … SELECT … ON CONFLICT DO NOTHING`` raises the new ones (``_insert``), which adds the
routing (owner = the customer's salesperson; the owner's manager — their ``manager`` or their team's
manager — when the rule's severity is high) and the unique constraint ``(company, kind, key)`` makes a
rerun of the same day, or of any later day while the cause lasts, raise nothing new. The key names the
object and the cause period:

=================  =====================================================  ==============================
rule               raised when                                            key (one warning per …)
=================  =====================================================  ==============================
score_drop         the latest score (last 31 days) fell ≥ N points        score snapshot
grade_change       the latest score's grade differs and the score fell    score snapshot
overdue_amount     a customer's overdue ≥ amount                          customer and month
overdue_days       the oldest overdue instalment is ≥ N days late         customer and that due date
limit_use          open receivables ≥ N % of the credit limit             customer and month
broken_promise     a promise broken (or open N days past its date)        promise
paying_later       oldest overdue days > own habit (12 months) + N days   customer and that due date
concentration      one customer ≥ N % of the company's receivables        customer and month
dso_trend          last month's DSO ≥ N days above the month before       owner (or company) and month
bill_maturity      an acceptance bill we hold matures within N days       bill
limitation         an item's limitation date (诉讼时效) within N days      customer and its earliest start
review_overdue     the credit review date passed N days ago               credit profile and review date
=================  =====================================================  ==============================

Overdue and open amounts are the instalments' current open amounts (the daily job runs for today); dates
in the rules are relative to ``as_of``. Amounts are exact (fen, BIGINT); percentages compare in integer
basis points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.accounts.scoping import owner_q
from huikuan.common import audit
from huikuan.common.errors import DomainError
from huikuan.common.money import from_minor, to_minor

from . import kpi_calc
from .commission import BILL_METHODS
from .kpis import _days
from .models import EarlyWarning, Severity, WarningDigest, WarningKind, WarningRule, WarningStatus

SCORE_WINDOW = 31  # days: only a score taken this recently raises a score warning
PROMISE_WINDOW = 365  # days: promises older than this are not raised on a first run
HABIT_DAYS = 365  # the customer's own habit: payments applied in the last year
HABIT_MIN = 3  # … at least this many


@dataclass(frozen=True)
class Spec:
    """What a rule's threshold means: unit, allowed range, default; and the default severity."""

    unit: str  # "amount" | "percent" | "days" | "points" | "" (no threshold)
    low: Decimal | None
    high: Decimal | None
    default: Decimal | None
    severity: str
    help: object


def _d(v) -> Decimal | None:
    return None if v is None else Decimal(v)


SPECS: dict[str, Spec] = {
    WarningKind.SCORE_DROP: Spec("points", _d(1), _d(100), _d(10), Severity.MEDIUM,
                                 gettext_lazy("The latest score is at least this many points below the one before.")),
    WarningKind.GRADE_CHANGE: Spec("", None, None, None, Severity.MEDIUM,
                                   gettext_lazy("The latest score moved the customer to another grade, downwards.")),
    WarningKind.OVERDUE_AMOUNT: Spec("amount", _d("0.01"), _d("1000000000000"), _d(100000), Severity.HIGH,
                                     gettext_lazy("A customer's overdue receivables reach this amount (once a month).")),
    WarningKind.OVERDUE_DAYS: Spec("days", _d(1), _d(3650), _d(60), Severity.MEDIUM,
                                   gettext_lazy("A customer's oldest overdue instalment is this many days late.")),
    WarningKind.LIMIT_USE: Spec("percent", _d(1), _d(1000), _d(90), Severity.MEDIUM,
                                gettext_lazy("Open receivables reach this share of the credit limit (once a month).")),
    WarningKind.BROKEN_PROMISE: Spec("days", _d(0), _d(90), _d(0), Severity.MEDIUM,
                                     gettext_lazy("A promise to pay was broken, or is still unpaid this many days "
                                                  "after its date.")),
    WarningKind.PAYING_LATER: Spec("days", _d(1), _d(365), _d(15), Severity.MEDIUM,
                                   gettext_lazy("The oldest overdue instalment is this many days later than the "
                                                "customer usually pays (its last 12 months).")),
    WarningKind.CONCENTRATION: Spec("percent", _d(1), _d(100), _d(20), Severity.LOW,
                                    gettext_lazy("One customer holds this share of all receivables (once a month).")),
    WarningKind.DSO_TREND: Spec("days", _d(1), _d(365), _d(10), Severity.MEDIUM,
                                gettext_lazy("Last month's DSO is this many days above the month before (company "
                                             "and each salesperson).")),
    WarningKind.BILL_MATURITY: Spec("days", _d(1), _d(365), _d(15), Severity.LOW,
                                    gettext_lazy("An acceptance bill we hold matures within this many days.")),
    WarningKind.LIMITATION: Spec("days", _d(1), _d(730), _d(90), Severity.HIGH,
                                 gettext_lazy("A limitation date (诉讼时效) falls within this many days.")),
    WarningKind.REVIEW_OVERDUE: Spec("days", _d(0), _d(365), _d(0), Severity.LOW,
                                     gettext_lazy("The customer's credit review date passed this many days ago.")),
}
KINDS = list(SPECS)
SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class WarningRuleError(DomainError):
    code = "warning_rule_invalid"

    def __init__(self, message, *, errors: dict[str, str] | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.errors = errors or {}


class WarningActionError(DomainError):
    code = "warning_action_invalid"


class WarningStateError(WarningActionError):
    """The warning is not in a state that allows the action (already resolved or acknowledged)."""

    code = "warning_state"
    status = 409


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleInput:
    kind: str
    enabled: bool
    threshold: Decimal | None
    severity: str


def rules_of(company) -> list[WarningRule]:
    """Every rule of the company in ``KINDS`` order, unsaved defaults for the ones never set."""
    saved = {r.kind: r for r in WarningRule.objects.filter(company=company)}
    return [saved.get(k) or WarningRule(company=company, kind=k, enabled=True, threshold=SPECS[k].default,
                                        severity=SPECS[k].severity) for k in KINDS]


def check_rule(row: RuleInput) -> str | None:
    """The error message of one rule's input, or None."""
    spec = SPECS.get(row.kind)
    if spec is None:
        return _("Unknown option.")
    if row.severity not in Severity.values:
        return _("Unknown option.")
    if not spec.unit:
        return None
    if row.threshold is None:
        return _("Enter a threshold.") if row.enabled else None
    if not row.threshold.is_finite() or row.threshold != row.threshold.quantize(Decimal("0.01")):
        return _("Enter a number with at most two decimals.")
    if spec.unit in ("days", "points") and row.threshold != row.threshold.to_integral_value():
        return _("Enter a whole number.")
    if not (spec.low <= row.threshold <= spec.high):
        return _("Enter a value from %(low)s to %(high)s.") % {"low": number_format(spec.low),
                                                               "high": number_format(spec.high)}
    return None


def parse_threshold(raw: str) -> Decimal | None:
    """A threshold typed by a user (full-width digits, thousands separators and % tolerated); None when empty;
    raises WarningRuleError when it is not a number."""
    import unicodedata

    text = unicodedata.normalize("NFKC", raw or "").strip().replace(",", "").replace("%", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise WarningRuleError(_("Enter a number.")) from exc


@transaction.atomic(durable=True)
def save_rules(*, company, rows: list[RuleInput], actor) -> list[WarningRule]:
    """Save the company's rules all at once. Raises WarningRuleError (``errors`` per kind) and changes nothing
    when any row is invalid: a threshold outside its range, not a number, an unknown severity or rule."""
    errors = {r.kind: msg for r in rows if (msg := check_rule(r))}
    if len({r.kind for r in rows}) != len(rows):
        errors["_"] = _("A rule appears twice.")
    if errors:
        raise WarningRuleError(_("Some rules are not valid; nothing was saved."), errors=errors)
    existing = {r.kind: r for r in WarningRule.objects.select_for_update().filter(company=company)}
    before = {k: [r.enabled, r.threshold, r.severity] for k, r in existing.items()}
    out = []
    for r in rows:
        obj = existing.get(r.kind) or WarningRule(company=company, kind=r.kind)
        obj.enabled, obj.severity, obj.updated_by = r.enabled, r.severity, actor
        obj.threshold = r.threshold if SPECS[r.kind].unit else None
        obj.save()
        out.append(obj)
    audit.record(actor=actor, verb="insight.warning.rules_saved", company_id=company.pk,
                 data={"before": before, "after": {r.kind: [r.enabled, r.threshold, r.severity] for r in out}})
    return out


# ---------------------------------------------------------------- the rules in SQL


@dataclass(frozen=True)
class Ctx:
    company_id: int
    as_of: dt.date
    month: str  # YYYY-MM of as_of: the cause period of the monthly rules


def _open_by_customer(ctx: Ctx, *, overdue: bool) -> tuple[str, list]:
    """Per customer: open (or overdue) amount in fen and the oldest due date of those instalments."""
    cond = " AND due_date < %s" if overdue else ""
    params = [ctx.company_id] + ([ctx.as_of] if overdue else [])
    return (f"SELECT customer_id, SUM(open_amount) AS amount, MIN(due_date) AS oldest FROM ledger_instalment "
            f"WHERE company_id = %s AND open_amount > 0{cond} GROUP BY customer_id", params)


def _cat(*parts: str) -> str:
    return " || ".join(parts)


def _text(expr: str) -> str:
    return f"CAST({expr} AS TEXT)" if connection.vendor == "sqlite" else f"CAST({expr} AS VARCHAR)"


def _sql_score(ctx: Ctx, threshold, grade: bool) -> tuple[str, list]:
    cond = ("a.grade <> b.grade AND a.grade <> '' AND b.grade <> '' AND a.score < b.score" if grade
            else "b.score - a.score >= %s")
    params = [ctx.company_id, ctx.as_of, ctx.as_of - dt.timedelta(days=400), ctx.as_of - dt.timedelta(days=SCORE_WINDOW)]
    sql = f"""
        WITH x AS (SELECT s.id, s.customer_id, s.as_of, s.score, s.grade,
                          ROW_NUMBER() OVER (PARTITION BY s.customer_id ORDER BY s.as_of DESC, s.id DESC) AS rn
                   FROM credit_scoresnapshot s WHERE s.company_id = %s AND s.as_of <= %s AND s.as_of > %s)
        SELECT a.customer_id, {_cat("'s'", _text("a.id"))} AS key, CAST(NULL AS BIGINT) AS amount,
               b.score - a.score AS figure,
               {_cat(_text("b.score"), "'|'", "b.grade", "'|'", _text("a.score"), "'|'", "a.grade")} AS ref
        FROM x a JOIN x b ON b.customer_id = a.customer_id AND b.rn = 2
        WHERE a.rn = 1 AND a.as_of >= %s AND {cond}"""
    return sql, params + ([] if grade else [int(threshold)])


def _sql_overdue_amount(ctx: Ctx, threshold) -> tuple[str, list]:
    inner, params = _open_by_customer(ctx, overdue=True)
    sql = f"""SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", "%s")} AS key, o.amount,
                     CAST(NULL AS NUMERIC) AS figure, '' AS ref
              FROM ({inner}) o WHERE o.amount >= %s"""
    return sql, [ctx.month, *params, to_minor(Decimal(threshold))]


def _sql_overdue_days(ctx: Ctx, threshold) -> tuple[str, list]:
    inner, params = _open_by_customer(ctx, overdue=True)
    sql = f"""SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", _text("o.oldest"))} AS key, o.amount,
                     {_days("%s", "o.oldest")} AS figure, {_text("o.oldest")} AS ref
              FROM ({inner}) o WHERE o.oldest <= %s"""
    return sql, [ctx.as_of, *params, ctx.as_of - dt.timedelta(days=int(threshold))]


def _sql_limit_use(ctx: Ctx, threshold) -> tuple[str, list]:
    inner, params = _open_by_customer(ctx, overdue=False)
    bp = int(Decimal(threshold) * 100)
    sql = f"""SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", "%s")} AS key, o.amount,
                     (o.amount * 10000 / p.limit_amount) / 100.0 AS figure, {_text("p.limit_amount")} AS ref
              FROM ({inner}) o JOIN credit_creditprofile p ON p.customer_id = o.customer_id AND p.company_id = %s
              WHERE p.limit_amount > 0 AND o.amount * 10000 >= p.limit_amount * %s"""
    return sql, [ctx.month, *params, ctx.company_id, bp]


def _sql_concentration(ctx: Ctx, threshold) -> tuple[str, list]:
    inner, params = _open_by_customer(ctx, overdue=False)
    bp = int(Decimal(threshold) * 100)
    sql = f"""SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", "%s")} AS key, o.amount,
                     (o.amount * 10000 / t.total) / 100.0 AS figure, '' AS ref
              FROM ({inner}) o CROSS JOIN (SELECT SUM(open_amount) AS total FROM ledger_instalment
                                           WHERE company_id = %s AND open_amount > 0) t
              WHERE t.total > 0 AND o.amount * 10000 >= t.total * %s"""
    return sql, [ctx.month, *params, ctx.company_id, bp]


def _sql_broken_promise(ctx: Ctx, threshold) -> tuple[str, list]:
    sql = f"""SELECT p.customer_id, {_cat("'p'", _text("p.id"))} AS key,
                     CASE WHEN p.amount > p.paid_amount THEN p.amount - p.paid_amount ELSE p.amount END AS amount,
                     {_days("%s", "p.promised_date")} AS figure, {_text("p.promised_date")} AS ref
              FROM collections_promise p
              WHERE p.company_id = %s AND p.promised_date < %s AND p.promised_date >= %s
                AND (p.status = 'broken' OR (p.status = 'open' AND p.promised_date < %s AND p.paid_amount < p.amount))"""
    return sql, [ctx.as_of, ctx.company_id, ctx.as_of, ctx.as_of - dt.timedelta(days=PROMISE_WINDOW),
                 ctx.as_of - dt.timedelta(days=int(threshold))]


def _sql_paying_later(ctx: Ctx, threshold) -> tuple[str, list]:
    inner, params = _open_by_customer(ctx, overdue=True)
    late = _days("a.date", "i.due_date")
    sql = f"""
        SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", _text("o.oldest"))} AS key, o.amount,
               {_days("%s", "o.oldest")} AS figure, {_text("h.days")} AS ref
        FROM ({inner}) o
        JOIN (SELECT a.customer_id, CAST(SUM(a.amount * CASE WHEN {late} > 0 THEN {late} ELSE 0 END) / SUM(a.amount) AS BIGINT) AS days
              FROM ledger_allocation a
              JOIN ledger_credit cr ON cr.id = a.credit_id AND cr.kind = 'payment'
              JOIN ledger_instalment i ON i.id = a.instalment_id
              WHERE a.company_id = %s AND a.date > %s AND a.date <= %s AND a.amount > 0 AND a.reverses_id IS NULL
                AND NOT EXISTS (SELECT 1 FROM ledger_allocation r WHERE r.reverses_id = a.id)
              GROUP BY a.customer_id HAVING COUNT(*) >= %s) h ON h.customer_id = o.customer_id
        WHERE {_days("%s", "o.oldest")} > h.days + %s"""
    return sql, [ctx.as_of, *params, ctx.company_id, ctx.as_of - dt.timedelta(days=HABIT_DAYS), ctx.as_of, HABIT_MIN,
                 ctx.as_of, int(threshold)]


def _sql_bill_maturity(ctx: Ctx, threshold) -> tuple[str, list]:
    methods = ", ".join(f"'{m}'" for m in BILL_METHODS)
    sql = f"""SELECT cr.customer_id, {_cat("'b'", _text("cr.id"))} AS key, cr.amount,
                     {_days("cr.bill_maturity_date", "%s")} AS figure,
                     {_cat("COALESCE(NULLIF(cr.bill_number, ''), cr.number)", "'|'", _text("cr.bill_maturity_date"))} AS ref
              FROM ledger_credit cr
              WHERE cr.company_id = %s AND cr.method IN ({methods}) AND cr.bill_status = 'received'
                AND cr.status = 'posted' AND cr.bill_maturity_date >= %s AND cr.bill_maturity_date <= %s"""
    return sql, [ctx.as_of, ctx.company_id, ctx.as_of, ctx.as_of + dt.timedelta(days=int(threshold))]


def _sql_limitation(ctx: Ctx, threshold) -> tuple[str, list]:
    """Customers with an open item whose limitation date (诉讼时效, per item as ``collections.limitation``
    computes it: the latest restarting event + 3 years) is within the threshold or has passed; the earliest
    item's start date names the cause, so a restart (a confirmation, a demand, a payment) that moves the date
    out and later back in raises a new warning."""
    from django.db.models import Min, Sum

    from huikuan.collections import limitation as lim

    cutoff = lim.window_start(ctx.as_of + dt.timedelta(days=int(threshold)))
    qs = (lim.with_limitation(lim.open_items_qs(company=ctx.company_id).filter(due_date__lte=cutoff), as_of=ctx.as_of)
          .filter(limitation_from__lte=cutoff).order_by().values("customer_id")
          .annotate(start=Min("limitation_from"), total=Sum("open_amount")))
    inner, params = qs.query.sql_with_params()
    sql = f"""SELECT o.customer_id, {_cat("'c'", _text("o.customer_id"), "':'", _text("o.start"))} AS key, o.total AS amount,
                     CAST(NULL AS NUMERIC) AS figure, {_text("o.start")} AS ref
              FROM ({inner}) o"""
    return sql, list(params)


def _sql_review_overdue(ctx: Ctx, threshold) -> tuple[str, list]:
    sql = f"""SELECT p.customer_id, {_cat("'r'", _text("p.id"), "':'", _text("p.next_review_date"))} AS key,
                     CAST(NULL AS BIGINT) AS amount, {_days("%s", "p.next_review_date")} AS figure, {_text("p.next_review_date")} AS ref
              FROM credit_creditprofile p JOIN customers_customer c ON c.id = p.customer_id
              WHERE p.company_id = %s AND p.next_review_date < %s AND c.status IN ('active', 'suspended')"""
    return sql, [ctx.as_of, ctx.company_id, ctx.as_of - dt.timedelta(days=int(threshold))]


SQL_RULES: dict[str, Callable[[Ctx, Decimal | None], tuple[str, list]]] = {
    WarningKind.SCORE_DROP: lambda ctx, t: _sql_score(ctx, t, grade=False),
    WarningKind.GRADE_CHANGE: lambda ctx, t: _sql_score(ctx, t, grade=True),
    WarningKind.OVERDUE_AMOUNT: _sql_overdue_amount,
    WarningKind.OVERDUE_DAYS: _sql_overdue_days,
    WarningKind.LIMIT_USE: _sql_limit_use,
    WarningKind.BROKEN_PROMISE: _sql_broken_promise,
    WarningKind.PAYING_LATER: _sql_paying_later,
    WarningKind.CONCENTRATION: _sql_concentration,
    WarningKind.BILL_MATURITY: _sql_bill_maturity,
    WarningKind.LIMITATION: _sql_limitation,
    WarningKind.REVIEW_OVERDUE: _sql_review_overdue,
}


# Rules whose cause can end, and how a cause is matched against today's: by customer (the customer is no
# longer among today's causes: its overdue paid or under the amount, limit use back under the share, …) or by
# key (the review was done: the profile's review date moved). The others are events (a score taken, a promise
# broken, a bill near maturity, a month's DSO): they stay until a person acknowledges or resolves them.
ENDS_BY_CUSTOMER = (WarningKind.OVERDUE_AMOUNT, WarningKind.OVERDUE_DAYS, WarningKind.LIMIT_USE,
                    WarningKind.CONCENTRATION, WarningKind.PAYING_LATER, WarningKind.LIMITATION)
ENDS_BY_KEY = (WarningKind.REVIEW_OVERDUE,)


CAUSES = "hk_warning_cause"  # the run's temporary table: one rule's causes at a time


def _create_causes() -> None:
    """The run's temporary table of causes, indexed by customer and key (dropped at commit on PostgreSQL, by
    ``_drop_causes`` on SQLite). Each rule's causes are computed into it once, then both the automatic
    resolution (an anti-join) and the raising (an INSERT … SELECT) read it."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.{CAUSES}")
        cur.execute(f"CREATE TEMPORARY TABLE {CAUSES} (customer_id BIGINT, key VARCHAR(80), amount BIGINT, "
                    f"figure NUMERIC, ref VARCHAR(100)){' ON COMMIT DROP' if pg else ''}")
        cur.execute(f"CREATE INDEX {CAUSES}_customer ON {CAUSES} (customer_id)")
        cur.execute(f"CREATE INDEX {CAUSES}_key ON {CAUSES} (key)")


def _drop_causes() -> None:
    if connection.vendor != "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS temp.{CAUSES}")


def stage_causes(select: str, params: list) -> int:
    """Replace the staged causes by ``select``'s (the rule's SQL, run once); returns how many."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {CAUSES}" if pg else f"DELETE FROM {CAUSES}")
        cur.execute(f"INSERT INTO {CAUSES} (customer_id, key, amount, figure, ref) "
                    f"SELECT r.customer_id, r.key, r.amount, r.figure, r.ref FROM ({select}) r", params)
        n = max(cur.rowcount, 0)
        if pg:  # a temporary table is never analysed by autovacuum: give the planner its size
            cur.execute(f"ANALYZE {CAUSES}")
    return n


def resolve_sql(ctx: Ctx, kind: str, now) -> tuple[str, list]:
    """The UPDATE … RETURNING id of ``resolve_ended`` and its parameters."""
    col = "customer_id" if kind in ENDS_BY_CUSTOMER else "key"
    adapt = connection.ops.adapt_datetimefield_value
    return (f"UPDATE insight_earlywarning SET status = %s, resolved_automatically = TRUE, acted_at = %s, "
            f"updated_at = %s "
            f"WHERE company_id = %s AND kind = %s AND status IN (%s, %s) AND raised_on <= %s AND {col} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {CAUSES} r WHERE r.{col} = insight_earlywarning.{col}) RETURNING id",
            [WarningStatus.RESOLVED, adapt(now), adapt(now), ctx.company_id, kind, WarningStatus.OPEN,
             WarningStatus.ACKNOWLEDGED, ctx.as_of])


def resolve_ended(ctx: Ctx, kind: str, now) -> list[int]:
    """Resolve (automatically) the open or acknowledged warnings of rule ``kind`` whose cause is not among the
    staged causes (``stage_causes``) as of ``ctx.as_of``: one UPDATE with an anti-join (``NOT EXISTS`` on the
    staged table's index: a hash anti-join on PostgreSQL, index probes on SQLite); returns their ids. A
    disabled rule resolves nothing (its causes are not computed)."""
    with connection.cursor() as cur:
        cur.execute(*resolve_sql(ctx, kind, now))
        return sorted(r[0] for r in cur.fetchall())


def _insert(ctx: Ctx, rule: WarningRule, now) -> int:
    """Insert the staged causes that have no warning yet; returns how many were raised."""
    high = rule.severity == Severity.HIGH
    sql = f"""
        INSERT INTO insight_earlywarning (company_id, kind, severity, key, customer_id, owner_id, manager_id, raised_on,
                                          amount, figure, threshold, ref, status, note, resolved_automatically,
                                          created_at, updated_at)
        SELECT %s, %s, %s, r.key, r.customer_id, c.owner_id,
               CASE WHEN %s THEN NULLIF(COALESCE(u.manager_id, t.manager_id), c.owner_id) END, %s,
               r.amount, r.figure, %s, COALESCE(r.ref, ''), 'open', '', FALSE, %s, %s
        FROM {CAUSES} r
        JOIN customers_customer c ON c.id = r.customer_id
        LEFT JOIN accounts_user u ON u.id = c.owner_id
        LEFT JOIN accounts_team t ON t.id = u.team_id
        WHERE true
        ON CONFLICT (company_id, kind, key) DO NOTHING"""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        cur.execute(sql, [ctx.company_id, rule.kind, rule.severity, high, ctx.as_of, rule.threshold, adapt(now),
                          adapt(now)])
        return max(cur.rowcount, 0)


def _dso_by_owner(company_id: int, period) -> dict:
    """{owner id (None: no owner): DSO in days} of a month, simple DSO (DOMAIN.md): AR at the month end from the
    month-end receivables snapshot (``ArSnapshot``, per customer owner, taken by the daily job) ÷ credit sales of
    the month (invoices and charges of the owner's customers) × days. The key ``"all"`` holds the company's."""
    from .models import ArSnapshot

    ar = dict(ArSnapshot.objects.filter(company_id=company_id, date=period.end).values_list("owner_id", "open_amount"))
    if not ar:
        return {}
    sql = """SELECT c.owner_id, SUM(d.total_amount) FROM ledger_receivabledocument d
             JOIN customers_customer c ON c.id = d.customer_id
             WHERE d.company_id = %s AND d.document_date >= %s AND d.document_date <= %s
               AND d.kind IN ('invoice', 'charge') AND d.status = 'posted' GROUP BY c.owner_id"""
    with connection.cursor() as cur:
        cur.execute(sql, [company_id, period.start, period.end])
        billed = {k: from_minor(v) for k, v in cur.fetchall()}
    out = {k: kpi_calc.dso(ar[k], billed.get(k, Decimal(0)), period.days) for k in ar}
    out["all"] = kpi_calc.dso(sum(ar.values(), Decimal(0)), sum(billed.values(), Decimal(0)), period.days)
    return {k: v for k, v in out.items() if v is not None}


def _dso_trend(ctx: Ctx, rule: WarningRule, company, now) -> int:
    """Last complete month's DSO against the month before, for the company and each salesperson (customer
    owner); one warning per salesperson (or the company) and month. Needs both month-end snapshots."""
    from huikuan.accounts.models import User

    last = kpi_calc.parse_period(f"{ctx.as_of:%Y-%m}").previous()
    before = last.previous()
    now_dso, old_dso = _dso_by_owner(ctx.company_id, last), _dso_by_owner(ctx.company_id, before)
    rows = [(k, dso - old_dso[k], f"{old_dso[k]}|{dso}") for k, dso in now_dso.items()
            if k is not None and k in old_dso and dso - old_dso[k] >= Decimal(rule.threshold)]
    if not rows:
        return 0
    people = [k for k, _d, _r in rows if k != "all"]
    managers = {u.pk: u.manager_id or (u.team.manager_id if u.team_id else None)
                for u in User.objects.filter(pk__in=people).select_related("team")}
    high = rule.severity == Severity.HIGH
    objs = [EarlyWarning(company_id=ctx.company_id, kind=rule.kind, severity=rule.severity,
                         key=f"{'co' if k == 'all' else 'u' + str(k)}:{last.start:%Y-%m}", customer=None,
                         owner_id=None if k == "all" else k,
                         manager_id=(managers.get(k) if high and k != "all" and managers.get(k) != k else None),
                         raised_on=ctx.as_of, figure=diff, threshold=rule.threshold, ref=ref, created_at=now)
            for k, diff, ref in rows]
    before_n = EarlyWarning.objects.filter(company_id=ctx.company_id, kind=rule.kind).count()
    EarlyWarning.objects.bulk_create(objs, ignore_conflicts=True)
    return EarlyWarning.objects.filter(company_id=ctx.company_id, kind=rule.kind).count() - before_n


@transaction.atomic(durable=True)
def run_warnings(*, company, as_of: dt.date, actor=None, progress: Callable[[int, int, str], None] | None = None
                 ) -> dict[str, int]:
    """Raise the day's warnings of every enabled rule (SQL, set-wise); returns {rule: warnings raised}.
    Idempotent: a cause already warned about raises nothing (unique ``(company, kind, key)``). Each rule's causes
    are computed once into the run's temporary table; from them, first, the warnings whose cause has ended are
    resolved automatically (``resolve_ended``, one audit event for all), then the new causes are raised."""
    ctx = Ctx(company_id=company.pk, as_of=as_of, month=f"{as_of:%Y-%m}")
    rules = [r for r in rules_of(company) if r.enabled]
    now = timezone.now()
    counts: dict[str, int] = {}
    resolved: dict[str, list[int]] = {}
    seen = EarlyWarning.objects.filter(company_id=company.pk).order_by("-pk").values_list("pk", flat=True).first() or 0
    _create_causes()
    for n, rule in enumerate(rules):
        if progress:
            progress(n, len(rules), rule.kind)
        if rule.kind == WarningKind.DSO_TREND:
            counts[rule.kind] = _dso_trend(ctx, rule, company, now)
        else:
            stage_causes(*SQL_RULES[rule.kind](ctx, rule.threshold))
            if rule.kind in ENDS_BY_CUSTOMER or rule.kind in ENDS_BY_KEY:
                ended = resolve_ended(ctx, rule.kind, now)
                if ended:
                    resolved[rule.kind] = ended
            counts[rule.kind] = _insert(ctx, rule, now)
    _drop_causes()
    if progress:
        progress(len(rules), len(rules), "")
    if resolved:
        audit.record(actor=actor, verb="insight.warning.auto_resolved", company_id=company.pk,
                     summary=f"{as_of} {sum(len(v) for v in resolved.values())}",
                     data={"as_of": as_of, "resolved": resolved})
    if sum(counts.values()):  # webhooks' "warning.raised", one per new warning (read only if subscribed)
        audit.announce(verb="insight.warning.raised", model=EarlyWarning, company_id=company.pk,
                       ids=EarlyWarning.objects.filter(company_id=company.pk, pk__gt=seen).values("pk"))
    audit.record(actor=actor, verb="insight.warning.run", company_id=company.pk,
                 summary=f"{as_of} {sum(counts.values())}", data={"as_of": as_of, "raised": counts})
    return counts


# ---------------------------------------------------------------- acknowledge / resolve


@transaction.atomic(durable=True)
def act(*, company, warning_id: int, action: str, note: str, actor) -> EarlyWarning:
    """Acknowledge (note optional) or resolve (note required) one warning, under a row lock. Raises
    WarningActionError: a resolved warning is final; a note is required to resolve; unknown action."""
    w = EarlyWarning.objects.select_for_update().get(company=company, pk=warning_id)
    note = (note or "").strip()
    if action not in ("acknowledge", "resolve"):
        raise WarningActionError(_("Unknown option."), field="action")
    if len(note) > 500:
        raise WarningActionError(_("The note is too long (at most 500 characters)."), field="note")
    if w.status == WarningStatus.RESOLVED:
        raise WarningStateError(_("This warning is already resolved."), field="action")
    if action == "acknowledge" and w.status == WarningStatus.ACKNOWLEDGED:
        raise WarningStateError(_("This warning is already acknowledged."), field="action")
    if action == "resolve" and not note:
        raise WarningActionError(_("Write a note saying how it was resolved."), field="note")
    before = w.status
    w.status = WarningStatus.RESOLVED if action == "resolve" else WarningStatus.ACKNOWLEDGED
    w.note, w.acted_by, w.acted_at = note or w.note, actor, timezone.now()
    w.save(update_fields=["status", "note", "acted_by", "acted_at", "updated_at"])
    audit.record(actor=actor, verb=f"insight.warning.{'resolved' if action == 'resolve' else 'acknowledged'}",
                 target=w, company_id=company.pk, customer_id=w.customer_id, summary=f"{w.kind} {w.key}",
                 data={"before": before, "after": w.status, "note": note})
    return w


# ---------------------------------------------------------------- reads


def warnings_in_scope(*, user, company) -> QuerySet:
    """Warnings the user may see: of their customers (salesperson: own; sales manager: the team's; finance-wide
    roles: all); a warning without a customer (DSO of a salesperson or the company) by its owner."""
    qs = EarlyWarning.objects.filter(company=company)
    customer_scope = owner_q(user, "customer__owner")
    if customer_scope == Q():
        return qs
    return qs.filter((Q(customer__isnull=False) & customer_scope) | (Q(customer__isnull=True) & owner_q(user, "owner")))


def severity_order():
    return Case(*[When(severity=s, then=Value(n)) for s, n in SEVERITY_RANK.items()], output_field=IntegerField())


def active(qs: QuerySet) -> QuerySet:
    return qs.filter(status__in=[WarningStatus.OPEN, WarningStatus.ACKNOWLEDGED])


def day_summary(*, user, company, today: dt.date) -> dict:
    """The dashboard's "warnings of the day": the latest run day on or before today (in scope), its counts by
    severity and the ten most severe still open."""
    scoped = warnings_in_scope(user=user, company=company)
    last = scoped.filter(raised_on__lte=today).order_by("-raised_on").values_list("raised_on", flat=True).first()
    if last is None:
        return {"day": None, "counts": {}, "rows": [], "open": 0}
    day = scoped.filter(raised_on=last)
    counts = dict(day.values_list("severity").annotate(n=Count("pk")).values_list("severity", "n"))
    rows = list(active(day).select_related("customer").annotate(sev=severity_order()).order_by("-sev", "-amount", "pk")[:10])
    return {"day": last, "counts": counts, "rows": rows, "open": active(scoped).count(),
            "total": sum(counts.values())}


# ---------------------------------------------------------------- messages (rendered in the reader's language)


def _money(fen_or_decimal) -> str:
    return number_format(Decimal(fen_or_decimal), 2, force_grouping=True)


def describe(w: EarlyWarning) -> str:
    """The warning in the current language, from its stored facts."""
    ref = w.ref or ""
    fig = w.figure
    thr = w.threshold
    if w.kind in (WarningKind.SCORE_DROP, WarningKind.GRADE_CHANGE):
        old_s, old_g, new_s, new_g = (ref.split("|") + ["", "", "", ""])[:4]
        if w.kind == WarningKind.GRADE_CHANGE:
            return _("Grade %(old)s → %(new)s (score %(os)s → %(ns)s).") % {"old": old_g, "new": new_g, "os": old_s,
                                                                            "ns": new_s}
        return _("Score fell %(n)s points: %(os)s → %(ns)s.") % {"n": int(fig or 0), "os": old_s, "ns": new_s}
    if w.kind == WarningKind.OVERDUE_AMOUNT:
        return _("Overdue %(amount)s (threshold %(t)s).") % {"amount": _money(w.amount or 0), "t": _money(thr or 0)}
    if w.kind == WarningKind.OVERDUE_DAYS:
        return _("Oldest overdue instalment due %(d)s: %(n)s days late (threshold %(t)s); overdue %(amount)s.") % {
            "d": ref, "n": int(fig or 0), "t": int(thr or 0), "amount": _money(w.amount or 0)}
    if w.kind == WarningKind.LIMIT_USE:
        return _("Open receivables %(amount)s are %(p)s%% of the credit limit %(limit)s.") % {
            "amount": _money(w.amount or 0), "p": number_format(fig or 0, 2),
            "limit": _money(Decimal(ref or 0) / 100)}
    if w.kind == WarningKind.BROKEN_PROMISE:
        return _("Promise to pay %(amount)s by %(d)s not kept (%(n)s days ago).") % {
            "amount": _money(w.amount or 0), "d": ref, "n": int(fig or 0)}
    if w.kind == WarningKind.PAYING_LATER:
        return _("Oldest overdue instalment is %(n)s days late; this customer usually pays %(h)s days late.") % {
            "n": int(fig or 0), "h": ref}
    if w.kind == WarningKind.CONCENTRATION:
        return _("%(p)s%% of all receivables (%(amount)s).") % {"p": number_format(fig or 0, 2),
                                                              "amount": _money(w.amount or 0)}
    if w.kind == WarningKind.DSO_TREND:
        old, new = (ref.split("|") + ["", ""])[:2]
        who = w.owner.get_full_name() or w.owner.username if w.owner_id else _("Company")
        return _("%(who)s: DSO %(old)s → %(new)s days (+%(n)s).") % {"who": who, "old": old, "new": new,
                                                                     "n": number_format(fig or 0, 2)}
    if w.kind == WarningKind.BILL_MATURITY:
        number, day = (ref.split("|") + ["", ""])[:2]
        return _("Acceptance bill %(number)s of %(amount)s matures on %(d)s (in %(n)s days): present it for payment.") % {
            "number": number, "amount": _money(w.amount or 0), "d": day, "n": int(fig or 0)}
    if w.kind == WarningKind.LIMITATION:
        day = limitation_date(w)
        return _("Limitation date %(d)s for %(amount)s: obtain a confirmation or send a written demand.") % {
            "d": day.isoformat() if day else "?", "amount": _money(w.amount or 0)}
    if w.kind == WarningKind.REVIEW_OVERDUE:
        return _("Credit review was due on %(d)s (%(n)s days ago).") % {"d": ref, "n": int(fig or 0)}
    return ""


def limitation_date(w: EarlyWarning) -> dt.date | None:
    """The limitation date a limitation warning is about (its cause's start + 3 years)."""
    from huikuan.collections.limitation import plus_years

    try:
        return plus_years(dt.date.fromisoformat((w.ref or "")[:10]))
    except ValueError:
        return None


# ---------------------------------------------------------------- daily digest


def _digest_text(user, rows: list[EarlyWarning], day: dt.date, total: int) -> str:
    lines = [_("Huikuan warnings of %(d)s: %(n)s new.") % {"d": day.isoformat(), "n": total}]
    for w in rows:
        who = f"{w.customer.code} {w.customer.name} · " if w.customer_id else ""
        lines.append(f"[{w.get_severity_display()}] {w.get_kind_display()} · {who}{describe(w)}")
    if total > len(rows):
        lines.append(_("… and %(n)s more on the warnings page.") % {"n": total - len(rows)})
    return "\n".join(lines)


def send_digests(*, company, day: dt.date, limit: int = 30) -> dict[str, int]:
    """E-mail each user the warnings raised on ``day`` routed to them (owner or manager), in their language,
    and post one summary to the company's WeCom / DingTalk robots (dunning settings). Each digest is
    recorded (``WarningDigest``) before sending and sent once; a failed one is retried by the next call."""
    from huikuan.accounts.models import User
    from huikuan.dunning import channels
    from huikuan.dunning.context import settings_of

    todays = EarlyWarning.objects.filter(company=company, raised_on=day)
    per_user: dict[int, int] = {}
    for field in ("owner_id", "manager_id"):
        for uid, n in todays.exclude(**{f"{field}__isnull": True}).values_list(field).annotate(n=Count("pk")):
            per_user[uid] = per_user.get(uid, 0) + n
    conf = settings_of(company)
    robots = [("wecom", conf.wecom_webhook), ("dingtalk", conf.dingtalk_webhook)]
    wanted = [WarningDigest(company=company, date=day, channel="email", recipient=f"u{uid}", user_id=uid, warnings=n)
              for uid, n in per_user.items()]
    if todays.exists():
        wanted += [WarningDigest(company=company, date=day, channel=ch, recipient="robot", warnings=todays.count())
                   for ch, url in robots if url]
    WarningDigest.objects.bulk_create(wanted, ignore_conflicts=True)
    out = {"sent": 0, "failed": 0, "skipped": 0}
    due = WarningDigest.objects.filter(company=company, date=day).exclude(status__in=["sent", "skipped"])
    users = {u.pk: u for u in User.objects.filter(pk__in=per_user)}
    for d in due:
        if d.channel == "email":
            user = users.get(d.user_id)
            if user is None or not user.email or not user.is_active:
                d.status, d.error = "skipped", "no e-mail address"
                d.save(update_fields=["status", "error"])
                out["skipped"] += 1
                continue
            rows = list(todays.filter(Q(owner=user) | Q(manager=user)).select_related("customer", "owner")
                        .annotate(sev=severity_order()).order_by("-sev", "-amount", "pk")[:limit])
            with translation.override(user.language or "zh-hans"):
                text = _digest_text(user, rows, day, d.warnings)
                subject = _("Huikuan warnings of %(d)s") % {"d": day.isoformat()}
            result = channels.send_email(channels.Message(to=user.email, subject=subject, text=text,
                                                          key=f"warnings-{company.pk}-{day}-{d.recipient}"))
        else:
            rows = list(todays.select_related("customer", "owner").annotate(sev=severity_order())
                        .order_by("-sev", "-amount", "pk")[:limit])
            with translation.override("zh-hans"):
                text = _digest_text(None, rows, day, d.warnings)
            url = conf.wecom_webhook if d.channel == "wecom" else channels.dingtalk_url(conf.dingtalk_webhook,
                                                                                      conf.dingtalk_secret)
            result = channels.send_robot(url, text)
        ok = result.status == channels.SENT
        d.status = "sent" if ok else "failed"
        d.error = "" if ok else result.error[:500]
        d.sent_at = timezone.now() if ok else None
        d.save(update_fields=["status", "error", "sent_at"])
        out["sent" if ok else "failed"] += 1
    return out
