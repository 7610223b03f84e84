"""Pages of API lists, by key: the project's ``keyset_page`` (tenancy/pagination.py), so a page
costs the same on the first page and the millionth row, and its ``next`` link carries the last
row's sort key (``after=…``). ``limit`` sets the page size, up to ``MAX_LIMIT``."""

from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from tenancy.pagination import keyset_page

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=DEFAULT_LIMIT)


class KeysetPagination(BasePagination):
    """The view names its order (``ordering``, the last field unique, e.g. ``("-id",)``)."""

    def paginate_queryset(self, queryset, request, view=None):
        limit = LimitSerializer(data={"limit": request.query_params.get("limit", DEFAULT_LIMIT)})
        limit.is_valid(raise_exception=True)
        self.request = request
        self.page = keyset_page(
            queryset, order=view.ordering, per_page=limit.validated_data["limit"], params=request.query_params
        )
        return self.page.rows

    def _link(self, query: str):
        return self.request.build_absolute_uri(self.request.path) + query if query else None

    def get_paginated_response(self, data):
        return Response(
            {
                "results": data,
                "next": self._link(self.page.next_query),
                "previous": self._link(self.page.previous_query),
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {"results": schema, "next": link, "previous": link},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Rows per page, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": "Opaque key of the page's start: follow the `next` link rather than making one.",
                "schema": {"type": "string"},
            },
            {
                "name": "before",
                "in": "query",
                "required": False,
                "description": "Opaque key of the page's end: follow the `previous` link.",
                "schema": {"type": "string"},
            },
        ]
