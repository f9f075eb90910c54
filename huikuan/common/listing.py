"""Server-side sorting of staff lists (issue 13): one whitelist per list, a stable order, the same
order for the page and its XLSX export.

A list declares ``Sorting({"number": "number", "amount": ("total_amount",), ...}, default="-date")``;
the view calls ``sorting.apply(qs, request.GET)`` and passes ``sorting.context(request.GET)`` to the
template, whose headers use ``{% sort_th "amount" _("Amount") %}`` (``huikuan/web/templatetags/ui``).
Only whitelisted keys are accepted (anything else falls back to the default: no ``order_by`` on a
user-typed field name), and every order ends with the primary key in the same direction, so rows
with equal values keep one order across pages. Empty values sort last in both directions on both
databases.

It lives in ``common`` (not ``web``) because every app's list views use it and no app may import
``web``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

FILTER_IGNORED = frozenset({"page", "sort", "format", "export", "view"})


@dataclass(frozen=True)
class SortState:
    key: str  # the column key, without direction
    descending: bool
    keys: frozenset[str]  # every sortable key of the list

    @property
    def value(self) -> str:
        return f"-{self.key}" if self.descending else self.key


class Sorting:
    def __init__(
        self,
        columns: dict[str, str | tuple[str, ...]],
        *,
        default: str,
        tiebreak: str = "pk",
        nulls_last: bool | frozenset[str] = True,
    ):
        self.columns = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in columns.items()}
        self.default = default
        self.tiebreak = tiebreak
        # False for lists whose sort columns are NOT NULL and served by an index: PostgreSQL matches an
        # index only when the ORDER BY's NULLS FIRST/LAST is the index's own (DESC defaults to NULLS FIRST);
        # or the set of the keys that may be empty (those keep NULLS LAST, the others the index's order)
        self.nulls_last = nulls_last
        assert default.lstrip("-") in self.columns, default

    def state(self, data) -> SortState:
        raw = (data.get("sort") or "").strip() if data is not None else ""
        if raw.lstrip("-") not in self.columns or raw.count("-") > 1:
            raw = self.default
        return SortState(key=raw.lstrip("-"), descending=raw.startswith("-"), keys=frozenset(self.columns))

    def order(self, data) -> list:
        """The ``order_by`` terms: the column's fields, then the tie-breaker, all in the sort's direction (a
        field written ``-name`` in the column runs against it: ``("-is_active", "name")`` lists active rows
        first when the column sorts ascending)."""
        s = self.state(data)
        nulls_last = self.nulls_last if isinstance(self.nulls_last, bool) else s.key in self.nulls_last
        out = []
        for f in [*self.columns[s.key], self.tiebreak]:
            descending = s.descending != f.startswith("-")
            expr = F(f.lstrip("-"))
            if not nulls_last:
                out.append(expr.desc() if descending else expr.asc())
            else:
                out.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
        return out

    def apply(self, qs, data):
        return qs.order_by(*self.order(data))

    def context(self, data) -> dict:
        """Template context: ``sort`` (the state the ``sort_th`` tag reads)."""
        return {"sort": self.state(data)}


def is_filtered(data) -> bool:
    """Whether a list's GET parameters narrow it (paging, sorting and the export format do not)."""
    return any(v for k, values in data.lists() if k not in FILTER_IGNORED for v in values)


def date_range(qs, field: str, data, *, prefix: str = "date"):
    """``qs`` narrowed to ``field`` between ``<prefix>_from`` and ``<prefix>_to`` (ISO dates; a bad date is ignored)."""
    from huikuan.common.http import parse_date

    low, high = parse_date(data.get(f"{prefix}_from")), parse_date(data.get(f"{prefix}_to"))
    if low:
        qs = qs.filter(**{f"{field}__gte": low})
    if high:
        qs = qs.filter(**{f"{field}__lte": high})
    return qs
