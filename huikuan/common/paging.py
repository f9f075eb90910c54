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

A paginator over a list of ids (``object_list`` a flat ``values_list("pk")``) may also count and read its page
in one statement (``ids_with_count``, see ``count_and_page``): a list under the cap — a rare term's search —
then costs one statement instead of two; a capped list reads its page as before.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connections
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
        counted = self.counted_page(number)
        if counted is not None:
            return self._get_page(counted, number, self)
        return super().page(number)

    def counted_page(self, number: int) -> list | None:
        """The page's rows if counting already read them (``CappedPaginator``), else None."""
        return None


class CappedPaginator(PlannedPaginator):
    def __init__(self, object_list, per_page, *, number=None, cap: int = COUNT_CAP, count_queryset=None,
                 count_cache: tuple[str, int] | None = None, ids_with_count: bool = False, **kwargs):
        """``count_queryset``: the same rows as ``object_list`` in a cheaper form to count (no joins);
        ``count_cache``: ``(key, seconds)`` to remember a capped count; ``ids_with_count``: ``object_list``
        gives the rows' ids, and counting reads the asked page's ids too (see the module docstring)."""
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset
        self.count_cache = count_cache
        self.ids_with_count = ids_with_count
        wanted = number if isinstance(number, int) else (parse_int(number) or 1)
        self.wanted = wanted = min(max(1, wanted), MAX_PAGE)  # a huge page number must not overflow the LIMIT
        self.count_limit = max(cap + 1, wanted * int(per_page) + 1)
        self.capped = False
        self._counted: list | None = None  # the wanted page's ids, when counting read them

    @cached_property
    def count(self) -> int:
        key = f"{self.count_cache[0]}:{self.count_limit}" if self.count_cache else None
        if key is not None and cache.get(key):
            self.capped = True  # counted up to the limit a moment ago: there are more rows than it
            return self.count_limit
        qs = self.object_list if self.count_queryset is None else self.count_queryset
        counted = None
        if self.ids_with_count:
            counted = count_and_page(qs, order_of=self.object_list, limit=self.count_limit,
                                     offset=(self.wanted - 1) * int(self.per_page), size=int(self.per_page))
        if counted is not None:
            n, ids = counted
            if n < self.count_limit:  # every row was counted: the page is the list's own
                self._counted = ids
        else:
            n = qs.order_by().values("pk")[: self.count_limit].count() if hasattr(qs, "values") else len(qs)
        self.capped = n >= self.count_limit
        if key is not None and self.capped:
            cache.set(key, True, self.count_cache[1])
        return n

    def counted_page(self, number: int) -> list | None:
        return self._counted if number == self.wanted else None


def _plain_ordering(qs) -> list[tuple[str, bool]] | None:
    """``qs``'s ordering as (local concrete field name, descending) pairs, or None if it is anything else
    (expressions, related fields, random, extra)."""
    query = qs.query
    if query.extra_order_by or query.distinct or query.combinator:
        return None
    ordering = query.order_by or (qs.model._meta.ordering if query.default_ordering else ())
    out = []
    for item in ordering:
        if not isinstance(item, str) or item == "?":
            return None
        name = item.removeprefix("-")
        if "__" in name:
            return None
        try:
            field = qs.model._meta.pk if name == "pk" else qs.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not field.concrete or field.is_relation:
            return None
        out.append((name, item.startswith("-")))
    return out or None


def count_and_page(qs, *, order_of, limit: int, offset: int, size: int) -> tuple[int, list] | None:
    """The rows of ``qs`` counted up to ``limit`` and the ids of rows ``[offset, offset + size)`` in the order of
    ``order_of`` (the same rows, ordered), in one statement::

        SELECT pk, COUNT(*) OVER () FROM (SELECT pk, <order columns> FROM … LIMIT limit) ORDER BY … LIMIT size OFFSET offset

    The ids are the page's only when the count is under ``limit`` (every row was in the inner select; the
    caller checks). None when the ordering is not plain fields of the model or the page came back empty past
    the first (its count is then unknown): count the usual way."""
    ordering = _plain_ordering(order_of)
    if ordering is None or offset + size > limit:
        return None
    names = list(dict.fromkeys(["pk", *(name for name, _desc in ordering)]))
    inner = qs.order_by().values(*names)[:limit]
    try:
        sql, params = inner.query.get_compiler(using=inner.db).as_sql()
    except EmptyResultSet:  # no row can match (none(), an empty IN list): nothing to count or read
        return 0, []
    connection = connections[inner.db]
    quote = connection.ops.quote_name
    order = ", ".join(f"{quote(name)} {'DESC' if desc else 'ASC'}" for name, desc in ordering)
    outer = (f"SELECT {quote('pk')}, COUNT(*) OVER () FROM ({sql}) {quote('counted')} ORDER BY {order} "
             f"LIMIT {int(size)} OFFSET {int(offset)}")
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()
    if not rows:
        return (0, []) if offset == 0 else None
    return rows[0][1], [row[0] for row in rows]


def capped_page(qs, per_page: int, number):
    """The requested page of ``qs`` with a capped row count."""
    return CappedPaginator(qs, per_page, number=number).get_page(number)
