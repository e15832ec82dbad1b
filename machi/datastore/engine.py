"""Physical tables in the datastore database, one dialect at a time.

Every loaded resource version is one table named `<resource uid>@<version>`,
and each resource has a view named by its uid that selects from its newest
loaded version, so SQL users write `FROM "<resource uid>"` as in CKAN.

Each table has `_id` (row number in the source, 1..n), one column per schema
field and `_lat`/`_lon` when a field is a geopoint. The row's text, as analysed
tokens (machi.lib.japanese), is full-text indexed: on SQLite by a contentless FTS5
table `<table>#fts` whose rowid is `_id`, on PostgreSQL as the column `_search`
(a tsvector) with a GIN index. Tables are never written once loaded: a new
version is a new table.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import multiprocessing
import os
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _

from machi.datastore.errors import QueryTimeout
from machi.lib import japanese

ALIAS = "datastore"
SCHEMA = "datastore"  # PostgreSQL schema holding every table and view
BATCH = 5000
MAX_INDEXED_COLUMNS = 40
_PG_NAME_BYTES = 63

# Frictionless types and the SQL type each is stored as.
SQLITE_TYPES = {
    "integer": "INTEGER",
    "year": "INTEGER",
    "number": "REAL",
    "boolean": "INTEGER",
}
POSTGRES_TYPES = {
    "string": 'text COLLATE "C"',
    "integer": "bigint",
    "year": "integer",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "datetime": "timestamp",
}
SEARCHED_TYPES = {"string"}
_LAT_NAMES = {"緯度", "lat", "latitude", "y座標"}
_LON_NAMES = {"経度", "lon", "lng", "long", "longitude", "x座標"}


def connection() -> BaseDatabaseWrapper:
    return connections[ALIAS]


def vendor() -> str:
    return connection().vendor


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    """One schema field and the SQL column that stores it."""

    name: str  # the field name users see and filter by
    column: str  # the SQL column
    type: str  # the Frictionless type
    nulls: int = 0  # empty cells, counted at load
    # Text that full-text search covers; codes, phone numbers and URLs are found by filters.
    searched: bool = True
    # No cell of the loaded table holds a value (a standard's column the file lacks): it
    # gets no index, and filters and sorts on it are answered without reading rows.
    empty: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "column": self.column,
            "type": self.type,
            "nulls": self.nulls,
            "searched": self.searched,
            "empty": self.empty,
        }


def plan_columns(fields: Sequence[dict[str, Any]]) -> list[Column]:
    """SQL columns for schema fields: names kept, unless too long or taken."""
    taken = {"_id", "_search", "_lat", "_lon"}
    columns = []
    for field in fields:
        base = _fit(field["name"])
        column, n = base, 1
        while column.casefold() in taken:
            n += 1
            column = _fit(field["name"], suffix=f"_{n}")
        taken.add(column.casefold())
        kind = field.get("type", "string")
        searched = kind in SEARCHED_TYPES and field.get("x-search", True) is not False
        columns.append(Column(field["name"], column, kind, searched=searched))
    return columns


def _fit(name: str, suffix: str = "") -> str:
    # PostgreSQL cuts identifiers at 63 bytes; cut them ourselves, on a
    # character boundary, so two long names cannot silently become one.
    name = name.strip() or "column"
    while len((name + suffix).encode()) > _PG_NAME_BYTES:
        name = name[:-1]
    return name + suffix


def stored_columns(columns: Sequence[Column]) -> list[str]:
    """The columns a reader sees: row number, fields, and split coordinates."""
    names = ["_id", *(c.column for c in columns)]
    if any(c.type == "geopoint" for c in columns):
        names += ["_lat", "_lon"]
    return names


def geo_columns(columns: Sequence[Column]) -> dict[str, str] | None:
    """Where a table keeps latitude and longitude, if it has them."""
    if any(c.type == "geopoint" for c in columns):
        return {"lat": "_lat", "lon": "_lon"}

    def find(names: set[str]) -> str | None:
        for c in columns:
            key = unicodedata.normalize("NFKC", c.name).strip().lower()
            if key in names and c.type in {"number", "integer", "string"}:
                return c.column
        return None

    lat, lon = find(_LAT_NAMES), find(_LON_NAMES)
    return {"lat": lat, "lon": lon} if lat and lon else None


# --- Schema and role ---------------------------------------------------------------------


def ensure_schema() -> None:
    """Create PostgreSQL's datastore schema and the SQL endpoint's read-only role."""
    if vendor() != "postgresql":
        return
    role = settings.DATASTORE_SQL_ROLE
    with connection().cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(
                "SELECT rolcreaterole, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            may_create, superuser = cursor.fetchone()
            if not (may_create or superuser):
                return  # docs/datastore.md says how to create it by hand
            cursor.execute(f"CREATE ROLE {quote(role)} NOLOGIN")
            if not superuser:
                # SET ROLE needs membership, which a superuser has implicitly.
                cursor.execute(f"GRANT {quote(role)} TO CURRENT_USER")
        cursor.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {quote(role)}")
        cursor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {quote(role)}")
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT SELECT ON TABLES TO {quote(role)}"
        )


def role_exists() -> bool:
    with connection().cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.DATASTORE_SQL_ROLE])
        return cursor.fetchone() is not None


def qualified(name: str) -> str:
    """A table or view name as SQL, in the datastore schema on PostgreSQL."""
    return f"{SCHEMA}.{quote(name)}" if vendor() == "postgresql" else quote(name)


def table_exists(name: str) -> bool:
    with connection().cursor() as cursor:
        if vendor() == "postgresql":
            cursor.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                "AND table_name = %s",
                [SCHEMA, name],
            )
        else:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = %s",
                [name],
            )
        return cursor.fetchone() is not None


# --- Building a table --------------------------------------------------------------------


def create_table(name: str, columns: Sequence[Column], geo: bool) -> None:
    """The table, and on SQLite its (empty) full-text index."""
    postgres = vendor() == "postgresql"
    types = POSTGRES_TYPES if postgres else SQLITE_TYPES
    number = "double precision" if postgres else "REAL"
    definitions = ["_id integer PRIMARY KEY"]
    definitions += [f"{quote(c.column)} {types.get(c.type, 'text')}" for c in columns]
    if geo:
        definitions += [f"_lat {number}", f"_lon {number}"]
    if postgres:
        definitions.append("_search tsvector")
    with connection().cursor() as cursor:
        cursor.execute(f"CREATE TABLE {qualified(name)} ({', '.join(definitions)})")
        if not postgres:
            _create_fts(cursor, name)


def _create_fts(cursor: Any, name: str) -> None:
    """SQLite's full-text index of a table: FTS5 holding the tokens' index only
    (contentless; the rowid is the row's `_id`), filled as rows or their tokens are
    written. Written in batches of BATCH rows, it merges its segments 16 at a time:
    1,000,000 rows took 9.3 s against 10.8 s with FTS5's default of 8. It keeps no
    token count per row (`columnsize=0`): only bm25 reads those, and a table's matches
    page in row order, unranked; writing 200,000 rows' tokens took 2.6–3.4 CPU seconds
    instead of 4.3–4.6 (three runs each)."""
    fts = quote(f"{name}#fts")
    cursor.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(_search, content='', columnsize=0, "
        "tokenize=\"unicode61 remove_diacritics 0 tokenchars '~'\")"
    )
    cursor.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 16)")
    # Without row sizes the index cannot list its rows: the last row written is kept here,
    # in the transaction that writes its tokens (_write_tokens resumes after it).
    done = quote(f"{name}#fts_done")
    cursor.execute(f"DROP TABLE IF EXISTS {done}")
    cursor.execute(f"CREATE TABLE {done} (last integer NOT NULL)")
    cursor.execute(f"INSERT INTO {done} (last) VALUES (0)")


def insert_rows(
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    search: bool = True,
    canonical: bool = False,
) -> int:
    """Append rows already cast to Python values; returns how many.

    `canonical` rows hold dates and times as ISO text and numbers as int or float
    (services._canonical_rows), which both engines store as they are. Without `search`
    the text tokens are left for `fill_search`.
    """
    postgres = vendor() == "postgresql"
    prepared = _prepared(columns, rows, postgres=postgres, search=search, canonical=canonical)
    if postgres:
        return _copy(name, [*stored_columns(columns), "_search"], prepared)
    count = _insert_batches(name, stored_columns(columns), prepared)
    if search:  # create_table made the progress table
        _note_indexed(name, count)
    return count


def count_cells(
    name: str, columns: Sequence[Column], *, misfits: bool = False
) -> tuple[list[int], int | None]:
    """Empty cells per column, counted by the database in one pass over the loaded
    table (a Python loop over every cell of a million rows took longer): sorts and
    cursors skip NULL handling for columns that have none, and empty columns get no
    index. With `misfits`, the same pass finds the first row holding a cell that a text
    load (insert_text) could not store as its column's type."""
    counted = [f"count({quote(c.column)})" for c in columns]
    checks = [check for _c, check in _misfits(columns)] if misfits else []
    if checks:
        counted.append(f"min(CASE WHEN {' OR '.join(checks)} THEN _id END)")
    with connection().cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(['count(*)', *counted])} FROM {qualified(name)}")
        total, *found = cursor.fetchone()
    filled, first = (found[:-1], found[-1]) if checks else (found, None)
    return [total - n for n in filled], first


