"""Behaviour sources for scoring, registered by higher layers (collections) without an upward import.

A source is ``fn(company, customer_ids: list[int], as_of: date) -> {customer_id: {"broken_promises":
int, "disputes": int}}``. Until one is registered both factors are zero for every customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

BehaviourSource = Callable[[object, list[int], dt.date], dict[int, dict[str, int]]]
_SOURCES: list[BehaviourSource] = []
KEYS = ("broken_promises", "disputes")


def register_behaviour_source(fn: BehaviourSource) -> None:
    if fn not in _SOURCES:
        _SOURCES.append(fn)


def unregister_behaviour_source(fn: BehaviourSource) -> None:
    if fn in _SOURCES:
        _SOURCES.remove(fn)


def behaviour(company, customer_ids: list[int], as_of: dt.date) -> dict[int, dict[str, int]]:
    """Sum of every registered source per customer; customers without data get zeros."""
    out = {cid: dict.fromkeys(KEYS, 0) for cid in customer_ids}
    for source in _SOURCES:
        for cid, values in (source(company, customer_ids, as_of) or {}).items():
            row = out.setdefault(cid, dict.fromkeys(KEYS, 0))
            for key in KEYS:
                row[key] += int(values.get(key, 0) or 0)
    return out
