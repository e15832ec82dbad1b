"""Reading datastore tables: rows with filters, full text, sorts and cursors; facets; aggregates.

A request's parameters become a `RowQuery` (`parse`), checked against the
table's columns and types before any SQL runs, so a bad parameter gets a
message naming it. SQL is built from quoted column names and bound values
only.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Case, F, QuerySet, When
from django.utils.translation import gettext as _
from frictionless import Field

from machi.catalog import search as catalog_search
from machi.catalog.models import Resource
from machi.catalog.queries import visible_datasets
from machi.datastore import engine
from machi.datastore.engine import Column
from machi.datastore.errors import (
    TYPE_NAMES,
    DatastoreError,
    QueryTimeout,
    SearchNotReady,
    TableNotFound,
)
from machi.datastore.models import Table
from machi.lib import search

DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
FACET_LIMIT = 50
MAX_FACET_LIMIT = 1000
OPERATORS = ("eq", "ne", "in", "lt", "lte", "gt", "gte", "prefix", "isnull")
RESERVED = {"q", "sort", "fields", "limit", "offset", "next", "version", "format", "api_key"}
ROW_ID = Column("_id", "_id", "integer")
ESTIMATE_SAMPLE = 20000  # rows counted to estimate a total that took too long
_NUMERIC = {"integer", "number", "year"}
_CURSOR_SALT = "machi.datastore.cursor"
SQL = tuple[str, list[Any]]


# --- Finding the table ---------------------------------------------------------------------


def tables_for(user: Any) -> QuerySet[Table]:
    """Tables of the datasets `user` may see."""
    return Table.objects.filter(resource__dataset__in=visible_datasets(user)).select_related(
        "resource__dataset", "version"
    )


def find_table(user: Any, resource_uid: Any, version: int | None = None) -> Table:
    """The table of the resource's current version (or a given version's), if `user` may see it.

    Without a table for the current version (a file that is not tabular), the newest
    loaded one answers.
    """
    tables = tables_for(user).filter(resource__uid=resource_uid)
    if version is not None:
        tables = tables.filter(version__number=version)
    table = tables.order_by(*serving_order()).first()
    if table is None:
        if version is not None and tables_for(user).filter(resource__uid=resource_uid).exists():
            raise TableNotFound(_("This resource has no table for version %(v)d.") % {"v": version})
        if Resource.objects.filter(uid=resource_uid, dataset__in=visible_datasets(user)).exists():
            raise TableNotFound(_("This resource has no table (only tabular files are loaded)."))
        raise TableNotFound(_("No resource has this ID."))
    return table


def serving_order() -> tuple[Any, ...]:
    """Tables of one resource, the one it serves first: its current version's, else the newest."""
    current = Case(When(version_id=F("resource__current_id"), then=0), default=1)
    return (current, "-version__number")


# --- Parsing a request ---------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    column: Column
    op: str
    value: Any  # as stored: a value, a list (in) or a bool (isnull)


@dataclass
class RowQuery:
    filters: list[Filter] = field(default_factory=list)
    q: str = ""
    sort: list[tuple[Column, bool]] = field(default_factory=list)  # (column, descending)
    fields: list[Column] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: dict[str, Any] | None = None  # the decoded cursor

    @property
    def filtered(self) -> bool:
        return bool(self.filters or self.q.strip())


def columns_of(table: Table) -> dict[str, Column]:
    return {"_id": ROW_ID, **{c.name: c for c in table.column_list}}


def column_named(table: Table, name: str, parameter: str) -> Column:
    column = columns_of(table).get(name)
    if column is None:
        raise DatastoreError(
            _('%(parameter)s: the table has no column "%(name)s". Columns: %(columns)s')
            % {
                "parameter": parameter,
                "name": name,
                "columns": "、".join(c.name for c in table.column_list),
            },
            parameter=parameter,
        )
    return column