# --- Loading the publish pipeline's text as it is (SQLite) ---------------------------------
#
# The pipeline's clean CSV holds canonical text: ISO dates and times (a standard's times
# as hh:mm), true/false, plain numbers, nothing for an empty cell. SQLite converts that
# text itself as it stores it (NULLIF, the INTEGER and REAL columns' affinity, a CASE for
# flags and hh:mm), so the rows go from the CSV reader to SQLite without a Python call per
# cell. A cell that does not convert stays text, which `count_cells(misfits=True)` finds.

TEXT_LOADED_TYPES = {"string", "integer", "year", "number", "boolean", "date", "time"}


def loads_text(columns: Sequence[Column]) -> bool:
    """Whether `insert_text` can load rows of these columns."""
    return vendor() == "sqlite" and all(c.type in TEXT_LOADED_TYPES for c in columns)


def insert_text(name: str, columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> int:
    """SQLite: append rows of canonical text (one cell per column); returns how many.
    Row ids follow from 1 (the table is new). Tokens are left for `fill_search`."""
    values = []
    for n, c in enumerate(columns, start=1):
        if c.type == "boolean":  # anything else stays as it is, for count_cells to find
            values.append(
                f"CASE ?{n} WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE NULLIF(?{n}, '') END"
            )
        elif c.type == "time":  # the national standards' hh:mm, stored as any time is
            values.append(f"CASE length(?{n}) WHEN 5 THEN ?{n} || ':00' ELSE NULLIF(?{n}, '') END")
        else:
            values.append(f"NULLIF(?{n}, '')")
    listed = ", ".join(quote(c.column) for c in columns)
    sql = f"INSERT INTO {quote(name)} ({listed}) VALUES ({', '.join(values)})"
    raw = connection().connection  # the sqlite3 connection, skipping Django's %s rewriting
    return raw.executemany(sql, rows).rowcount


def misfit_cell(name: str, columns: Sequence[Column], row: int) -> tuple[Column, Any]:
    """The first cell of `row` (a row id) that count_cells found, and its value."""
    checked = _misfits(columns)
    selected = ", ".join(f"{check}, {quote(c.column)}" for c, check in checked)
    with connection().cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {quote(name)} WHERE _id = %s", [row])
        found = cursor.fetchone()
    for n, (column, _check) in enumerate(checked):
        if found[2 * n]:
            return column, found[2 * n + 1]
    raise AssertionError(f"row {row} holds no misfit cell")


def _misfits(columns: Sequence[Column]) -> list[tuple[Column, str]]:
    """The columns a text load can leave a misfit in, each with its _misfit check."""
    return [(c, check) for c in columns if (check := _misfit(c))]


def _misfit(column: Column) -> str:
    """SQL true of a cell a text load left in a form its type does not take."""
    c = quote(column.column)
    if column.type in {"integer", "year"}:
        return f"typeof({c}) NOT IN ('integer', 'null')"
    if column.type == "boolean":
        return f"{c} NOT IN (0, 1)"  # NULL is in neither list
    if column.type == "number":
        return f"typeof({c}) NOT IN ('real', 'null')"  # REAL affinity makes 12 into 12.0
    if column.type == "date":
        # A modifier makes SQLite carry 2024-02-30 over to March 1st: not the same text.
        return f"{c} IS NOT date({c}, '+0 days')"
    if column.type == "time":
        return f"{c} IS NOT NULL AND time({c}) IS NOT substr({c}, 1, 8)"
    return ""


# Types whose cast values the engines take as they are (see _stored_value's `plain`).
_STORED_AS_IS = {"string", "integer", "year", "boolean"}
# ...and in canonical rows, whose numbers are never Decimal and dates are ISO text.
_CANONICAL_AS_IS = _STORED_AS_IS | {"number", "date", "time"}


def _prepared(
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    postgres: bool,
    search: bool,
    canonical: bool = False,
) -> Iterator[list[Any]]:
    """Rows as stored: geopoint split, values the engine takes, and last the row's text
    tokens (None without `search`)."""
    searched = [i for i, c in enumerate(columns) if c.type in SEARCHED_TYPES and c.searched]
    if not search:
        searched = []
    points = [i for i, c in enumerate(columns) if c.type == "geopoint"]
    # Text, whole numbers and flags go in as they come; only the other cells are converted.
    as_is = _CANONICAL_AS_IS if canonical else _STORED_AS_IS
    converted = [
        (i, _stored_value(c.type, postgres))
        for i, c in enumerate(columns, start=1)
        if c.type not in as_is
    ]
    width = len(columns)
    if not (converted or points or searched):  # published tables of text, numbers, dates
        for number, row in enumerate(rows, start=1):
            if len(row) != width:
                raise ValueError(f"row {number} has {len(row)} values for {width} columns")
            yield [number, *row, None]
        return
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} values for {width} columns")
        values = [number, *row]
        for i, store in converted:
            values[i] = store(values[i])
        if points:
            point = row[points[0]]
            values += [point[1], point[0]] if point else [None, None]  # geopoint is [lon, lat]
        if searched:
            values.append(japanese.row_index_text([row[i] for i in searched], tsvector=postgres))
        else:
            values.append(None)
        yield values


