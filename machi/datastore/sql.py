"""Read-only SQL over datastore tables: GET /api/v1/datastore/sql?sql=SELECT ...

Two layers refuse what a query may not do, and each alone would be enough for
the dangerous cases:

1. A parser check (sqlglot, in the engine's dialect) before anything runs:
   one statement, a SELECT (WITH, UNION, VALUES allowed), every table a
   datastore table or view the user may see (or a CTE in scope), every function
   on an allow-list, casts to plain types only, no placeholders. Its messages
   say in plain words what was refused.
2. The engine itself:
   - SQLite: the query runs on the datastore connection with an authorizer that
     allows SELECT, reads of exactly the tables the parser allowed (the views
     and the version tables under them), recursive CTEs, and the allow-listed
     functions by their engine name; everything else (PRAGMA, ATTACH, writes,
     sqlite_master, load_extension, ...) is denied while the statement is
     prepared. sqlite3 runs one statement per call; `PRAGMA query_only` and
     lowered limits (length, expression depth, compound SELECTs) add to it.
   - PostgreSQL: the query runs in a READ ONLY transaction as the role
     settings.DATASTORE_SQL_ROLE (USAGE on the datastore schema, SELECT on its
     tables; nothing else), with search_path=datastore, through a server-side
     cursor (DECLARE ... CURSOR FOR: one SELECT only, sent by the extended
     protocol, which refuses stacked statements). What runs is sqlglot's own
     rendering of the checked tree, without comments, so a comment or quoting
     trick that sqlglot reads differently from PostgreSQL cannot smuggle anything
     past the check. The transaction is always rolled back, which also undoes
     SET LOCAL ROLE.

Undoing the role switch from inside the query would take set_config('role', ...)
(or a function that runs SQL given as text, such as query_to_xml): the function
allow-list below has none of them, and `SET`/`RESET` are statements, which are
refused.

Functions: an allow-list, not a deny-list. A deny-list must name every dangerous
function of two engines and their extensions, present and future; missing one
(say a new pg_* file function) is a hole. The allow-list names ordinary scalar,
aggregate and window functions; a missing one only refuses a harmless query.
sqlglot parses a known function into its own class (UPPER → exp.Upper) and an
unknown one into exp.Anonymous with the name as written, so the check allows a
set of classes plus a set of names. On SQLite the authorizer checks the name
SQLite itself resolves (SQLITE_FUNCTIONS); on PostgreSQL the SQL that runs is
generated from the tree, so an allowed class only ever runs as its canonical
function.

Time: settings.DATASTORE_TIME_LIMIT_MS per query (machi.datastore.engine.time_limit:
a progress handler on SQLite, statement_timeout on PostgreSQL); rows: at most
settings.DATASTORE_SQL_ROW_LIMIT, fetched lazily (the rest is never computed).
"""

from __future__ import annotations

import datetime
import decimal
import math
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlglot
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from machi.datastore import engine
from machi.datastore.errors import DatastoreError, QueryTimeout
from machi.datastore.queries import tables_for

MAX_LENGTH = 10_000  # characters of SQL
MAX_PARENS = 32  # nested parentheses (sqlglot's parser recurses per level)
MAX_DEPTH = 200  # depth of the parsed tree (long AND/OR chains)
SQLITE_MAX_BYTES = 10_000_000  # longest string or blob a query may build on SQLite

# --- What a query may use ------------------------------------------------------------------

