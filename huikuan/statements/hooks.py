"""Registries that let higher apps add to statements without statements importing them.

- demand sources: ``fn(customer) -> date | None`` — the latest written demand (催款函, lawyer's letter)
  sent to the customer; like a confirmed statement it restarts the 3-year limitation period
  (Civil Code art. 195), so ``selectors.limitation`` takes the latest of them all.
- limitation source: ``fn(customer, as_of) -> date | None`` — the earliest 诉讼时效 date among the customer's
  open items, computed per item from every restarting event (collections.limitation); without one registered,
  ``selectors.limitation`` falls back to 3 years from the latest confirmation or demand.
- extra lines: ``fn(customer, as_of) -> list[ExtraLine]`` — demand figures shown under the closing
  balance of a statement (page and PDF), e.g. penalty interest to date. They are not ledger movements
  and do not change the balance.
Apps register in their ``AppConfig.ready()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ExtraLine:
    label: str
    amount: Decimal
    note: str = ""


DEMAND_SOURCES: list[Callable[[object], dt.date | None]] = []
EXTRA_LINE_SOURCES: list[Callable[[object, dt.date], list[ExtraLine]]] = []
LIMITATION_SOURCES: list[Callable[[object, dt.date | None], dt.date | None]] = []


def register_demand_source(fn: Callable[[object], dt.date | None]) -> None:
    if fn not in DEMAND_SOURCES:
        DEMAND_SOURCES.append(fn)


def register_extra_lines(fn: Callable[[object, dt.date], list[ExtraLine]]) -> None:
    if fn not in EXTRA_LINE_SOURCES:
        EXTRA_LINE_SOURCES.append(fn)


def register_limitation_source(fn: Callable[[object, dt.date | None], dt.date | None]) -> None:
    if fn not in LIMITATION_SOURCES:
        LIMITATION_SOURCES.append(fn)


def demand_dates(customer) -> tuple[dt.date, ...]:
    return tuple(d for d in (fn(customer) for fn in DEMAND_SOURCES) if d)


def extra_lines(customer, as_of: dt.date) -> tuple[ExtraLine, ...]:
    return tuple(line for fn in EXTRA_LINE_SOURCES for line in fn(customer, as_of))
