"""HTTP for datastore reads: validators and 304s, Cache-Control, gzip.

Every datastore GET route carries `@table_read` (under its `@router.get`).
Before the route runs, the decorator looks up the table the request names
(one indexed query) and answers If-None-Match / If-Modified-Since with 304
without running the query. On a 200 it adds

- `ETag` (weak): a hash of the table version (Table.uid and its load time),
  the path, the query string and the language of the response;
- `Last-Modified`: the table's load time;
- `Cache-Control`: `public, max-age=60` for tables of public datasets,
  `private, no-store` for the others; `Vary: Accept-Language`;

and gzips JSON, CSV and NDJSON bodies (streamed ones too) when the client
accepts gzip. XLSX is a zip already and is sent as it is.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language
from ninja.decorators import decorate_view

from machi.datastore import queries
from machi.datastore.errors import DatastoreError
from machi.datastore.models import Table

MAX_AGE = 60  # seconds a public read may be reused without asking
COMPRESSED_TYPES = {
    "application/json",
    "application/geo+json",
    "application/x-ndjson",
    "text/csv",
}
_TABLES = "_machi_datastore_tables"

View = TypeVar("View", bound=Callable[..., Any])


# --- Finding the table once ----------------------------------------------------------------


def _version(request: HttpRequest) -> int | None:
    raw = request.GET.get("version")
    return queries.positive_integer(raw, "version") if raw else None


def table_for(request: HttpRequest, resource_id: Any) -> Table:
    """The table the request reads (resource and `version`), found once per request."""
    number = _version(request)
    found: dict[tuple[str, int | None], Table] = request.__dict__.setdefault(_TABLES, {})
    key = (str(resource_id), number)
    if key not in found:
        found[key] = queries.find_table(request.user, resource_id, number)
    return found[key]


# --- Validators ----------------------------------------------------------------------------


def validators(request: HttpRequest, table: Table) -> tuple[str, int]:
    """(weak ETag, Last-Modified timestamp) of what the request reads from `table`."""
    shape = [
        str(table.uid),
        table.loaded.isoformat(),
        request.path,
        request.META.get("QUERY_STRING", ""),
        get_language() or "",
    ]
    digest = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:32]
    return f'W/"{digest}"', int(table.loaded.timestamp())


def _set_headers(request: HttpRequest, response: HttpResponseBase, table: Table) -> None:
    etag, modified = validators(request, table)
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(modified)
    if table.resource.dataset.is_public:
        patch_cache_control(response, public=True, max_age=MAX_AGE)
    else:
        patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ("Accept-Language",))


def conditional(request: HttpRequest, table: Table) -> HttpResponseBase | None:
    """304 (or 412) when the request's validators match `table`'s; None to go on."""
    etag, modified = validators(request, table)
    probe = HttpResponse()
    _set_headers(request, probe, table)
    answer = get_conditional_response(request, etag=etag, last_modified=modified, response=probe)
    return None if answer is probe else answer


def add_headers(request: HttpRequest, response: HttpResponseBase, table: Table) -> None:
    """Validators and Cache-Control on a successful read."""
    if response.status_code == 200:
        _set_headers(request, response, table)


# --- Compression ---------------------------------------------------------------------------


def _unused(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError("GZipMiddleware is used for process_response only")


_gzip = GZipMiddleware(_unused)


def compress(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Gzip JSON, CSV and NDJSON (streamed or not) when the client accepts it."""
    kind = response.get("Content-Type", "").split(";")[0].strip().lower()
    if kind not in COMPRESSED_TYPES:
        return response
    return _gzip.process_response(request, response)


# --- The decorator -------------------------------------------------------------------------


def _conditional_run(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        table = None
        if "resource_id" in kwargs:
            try:
                table = table_for(request, kwargs["resource_id"])
            except DatastoreError:
                table = None  # the route says what is wrong
        if table is not None:
            answer = conditional(request, table)
            if answer is not None:
                return answer
        response = run(request, *args, **kwargs)
        if table is not None:
            add_headers(request, response, table)
        return compress(request, response)

    return wrapped


def table_read(view: View) -> View:
    """Mark a datastore GET route: 304s, validators, Cache-Control and gzip (module doc)."""
    return decorate_view(_conditional_run)(view)
