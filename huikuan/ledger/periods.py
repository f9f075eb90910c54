"""Period close (关账): the company's lock date, and the one check every ledger write makes.

Closing month M sets the lock date to M's last day (months before it close with it); reopening M
sets it back to the day before M (months after it reopen with it). Nothing — document, payment,
credit note, allocation, discount, bank charge, write-off, reversal, instrument status, payment
plan — may carry a business date on or before the lock date: ``check_open`` raises PeriodClosed,
naming the lock date. The writers call it at their lowest level (the ledger-entry and allocation
writers in ``services``, the bulk writers in ``bulk``), so a new entry point cannot skip it.

Why the check runs *after* the row is written, in the same transaction: on PostgreSQL a close takes
``SHARE`` locks on the entry and allocation tables, which waits for every writing transaction in
flight and makes new writes wait until the close commits; a writer's check that follows its own
INSERT therefore reads the lock date the close committed (READ COMMITTED takes a snapshot per
statement). On SQLite every write transaction holds the database lock from its start.

Hooks: apps above the ledger register ``on_close(company, month_end, actor)`` / ``on_reopen(...)``
(``register_period_hooks`` in their ``AppConfig.ready()``); they run inside the close/reopen
transaction (insight stores the month's provision there, so a closed month's figures are stable).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import NotAllowed

from .errors import LedgerError, PeriodClosed
from .models import Allocation, LedgerEntry, PeriodAction, PeriodEvent, PeriodLock

Hook = Callable[..., None]
_CLOSE_HOOKS: list[Hook] = []
_REOPEN_HOOKS: list[Hook] = []


def register_period_hooks(*, on_close: Hook | None = None, on_reopen: Hook | None = None) -> None:
    if on_close is not None and on_close not in _CLOSE_HOOKS:
        _CLOSE_HOOKS.append(on_close)
    if on_reopen is not None and on_reopen not in _REOPEN_HOOKS:
        _REOPEN_HOOKS.append(on_reopen)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def parse_month(value: str) -> dt.date:
    """'2026-11' → 2026-11-01; LedgerError on anything else."""
    try:
        year, month = (int(x) for x in str(value).strip().split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise LedgerError(_("Enter a month such as 2026-11."), field="month") from exc


def lock_date(company_id: int) -> dt.date | None:
    """The company's lock date (None: nothing closed). One query."""
    return PeriodLock.objects.filter(company_id=company_id).values_list("lock_date", flat=True).first()


def closed_error(day: dt.date, lock: dt.date, *, field: str = "date", **params) -> PeriodClosed:
    return PeriodClosed(
        _("The books are closed up to %(lock)s: nothing can be dated %(date)s. Use a later date, or ask an "
          "administrator to reopen the month.") % {"lock": lock.isoformat(), "date": day.isoformat()},
        field=field, lock_date=lock.isoformat(), **params)


def check_open(company_id: int, *days: dt.date | None, field: str = "date") -> None:
    """Refuse (PeriodClosed on ``field``) when any of ``days`` is on or before the company's lock date."""
    dated = [d for d in days if d is not None]
    if not dated:
        return
    lock = lock_date(company_id)
    if lock is not None and min(dated) <= lock:
        raise closed_error(min(dated), lock, field=field)


def _lock_writers() -> None:
    """Wait for ledger writes in flight and hold new ones until this transaction ends (PostgreSQL)."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (LedgerEntry, Allocation))
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {tables} IN SHARE MODE")


def _row(company_id: int) -> PeriodLock:
    PeriodLock.objects.get_or_create(company_id=company_id)
    return PeriodLock.objects.select_for_update().get(company_id=company_id)


@transaction.atomic(durable=True)
def close_month(*, company, month: dt.date, actor, today: dt.date) -> PeriodEvent:
    """Close ``month`` (any day in it) and every month before it: the lock date becomes its last day.

    Only a month that has ended (its last day before ``today``) can be closed; closing a month already
    closed raises LedgerError. Needs ``ledger.period.close`` (NotAllowed). Audited ("ledger.period.closed").
    """
    if not actor.can("ledger.period.close"):
        raise NotAllowed(_("You may not close periods."))
    month = month.replace(day=1)
    end = month_end(month)
    if end >= today:
        raise LedgerError(_("%(month)s has not ended yet; it can be closed from %(day)s.")
                          % {"month": f"{month:%Y-%m}", "day": (end + dt.timedelta(days=1)).isoformat()}, field="month")
    row = _row(company.pk)
    before = row.lock_date
    if before is not None and end <= before:
        raise LedgerError(_("%(month)s is already closed (the books are closed up to %(lock)s).")
                          % {"month": f"{month:%Y-%m}", "lock": before.isoformat()}, field="month")
    _lock_writers()
    row.lock_date = end
    row.save(update_fields=["lock_date", "updated_at"])
    event = PeriodEvent.objects.create(company=company, action=PeriodAction.CLOSE, month=month,
                                       lock_date_before=before, lock_date_after=end, actor=actor)
    audit.record(actor=actor, verb="ledger.period.closed", target=event, company_id=company.pk,
                 summary=f"{month:%Y-%m}", data={"month": f"{month:%Y-%m}", "before": {"lock_date": before},
                                                 "after": {"lock_date": end}})
    for hook in _CLOSE_HOOKS:
        hook(company=company, month_end=end, actor=actor, previous_lock=before)
    return event


@transaction.atomic(durable=True)
def reopen_month(*, company, month: dt.date, actor, reason: str) -> PeriodEvent:
    """Reopen ``month`` and every month after it: the lock date becomes the day before the month.

    Administrators only (NotAllowed); a reason is required; reopening a month that is not closed raises
    LedgerError. Audited ("ledger.period.reopened") with who, when and why.
    """
    if not actor.can("ledger.period.reopen"):
        raise NotAllowed(_("Only an administrator can reopen a closed month."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise LedgerError(_("Reopening a month needs a reason."), field="reason")
    month = month.replace(day=1)
    row = _row(company.pk)
    before = row.lock_date
    if before is None or month > before:
        raise LedgerError(_("%(month)s is not closed.") % {"month": f"{month:%Y-%m}"}, field="month")
    after = month - dt.timedelta(days=1)
    row.lock_date = after
    row.save(update_fields=["lock_date", "updated_at"])
    event = PeriodEvent.objects.create(company=company, action=PeriodAction.REOPEN, month=month, reason=reason[:300],
                                       lock_date_before=before, lock_date_after=after, actor=actor)
    audit.record(actor=actor, verb="ledger.period.reopened", target=event, company_id=company.pk,
                 summary=f"{month:%Y-%m} {reason}"[:300],
                 data={"month": f"{month:%Y-%m}", "reason": reason, "before": {"lock_date": before},
                       "after": {"lock_date": after}})
    for hook in _REOPEN_HOOKS:
        hook(company=company, month_end=after, first_reopened=month, actor=actor)
    return event


def period_history(*, company, limit: int | None = 200):
    """Close/reopen events of the company, newest first, with their actor (all of them when ``limit`` is None,
    as a queryset the caller may still filter and order)."""
    qs = PeriodEvent.objects.filter(company=company).select_related("actor").order_by("-at", "-id")
    return qs if limit is None else qs[:limit]