def parse(table: Table, params: Mapping[str, Any]) -> RowQuery:
    """A RowQuery from query-string parameters (a QueryDict or a plain mapping)."""
    query = RowQuery()
    getlist = params.getlist if hasattr(params, "getlist") else lambda k: [params[k]]
    columns = columns_of(table)
    for key in params:
        if key in RESERVED or key.startswith("_") and split_key(key)[0] not in columns:
            continue  # reserved words, and _-prefixed options of other tools
        for raw in getlist(key):
            query.filters.append(_filter(table, key, raw))
    query.q = str(params.get("q", "")).strip()
    if query.q and not table.search_ready:
        raise SearchNotReady(
            _(
                "Full-text search of this table is being prepared (it was just published); "
                "try again in a few minutes. Filters and sorting work now."
            )
        )
    query.sort = _sort(table, str(params.get("sort", "")))
    query.fields = _fields(table, str(params.get("fields", "")))
    query.limit = bounded_integer(params.get("limit"), "limit", DEFAULT_LIMIT, 0, MAX_LIMIT)
    query.offset = bounded_integer(params.get("offset"), "offset", 0, 0, None)
    token = str(params.get("next", "")).strip()
    if token:
        query.after = _decode_cursor(table, query, token)
    return query


def positive_integer(raw: Any, name: str) -> int:
    return bounded_integer(raw, name, 1, 1, None)


def bounded_integer(raw: Any, name: str, default: int, low: int, high: int | None) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise DatastoreError(
            _("%(name)s must be a whole number, not “%(value)s”.") % {"name": name, "value": raw},
            parameter=name,
        ) from None
    if value < low or (high is not None and value > high):
        message = (
            _("%(name)s must be between %(low)d and %(high)d.")
            if high is not None
            else _("%(name)s must be %(low)d or more.")
        )
        raise DatastoreError(
            message % {"name": name, "low": low, "high": high or 0}, parameter=name
        )
    return value


def split_key(key: str) -> tuple[str, str]:
    """A filter parameter as (column, operator): `人口__gte` → (人口, gte); none means eq."""
    name, sep, op = key.rpartition("__")
    return (name, op) if sep and op in OPERATORS else (key, "eq")


def _filter(table: Table, key: str, raw: str) -> Filter:
    name, op = split_key(key)
    column = column_named(table, name, key)
    if op == "isnull":
        flag = raw.strip().lower()
        if flag not in {"true", "false", "1", "0"}:
            raise DatastoreError(
                _("%(key)s takes true or false, not “%(value)s”.") % {"key": key, "value": raw},
                parameter=key,
            )
        return Filter(column, op, flag in {"true", "1"})
    if op == "in":
        items = _listed(raw)
        if not items:
            raise DatastoreError(
                _("%(key)s takes one or more values separated by commas, such as A,B.")
                % {"key": key},
                parameter=key,
            )
        return Filter(column, op, [cast_value(column, item, key) for item in items])
    if op == "prefix":
        if column.type != "string":
            raise DatastoreError(
                _("%(key)s: prefix works on text columns only.") % {"key": key}, parameter=key
            )
        return Filter(column, op, raw)
    return Filter(column, op, cast_value(column, raw, key))


def _listed(raw: str) -> list[str]:
    # Datasette's convention: a JSON array, or values separated by commas.
    if raw.strip().startswith("["):
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if isinstance(items, list):
            return [str(item) for item in items]
    # Empty items (A,B, or A,,B) are commas typed once too often, not values.
    return [item.strip() for item in raw.split(",") if item.strip()]


# Frictionless's cell readers, one per type, made when the module loads: the first
# one takes Frictionless about 0.2 s, which a worker's first request would wait for.
_READERS: dict[str, Any] = {
    kind: Field.from_descriptor({"name": "value", "type": kind}).create_cell_reader()
    for kind in TYPE_NAMES
}


_HOURS_MINUTES = re.compile(r"\d{1,2}:\d{2}")


def cast_value(column: Column, raw: Any, parameter: str) -> Any:
    """A parameter's text as the column stores it; a clear error when it does not fit."""
    reader = _READERS.get(column.type, _READERS["string"])
    if column.type == "time" and isinstance(raw, str) and _HOURS_MINUTES.fullmatch(raw):
        # The national standards write times as hh:mm, and so do people (7:30).
        hours, minutes = raw.split(":")
        raw = f"{hours:0>2}:{minutes}:00"
    value, notes = reader(raw)
    if notes or value is None:
        raise DatastoreError(
            _("%(parameter)s: “%(value)s” is not a %(type)s (column “%(column)s”).")
            % {
                "parameter": parameter,
                "value": raw,
                "type": TYPE_NAMES.get(column.type, column.type),
                "column": column.name,
            },
            parameter=parameter,
        )
    return engine.stored_value(column.type, value)


