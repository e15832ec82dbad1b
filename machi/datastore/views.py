"""The table view on a resource page: sort, filter, search, page, pick columns.

It reads the same query parameters as the rows API, so the page can show
the API URL that returns exactly what the reader sees. Plain links and GET
forms only: it works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from machi.catalog.models import Resource
from machi.datastore import queries
from machi.datastore.errors import DatastoreError, TableNotFound
from machi.datastore.models import Table
from machi.lib.i18n import english_requested

PAGE_SIZES = (20, 50, 100)
PAGE_SIZE = 20
# Parameters of the page that the API does not take.
_PAGE_ONLY = ("page", "size")
_FORM_ONLY = ("filter_column", "filter_op", "filter_value", "pick")
OPERATOR_LABELS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "prefix": gettext_lazy("starts with"),
    "in": gettext_lazy("one of (comma-separated)"),
    "isnull": gettext_lazy("is empty (true/false)"),
}


@dataclass
class ActiveFilter:
    label: str
    remove_url: str


# Filtering, sorting and paging land on the row count above the table, not the top of the
# page: on a phone the rows were a screen away, and a screen reader started again at the top.
RESULTS = "#table-results"


def canonical_redirect(request: HttpRequest) -> HttpResponseRedirect | None:
    """Turn the filter form and column checkboxes into API-style parameters.

    A GET form cannot name a parameter after a chosen column, so the form
    sends filter_column/filter_op/filter_value and this redirects to
    `<column>__<op>=value`, the URL readers can bookmark and the API takes.
    """
    if not any(key in request.GET for key in _FORM_ONLY):
        return None
    params = request.GET.copy()
    column = params.pop("filter_column", [""])[0].strip()
    op = params.pop("filter_op", ["eq"])[0].strip()
    value = params.pop("filter_value", [""])[0]
    if column and (value or op == "isnull"):
        key = column if op == "eq" else f"{column}__{op}"
        params.appendlist(key, value or "true")
    picked = params.pop("pick", None)
    if picked is not None:
        params["fields"] = ",".join(picked)
    params.pop("page", None)
    return HttpResponseRedirect(f"{request.path}?{params.urlencode()}{RESULTS}")


def table_panel(request: HttpRequest, resource: Resource) -> dict[str, Any] | None:
    """Context for datastore/_table.html, or None when the resource has no table."""
    try:
        table = queries.find_table(request.user, resource.uid)
    except TableNotFound:
        return None
    size = _size(request.GET.get("size"))
    page = _page(request.GET.get("page"))
    api_params = _api_params(request.GET)
    titles = _english_titles(table)
    context: dict[str, Any] = {
        "table": table,
        "columns": [ColumnLabel(c.name, titles.get(c.name, "")) for c in table.column_list],
        "operators": OPERATOR_LABELS,
        "size": size,
        "sizes": PAGE_SIZES,
        "q": request.GET.get("q", ""),
        "error": None,
    }
    query_params = api_params.copy()
    query_params["limit"] = str(size)
    query_params["offset"] = str((page - 1) * size)
    try:
        query = queries.parse(table, query_params)
        result = queries.rows(table, query)
    except DatastoreError as error:
        context["error"] = _readable(error, table)
        context["filters"] = _active_filters(request, table)  # each with its ×, to undo it
        return context
    shown = [c for c in query.fields if c.name != "_id"]
    hidden = 0
    if "fields" not in api_params:
        # Columns with no value at all (a standard's the file lacked) are left out of the
        # page: on a phone they filled the first screen with dashes. The API keeps them.
        filled = [c for c in shown if not c.empty]
        hidden, shown = len(shown) - len(filled), filled or shown
    sort = {c.name: descending for c, descending in query.sort}
    context.update(
        {
            "fields": [_header(request, c, sort.get(c.name), titles) for c in shown],
            "rows": [[record[c.name] for c in shown] for record in result.records],
            "picked": {c.name for c in shown},
            "empty_hidden": hidden,
            "total": result.total,
            "total_exact": result.total_exact,
            "first": (page - 1) * size + 1 if result.records else 0,
            "last": (page - 1) * size + len(result.records),
            "previous_url": _with(request, page=page - 1) if page > 1 else None,
            # A page past the last row (an old link, a typed number): say so, and link the
            # last page, instead of 「全 24 行中 0–19,960 行目」.
            "past_end_url": (
                _with(request, page=-(-result.total // size))
                if not result.records and page > 1 and result.total
                else None
            ),
            "next_url": _with(request, page=page + 1) if result.next else None,
            "filters": _active_filters(request, table),
            "api_url": _api_url(request, resource, api_params, size, page),
            "exports": _exports(table, api_params),
        }
    )
    context["api_url_text"] = unquote(context["api_url"])  # readable Japanese
    context["curl"] = f"curl '{context['api_url']}'"
    return context


def _size(raw: str | None) -> int:
    try:
        value = int(raw or PAGE_SIZE)
    except ValueError:
        return PAGE_SIZE
    return value if value in PAGE_SIZES else PAGE_SIZE


def _page(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _api_params(params: QueryDict) -> QueryDict:
    result = params.copy()
    for key in _PAGE_ONLY:
        result.pop(key, None)
    return result


def _with(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.path}?{params.urlencode()}{RESULTS}"


@dataclass
class ColumnLabel:
    name: str  # what the API, filters and downloads call it
    title: str  # in English, the schema's English title (national standards have one)


@dataclass
class Header:
    name: str
    type: str
    sort_url: str
    aria_sort: str  # "ascending", "descending" or "none"
    title: str = ""


def _header(
    request: HttpRequest, column: queries.Column, descending: bool | None, titles: dict[str, str]
) -> Header:
    # A click sorts ascending; a second click on the same column, descending.
    target = f"-{column.name}" if descending is False else column.name
    aria = {None: "none", False: "ascending", True: "descending"}[descending]
    url = _with(request, sort=target, page=None)
    return Header(column.name, column.type, url, aria, titles.get(column.name, ""))


def _english_titles(table: Table) -> dict[str, str]:
    """Column titles for an English reader: the schema's titles (a standard's fields have
    English ones) that differ from the name; nothing for a Japanese reader."""
    if not english_requested():
        return {}
    return {
        f["name"]: f["title"]
        for f in (table.schema or {}).get("fields", [])
        if f.get("title") and f["title"] != f["name"] and str(f["title"]).isascii()
    }


def _readable(error: DatastoreError, table: Table) -> str:
    """The error as the page's reader knows the filter: 開始時間 ≤, not 開始時間__lte."""
    message, parameter = str(error), str(error.where.get("parameter", ""))
    name, op = queries.split_key(parameter)
    if parameter and name in queries.columns_of(table) and message.startswith(f"{parameter}:"):
        return f"{name} {OPERATOR_LABELS[op]}" + message[len(parameter) :]
    return message


