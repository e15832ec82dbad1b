"""Datastore routes of the machi API: /api/v1/datastore/<resource id>/...

Column filters are query parameters named after the column, with an
operator after `__` (`人口__gte=1000`, `区分__in=公立,私立`, `名称__prefix=文京`,
`備考__isnull=true`; no operator means `eq`). Other parameters are listed
in each route's OpenAPI entry.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.http import HttpRequest, QueryDict
from ninja import Field, Router, Schema

from machi.datastore import http, queries
from machi.datastore.models import Table
from machi.lib.api_errors import errors

router = Router(tags=["datastore"])

FILTERS_HELP = (
    "Column filters: `<column>=value` (equal), or `<column>__<op>=value` with op one of "
    "eq, ne, in (comma-separated or a JSON array), lt, lte, gt, gte, prefix (text), isnull "
    "(true/false). Repeat a parameter to combine conditions (all must hold)."
)


class FieldOut(Schema):
    name: str
    type: str


class TableOut(Schema):
    resource_id: uuid.UUID
    version: int
    versions: list[int]
    table: str = Field(description="Table name for the SQL endpoint (this version).")
    view: str = Field(description="Always the newest version: use this name in SQL.")
    fields: list[FieldOut]
    total: int
    loaded: datetime.datetime
    geo: bool


class RowsOut(Schema):
    fields: list[FieldOut]
    records: list[dict[str, Any]]
    total: int
    total_exact: bool = Field(description="false when the total was estimated.")
    next: str | None = Field(
        description="Pass as `next` for the following page (keyset cursor); null on the last."
    )


class FacetValue(Schema):
    value: Any
    count: int


class AggregateOut(Schema):
    group_by: list[str]
    metrics: list[str]
    results: list[dict[str, Any]]


def _fields(columns: list[Any]) -> list[dict[str, str]]:
    return [{"name": c.name, "type": c.type} for c in columns]


def _filters(request: HttpRequest, *options: str) -> QueryDict:
    """The request's parameters less a route's own options, for queries.parse."""
    params = request.GET.copy()
    for name in options:
        params.pop(name, None)
    return params


@router.get(
    "/datastore/{uuid:resource_id}",
    response={200: TableOut, **errors(404)},
    summary="Describe a table",
)
@http.table_read
def table_info(request: HttpRequest, resource_id: uuid.UUID, version: str | None = None) -> Any:
    table = http.table_for(request, resource_id)  # found once, by @table_read
    versions = (
        Table.objects.filter(resource=table.resource)
        .order_by("version__number")
        .values_list("version__number", flat=True)
    )
    return {
        "resource_id": table.resource.uid,
        "version": table.version.number,
        "versions": list(versions),
        "table": table.name,
        "view": str(table.resource.uid),
        "fields": _fields([queries.ROW_ID, *table.column_list]),
        "total": table.row_count,
        "loaded": table.loaded,
        "geo": bool(table.geo),
    }


@router.get(
    "/datastore/{uuid:resource_id}/rows",
    response={200: RowsOut, **errors(400, 404, 503)},
    summary="Query rows",
    description=FILTERS_HELP,
)
@http.table_read
def table_rows(
    request: HttpRequest,
    resource_id: uuid.UUID,
    q: str | None = None,
    sort: str | None = None,
    fields: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
    next: str | None = None,
    version: str | None = None,
) -> Any:
    """Rows matching the filters and the full-text `q` (Japanese analysis).

    `sort`: columns separated by commas, `-` before a name (or ` desc` after it)
    for descending. `fields`: the columns to return. `limit`: 0-10000 (100).
    `offset`, or `next` from the previous page (stays fast at any depth).
    """
    table = http.table_for(request, resource_id)  # found once, by @table_read
    page = queries.rows(table, queries.parse(table, request.GET))
    return {
        "fields": _fields(page.fields),
        "records": page.records,
        "total": page.total,
        "total_exact": page.total_exact,
        "next": page.next,
    }


@router.get(
    "/datastore/{uuid:resource_id}/facets",
    response={200: dict[str, list[FacetValue]], **errors(400, 404, 503)},
    summary="Count distinct values",
    description=FILTERS_HELP,
)
@http.table_read
def table_facets(
    request: HttpRequest,
    resource_id: uuid.UUID,
    columns: str,
    limit: str | None = None,
    q: str | None = None,
    version: str | None = None,
) -> Any:
    """The most frequent values of each column in `columns` (comma-separated), with counts."""
    table = http.table_for(request, resource_id)  # found once, by @table_read
    top = queries.bounded_integer(limit, "limit", queries.FACET_LIMIT, 1, queries.MAX_FACET_LIMIT)
    names = [name.strip() for name in columns.split(",") if name.strip()]
    return queries.facets(
        table, queries.parse(table, _filters(request, "columns", "limit")), names, top
    )


@router.get(
    "/datastore/{uuid:resource_id}/aggregate",
    response={200: AggregateOut, **errors(400, 404, 503)},
    summary="Count, sum, average, minimum, maximum by group",
    description=FILTERS_HELP,
)
@http.table_read
def table_aggregate(
    request: HttpRequest,
    resource_id: uuid.UUID,
    metrics: str = "count",
    group_by: str = "",
    q: str | None = None,
    version: str | None = None,
) -> Any:
    """`metrics`: comma-separated `count`, `sum:<column>`, `avg:<column>`, `min:<column>`,
    `max:<column>`. `group_by`: comma-separated columns."""
    table = http.table_for(request, resource_id)  # found once, by @table_read
    return queries.aggregate(
        table,
        queries.parse(table, _filters(request, "metrics", "group_by")),
        [name.strip() for name in group_by.split(",") if name.strip()],
        [metric.strip() for metric in metrics.split(",") if metric.strip()],
    )
