"""One way to page a list: every list and history page shows PAGE_SIZE rows and keeps its filters.

A page costs the same at 10 rows and at 100 000 (issue #18):
- the count is bounded: it looks at most COUNT_AHEAD pages past the current one, so the page says
  «Page 3 of more than 12» instead of counting every row;
- a list that is the union of parts («the applications the organization filed OR where it is the
  developer») is given as `UnionOfParts`: each part is read in index order with its own LIMIT and the
  parts are merged by one UNION ALL, instead of sorting every matching row of an OR filter.
"""

import operator
from collections.abc import Sequence
from functools import reduce

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property

PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 50  # a history usually fits on one page; a very long one is still bounded
COUNT_AHEAD = 10  # pages counted past the current one


class UnionOfParts:
    """`queryset` restricted to the union of disjoint `parts` (Q filters), each backed by an index
    that starts with its filter column and continues with the queryset's ordering. Paginator-compatible:
    `count()`, `[a:b]`, `ordered`."""

    ordered = True

    def __init__(self, queryset: QuerySet, parts: Sequence[Q]):
        if not queryset.query.order_by:
            raise ValueError("UnionOfParts needs an ordered queryset")
        self.queryset = queryset
        self.parts = list(parts)
        self.ordering = list(queryset.query.order_by)

    def _union(self, *fields: str, limit: int | None, ordered: bool) -> QuerySet | None:
        """One UNION ALL of the parts (rows, or `fields` if given), each part cut at `limit` rows
        in index order; a lone part as it is (None: every part is known to be empty)."""
        if not connections[self.queryset.db].features.supports_slicing_ordering_in_compound:
            # SQLite (`make run`'s embedded default) refuses LIMIT/ORDER BY inside a UNION's parts:
            # there the parts are one OR (they are disjoint, so the rows are the same).
            qs = self.queryset.filter(reduce(operator.or_, self.parts)).order_by(*(self.ordering if ordered else ()))
            qs = qs.values_list(*fields) if fields else qs
            return None if qs.query.is_empty() else qs
        parts = []
        for part in self.parts:
            qs = self.queryset.filter(part).order_by(*(self.ordering if ordered else ()))
            qs = qs.values_list(*fields) if fields else qs
            if not qs.query.is_empty():
                parts.append(qs)
        if len(parts) < 2:
            return parts[0] if parts else None
        parts = [qs[:limit] if limit else qs for qs in parts]
        return parts[0].union(*parts[1:], all=True).order_by(*(self.ordering if ordered else ()))

    def count(self, limit: int | None = None) -> int:
        union = self._union("pk", limit=limit, ordered=False)
        if union is None:
            return 0
        if limit and not union.query.combinator:
            union = union[:limit]
        return min(union.count(), limit) if limit else union.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        """The rows of [start:stop] in one query: each part's first `stop` rows (with the
        queryset's select_related and annotations), merged and cut by the database."""
        if not isinstance(key, slice) or key.step:
            raise TypeError("UnionOfParts supports plain slices only")
        start, stop = key.start or 0, key.stop
        union = self._union(limit=stop, ordered=True)
        return list(union[start:stop]) if union is not None else []


class BoundedPaginator(Paginator):
    """A Paginator whose count stops COUNT_AHEAD pages past `number`; `count_is_exact` says whether
    the list really ends there (the template then says «of N» rather than «of more than N»)."""

    def __init__(self, object_list, per_page, *, number: int):
        super().__init__(object_list, per_page)
        self.limit = (max(number, 1) + COUNT_AHEAD) * self.per_page + 1

    @cached_property
    def _bounded_count(self) -> int:
        if isinstance(self.object_list, UnionOfParts):
            return self.object_list.count(self.limit)
        if isinstance(self.object_list, QuerySet):
            return self.object_list.order_by().values("pk")[: self.limit].count()
        return min(len(self.object_list), self.limit)

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.limit - 1)

    @cached_property
    def count_is_exact(self) -> bool:
        return self._bounded_count < self.limit


def _page_number(raw) -> int:
    try:
        return max(int(raw), 1)
    except (TypeError, ValueError):
        return 1


def paginate(request, queryset, *, per_page: int | None = None) -> tuple[Page, str]:
    """The requested page (the first one for a missing or malformed number, the last one past the
    end) and the query string without `page`, for links that keep the filters. `queryset` is a
    QuerySet or a UnionOfParts."""
    number = _page_number(request.GET.get("page"))
    page = BoundedPaginator(queryset, per_page or PAGE_SIZE, number=number).get_page(number)
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
