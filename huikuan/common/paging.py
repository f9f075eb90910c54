"""Pagination for lists that can hold millions of rows.

``COUNT(*)`` over a whole table (1.46 M payments) costs more than the page itself, so big lists
count only up to a cap: ``CappedPaginator`` counts at most ``max(cap, page × per_page + 1)`` rows
(``SELECT COUNT(*) FROM (… LIMIT n)``). Below the cap the count is exact; at the cap the pager
shows "more than N rows" and still offers the next page while there is one.

A paginator may also take a ``plan``: called with the count, the page's offset and its size once the
count is known, it may return the same rows in a form cheaper to read for that page (None keeps
``object_list``). A search counts through an index and reads a first page of frequent matches by a scan
in the list's order instead (``customers.selectors.search_page_plan``).

A paginator may also take a ``count_cache`` (a cache key naming the rows, and seconds): a *capped* count — "more
than the cap" — is then remembered for that long under the key and the limit, and the next page of the same
list within those seconds skips the count statement. Only the capped verdict is kept: a count below the cap is
always taken anew, so an exact figure is never stale; "more than 1,000" may be a few seconds old
(docs/ARCHITECTURE.md, "Capped counts of the customer list, remembered for seconds").
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from huikuan.common.http import parse_int

COUNT_CAP = 10_000
MAX_PAGE = 1_000_000  # pages past this are counted as if this one was asked (and are empty anyway)


class PlannedPaginator(Paginator):
    """Django's paginator (exact count) with an optional ``plan`` (see the module docstring)."""

    def __init__(self, object_list, per_page, *, plan=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.plan = plan

    def page(self, number):
        number = self.validate_number(number)  # counts first: the plan needs the count
        if self.plan is not None:
            rows = self.plan(self.count, (number - 1) * self.per_page, self.per_page)
            if rows is not None:
                self.object_list = rows
        return super().page(number)


class CappedPaginator(PlannedPaginator):
    def __init__(self, object_list, per_page, *, number=None, cap: int = COUNT_CAP, count_queryset=None,
                 count_cache: tuple[str, int] | None = None, **kwargs):
        """``count_queryset``: the same rows as ``object_list`` in a cheaper form to count (no joins);
        ``count_cache``: ``(key, seconds)`` to remember a capped count (see the module docstring)."""
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset
        self.count_cache = count_cache
        wanted = number if isinstance(number, int) else (parse_int(number) or 1)
        wanted = min(max(1, wanted), MAX_PAGE)  # a huge page number must not overflow the LIMIT
        self.count_limit = max(cap + 1, wanted * int(per_page) + 1)
        self.capped = False

    @cached_property
    def count(self) -> int:
        key = f"{self.count_cache[0]}:{self.count_limit}" if self.count_cache else None
        if key is not None and cache.get(key):
            self.capped = True  # counted up to the limit a moment ago: there are more rows than it
            return self.count_limit
        qs = self.object_list if self.count_queryset is None else self.count_queryset
        n = qs.order_by().values("pk")[: self.count_limit].count() if hasattr(qs, "values") else len(qs)
        self.capped = n >= self.count_limit
        if key is not None and self.capped:
            cache.set(key, True, self.count_cache[1])
        return n


def capped_page(qs, per_page: int, number):
    """The requested page of ``qs`` with a capped row count."""
    return CappedPaginator(qs, per_page, number=number).get_page(number)