def fill_search(name: str, columns: Sequence[Column], *, batch: int = BATCH) -> Iterator[int]:
    """Write the text tokens of a table loaded without them, a batch per transaction.

    Yields the last row number written, for progress. Resumable: only rows past those
    already written are read (SQLite: past the full-text index's last rowid;
    PostgreSQL: whose `_search` is NULL), so a run stopped midway is continued by the
    next. On SQLite the tokens go straight into the contentless full-text index: the
    table's own pages are not written again (1,000,000 rows: 9 s, against 28 s for
    updating a `_search` column and indexing it from there). PostgreSQL's GIN index
    follows the updates (building it afterwards measured no faster).
    """
    searched = [c for c in columns if c.type in SEARCHED_TYPES and c.searched]
    postgres = vendor() == "postgresql"
    if not postgres:
        with transaction.atomic(using=ALIAS), connection().cursor() as cursor:
            _ensure_contentless_fts(cursor, name)
    if searched:
        with bulk_writes(unmapped=True):
            yield from _write_tokens(name, searched, batch=batch, postgres=postgres)


def _ensure_contentless_fts(cursor: Any, name: str) -> None:
    """A table loaded by an earlier machi (FTS5 over the table's `_search` column, kept in
    step by triggers) gets the contentless index; fill_search only runs on a table whose
    index is unfinished, so nothing built is lost."""
    cursor.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [f"{name}#fts"]
    )
    found = cursor.fetchone()
    if found is not None and "content=''" in found[0]:
        return
    for trigger in ("#ai", "#ad", "#au"):
        cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name + trigger)}")
    cursor.execute(f"DROP TABLE IF EXISTS {quote(name + '#fts')}")
    _create_fts(cursor, name)


