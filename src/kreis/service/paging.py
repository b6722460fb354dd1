"""The case API's pages fetched in two steps, as the case list page does (``IndexPaginator``):
the page's ids first, then only those rows with their joins and annotations. A sort over every
visible case then orders narrow rows instead of computing each case's full row first."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from kreis.core.api_support import Pagination


class IdsFirstPagination(Pagination):
    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        page_size = self._get_page_size(pagination.page_size)
        offset = (pagination.page - 1) * page_size
        ids = list(queryset.values_list("pk", flat=True)[offset : offset + page_size])
        rows = {row.pk: row for row in queryset.filter(pk__in=ids)}
        return {
            self.items_attribute: [rows[pk] for pk in ids if pk in rows],
            "count": self._items_count(queryset),
        }