def _active_filters(request: HttpRequest, table: Table) -> list[ActiveFilter]:
    active = []
    if request.GET.get("q"):
        active.append(
            ActiveFilter(
                _("Search: %(q)s") % {"q": request.GET["q"]}, _with(request, q=None, page=None)
            )
        )
    columns = queries.columns_of(table)
    for key, values in request.GET.lists():
        name, op = queries.split_key(key)
        if name not in columns or key in queries.RESERVED:
            continue
        for value in values:
            params = request.GET.copy()
            params.setlist(key, [v for v in values if v != value])
            params.pop("page", None)
            label = f"{name} {OPERATOR_LABELS[op]} {value}"
            active.append(ActiveFilter(label, f"{request.path}?{params.urlencode()}"))
    return active


def _api_url(
    request: HttpRequest, resource: Resource, params: QueryDict, size: int, page: int
) -> str:
    params = params.copy()
    params["limit"] = str(size)
    if page > 1:
        params["offset"] = str((page - 1) * size)
    path = reverse("api:table_rows", args=[resource.uid])
    return request.build_absolute_uri(f"{path}?{params.urlencode()}")


def _exports(table: Table, params: QueryDict) -> list[tuple[str, str]]:
    """Download links for what the reader sees (every page of it)."""
    base = reverse("api:table_info", args=[table.resource.uid])
    query = params.urlencode()
    formats = [("csv", "CSV"), ("xlsx", "Excel"), ("json", "JSON")]
    if table.geo:
        formats.append(("geojson", "GeoJSON"))
    return [
        (label, f"{base}/export.{fmt}" + (f"?{query}" if query else "")) for fmt, label in formats
    ]