def _write_tokens(
    name: str, searched: Sequence[Column], *, batch: int, postgres: bool
) -> Iterator[int]:
    listed = ", ".join(quote(c.column) for c in searched)
    if postgres:
        select = (
            f"SELECT _id, {listed} FROM {qualified(name)} WHERE _id > %s AND _search IS NULL "
            f"ORDER BY _id LIMIT %s"
        )
        # One statement per part, not a round trip per row.
        write = (
            f"UPDATE {qualified(name)} AS t SET _search = CAST(v.tokens AS tsvector) "
            "FROM unnest(%s::text[], %s::integer[]) AS v(tokens, id) WHERE t._id = v.id"
        )
        start, tracked = 0, False
    else:
        select = f"SELECT _id, {listed} FROM {quote(name)} WHERE _id > %s ORDER BY _id LIMIT %s"
        fts = quote(f"{name}#fts")
        write = f"INSERT INTO {fts}(_search, rowid) VALUES (%s, %s)"
        tracked = table_exists(f"{name}#fts_done")  # not in an index an earlier machi made
        start = _last_indexed(name, tracked)
    with connection().cursor() as cursor:
        cursor.execute(f"SELECT max(_id) FROM {qualified(name)}")
        (rows,) = cursor.fetchone()
    processes = search_processes(max((rows or 0) - start, 0))
    analyse = partial(japanese.rows_index_text, tsvector=postgres)
    # Batches are read in row order and handed out in parts; a batch is written once
    # its parts are back, in the order read, while the next ones are analysed. At most
    # `ahead` batches are in flight, so memory stays bounded whatever the table's size.
    ahead = 2
    inflight: deque[tuple[int, list[Future[list[tuple[str, int]]]]]] = deque()
    executor = _analysers(processes)
    try:
        last, more = start, True
        while more:
            with connection().cursor() as cursor:
                cursor.execute(select, [last, batch])
                found = cursor.fetchall()
            more = bool(found)
            if more:
                last = found[-1][0]
                parts = [found[i : i + _FILL_PART] for i in range(0, len(found), _FILL_PART)]
                inflight.append((last, [executor.submit(analyse, part) for part in parts]))
            while inflight and (len(inflight) > ahead or not more):
                done, pending = inflight.popleft()
                with transaction.atomic(using=ALIAS), connection().cursor() as cursor:
                    # SQLite, inside the write lock: rows another run of the task has
                    # written meanwhile are not indexed twice.
                    written = 0 if postgres else _last_indexed(name, tracked)
                    for future in pending:
                        changes = future.result()
                        if postgres:
                            texts, ids = [t for t, _ in changes], [i for _, i in changes]
                            cursor.execute(write, [texts, ids])
                        else:
                            fresh = [c for c in changes if c[0] and c[1] > written]
                            cursor.executemany(write, fresh)
                    if not postgres and tracked and done > written:
                        _note_indexed(name, done)
                yield done
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _last_indexed(name: str, tracked: bool) -> int:
    """The last row whose tokens a table's full-text index holds (0: none): as `#fts_done`
    records it when `tracked`, else from an index an earlier machi made, which keeps row
    sizes and so can list its rows."""
    with connection().cursor() as cursor:
        if tracked:
            cursor.execute(f"SELECT last FROM {quote(name + '#fts_done')}")
        else:
            cursor.execute(f"SELECT rowid FROM {quote(name + '#fts')} ORDER BY rowid DESC LIMIT 1")
        found = cursor.fetchone()
    return found[0] if found else 0


