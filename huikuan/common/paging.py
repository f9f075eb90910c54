"""Pagination for lists that can hold millions of rows.

``COUNT(*)`` over a whole table (1.46 M payments) costs more than the page itself, so big lists
count only up to a cap: ``CappedPaginator`` counts at most ``max(cap, page × per_page + 1)`` rows
(``SELECT COUNT(*) FROM (… LIMIT n)``). Below the cap the count is exact; at the cap the pager
shows "more than N rows" and still offers the next page while there is one.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

from huikuan.common.http import parse_int

COUNT_CAP = 10_000
MAX_PAGE = 1_000_000  # pages past this are counted as if this one was asked (and are empty anyway)


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, number=None, cap: int = COUNT_CAP, count_queryset=None, **kwargs):
        """``count_queryset``: the same rows as ``object_list`` in a cheaper form to count (no joins)."""
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset
        wanted = number if isinstance(number, int) else (parse_int(number) or 1)
        wanted = min(max(1, wanted), MAX_PAGE)  # a huge page number must not overflow the LIMIT
        self.count_limit = max(cap + 1, wanted * int(per_page) + 1)
        self.capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list if self.count_queryset is None else self.count_queryset
        n = qs.order_by().values("pk")[: self.count_limit].count() if hasattr(qs, "values") else len(qs)
        self.capped = n >= self.count_limit
        return n


def capped_page(qs, per_page: int, number):
    """The requested page of ``qs`` with a capped row count."""
    return CappedPaginator(qs, per_page, number=number).get_page(number)
