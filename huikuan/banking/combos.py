"""Exact-sum combinations of open items (pure, no ORM): which of a customer's items add up to an amount.

Bounded three ways so a statement of 10,000 lines stays fast whatever the customers owe: at most
``COMBO_ITEMS`` items are searched (a customer with more is searched over its oldest, and the answer
is then never called unique), subsets of at most ``COMBO_SIZE`` items, and ``TIME_BOX`` seconds per
search. A search that hit a bound reports ``complete=False``: what it found may be proposed, but is
never certain.

Sums of pairs and of triples (only those not above the amount) are indexed by value, so subsets of
k ≤ 6 items are found by joining two indexed halves (k = a + b, the first half's last item before
the second half's first) instead of walking every subset.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

COMBO_ITEMS = 40
COMBO_SIZE = 6
TIME_BOX = 0.1  # seconds per search (a matching run also caps the sum: matching.SEARCH_BUDGET)


@dataclass(frozen=True)
class Search:
    found: tuple[tuple[int, ...], ...]  # indices into the values given, each ascending
    complete: bool  # every subset within the bounds was examined (and ``limit`` not reached)

    @property
    def unique(self) -> bool:
        return self.complete and len(self.found) == 1


def exact_subsets(target: int, values: Sequence[int], *, min_size: int = 2, max_size: int = COMBO_SIZE,
                  limit: int = 3, time_box: float = TIME_BOX) -> Search:
    """Subsets (as index tuples, ranked by size then by position: the oldest first when ``values``
    are in age order) of ``values`` (positive integers, minor units) summing to ``target``.

    Stops after ``limit`` subsets (then ``complete`` is False: there may be more) or the time box."""
    if target <= 0 or not values:
        return Search((), True)
    pos = [i for i, v in enumerate(values) if 0 < v <= target]
    val = [values[i] for i in pos]
    n = len(pos)
    found: list[tuple[int, ...]] = []
    deadline = time.perf_counter() + time_box

    def add(combo) -> bool:
        found.append(tuple(pos[k] for k in combo))
        return len(found) >= limit

    def done(size: int) -> Search:
        return Search(tuple(sorted(found, key=lambda c: (len(c), c))), False)

    if min_size <= 1:
        for k in range(n):
            if val[k] == target and add((k,)):
                return done(1)
    if max_size < 2:
        return Search(tuple(found), True)
    pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a in range(n):
        va = val[a]
        for b in range(a + 1, n):
            t = va + val[b]
            if t <= target:
                pairs[t].append((a, b))
    for a, b in pairs.get(target, ()):
        if add((a, b)):
            return done(2)
    if max_size >= 3:
        for a in range(n):
            for b, c in pairs.get(target - val[a], ()):
                if a < b and add((a, b, c)):
                    return done(3)
    if max_size >= 4:
        for t, plist in pairs.items():
            rest = pairs.get(target - t)
            if not rest:
                continue
            for a, b in plist:
                for c, d in rest:
                    if b < c and add((a, b, c, d)):
                        return done(4)
    if max_size >= 5 and time.perf_counter() < deadline:
        triples: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for t, plist in pairs.items():
            for a, b in plist:
                for c in range(b + 1, n):
                    u = t + val[c]
                    if u <= target:
                        triples[u].append((a, b, c))
            if time.perf_counter() > deadline:
                return done(5)
        for t, tlist in triples.items():
            rest = pairs.get(target - t)
            if rest:
                for a, b, c in tlist:
                    for d, e in rest:
                        if c < d and add((a, b, c, d, e)):
                            return done(5)
        if max_size >= 6:
            for t, tlist in triples.items():
                rest = triples.get(target - t)
                if rest:
                    for a, b, c in tlist:
                        for d, e, f in rest:
                            if c < d and add((a, b, c, d, e, f)):
                                return done(6)
                if time.perf_counter() > deadline:
                    return done(6)
    return Search(tuple(sorted(found, key=lambda c: (len(c), c))), True)