def _note_indexed(name: str, last: int) -> None:
    with connection().cursor() as cursor:
        cursor.execute(f"UPDATE {quote(name + '#fts_done')} SET last = %s", [last])


_FILL_PART = 250  # small: a batch's first part is analysed before any write overlaps

# Tables of fewer rows are analysed in this process: starting the search processes
# (each loads Sudachi) would take longer than the analysis.
SEARCH_PROCESS_MIN_ROWS = 50_000


def search_processes(rows: int) -> int:
    """How many processes analyse the text of a table of `rows` rows (1: this one)."""
    if rows < SEARCH_PROCESS_MIN_ROWS:
        return 1
    return max(1, settings.DATASTORE_SEARCH_PROCESSES)


def _analysers(processes: int) -> Executor:
    if processes <= 1:
        # A helper thread analyses while this one writes: the analysis holds the GIL,
        # the database driver releases it.
        return ThreadPoolExecutor(max_workers=1)
    # Spawned, not forked: this process holds database connections and Sudachi's own
    # objects, which a forked child must not share. A child imports machi.lib.japanese.
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=processes, mp_context=context, initializer=japanese.start_analysis_process
    )


def _stored_value(kind: str, postgres: bool) -> Callable[[Any], Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            return float(value)
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def geopoint(value: Any) -> Any:
        return None if value is None else f"{value[0]}, {value[1]}"

    def iso(value: Any) -> Any:
        return None if value is None else value.isoformat()

    def naive_timestamp(value: Any) -> Any:
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            return value.astimezone(_TOKYO).replace(tzinfo=None)
        return value

    if kind == "geopoint":
        return geopoint
    if kind == "datetime":
        return naive_timestamp if postgres else lambda v: iso(naive_timestamp(v))
    if kind in {"date", "time"} and not postgres:
        return iso
    return plain


_TOKYO = datetime.timezone(datetime.timedelta(hours=9))


def _insert_batches(name: str, names: list[str], rows: Iterator[list[Any]]) -> int:
    """SQLite: the rows, and the tokens that end each row into the full-text index."""
    sql = (
        f"INSERT INTO {qualified(name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    fts = quote(f"{name}#fts")
    indexed = f"INSERT INTO {fts}(rowid, _search) VALUES (?, ?)"
    count = 0
    raw = connection().connection  # the sqlite3 connection, skipping Django's %s rewriting
    # One thread: a helper thread preparing the next batch meanwhile made 1,000,000 rows
    # slower to insert (24-27 s against 19-22 s): sqlite3 lets go of the GIL for every
    # row it steps, and waits to take it back from the busy helper.
    while batch := list(itertools.islice(rows, BATCH)):
        tokens = [(row[0], row.pop()) for row in batch]
        raw.executemany(sql, batch)
        raw.executemany(indexed, [t for t in tokens if t[1]])
        count += len(batch)
    return count


def _copy(name: str, names: list[str], rows: Iterator[list[Any]]) -> int:
    count = 0
    statement = f"COPY {qualified(name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    with connection().cursor() as cursor:
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def finish_table(name: str, columns: Sequence[Column]) -> None:
    """Indexes, built once the rows are in; none for an empty column (each index reads
    the whole table: a standard's 11 columns a file lacked took a third of the time)."""
    indexed = [c for c in columns if c.type not in {"object", "array", "any"} and not c.empty]
    single = {f"{name}#{n}": c for n, c in enumerate(indexed[:MAX_INDEXED_COLUMNS])}
    with connection().cursor() as cursor, _sorting_threads(cursor):
        for index, column in single.items():
            # NULL sorts first ascending on both engines (SQLite's own order).
            order = " NULLS FIRST" if vendor() == "postgresql" else ""
            cursor.execute(
                f"CREATE INDEX {quote(index)} ON {qualified(name)} ({quote(column.column)}{order})"
            )
        if vendor() == "postgresql":
            cursor.execute(
                f"CREATE INDEX {quote(name + '#search')} ON {qualified(name)} USING gin (_search)"
            )
            cursor.execute(f"ANALYZE {qualified(name)}")
            return
        cursor.execute(f"ANALYZE {quote(name)}")
        _build_group_indexes(cursor, name, single)


@contextmanager
def _sorting_threads(cursor: Any) -> Iterator[None]:
    """SQLite sorts an index's entries in parts of its page cache's size, small while a
    table is loaded (bulk_writes), and helper threads sort the parts side by side (six
    indexes: 3.5–4.0 s alone, 2.7 s with two threads)."""
    if vendor() != "sqlite":
        yield
        return
    cursor.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 8)}")
    try:
        yield
    finally:
        cursor.execute("PRAGMA threads = 0")