# sqlglot classes of ordinary functions and of syntax that is a function node in
# sqlglot's tree (CASE, CAST, EXISTS, ...). Names missing from a sqlglot version
# are skipped: that refuses the function, never allows more.
_ALLOWED_CLASS_NAMES = """
    And Or
    Count Sum Avg Min Max Least Greatest GroupConcat LogicalAnd LogicalOr
    Stddev StddevSamp StddevPop Variance VariancePop Median PercentileCont PercentileDisc Mode
    RowNumber Rank DenseRank PercentRank CumeDist Ntile Lag Lead FirstValue LastValue NthValue
    Abs Round Ceil Floor Sign Sqrt Pow Exp Ln Log Trunc Pi Rand Degrees Radians
    Sin Cos Tan Asin Acos Atan Atan2 Cot
    Upper Lower Length Substring Replace Trim StrPosition Concat ConcatWs Left Right
    SplitPart Initcap Unicode Chr Ascii Typeof Hex Overlay
    Coalesce Nullif If Case Cast Collate Exists Extract Array
    Date Time Datetime TimeToStr TsOrDsToTimestamp DateTrunc TimestampTrunc ToChar StrToDate
    UnixToTime ToNumber CurrentDate CurrentTimestamp CurrentTime
    JSONExtract JSONExtractScalar JSONBExtract JSONBExtractScalar JSONObject JSONArrayAgg
    JSONObjectAgg JSONType JSONBContainsTopKey ArrayContainsAll
"""
ALLOWED_CLASSES: frozenset[type] = frozenset(
    cls
    for cls in (getattr(exp, name, None) for name in _ALLOWED_CLASS_NAMES.split())
    if isinstance(cls, type) and issubclass(cls, exp.Func)
)
# PostgreSQL's regular expressions are its own, interruptible engine; SQLite's
# REGEXP is a Python function Django registers, which no time limit can stop.
_POSTGRES_ONLY_CLASSES = frozenset(
    cls
    for cls in (getattr(exp, name, None) for name in ("RegexpLike", "RegexpILike", "RegexpReplace"))
    if cls
)

# Functions sqlglot does not know (exp.Anonymous), by name as written.
ALLOWED_NAMES = frozenset(
    """
    total every octet_length btrim mod log10 log2 cot row printf date time datetime
    julianday strftime unixepoch date_part to_date to_timestamp age make_date
    json json_array json_valid json_array_length json_group_array json_group_object
    json_build_object jsonb_build_object json_build_array jsonb_build_array
    to_json to_jsonb row_to_json json_agg jsonb_agg json_extract_path_text
    jsonb_extract_path_text string_agg
    """.split()
)

# The same functions as SQLite names them, for the authorizer (it sees the name
# SQLite resolves, including `like`/`glob` behind the operators).
SQLITE_FUNCTIONS = frozenset(
    """
    count sum total avg min max group_concat string_agg json_group_array json_group_object
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    abs round ceil ceiling floor sign sqrt power pow mod exp ln log log10 log2 trunc pi
    degrees radians sin cos tan asin acos atan atan2 random
    upper lower length octet_length substr substring replace trim ltrim rtrim instr concat
    concat_ws char unicode hex like glob typeof printf
    coalesce ifnull nullif iif
    date time datetime julianday strftime unixepoch current_date current_time current_timestamp
    json json_extract json_array json_object json_array_length json_type json_valid -> ->>
    """.split()
)

_ALLOWED_TYPES = frozenset(
    """
    TEXT VARCHAR CHAR NCHAR NVARCHAR BPCHAR INT BIGINT SMALLINT TINYINT DECIMAL DOUBLE FLOAT
    BOOLEAN DATE TIME TIMETZ TIMESTAMP TIMESTAMPTZ DATETIME INTERVAL JSON JSONB
    """.split()
)

# Statements (and clauses) that are not reading, wherever they appear in the tree.
# (By name: a class an older sqlglot lacks cannot appear in its trees either.)
_WRITES: tuple[tuple[type, str], ...] = tuple(
    (getattr(exp, name), label)
    for name, label in (
        ("Insert", "INSERT"),
        ("Update", "UPDATE"),
        ("Delete", "DELETE"),
        ("Merge", "MERGE"),
        ("Create", "CREATE"),
        ("Drop", "DROP"),
        ("Alter", "ALTER"),
        ("Command", ""),
        ("Pragma", "PRAGMA"),
        ("Attach", "ATTACH"),
        ("Detach", "DETACH"),
        ("Set", "SET"),
        ("Copy", "COPY"),
        ("Transaction", "BEGIN"),
        ("Commit", "COMMIT"),
        ("Rollback", "ROLLBACK"),
        ("Into", "SELECT … INTO"),
        ("Lock", "FOR UPDATE / FOR SHARE"),
        ("DML", ""),
        ("DDL", ""),
    )
    if isinstance(getattr(exp, name, None), type)
)


@dataclass
class Result:
    fields: list[dict[str, str]]
    records: list[dict[str, Any]]
    truncated: bool