def _sort(table: Table, raw: str) -> list[tuple[Column, bool]]:
    """`-人口,名称` or CKAN's `人口 desc, 名称 asc`."""
    keys = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("-").strip()
        words = name.rsplit(" ", 1)
        if len(words) == 2 and words[1].lower() in {"asc", "desc"}:
            name, descending = words[0].strip(), words[1].lower() == "desc"
        if len(name) >= 2 and name[0] == name[-1] == '"':  # CKAN clients quote odd names
            name = name[1:-1]
        keys.append((column_named(table, name, "sort"), descending))
    return keys


def _fields(table: Table, raw: str) -> list[Column]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        return [ROW_ID, *table.column_list]
    chosen = [column_named(table, name, "fields") for name in names]
    return list(dict.fromkeys(chosen))


# --- SQL -----------------------------------------------------------------------------------
#
# The table is always `t`; on SQLite a full-text query joins the FTS5 index as `f`, whose
# rowid is the row's _id, so pages in _id order and counts can come from the index alone.


def ident(name: str) -> str:
    # Doubling % keeps a column named "割合%" from reading as a parameter.
    return engine.quote(name).replace("%", "%%")


def ref(column: Column, rowid: str = "t._id") -> str:
    """A column in SQL: `t."名称"`, and `_id` as the selection's row id."""
    return rowid if column.column == "_id" else f"t.{ident(column.column)}"


@dataclass(frozen=True)
class Selection:
    """The rows a query selects, as SQL: FROM, WHERE, parameters, and the row id."""

    source: str
    where: str
    params: list[Any]
    rowid: str = "t._id"
    text_only: str | None = None  # SQLite: the FTS5 match alone, when it is the only condition

    def sql(self, select: str, extra: str = "") -> str:
        where = f"({self.where}) AND {extra}" if extra else self.where
        return f"SELECT {select} FROM {self.source} WHERE {where}"


def selection(
    table: Table, query: RowQuery, index: Filter | None | bool = True, using: str | None = None
) -> Selection:
    """The query as SQL. On SQLite `index` says which filters may use an index:
    all (True), none (False: `+t.col`), or only the one given; `using` names the
    one index to use."""
    parts: list[str] = []
    params: list[Any] = []
    for f in query.filters:
        unindexed = engine.vendor() == "sqlite" and index is not True and index is not f
        sql, values = _condition(f, unindexed)
        parts.append(sql)
        params += values
    source = f"{engine.qualified(table.name).replace('%', '%%')} AS t"
    if using is not None:
        source += f" INDEXED BY {ident(using)}"
    node = catalog_search.parse_query(query.q) if query.q else None
    if node is None:
        return Selection(source, " AND ".join(parts) or "1=1", params)
    if engine.vendor() == "postgresql":
        parts.append("t._search @@ CAST(%s AS tsquery)")
        return Selection(source, " AND ".join(parts), [*params, search.tsquery(node)])
    fts = ident(f"{table.name}#fts")
    match = [search.fts5_query(node)]
    return Selection(
        f"{source} JOIN {fts} AS f ON f.rowid = t._id",
        " AND ".join(["f._search MATCH %s", *parts]),
        [*match, *params],
        rowid="f.rowid",
        text_only=None if parts else f"SELECT count(*) FROM {fts} AS f WHERE f._search MATCH %s",
    )