@contextmanager
def bulk_writes(*, unmapped: bool = False) -> Iterator[None]:
    """SQLite, while a table is loaded or its tokens are written: a 2 MB page cache
    instead of the 64 MB readers keep (settings.py), and with `unmapped` no memory map.

    The large cache made none of this faster: a new table's pages are written once,
    and indexes build faster with a small one (1,000,000 rows, 31 column and 3 group
    indexes: 28–29 s with 2 MB, 36–37 s with 64 MB, three runs each), whose sorter then
    works in small parts. But it filled at a million rows, 64 MB more memory than at
    100,000; and the pages the token writer reads through the memory map stayed
    resident (1,000,000 rows: 360 MB of the file). Readers get both back after."""
    if vendor() != "sqlite":
        yield
        return
    wanted = {"cache_size": BULK_CACHE_SIZE, **({"mmap_size": 0} if unmapped else {})}
    with connection().cursor() as cursor:
        kept = {}
        for pragma, value in wanted.items():
            cursor.execute(f"PRAGMA {pragma}")
            (kept[pragma],) = cursor.fetchone()
            cursor.execute(f"PRAGMA {pragma} = {value}")
        try:
            yield
        finally:
            for pragma, value in kept.items():
                cursor.execute(f"PRAGMA {pragma} = {int(value)}")