def run_sql(user: Any, sql: str | None) -> Result:
    """Run one read-only SELECT over the datastore tables `user` may see."""
    dialect = "postgres" if engine.vendor() == "postgresql" else "sqlite"
    checked = check(user, sql or "", dialect)
    limit = settings.DATASTORE_SQL_ROW_LIMIT
    if dialect == "postgres":
        names, rows, types = _run_postgres(checked.text, limit)
    else:
        names, rows = _run_sqlite(checked.text, checked.readable, limit, checked.ctes)
        types = [_type_of([row[i] for row in rows]) for i in range(len(names))]
    truncated = len(rows) > limit
    rows = rows[:limit]
    columns = _unique(names)
    records = [
        {name: _json_value(value) for name, value in zip(columns, row, strict=True)} for row in rows
    ]
    fields = [{"name": n, "type": t} for n, t in zip(columns, types, strict=True)]
    return Result(fields, records, truncated)


# --- The parser check ------------------------------------------------------------------------


@dataclass
class Checked:
    text: str  # the SQL to run
    readable: frozenset[str]  # tables and views the engine may read (SQLite's authorizer)
    ctes: frozenset[str] = frozenset()  # CTE names, folded (SQLite counts their rows as reads)


def check(user: Any, sql: str, dialect: str) -> Checked:
    """The query as it will run, or DatastoreError saying what is not allowed."""
    sql = sql.strip()
    if not sql:
        raise DatastoreError(_("Send a SELECT query in the sql parameter."), parameter="sql")
    if len(sql) > MAX_LENGTH:
        raise DatastoreError(
            _("The query is %(length)s characters long; at most %(limit)s are accepted.")
            % {"length": f"{len(sql):,}", "limit": f"{MAX_LENGTH:,}"},
            parameter="sql",
        )
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
        if tokens and tokens[0].token_type not in _QUERY_STARTS:
            raise _not_select(tokens[0].text.upper())
        _check_parentheses(tokens)
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
        if len(statements) != 1:
            raise DatastoreError(
                _("Send one statement at a time; this text holds %(count)d.")
                % {"count": len(statements)},
                parameter="sql",
            )
        tree = statements[0]
        _check_statement(tree, tokens)
        _check_depth(tree)
        _check_nodes(tree, dialect)
        readable = _check_tables(user, tree, dialect)
        text = (
            tree.sql(dialect=dialect, comments=False, unsupported_level=ErrorLevel.RAISE)
            if dialect == "postgres"
            else sql
        )
    except RecursionError:
        raise _too_deep(MAX_PARENS) from None
    except SqlglotError as error:
        raise DatastoreError(
            _("The SQL could not be read: %(error)s") % {"error": _first_line(error)},
            parameter="sql",
        ) from None
    ctes = frozenset(_fold(cte.alias_or_name) for cte in tree.find_all(exp.CTE))
    return Checked(text, readable, ctes)


_QUERY_STARTS = {
    sqlglot.TokenType.SELECT,
    sqlglot.TokenType.WITH,
    sqlglot.TokenType.VALUES,
    sqlglot.TokenType.L_PAREN,
}


def _first_line(error: Exception) -> str:
    # sqlglot's messages add the query with terminal underlining on the next lines.
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        return f"{first.get('description')} (line {first.get('line')}, column {first.get('col')})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _too_deep(limit: int) -> DatastoreError:
    return DatastoreError(
        _("The query is nested too deeply (more than %(limit)d levels). Simplify it.")
        % {"limit": limit},
        parameter="sql",
    )


def _check_parentheses(tokens: Sequence[Any]) -> None:
    depth = 0
    for token in tokens:
        if token.token_type == sqlglot.TokenType.L_PAREN:
            depth += 1
            if depth > MAX_PARENS:
                raise _too_deep(MAX_PARENS)
        elif token.token_type == sqlglot.TokenType.R_PAREN:
            depth -= 1


def _check_depth(tree: exp.Expression) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(MAX_DEPTH)
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def _not_select(kind: str) -> DatastoreError:
    return DatastoreError(
        _("Only SELECT queries are allowed, not %(kind)s.") % {"kind": kind}, parameter="sql"
    )


def _check_statement(tree: exp.Expression, tokens: Sequence[Any]) -> None:
    if not isinstance(tree, exp.Select | exp.SetOperation | exp.Subquery | exp.Values):
        raise _not_select(tokens[0].text.upper() if tokens else type(tree).__name__.upper())
    for node in tree.walk():
        for cls, label in _WRITES:
            if isinstance(node, cls):
                kind = label or (node.name or node.key).upper()
                raise DatastoreError(
                    _("Only SELECT queries are allowed; this one contains %(kind)s.")
                    % {"kind": kind},
                    parameter="sql",
                )