def _condition(f: Filter, unindexed: bool = False) -> SQL:
    if f.column.empty:
        return _empty_condition(f), []
    column = ("+" if unindexed else "") + ref(f.column)
    comparisons = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
    if f.op in comparisons:
        return f"{column} {comparisons[f.op]} %s", [f.value]
    if f.op == "ne":
        return f"({column} <> %s OR {column} IS NULL)", [f.value]
    if f.op == "in":
        return f"{column} IN ({', '.join('%s' for _ in f.value)})", list(f.value)
    if f.op == "isnull":
        return f"{column} IS {'' if f.value else 'NOT '}NULL", []
    # prefix: a range, which an index serves on both engines (binary/C collation).
    if not f.value:
        return f"{column} IS NOT NULL", []
    upper = f.value[:-1] + chr(min(ord(f.value[-1]) + 1, 0x10FFFF))
    return f"{column} >= %s AND {column} < %s", [f.value, upper]


def _empty_condition(f: Filter) -> str:
    """A filter on a column without values (engine.Column.empty), which has no index:
    true of every row or of none, as the filter would be on NULL."""
    every = f.op == "ne" or (f.op == "isnull" and f.value)
    return "1=1" if every else "1=0"


def _order(query: RowQuery) -> list[tuple[Column, bool]]:
    """The sort keys with `_id` last, so every row has one place (keyset paging).

    A column without values orders nothing (every row ties) and has no index to sort
    by: it is left out, its direction kept for the row id when it was the last key."""
    keys = [key for key in query.sort if key[0] is not ROW_ID and key[0].column != "_id"]
    tie = next((d for c, d in query.sort if c.column == "_id"), keys[-1][1] if keys else False)
    return [*(key for key in keys if not key[0].empty), (ROW_ID, tie)]


def _order_sql(keys: list[tuple[Column, bool]], rowid: str) -> str:
    # NULL is the smallest value on both engines (SQLite's own order).
    postgres = engine.vendor() == "postgresql"
    parts = []
    for column, descending in keys:
        direction = " DESC" if descending else ""
        if postgres and column.column != "_id":
            direction += " NULLS LAST" if descending else " NULLS FIRST"
        parts.append(ref(column, rowid) + direction)
    return ", ".join(parts)


def _after(keys: list[tuple[Column, bool]], values: list[Any], rowid: str) -> SQL:
    """Rows after the cursor's row in `keys` order (NULL smallest)."""
    (column, descending), rest = keys[0], keys[1:]
    name, value = ref(column, rowid), values[0]
    if not rest:
        return f"{name} {'<' if descending else '>'} %s", [value]
    tail_sql, tail_params = _after(rest, values[1:], rowid)
    nullable = column.nulls > 0
    if value is None:
        if descending:
            return f"({name} IS NULL AND {tail_sql})", tail_params
        return f"({name} IS NOT NULL OR ({name} IS NULL AND {tail_sql}))", tail_params
    beyond = f"{name} {'<' if descending else '>'} %s"
    if descending and nullable:
        beyond = f"({beyond} OR {name} IS NULL)"
    return f"({beyond} OR ({name} = %s AND {tail_sql}))", [value, value, *tail_params]


# --- Cursors -------------------------------------------------------------------------------


def _signature(table: Table, query: RowQuery) -> str:
    # A cursor belongs to one table and one filter/sort; reusing it elsewhere is an error.
    shape = [
        table.name,
        [(f.column.name, f.op, f.value) for f in query.filters],
        query.q,
        [(c.name, d) for c, d in query.sort],
    ]
    return hashlib.sha256(json.dumps(shape, cls=DjangoJSONEncoder).encode()).hexdigest()[:16]


def _encode_cursor(table: Table, query: RowQuery, values: list[Any]) -> str:
    return signing.dumps(
        {"s": _signature(table, query), "v": values},
        salt=_CURSOR_SALT,
        compress=True,
        serializer=_CursorSerializer,
    )


class _CursorSerializer:
    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj, cls=DjangoJSONEncoder, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


def _decode_cursor(table: Table, query: RowQuery, token: str) -> dict[str, Any]:
    bad = DatastoreError(
        _("next: this cursor is not valid for this query. Start again without next."),
        parameter="next",
    )
    try:
        data = signing.loads(token, salt=_CURSOR_SALT, serializer=_CursorSerializer)
    except (signing.BadSignature, ValueError):
        raise bad from None
    keys = _order(query)
    if data.get("s") != _signature(table, query) or len(data.get("v", [])) != len(keys):
        raise bad
    values = [
        None if raw is None else cast_value(column, raw, "next")
        for (column, _d), raw in zip(keys, data["v"], strict=True)
    ]
    return {"values": values}