BULK_CACHE_SIZE = -2000  # KiB, SQLite's own default


# Group indexes (SQLite): on a large table, an index led by each column of few distinct
# values (a kind, a town) that also holds the table's number, date and flag columns. A
# query such as 種別 = X AND 定員 >= N ORDER BY 開設日 is then answered from the index's
# own entries, found, counted and sorted without reading a row; only the page's rows
# are read (machi.datastore.queries). Single-column indexes would read every row of
# the kind to check 定員: tens of milliseconds per query on a million rows.
GROUP_INDEX_MIN_ROWS = 10_000  # smaller tables are read whole in a few milliseconds
GROUP_LEADER_MAX_DISTINCT = 1_000
GROUP_LEADER_TYPES = {"string", "integer", "year"}
GROUP_COVERED_TYPES = {"integer", "year", "number", "boolean", "date", "time", "datetime"}
MAX_GROUP_INDEXES = 3
MAX_GROUP_COLUMNS = 12


@dataclass(frozen=True)
class GroupIndex:
    name: str
    columns: tuple[str, ...]  # SQL columns, the leader first


def _build_group_indexes(cursor: Any, name: str, single: dict[str, Column]) -> None:
    """Group indexes for the columns with few distinct values, from ANALYZE's counts of
    the table's single-column indexes (`single`: index name → column)."""
    cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s", [name])
    per_value = {idx: stat.split() for idx, stat in cursor.fetchall() if idx}
    indexed = list(single.values())
    distinct = {}
    for index, column in single.items():
        stat = per_value.get(index)
        if stat and len(stat) >= 2 and int(stat[0]) >= GROUP_INDEX_MIN_ROWS:
            # stat: rows in the index, then rows per distinct value (rounded up)
            distinct[column.column] = int(stat[0]) // max(int(stat[1]), 1)
    leaders = sorted(
        (c for c in indexed if c.type in GROUP_LEADER_TYPES and c.column in distinct),
        key=lambda c: distinct[c.column],
    )
    leaders = [c for c in leaders if 2 <= distinct[c.column] <= GROUP_LEADER_MAX_DISTINCT]
    leaders = leaders[:MAX_GROUP_INDEXES]
    covered = [c.column for c in indexed if c.type in GROUP_COVERED_TYPES]
    for n, leader in enumerate(leaders):
        others = [c.column for c in leaders if c is not leader]
        # The leader, then the values a range or a sort uses, then the other leaders.
        members = list(dict.fromkeys([leader.column, *covered, *others]))[:MAX_GROUP_COLUMNS]
        index = quote(f"{name}#by{n}")
        cursor.execute(
            f"CREATE INDEX {index} ON {quote(name)} ({', '.join(quote(m) for m in members)})"
        )
        cursor.execute(f"ANALYZE {index}")


