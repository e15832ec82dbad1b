"""The read-only SQL endpoint: /api/v1/datastore/sql (machi/datastore/sql.py runs it).

Registered on its own router, mounted before the table routes; `sql` is not a
UUID, so `/datastore/{uuid:resource_id}` never matches it either way.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from machi.datastore import sql as service
from machi.datastore.api import FieldOut
from machi.datastore.errors import DatastoreError
from machi.lib.api_errors import errors

router = Router(tags=["datastore"])

DESCRIPTION = (
    "One read-only SELECT (WITH, UNION and window functions allowed) over published "
    "datastore tables: name a table by the `view` that /datastore/<resource id> gives, in "
    'double quotes (`SELECT 名称 FROM "<view>"`). Writes, PRAGMA, ATTACH, other tables and '
    "functions that reach outside the data are refused before the query runs. A query has a "
    "time limit (DATASTORE_TIME_LIMIT_MS, 1 s by default) and returns at most "
    "DATASTORE_SQL_ROW_LIMIT rows (`truncated` is true when there were more). A refused, "
    "unreadable or stopped query gets 400 with `detail` saying why."
)


class SqlOut(Schema):
    fields: list[FieldOut]
    records: list[dict[str, Any]] = Field(description="One object per row, keyed by column.")
    truncated: bool = Field(description="true when the row limit cut the result.")


def _result(request: HttpRequest, response: HttpResponse, sql: str | None) -> dict[str, Any]:
    # What a query sees depends on who asks (private datasets): no shared caching.
    response["Cache-Control"] = "private, no-store"
    result = service.run_sql(request.user, sql)
    return {"fields": result.fields, "records": result.records, "truncated": result.truncated}


@router.get(
    "/datastore/sql",
    response={200: SqlOut, **errors(400, 503)},
    summary="Run a read-only SQL query",
    description=DESCRIPTION,
)
def sql_get(request: HttpRequest, response: HttpResponse, sql: str | None = None) -> Any:
    return _result(request, response, sql)


_BODY = {
    "requestBody": {
        "content": {
            content_type: {
                "schema": {
                    "type": "object",
                    "properties": {"sql": {"type": "string"}},
                    "required": ["sql"],
                }
            }
            for content_type in (
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )
        }
    }
}


@router.post(
    "/datastore/sql",
    response={200: SqlOut, **errors(400, 503)},
    summary="Run a read-only SQL query (long queries)",
    description=DESCRIPTION,
    openapi_extra=_BODY,
)
def sql_post(request: HttpRequest, response: HttpResponse) -> Any:
    """The same as GET, with `sql` in a JSON or form body."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise DatastoreError(_("The request body is not valid JSON.")) from None
        sql = body.get("sql") if isinstance(body, dict) else None
        if sql is not None and not isinstance(sql, str):
            raise DatastoreError(_("sql must be text."), parameter="sql")
    else:
        sql = request.POST.get("sql")
    return _result(request, response, sql)
