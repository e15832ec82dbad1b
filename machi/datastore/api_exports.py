"""Datastore exports: /api/v1/datastore/<resource id>/export.<format>.

The whole table, or the rows of any query (the filters, `q`, `sort` and
`fields` of the rows route; no `limit`/`offset`), as a file streamed while
it is read (machi/datastore/exports.py).
"""

from __future__ import annotations

import uuid
from contextlib import closing
from dataclasses import replace
from typing import Any

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Router

from machi.datastore import exports, http, queries
from machi.datastore.errors import DatastoreError, QueryTimeout

router = Router(tags=["datastore"])

CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "geojson": "application/geo+json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The name each CSV encoding has in a Content-Type.
CHARSETS = {"utf-8-sig": "utf-8", "utf-8": "utf-8", "cp932": "Windows-31J"}
# Parameters of the rows route that an export does not take.
_NOT_FILTERS = ("encoding", "limit", "offset", "next")

EXPORT_HELP = (
    "The rows of the table, or of the query, as a file. `format`: "
    "csv, json (an array of records), ndjson (a record a line), "
    "geojson (a FeatureCollection of points; tables with coordinates only), xlsx "
    "(at most 1,048,575 rows). `encoding` (CSV only): utf-8-sig (default: UTF-8 with a "
    "byte order mark, which Excel recognizes), utf-8, or cp932 (Shift_JIS for old "
    "software; characters it cannot encode become 〓). Column filters, `q`, `sort` and "
    "`fields` work as on the rows route; `limit`, `offset` and `next` are ignored."
)


class UnknownFormat(DatastoreError):
    status = 404


@router.get(
    "/datastore/{uuid:resource_id}/export.{format}",
    summary="Download rows as a file",
    description=EXPORT_HELP,
)
@http.table_read
def table_export(
    request: HttpRequest,
    resource_id: uuid.UUID,
    format: str,
    q: str | None = None,
    sort: str | None = None,
    fields: str | None = None,
    encoding: str | None = None,
    version: str | None = None,
) -> Any:
    if format not in CONTENT_TYPES:
        raise UnknownFormat(
            _("Exports come as %(formats)s, not “%(format)s”.")
            % {"formats": ", ".join(CONTENT_TYPES), "format": format},
            parameter="format",
        )
    table = http.table_for(request, resource_id)
    chosen = (encoding or exports.DEFAULT_ENCODING).strip().lower()
    if format == "csv" and chosen not in exports.ENCODINGS:
        raise DatastoreError(
            _("encoding: “%(value)s” is not one of %(names)s.")
            % {"value": encoding, "names": ", ".join(exports.ENCODINGS)},
            parameter="encoding",
        )
    if format == "geojson" and not table.geo:
        raise DatastoreError(
            _(
                "This table has no coordinates (latitude and longitude columns), so it "
                "cannot be exported as GeoJSON. Download CSV or JSON instead."
            ),
            parameter="format",
        )
    params = request.GET.copy()
    for name in _NOT_FILTERS:
        params.pop(name, None)
    query = queries.parse(table, params)
    disposition = exports.content_disposition(table, format)

    if format == "xlsx":
        _check_sheet_size(table, query)
        with closing(exports.rows(table, query)) as rows:
            file = exports.write_xlsx(query.fields, rows, title=table.resource.name)
        response: StreamingHttpResponse = FileResponse(file, content_type=CONTENT_TYPES["xlsx"])
        response.block_size = exports.CHUNK
    else:
        if format == "geojson":
            query = exports.with_coordinates(table, query)
        rows = exports.rows(table, query)
        if format == "csv":
            content = exports.write_csv(query.fields, rows, chosen)
            content_type = f"text/csv; charset={CHARSETS[chosen]}; header=present"
        else:
            if format == "json":
                content = exports.write_json(query.fields, rows)
            elif format == "ndjson":
                content = exports.write_ndjson(query.fields, rows)
            else:
                content = exports.write_geojson(query.fields, rows, table.geo)
            content_type = f"{CONTENT_TYPES[format]}; charset=utf-8"
        response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = disposition
    return response


def _check_sheet_size(table: Any, query: queries.RowQuery) -> None:
    """Refuse, before writing, exports known to be longer than a sheet."""
    limit = exports.XLSX_MAX_ROWS
    if table.row_count <= limit:
        return
    if not query.filtered:
        raise exports.too_many_rows(table.row_count)
    try:
        page = queries.rows(table, replace(query, limit=0, offset=0, after=None))
    except QueryTimeout:
        return  # write_xlsx stops at the limit
    if page.total_exact and page.total > limit:
        raise exports.too_many_rows(page.total)