@lru_cache(maxsize=512)
def group_indexes(name: str, built: Any = None) -> tuple[GroupIndex, ...]:
    """A SQLite table's group indexes. A table's indexes never change once it is built:
    `built` (when it was) tells a table apart from a later one of the same name."""
    if vendor() != "sqlite":
        return ()
    with connection().cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s ORDER BY name",
            [name],
        )
        names = [index for (index,) in cursor.fetchall() if index.startswith(f"{name}#by")]
        found = []
        for index in names:
            cursor.execute("SELECT name FROM pragma_index_info(%s) ORDER BY seqno", [index])
            found.append(GroupIndex(index, tuple(row[0] for row in cursor.fetchall())))
    return tuple(found)


def drop_table(name: str) -> None:
    with connection().cursor() as cursor:
        if vendor() == "sqlite":
            cursor.execute(f"DROP TABLE IF EXISTS {quote(name + '#fts')}")
            cursor.execute(f"DROP TABLE IF EXISTS {quote(name + '#fts_done')}")
        cursor.execute(f"DROP TABLE IF EXISTS {qualified(name)}")


def point_view(view: str, table: str | None, columns: Sequence[str]) -> None:
    """Make the resource's view select from `table` (or remove it when None)."""
    with connection().cursor() as cursor:
        cursor.execute(f"DROP VIEW IF EXISTS {qualified(view)}")
        if table is not None:
            listed = ", ".join(quote(c) for c in columns)
            cursor.execute(
                f"CREATE VIEW {qualified(view)} AS SELECT {listed} FROM {qualified(table)}"
            )


# --- Time limits ---------------------------------------------------------------------------


@contextmanager
def time_limit(milliseconds: int, steps: int | None = None) -> Iterator[None]:
    """Stop the datastore queries run inside after `milliseconds`; raise QueryTimeout.

    On SQLite, `steps` also bounds the work (virtual machine instructions, the
    same whatever the machine's load) and raises OverBudget: for trying a plan
    that is fast when it works and giving up on it early when it does not.
    """
    conn = connection()
    conn.ensure_connection()
    if vendor() == "sqlite":
        deadline = time.monotonic() + milliseconds / 1000
        ticks = itertools.count(1)
        limit = None if steps is None else max(1, steps // _TICK)
        over = {"budget": False}

        def stop() -> bool:  # SQLite calls this every _TICK steps; true stops the query
            if limit is not None and next(ticks) > limit:
                over["budget"] = True
                return True
            return time.monotonic() > deadline

        raw = conn.connection
        raw.set_progress_handler(stop, _TICK)
        try:
            yield
        except OperationalError as error:
            if "interrupted" not in str(error):
                raise
            if over["budget"]:
                raise OverBudget from None
            raise QueryTimeout(_timeout_message(milliseconds)) from None
        finally:
            raw.set_progress_handler(None, 0)
        return
    try:
        with transaction.atomic(using=ALIAS):
            with conn.cursor() as cursor:
                # No JIT: compiling is not interrupted by the timeout, and a query whose
                # estimated cost is large (a cross join of small tables, a long
                # expression) compiled for 0.1-0.3 s past a 0.1 s limit, longer on a
                # busy server. The setting ends with the transaction.
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true), "
                    "set_config('jit', 'off', true)",
                    [str(int(milliseconds))],
                )
            yield
            with conn.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
    except OperationalError as error:
        if "statement timeout" in str(error):
            raise QueryTimeout(_timeout_message(milliseconds)) from None
        raise


_TICK = 1000


class OverBudget(Exception):
    """A query stopped by its step budget (time_limit's `steps`)."""


def _timeout_message(milliseconds: int) -> str:
    return _(
        "The query took longer than %(seconds)s seconds and was stopped. "
        "Narrow it with filters, or ask for fewer rows."
    ) % {"seconds": f"{milliseconds / 1000:g}"}


def stored_value(kind: str, value: Any) -> Any:
    """A cast Python value as this engine stores it (for filters and cursors)."""
    return _stored_value(kind, vendor() == "postgresql")(value)