# --- Running queries -----------------------------------------------------------------------


@dataclass
class Page:
    fields: list[Column]
    records: list[dict[str, Any]]
    total: int
    total_exact: bool
    next: str | None


# SQLite's planner knows how many rows an equality finds on average, not how many a
# range or a particular value finds (no STAT4 here). machi counts each filter's matches
# among the first rows (through that filter's index: about a millisecond) and plans
# from that: see _sqlite_plan.
WALK_ROWS = 20_000  # rows a page may walk in sort order to find its matches
WINDOW_ROWS = 50_000  # matches a page may sort and count at once
COUNT_ROWS_PER_MS = 1_000  # index entries an exact count visits per millisecond (measured)
# Work (SQLite virtual machine steps) a walk in sort order may take before the page is
# found the other way (the estimate that chose the walk may be off).
INDEX_ORDER_BUDGET = 300_000
# Reading a row while walking the sort order costs about as much as taking 5–10 entries
# of a group index into a sort (measured on a million rows).
ROW_READ_COST_IN_ENTRIES = 8


@dataclass(frozen=True)
class Plan:
    """How SQLite finds a filtered page, chosen from the filters' matches in a sample."""

    walk: bool  # walk the sort order (an index, or _id) checking every filter
    driver: Filter | None  # otherwise the filter whose index finds the rows
    matches: int  # the query's matches, estimated from the sample
    exact: bool  # the sample was the whole table
    driver_rows: int  # rows the driver's index holds for it, estimated


def rows(table: Table, query: RowQuery) -> Page:
    keys = _order(query)
    group = _group_index(table, query, keys) if _planned(query) else None
    plan = _sqlite_plan(table, query) if _planned(query) and group is None else None
    if group is not None:
        fetched, counted = _grouped_page(table, query, keys, group)
    else:
        fetched, counted = _page(table, query, keys, plan)
    more = len(fetched) > query.limit
    fetched = fetched[: query.limit]
    width = len(query.fields)
    records = [_record(query.fields, row[:width]) for row in fetched]
    cursor_token = None
    if more and fetched:
        last = [present(c, v) for (c, _d), v in zip(keys, fetched[-1][width:], strict=True)]
        cursor_token = _encode_cursor(table, query, _json_values(last))
    if counted is not None:
        total, exact = counted, True
    elif group is not None:  # no time to count the group
        total, exact = _estimated_total(table, query), False
    else:
        total, exact = _total(table, query, plan)
    # An estimate is never below what the reader has already been shown.
    shown = query.offset + len(records) + (1 if more else 0)
    total = total if exact else max(total, shown)
    return Page(query.fields, records, total, exact, cursor_token)


def _planned(query: RowQuery) -> bool:
    return engine.vendor() == "sqlite" and bool(query.filters) and not query.q


def _group_index(
    table: Table, query: RowQuery, keys: list[tuple[Column, bool]]
) -> engine.GroupIndex | None:
    """A group index (engine.py) holding every column the filters and the sort use,
    led by a column the filters fix (= or in), if the table has one."""
    used = {f.column.column for f in query.filters} | {c.column for c, _d in keys}
    used.discard("_id")
    fixed = {f.column.column for f in query.filters if f.op in {"eq", "in"}}
    # The later ones are led by columns of more values: fewer rows per value.
    for group in reversed(engine.group_indexes(table.name, table.loaded)):
        if group.columns[0] in fixed and used <= set(group.columns):
            return group
    return None