def _check_nodes(tree: exp.Expression, dialect: str) -> None:
    classes = ALLOWED_CLASSES | (_POSTGRES_ONLY_CLASSES if dialect == "postgres" else frozenset())
    for node in tree.walk():
        if isinstance(node, exp.Placeholder | exp.Parameter) or (
            # SQLite reads $name, :name and @name as parameters; sqlglot as names.
            isinstance(node, exp.Identifier)
            and not node.quoted
            and str(node.this)[:1] in {"$", ":", "@", "?"}
        ):
            raise _placeholder(node.sql(dialect=dialect))
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            raise DatastoreError(
                _("Functions cannot be called with a schema name (%(name)s).")
                % {"name": node.sql(dialect=dialect).split("(")[0]},
                parameter="sql",
            )
        if isinstance(node, exp.DataType) and not _allowed_type(node):
            raise DatastoreError(
                _(
                    "Converting to %(type)s is not allowed; use text, integer, numeric, real, "
                    "boolean, date, time or timestamp."
                )
                % {"type": node.sql(dialect=dialect).lower()},
                parameter="sql",
            )
        if isinstance(node, exp.Anonymous):
            if str(node.name).lower() not in ALLOWED_NAMES:
                raise _function_refused(str(node.name))
        elif isinstance(node, exp.Func) and type(node) not in classes:
            raise _function_refused(_written_name(node, dialect))


def _written_name(node: exp.Func, dialect: str) -> str:
    # sqlglot keeps no spelling of a known function; its rendering in the same
    # dialect is the name as the engine knows it (sqlite_version, not CurrentVersion).
    try:
        text = node.sql(dialect=dialect)
    except (SqlglotError, RecursionError):
        text = ""
    name = text.split("(")[0].strip()
    return (name if name and len(name) <= 64 else node.sql_name()).lower()


def _placeholder(text: str) -> DatastoreError:
    return DatastoreError(
        _("The query has a parameter placeholder (%(text)s); write the values in it.")
        % {"text": text},
        parameter="sql",
    )


def _function_refused(name: str) -> DatastoreError:
    return DatastoreError(
        _(
            "The function %(name)s() is not allowed. The SQL endpoint offers ordinary text, "
            "number, date, JSON, aggregate and window functions (listed in its documentation)."
        )
        % {"name": name},
        parameter="sql",
    )


def _allowed_type(node: exp.DataType) -> bool:
    kind = node.this
    if not isinstance(kind, exp.DataType.Type) or kind.name not in _ALLOWED_TYPES:
        return False
    return all(_allowed_type(part) for part in node.find_all(exp.DataType) if part is not node)


