"""Full-text search in the main database, one small backend per engine.

A query is a tree of tokens joined by AND and OR (built by the app that owns
the documents); each backend renders it for its engine and runs it against
an index kept by the database itself, so the index is updated in the same
transaction as the rows it describes:

- SQLite: an FTS5 table over the analyzed token columns (external content,
  kept in step by triggers), ranked by bm25 with field weights.
- PostgreSQL: a generated tsvector column built from the same tokens with a
  weight per field (A..D), ranked by ts_rank.

Tokens come pre-analyzed (machi.lib.japanese), so neither engine's own
parser or dictionary touches Japanese text.

A match is limited to the documents the caller allows (filters, permissions),
given as a set of ids: a Python int used as a bitmap (`bitmap`), handed to SQL
as one byte per id (`flags`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class All:
    parts: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Any:
    parts: tuple["Node", ...]


Node = Union[Token, All, Any]  # noqa: UP007 (recursive alias)
SQL = tuple[str, list[object]]  # a statement and its parameters

# Sets of document ids are ints with bit i set for id i: Python unions,
# intersects and counts them in C, a whole catalog's worth in microseconds.
_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_TO_FLAGS = bytes.maketrans(b"01", b"\x00\x01")


def fts5_query(node: Node) -> str:
    """A token tree as an FTS5 MATCH expression (each token a quoted string)."""
    if isinstance(node, Token):
        return '"' + node.text.replace('"', '""') + '"'
    joiner = " AND " if isinstance(node, All) else " OR "
    return "(" + joiner.join(fts5_query(part) for part in node.parts) + ")"


def tsquery(node: Node) -> str:
    """A token tree as tsquery text (each token a quoted lexeme; \\ and ' escaped)."""
    if isinstance(node, Token):
        return "'" + node.text.replace("\\", "\\\\").replace("'", "''") + "'"
    joiner = " & " if isinstance(node, All) else " | "
    return "(" + joiner.join(tsquery(part) for part in node.parts) + ")"


def bitmap(ids: Iterable[int], size: int) -> int:
    """The set of these ids, every one below size."""
    marks = bytearray(size)
    for i in ids:
        marks[i] = 1
    # Base-2 text converts in linear time, in C; the lowest id is the last digit.
    return int(marks.translate(_TO_DIGITS)[::-1] or b"0", 2)


def flags(bits: int, size: int) -> bytes:
    """One byte per id below size (at least), 1 for the ids in the set.

    flags[i] tests an id in Python, and a blob parameter lets SQL test one
    with substr, without a list of ids to build or parse.
    """
    return bin(bits)[:1:-1].encode().translate(_TO_FLAGS).ljust(size, b"\0")


def simplify(node: Node) -> Node | None:
    """Drop empty groups and unwrap groups of one."""
    if isinstance(node, Token):
        return node if node.text else None
    parts = tuple(p for p in (simplify(part) for part in node.parts) if p is not None)
    unique = tuple(dict.fromkeys(parts))
    if not unique:
        return None
    if len(unique) == 1:
        return unique[0]
    return type(node)(unique)


@dataclass(frozen=True)
class Fields:
    """Names and weights of the indexed text columns, best first."""

    table: str  # the table holding the token columns
    key: str  # its primary key column, the document id
    columns: tuple[str, ...]
    weights: tuple[float, ...]


class SQLiteBackend:
    def __init__(self, fields: Fields) -> None:
        self.fields = fields
        self.fts = f"{fields.table}_fts"

    def setup_sql(self) -> list[str]:
        f = self.fields
        columns = ", ".join(f.columns)
        new_values = ", ".join(f"new.{c}" for c in f.columns)
        old_values = ", ".join(f"old.{c}" for c in f.columns)
        # '~' marks reading tokens (machi.lib.japanese.READING_MARK) and must
        # stay part of the token.
        return [
            f"CREATE VIRTUAL TABLE {self.fts} USING fts5({columns}, content='{f.table}', "
            f"content_rowid='{f.key}', tokenize=\"unicode61 remove_diacritics 0 tokenchars '~'\")",
            f"CREATE TRIGGER {self.fts}_ai AFTER INSERT ON {f.table} BEGIN "
            f"INSERT INTO {self.fts}(rowid, {columns}) VALUES (new.{f.key}, {new_values}); END",
            f"CREATE TRIGGER {self.fts}_ad AFTER DELETE ON {f.table} BEGIN "
            f"INSERT INTO {self.fts}({self.fts}, rowid, {columns}) "
            f"VALUES ('delete', old.{f.key}, {old_values}); END",
            f"CREATE TRIGGER {self.fts}_au AFTER UPDATE ON {f.table} BEGIN "
            f"INSERT INTO {self.fts}({self.fts}, rowid, {columns}) "
            f"VALUES ('delete', old.{f.key}, {old_values}); "
            f"INSERT INTO {self.fts}(rowid, {columns}) VALUES (new.{f.key}, {new_values}); END",
        ]

    def teardown_sql(self) -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {self.fts}_{name}" for name in ("ai", "ad", "au")] + [
            f"DROP TABLE IF EXISTS {self.fts}"
        ]

    def installed_sql(self) -> str:
        """SQL counting the pieces setup_sql makes (the table and three triggers)."""
        return (
            "SELECT count(*) FROM sqlite_master WHERE "
            f"(type = 'table' AND name = '{self.fts}') OR "
            f"(type = 'trigger' AND name IN ('{self.fts}_ai', '{self.fts}_ad', '{self.fts}_au'))"
        )

    expected_pieces = 4

    def render(self, node: Node) -> str:
        return fts5_query(node)

    def match_sql(self, node: Node, allowed: bytes, scored: bool = True) -> SQL:
        """SQL selecting (score, id) of the matching documents allowed; higher score is better.

        `allowed` (see `flags`) is tested on each match before it is scored,
        so bm25 runs only for documents that can be in the result. Unscored,
        every score is 0 and bm25 never runs. (An IN list of ids would be
        handed to FTS5, which runs the whole match once per listed id.)
        """
        weights = ", ".join(str(w) for w in self.fields.weights)
        score = f"-bm25({self.fts}, {weights})" if scored else "0"
        sql = (
            f"SELECT {score}, rowid FROM {self.fts} "
            f"WHERE {self.fts} MATCH %s AND substr(%s, rowid + 1, 1) = x'01'"
        )
        return sql, [self.render(node), allowed]

    def rebuild_sql(self) -> list[str]:
        return [f"INSERT INTO {self.fts}({self.fts}) VALUES ('rebuild')"]