def _grouped_page(
    table: Table, query: RowQuery, keys: list[tuple[Column, bool]], group: engine.GroupIndex
) -> tuple[list[tuple], int | None]:
    """The page, and its total, through a group index.

    The matches are counted among the index's entries first. Dense ones (a page within
    fewer rows of the sort order than it would take to sort the matches' entries) are
    found by walking the sort order, as with any plan (a budget guards against
    clusters); otherwise the page's row ids are found, sorted and skipped among the
    index's entries, and only those rows are read.
    """
    chosen = selection(table, query, using=group.name)
    counted = _count(table, chosen)
    if counted == 0:
        return [], 0
    rows_to_find = query.limit + 1 + (query.offset if query.after is None else 0)
    if counted is not None and rows_to_find * table.row_count / counted <= min(
        WALK_ROWS, counted / ROW_READ_COST_IN_ENTRIES
    ):
        try:
            with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS, INDEX_ORDER_BUDGET):
                return _fetch(table, query, keys, index=False)[0], counted
        except engine.OverBudget:
            pass
    extra, params = "", list(chosen.params)
    offset = query.offset if query.after is None else 0
    if query.after is not None:
        extra, values = _after(keys, query.after["values"], chosen.rowid)
        params += values
    sql = chosen.sql(chosen.rowid, extra) + f" ORDER BY {_order_sql(keys, chosen.rowid)} LIMIT %s"
    params.append(query.limit + 1)
    if offset:
        sql += " OFFSET %s"
        params.append(offset)
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        with engine.connection().cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return [], counted
            columns = [ref(c) for c in [*query.fields, *(c for c, _d in keys)]]
            source = f"{engine.qualified(table.name).replace('%', '%%')} AS t"
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM {source} "
                f"WHERE t._id IN ({', '.join('%s' for _ in ids)})",
                ids,
            )
            fetched = cursor.fetchall()
    place = {row_id: n for n, row_id in enumerate(ids)}
    fetched.sort(key=lambda row: place[row[-1]])  # the row id is the last sort key
    return fetched, counted


def _sqlite_plan(table: Table, query: RowQuery) -> Plan:
    sample = min(ESTIMATE_SAMPLE, table.row_count)
    scale = table.row_count / max(sample, 1)
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        matched = _sample_count(table, query, None, sample)
        by_filter = {}
        if len(query.filters) > 1:
            by_filter = {id(f): _sample_count(table, query, f, sample) for f in query.filters}
    driver = min(query.filters, key=lambda f: by_filter.get(id(f), matched))
    rows_to_find = query.limit + 1 + (query.offset if query.after is None else 0)
    walk = matched > 0 and rows_to_find * sample / matched <= WALK_ROWS
    return Plan(
        walk=walk,
        driver=driver,
        matches=round(matched * scale),
        exact=sample >= table.row_count,
        driver_rows=round(by_filter.get(id(driver), matched) * scale),
    )


def _sample_count(table: Table, query: RowQuery, only: Filter | None, sample: int) -> int:
    """Matches among the first `sample` rows (of one filter alone, when `only` is given).

    With `_id <=`, an index on an equality's column finds them directly: its
    entries are ordered by value, then row id.
    """
    if only is not None:
        query = replace(query, filters=[only])
    chosen = selection(table, query)
    with engine.connection().cursor() as cursor:
        cursor.execute(chosen.sql("count(*)", f"{chosen.rowid} <= %s"), [*chosen.params, sample])
        return cursor.fetchone()[0]


def _page(
    table: Table, query: RowQuery, keys: list[tuple[Column, bool]], plan: Plan | None
) -> tuple[list[tuple], int | None]:
    """The page's rows (one more than the limit, to know whether another follows), and
    the total when the query that found them could count it too."""
    if plan is not None and plan.walk:
        try:
            with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS, INDEX_ORDER_BUDGET):
                return _fetch(table, query, keys, index=False)
        except engine.OverBudget:
            pass
    index: Filter | bool = plan.driver if plan is not None and plan.driver else True
    # Sorting the matches anyway, the same query counts them (a window over all).
    count = plan is not None and plan.matches <= WINDOW_ROWS and query.after is None
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        return _fetch(table, query, keys, index=index, count=count)