def _fold(name: str) -> str:
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _normalized(identifier: exp.Identifier | str | None, dialect: str) -> str:
    """A name as the engine compares it: SQLite ignores ASCII case; PostgreSQL folds unquoted."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return _fold(identifier)
    if dialect == "sqlite" or not identifier.quoted:
        return _fold(identifier.this)
    return identifier.this


def _check_tables(user: Any, tree: exp.Expression, dialect: str) -> frozenset[str]:
    """Names of the datastore tables and views the query reads; refuse any other table."""
    wanted: dict[str, str] = {}  # normalized name -> as written, for messages
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            continue  # a table-valued function: refused (or not) as a function
        written = ".".join(
            part.name for part in (table.args.get(k) for k in ("catalog", "db", "this")) if part
        )
        if not isinstance(table.this, exp.Identifier) or table.args.get("catalog"):
            raise _table_refused(written)
        schema = _normalized(table.args.get("db"), dialect)
        if schema not in {"", "main" if dialect == "sqlite" else engine.SCHEMA}:
            raise _table_refused(written)
        name = _normalized(table.this, dialect)
        if not schema and _is_cte(table, name, dialect):
            continue
        wanted.setdefault(name, written)
    if not wanted:
        return frozenset()
    found, engine_names = _datastore_tables(user, set(wanted))
    for name, written in wanted.items():
        if name not in found:
            raise _table_refused(written)
    return engine_names


def _table_refused(name: str) -> DatastoreError:
    return DatastoreError(
        _(
            "Table “%(name)s” is not a datastore table you can read. Only published tables "
            "can be queried: GET /api/v1/datastore/<resource id> gives a table's name as "
            '"view"; write it in double quotes: FROM "<view>".'
        )
        % {"name": name},
        parameter="sql",
    )


def _is_cte(table: exp.Table, name: str, dialect: str) -> bool:
    """Whether `name` at this place refers to a CTE, as both engines resolve it.

    Conservative: a CTE sees the CTEs before it in its WITH (and itself when
    RECURSIVE); the query after a WITH sees them all; outer WITHs count too.
    A forward reference, which only PostgreSQL's WITH RECURSIVE resolves, is
    taken for a table (and refused unless it is one).
    """
    child: exp.Expression = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):
            ctes = list(node.expressions)
            index = next(i for i, cte in enumerate(ctes) if cte is child)
            visible = ctes[: index + 1] if node.args.get("recursive") else ctes[:index]
            if any(_normalized(cte.args["alias"].this, dialect) == name for cte in visible):
                return True
        else:
            with_ = node.args.get("with_") or node.args.get("with")
            if isinstance(with_, exp.With) and child is not with_:
                if any(
                    _normalized(cte.args["alias"].this, dialect) == name
                    for cte in with_.expressions
                ):
                    return True
        child, node = node, node.parent
    return False


def _datastore_tables(user: Any, names: set[str]) -> tuple[set[str], frozenset[str]]:
    """Of `names`, those naming a table or view `user` may read; and what the engine reads.

    The second set is what SQLite's authorizer allows: each named view and table,
    and every version table of a named view's resource (the view reads its newest).
    """
    uids = set()
    for name in names:
        try:
            uid = uuid.UUID(name)
        except ValueError:
            continue
        if str(uid) == name:
            uids.add(uid)
    table_names = {name for name in names if "@" in name}
    rows = tables_for(user).filter(Q(resource__uid__in=uids) | Q(name__in=table_names))
    found: set[str] = set()
    engine_names: set[str] = set()
    for table_name, uid in rows.values_list("name", "resource__uid"):
        if str(uid) in names:
            found.add(str(uid))
            engine_names |= {str(uid), table_name}
        if _fold(table_name) in names:
            found.add(_fold(table_name))
            engine_names.add(table_name)
    return found, frozenset(engine_names)


# --- SQLite ------------------------------------------------------------------------------------

_SQLITE_LIMITS = {
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_LENGTH * 4,  # bytes; the text was checked already
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: MAX_DEPTH + 50,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 100,
    sqlite3.SQLITE_LIMIT_LENGTH: SQLITE_MAX_BYTES,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
}
_SQLITE_ACTIONS = {
    value: name.removeprefix("SQLITE_").replace("_", " ")
    for name, value in vars(sqlite3).items()
    if name.startswith("SQLITE_")
    and isinstance(value, int)
    and not name.startswith(("SQLITE_LIMIT", "SQLITE_DB"))
    and name not in {"SQLITE_OK", "SQLITE_DENY", "SQLITE_IGNORE"}
    and 0 < value < 40
}


def _run_sqlite(
    sql: str, readable: frozenset[str], limit: int, ctes: frozenset[str] = frozenset()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    conn = engine.connection()
    conn.ensure_connection()
    raw: sqlite3.Connection = conn.connection
    denied: list[DatastoreError] = []

    def authorize(
        action: int, arg1: str | None, arg2: str | None, db: str | None, _src: Any
    ) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            # count(*) reads a table with no column and no database name.
            if db in (None, "main") and arg1 in readable:
                return sqlite3.SQLITE_OK
            # count(*) over a CTE reads it as a table with no column.
            if db is None and not arg2 and _fold(arg1 or "") in ctes:
                return sqlite3.SQLITE_OK
            denied.append(_table_refused(arg1 if db in (None, "main") else f"{db}.{arg1}"))
        elif action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in SQLITE_FUNCTIONS:
                return sqlite3.SQLITE_OK
            denied.append(_function_refused(arg2 or "?"))
        else:
            denied.append(_not_select(_SQLITE_ACTIONS.get(action, str(action))))
        return sqlite3.SQLITE_DENY

    with _sqlite_guard(raw):
        raw.set_authorizer(authorize)
        try:
            with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS), conn.wrap_database_errors:
                cursor = raw.cursor()
                try:
                    cursor.execute(sql)
                    rows = cursor.fetchmany(limit + 1)
                    names = [d[0] for d in cursor.description or ()]
                finally:
                    cursor.close()
        except QueryTimeout:
            raise
        except DatabaseError as error:
            if denied:
                raise denied[0] from None
            raise _engine_error(error) from None
        finally:
            raw.set_authorizer(None)
    return names, rows


@contextmanager
def _sqlite_guard(raw: sqlite3.Connection) -> Iterator[None]:
    """query_only and lowered limits for the duration; everything restored after."""
    (was_query_only,) = raw.execute("PRAGMA query_only").fetchone()
    before = {}
    try:
        raw.execute("PRAGMA query_only = ON")
        for category, value in _SQLITE_LIMITS.items():
            before[category] = raw.setlimit(category, value)
        yield
    finally:
        for category, value in before.items():
            raw.setlimit(category, value)
        raw.execute(f"PRAGMA query_only = {'ON' if was_query_only else 'OFF'}")


def _engine_error(error: Exception) -> DatastoreError:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "number of bindings" in message:
        return _placeholder("?")
    if "one statement at a time" in message:
        return DatastoreError(
            _("Send one statement at a time; this text holds %(count)d.") % {"count": 2},
            parameter="sql",
        )
    return DatastoreError(
        _("The database could not run the query: %(error)s") % {"error": message},
        parameter="sql",
    )


# --- PostgreSQL --------------------------------------------------------------------------------


def _run_postgres(sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    conn = engine.connection()
    conn.ensure_connection()
    role = settings.DATASTORE_SQL_ROLE
    not_set_up = DatastoreError(
        _(
            "The SQL endpoint is not set up: the database role %(role)s does not exist or "
            "cannot be used. An administrator can create it as docs/datastore.md describes."
        )
        % {"role": f"“{role}”"},
        parameter="sql",
    )
    with transaction.atomic(using=engine.ALIAS):
        try:
            if not engine.role_exists():
                raise not_set_up
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(f"SET LOCAL search_path = {engine.SCHEMA}")
                try:
                    with transaction.atomic(using=engine.ALIAS):
                        cursor.execute(f"SET LOCAL ROLE {engine.quote(role)}")
                except DatabaseError:
                    raise not_set_up from None
            raw = conn.connection
            try:
                with engine.time_limit(settings.DATASTORE_TIME_LIMIT_MS):
                    with conn.wrap_database_errors:
                        cursor = raw.cursor(name="machi_sql", scrollable=False)
                        try:
                            cursor.execute(sql)
                            description = cursor.description or []
                            rows = cursor.fetchmany(limit + 1)
                        finally:
                            cursor.close()
            except DatabaseError as error:
                raise _engine_error(error) from None
        finally:
            # Never keep anything: this also ends SET LOCAL ROLE and READ ONLY, even
            # when an outer transaction (a test's) continues.
            transaction.set_rollback(True, using=engine.ALIAS)
    types = [_postgres_type(raw, d.type_code) for d in description]
    return [d.name for d in description], rows, types


def _postgres_type(raw: Any, oid: int) -> str:
    info = raw.adapters.types.get(oid)
    if info is None:
        return "any"
    if info.array_oid == oid:
        return "array"
    return _PG_TYPE_NAMES.get(info.name, "string" if info.name in _PG_TEXT else "any")


_PG_TYPE_NAMES = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "bool": "boolean",
    "date": "date",
    "time": "time",
    "timetz": "time",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "interval": "duration",
    "json": "object",
    "jsonb": "object",
}
_PG_TEXT = {"text", "varchar", "bpchar", "char", "name", "uuid", "bytea"}


# --- Values ------------------------------------------------------------------------------------


def _unique(names: Iterable[str]) -> list[str]:
    """Column names as record keys: a repeated name gets _2, _3, ..."""
    seen: set[str] = set()
    result = []
    for name in names:
        key, n = name, 1
        while key in seen:
            n += 1
            key = f"{name}_{n}"
        seen.add(key)
        result.append(key)
    return result


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _type_of(values: Sequence[Any]) -> str:
    """A SQLite result column's type, from its values (SQLite columns carry none)."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "any"
    if kinds <= {int}:
        return "integer"
    if kinds <= {int, float}:
        return "number"
    if kinds <= {str}:
        return "string"
    return "any"