class PostgreSQLBackend:
    _LETTERS = "ABCD"

    def __init__(self, fields: Fields) -> None:
        if len(fields.columns) > 4:
            raise ValueError("PostgreSQL has four weights (A-D): index at most four fields")
        self.fields = fields
        self.function = f"{fields.table}_document"

    def setup_sql(self) -> list[str]:
        f = self.fields
        args = ", ".join(f"{c} text" for c in f.columns)
        # Each field's tokens become 'token':position+weight entries, built as
        # tsvector text so PostgreSQL's parser never splits Japanese.
        selects = " UNION ALL ".join(
            f"SELECT tok, least(n, 16383) AS n, '{self._LETTERS[i]}' AS w "
            f"FROM unnest(string_to_array({c}, ' ')) WITH ORDINALITY AS t(tok, n)"
            for i, c in enumerate(f.columns)
        )
        function = (
            f"CREATE FUNCTION {self.function}({args}) RETURNS tsvector "
            f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
            f"SELECT coalesce(string_agg(format('''%s'':%s%s', replace(tok, '''', ''''''), n, w),"
            f" ' '), '')::tsvector FROM ({selects}) AS tokens WHERE tok <> '' $$"
        )
        columns = ", ".join(f.columns)
        return [
            function,
            f"ALTER TABLE {f.table} ADD COLUMN document tsvector "
            f"GENERATED ALWAYS AS ({self.function}({columns})) STORED",
            f"CREATE INDEX {f.table}_document_gin ON {f.table} USING gin (document)",
        ]

    def teardown_sql(self) -> list[str]:
        return [
            f"ALTER TABLE {self.fields.table} DROP COLUMN IF EXISTS document",
            f"DROP FUNCTION IF EXISTS {self.function}",
        ]

    def installed_sql(self) -> str:
        return (
            "SELECT count(*) FROM information_schema.columns "
            f"WHERE table_name = '{self.fields.table}' AND column_name = 'document'"
        )

    expected_pieces = 1

    def render(self, node: Node) -> str:
        return tsquery(node)

    def _weights(self) -> str:
        # ts_rank takes weights in D, C, B, A order, each at most 1.
        weights = list(self.fields.weights) + [0.0] * (4 - len(self.fields.weights))
        top = max(weights)
        return "{" + ",".join(str(w / top) for w in reversed(weights)) + "}"

    def match_sql(self, node: Node, allowed: bytes, scored: bool = True) -> SQL:
        """As SQLiteBackend.match_sql, ranked by ts_rank."""
        f = self.fields
        score = f"ts_rank('{self._weights()}'::float4[], document, q)" if scored else "0"
        sql = (
            f"SELECT {score}, {f.key} FROM {f.table}, CAST(%s AS tsquery) AS q "
            f"WHERE document @@ q AND substring(%s FROM ({f.key} + 1)::int FOR 1) = '\\x01'::bytea"
        )
        return sql, [self.render(node), allowed]

    def rebuild_sql(self) -> list[str]:
        return []  # a generated column is always current


Backend = SQLiteBackend | PostgreSQLBackend


def backend_for(vendor: str, fields: Fields) -> Backend:
    if vendor == "sqlite":
        return SQLiteBackend(fields)
    if vendor == "postgresql":
        return PostgreSQLBackend(fields)
    raise NotImplementedError(f"full-text search is not implemented for {vendor}")