def _fetch(
    table: Table,
    query: RowQuery,
    keys: list[tuple[Column, bool]],
    index: Filter | bool = True,
    count: bool = False,
) -> tuple[list[tuple], int | None]:
    chosen = selection(table, query, index)
    extra, params = "", list(chosen.params)
    offset = query.offset if query.after is None else 0
    if query.after is not None:
        extra, values = _after(keys, query.after["values"], chosen.rowid)
        params += values
    elif offset and _dense_unfiltered(table, query, keys):
        # Row ids run 1..n without gaps: the page starts at a known id, no rows skipped.
        first = offset if not keys[0][1] else table.row_count - offset + 1
        extra, params, offset = f"t._id {'<' if keys[0][1] else '>'} %s", [first], 0
    columns = [ref(c, chosen.rowid) for c in [*query.fields, *(c for c, _d in keys)]]
    if count:
        columns.append("count(*) OVER ()")
    sql = chosen.sql(", ".join(columns), extra)
    sql += f" ORDER BY {_order_sql(keys, chosen.rowid)} LIMIT %s"
    params.append(query.limit + 1)
    if offset:
        sql += " OFFSET %s"
        params.append(offset)
    with engine.connection().cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    if not count:
        return fetched, None
    if not fetched:  # no rows: the total is 0, unless an offset went past the end
        return fetched, 0 if not offset else None
    return [row[:-1] for row in fetched], fetched[0][-1]


def _dense_unfiltered(table: Table, query: RowQuery, keys: list[tuple[Column, bool]]) -> bool:
    if query.filtered or len(keys) != 1:
        return False
    with engine.connection().cursor() as cursor:
        cursor.execute(f"SELECT max(_id) FROM {engine.qualified(table.name).replace('%', '%%')}")
        return cursor.fetchone()[0] == table.row_count


def _json_values(values: Sequence[Any]) -> list[Any]:
    return json.loads(json.dumps(list(values), cls=DjangoJSONEncoder))


def _record(fields: Sequence[Column], row: Sequence[Any]) -> dict[str, Any]:
    return {c.name: present(c, v) for c, v in zip(fields, row, strict=True)}


def present(column: Column, value: Any) -> Any:
    """A stored value as the API shows it (SQLite keeps booleans as 0/1)."""
    if value is None:
        return None
    if column.type == "boolean":
        return bool(value)
    if column.type in {"date", "time", "datetime"} and not isinstance(value, str):
        return value.isoformat()
    return value


def _total(table: Table, query: RowQuery, plan: Plan | None) -> tuple[int, bool]:
    """Exact when cheap: unfiltered (kept per version), a sample that was the whole table,
    or countable within the count limit; estimated otherwise, and marked so."""
    if not query.filtered:
        return table.row_count, True
    if plan is not None:
        if plan.exact:
            return plan.matches, True
        # Counting visits every row the driving index holds: skip what cannot fit.
        affordable = plan.driver_rows <= settings.DATASTORE_COUNT_TIME_LIMIT_MS * COUNT_ROWS_PER_MS
        if not affordable:
            return plan.matches, False
    counted = _count(table, selection(table, query, plan.driver if plan is not None else True))
    if counted is not None:
        return counted, True
    if plan is not None:
        return plan.matches, False
    return _estimated_total(table, query), False


# Exact counts per table and query. A table's rows never change once it is loaded (a
# write makes a new version, with a new table), so a reader paging through a query with
# `next` has its total counted once, not on every page.
_COUNTS: dict[tuple[Any, ...], int] = {}
_COUNTS_KEPT = 4096
_counts_lock = threading.Lock()


def _count(table: Table, chosen: Selection) -> int | None:
    """The selection's rows counted, or None when that takes over the count limit."""
    if settings.DATASTORE_COUNT_TIME_LIMIT_MS <= 0:
        return None
    sql = chosen.text_only or chosen.sql("count(*)")
    key = (table.name, table.loaded, sql, *chosen.params)
    with _counts_lock:
        if key in _COUNTS:
            return _COUNTS[key]
    try:
        with engine.time_limit(settings.DATASTORE_COUNT_TIME_LIMIT_MS):
            with engine.connection().cursor() as cursor:
                cursor.execute(sql, chosen.params)
                counted = cursor.fetchone()[0]
    except QueryTimeout:
        return None
    with _counts_lock:
        if len(_COUNTS) >= _COUNTS_KEPT:
            del _COUNTS[next(iter(_COUNTS))]  # the oldest
        _COUNTS[key] = counted
    return counted


def _estimated_total(table: Table, query: RowQuery) -> int:
    """The matches among the first rows, scaled to the table."""
    sample = min(ESTIMATE_SAMPLE, table.row_count)
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        matched = _sample_count(table, query, None, sample)
    return round(matched * table.row_count / max(sample, 1))


def facets(
    table: Table, query: RowQuery, names: Sequence[str], limit: int = FACET_LIMIT
) -> dict[str, list[dict[str, Any]]]:
    """The most frequent values of each named column among the query's rows, with counts."""
    columns = [column_named(table, name, "columns") for name in names]
    chosen = selection(table, query)
    result = {}
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        with engine.connection().cursor() as cursor:
            for column in columns:
                name = ref(column, chosen.rowid)
                if column.empty:  # one value, NULL, counted without grouping (no index)
                    cursor.execute(chosen.sql("NULL, count(*)"), chosen.params)
                else:
                    cursor.execute(
                        chosen.sql(f"{name}, count(*) AS n")
                        + f" GROUP BY {name} ORDER BY n DESC, {name} LIMIT %s",
                        [*chosen.params, limit],
                    )
                result[column.name] = [
                    {"value": present(column, value), "count": count}
                    for value, count in cursor.fetchall()
                    if count
                ]
    return result


AGGREGATES = ("count", "sum", "avg", "min", "max")


def aggregate(
    table: Table, query: RowQuery, group_by: Sequence[str], metrics: Sequence[str]
) -> dict[str, Any]:
    """`count`, `sum:列`, `avg:列`, `min:列`, `max:列` over the query's rows, grouped."""
    groups = [column_named(table, name, "group_by") for name in group_by]
    chosen = selection(table, query)
    selected, labels, presenters = [], [], []
    for metric in metrics or ["count"]:
        kind, _sep, name = metric.partition(":")
        kind = kind.strip().lower()
        if kind not in AGGREGATES:
            raise DatastoreError(
                _("metrics: “%(metric)s” is not one of %(names)s.")
                % {"metric": metric, "names": ", ".join(AGGREGATES)},
                parameter="metrics",
            )
        if kind == "count" and not name:
            selected.append("count(*)")
            labels.append("count")
            presenters.append(None)
            continue
        column = column_named(table, name.strip(), "metrics")
        if kind in {"sum", "avg"} and column.type not in _NUMERIC:
            raise DatastoreError(
                _("metrics: %(kind)s needs a number column; “%(column)s” is %(type)s.")
                % {"kind": kind, "column": column.name, "type": TYPE_NAMES.get(column.type)},
                parameter="metrics",
            )
        selected.append(f"{kind}({ref(column, chosen.rowid)})")
        labels.append(f"{kind}:{column.name}")
        presenters.append(column if kind in {"min", "max"} else None)
    names = [ref(c, chosen.rowid) for c in groups]
    sql = chosen.sql(", ".join([*names, *selected]))
    if names:
        sql += f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}"
    sql += " LIMIT %s"
    with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
        with engine.connection().cursor() as cursor:
            cursor.execute(sql, [*chosen.params, MAX_LIMIT])
            fetched = cursor.fetchall()
    results = []
    for row in fetched:
        item = {c.name: present(c, v) for c, v in zip(groups, row, strict=False)}
        for label, presenter, value in zip(labels, presenters, row[len(groups) :], strict=True):
            item[label] = present(presenter, value) if presenter else _number(value)
        results.append(item)
    return {"group_by": [c.name for c in groups], "metrics": labels, "results": results}


def _number(value: Any) -> Any:
    return float(value) if value is not None and not isinstance(value, int | float) else value


def stream(table: Table, query: RowQuery) -> Iterator[tuple[Any, ...]]:
    """Every row the query selects (no limit), in order, read in chunks: for exports."""
    keys = _order(query)
    chosen = selection(table, query)
    select = ", ".join(ref(c, chosen.rowid) for c in query.fields)
    sql = chosen.sql(select) + f" ORDER BY {_order_sql(keys, chosen.rowid)}"
    with engine.connection().chunked_cursor() as cursor:
        cursor.execute(sql, chosen.params)
        while chunk := cursor.fetchmany(2000):
            yield from chunk
