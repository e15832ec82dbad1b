"""The read-only SQL endpoint: results, limits, and the queries it must refuse (both engines)."""

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from machi.accounts.models import Department
from machi.datastore import engine, sql
from machi.datastore.errors import DatastoreError
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

URL = "/api/v1/datastore/sql"

KINDS = """\
種別,区分
認可保育所,保育
認定こども園,保育と教育
小規模保育事業,保育
幼稚園,教育
学童保育,放課後
"""


def run(client: Client, query: str, **headers: Any) -> Any:
    return client.get(URL, {"sql": query}, HTTP_ACCEPT_LANGUAGE="en", **headers)


def ok(client: Client, query: str) -> dict[str, Any]:
    response = run(client, query)
    assert response.status_code == 200, response.content.decode()
    return response.json()


def refused(client: Client, query: str) -> str:
    response = run(client, query)
    assert response.status_code == 400, response.content.decode()
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def view(table: Table) -> str:
    return f'"{table.resource.uid}"'


@pytest.fixture
def kinds(load_csv: Callable[..., Table], kikaku: Department) -> Table:
    return load_csv(kikaku, "kinds", KINDS)


# --- Results -------------------------------------------------------------------------------


def test_where_and_order(resident: Client, nurseries: Table) -> None:
    result = ok(
        resident,
        f"SELECT 名称, 定員, 開設日 FROM {view(nurseries)} WHERE 定員 >= 120 ORDER BY 定員 DESC",
    )
    assert result["fields"] == [
        {"name": "名称", "type": "string"},
        {"name": "定員", "type": "integer"},
        {"name": "開設日", "type": "date" if engine.vendor() == "postgresql" else "string"},
    ]
    assert result["records"] == [
        {"名称": "白山ひまわり幼稚園", "定員": 200, "開設日": "1962-04-01"},
        {"名称": "千石こども園", "定員": 150, "開設日": "2010-10-01"},
        {"名称": "本駒込保育園", "定員": 120, "開設日": "1975-04-01"},
    ]
    assert result["truncated"] is False
    response = run(resident, f"SELECT 1 AS one FROM {view(nurseries)} LIMIT 1")
    assert response["Cache-Control"] == "private, no-store"


def test_group_by_with_aggregates(resident: Client, nurseries: Table) -> None:
    result = ok(
        resident,
        f"SELECT 種別, count(*) AS n, sum(定員) AS total, avg(定員) AS mean "
        f"FROM {view(nurseries)} GROUP BY 種別 HAVING count(*) > 1 ORDER BY 種別",
    )
    assert result["records"] == [{"種別": "認可保育所", "n": 2, "total": 180, "mean": 90}]


def test_join_two_resource_views(resident: Client, nurseries: Table, kinds: Table) -> None:
    result = ok(
        resident,
        f"SELECT n.名称, k.区分 FROM {view(nurseries)} AS n "
        f"JOIN {view(kinds)} AS k ON k.種別 = n.種別 "
        f"WHERE k.区分 LIKE '%教育%' ORDER BY n._id",
    )
    assert result["records"] == [
        {"名称": "千石こども園", "区分": "保育と教育"},
        {"名称": "白山ひまわり幼稚園", "区分": "教育"},
    ]


def test_cte_union_window_and_version_table(resident: Client, nurseries: Table) -> None:
    result = ok(
        resident,
        f"WITH big AS (SELECT 名称, 定員 FROM {view(nurseries)} WHERE 定員 > 100), "
        f"ranked AS (SELECT 名称, rank() OVER (ORDER BY 定員 DESC) AS r FROM big) "
        f"SELECT 名称, r FROM ranked WHERE r <= 2 "
        f"UNION ALL SELECT 'total', count(*) FROM \"{nurseries.name}\" ORDER BY 2, 1",
    )
    assert result["records"] == [
        {"名称": "白山ひまわり幼稚園", "r": 1},
        {"名称": "千石こども園", "r": 2},
        {"名称": "total", "r": 6},
    ]


def test_recursive_cte_with_an_end(resident: Client, nurseries: Table) -> None:
    result = ok(
        resident,
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) "
        "SELECT sum(n) AS s FROM r",
    )
    assert result["records"] == [{"s": 15}]


def test_ordinary_functions_run_on_both_engines(resident: Client, nurseries: Table) -> None:
    result = ok(
        resident,
        "SELECT upper('a') AS u, lower('B') AS l, length(名称) AS n, substr(名称, 1, 2) AS s, "
        "replace(名称, '保育', 'ほいく') AS r, trim('  x ') AS t, coalesce(備考, '-') AS c, "
        "nullif(定員, 120) AS z, round(CAST(緯度 AS NUMERIC), 1) AS lat, abs(-定員) AS a, "
        "CAST(定員 AS TEXT) || '人' AS people, CASE WHEN 駐車場 THEN 'P' ELSE '' END AS p, "
        "row_number() OVER (ORDER BY 定員 DESC) AS rank, lag(名称) OVER (ORDER BY _id) AS prev, "
        "CURRENT_DATE IS NOT NULL AS today "
        f"FROM {view(nurseries)} WHERE 名称 LIKE '本駒込%' AND _id IN (1, 2)",
    )
    record = result["records"][0]
    assert {k: record[k] for k in ("u", "l", "n", "s", "r", "t", "c", "z", "lat", "a")} == {
        "u": "A",
        "l": "b",
        "n": 6,
        "s": "本駒",
        "r": "本駒込ほいく園",
        "t": "x",
        "c": "-",
        "z": None,
        "lat": 35.7,
        "a": 120,
    }
    assert record["people"] == "120人" and record["p"] == "P" and record["prev"] is None
    aggregates = ok(
        resident,
        "SELECT count(*) AS n, count(DISTINCT 種別) AS kinds, min(定員) AS low, "
        f"max(定員) AS high, sum(定員) AS total, avg(定員) AS mean FROM {view(nurseries)}",
    )
    assert aggregates["records"] == [
        {"n": 6, "kinds": 5, "low": 19, "high": 200, "total": 589, "mean": 589 / 6}
    ]


def test_repeated_column_names_get_suffixes(resident: Client, nurseries: Table) -> None:
    result = ok(resident, f"SELECT 名称, 名称, 1 AS 名称_2 FROM {view(nurseries)} WHERE _id = 1")
    assert [f["name"] for f in result["fields"]] == ["名称", "名称_2", "名称_2_2"]
    assert result["records"] == [{"名称": "本駒込保育園", "名称_2": "本駒込保育園", "名称_2_2": 1}]


def test_post_with_json_or_form_body(resident: Client, nurseries: Table) -> None:
    query = f"SELECT count(*) AS n FROM {view(nurseries)}"
    response = resident.post(URL, {"sql": query}, content_type="application/json")
    assert response.status_code == 200, response.content.decode()
    assert response.json()["records"] == [{"n": 6}]
    response = resident.post(URL, {"sql": query})
    assert response.status_code == 200, response.content.decode()
    assert response.json()["records"] == [{"n": 6}]
    response = resident.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_the_route_does_not_clash_with_table_routes(resident: Client, nurseries: Table) -> None:
    assert resident.get(f"/api/v1/datastore/{nurseries.resource.uid}").status_code == 200
    assert resident.get(URL).status_code == 400  # no sql: a message, not a 404 or 422


def test_row_limit_truncates(resident: Client, nurseries: Table, settings: Any) -> None:
    settings.DATASTORE_SQL_ROW_LIMIT = 2
    result = ok(resident, f"SELECT _id FROM {view(nurseries)} ORDER BY _id")
    assert result["records"] == [{"_id": 1}, {"_id": 2}]
    assert result["truncated"] is True
    assert ok(resident, f"SELECT _id FROM {view(nurseries)} WHERE _id <= 2")["truncated"] is False
    # An endless recursive CTE is cut at the limit: its rest is never computed.
    endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    assert ok(resident, endless) == {
        "fields": [{"name": "n", "type": "integer"}],
        "records": [{"n": 1}, {"n": 2}],
        "truncated": True,
    }


def test_private_tables_are_refused_to_residents(
    resident: Client, load_csv: Any, kikaku: Department, client_for: Any, viewer: Any
) -> None:
    table = load_csv(kikaku, "draft", "a,b\n1,2\n", is_public=False)
    query = f"SELECT * FROM {view(table)}"
    detail = refused(resident, query)
    assert str(table.resource.uid) in detail and "not a datastore table" in detail
    # The same message as for a table that does not exist: nothing leaks.
    missing = refused(resident, 'SELECT * FROM "00000000-0000-0000-0000-000000000000"')
    assert missing.replace("00000000-0000-0000-0000-000000000000", "") == detail.replace(
        str(table.resource.uid), ""
    )
    assert refused(resident, f'SELECT * FROM "{table.name}"')
    viewer_client = client_for(viewer)
    response = viewer_client.get(URL, {"sql": query})
    assert response.status_code == 200, response.content.decode()
    assert response.json()["records"] == [{"_id": 1, "a": 1, "b": 2}]


def test_messages_are_translated_by_default(resident: Client, nurseries: Table) -> None:
    response = resident.get(URL, {"sql": "DELETE FROM x"})
    assert response.status_code == 400
    assert "DELETE" in response.json()["detail"]


# --- Time limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        # a recursive CTE that never ends, counted
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        # a cross join of 6^10 rows
        "SELECT count(*) FROM {v} a, {v} b, {v} c, {v} d, {v} e, {v} f, {v} g, {v} h, {v} i, {v} j",
    ],
)
def test_long_queries_are_stopped_and_the_server_answers_next(
    resident: Client, nurseries: Table, settings: Any, query: str
) -> None:
    settings.DATASTORE_TIME_LIMIT_MS = 100
    started = time.monotonic()
    detail = refused(resident, query.format(v=view(nurseries)))
    assert time.monotonic() - started < 5
    assert "longer than 0.1 seconds" in detail and "stopped" in detail
    assert ok(resident, f"SELECT count(*) AS n FROM {view(nurseries)}")["records"] == [{"n": 6}]


# --- Refusals ------------------------------------------------------------------------------

# (query, words the English message must contain). {v} is the nurseries view,
# {t} its version table, {uid} the resource id, {tmp} a fresh directory.
ATTACKS = [
    ("INSERT INTO {v} (_id) VALUES (99)", ["SELECT", "INSERT"]),
    ("UPDATE {v} SET 定員 = 0", ["SELECT", "UPDATE"]),
    ("DELETE FROM {v}", ["SELECT", "DELETE"]),
    ('DELETE FROM "{t}"', ["DELETE"]),
    ("DROP VIEW {v}", ["DROP"]),
    ('DROP TABLE "{t}"', ["DROP"]),
    ("CREATE TABLE x (a int)", ["CREATE"]),
    ("CREATE TEMP VIEW x AS SELECT * FROM {v}", ["CREATE"]),
    ("ALTER TABLE {v} ADD COLUMN x int", ["ALTER"]),
    ("REPLACE INTO {v} (_id) VALUES (1)", ["REPLACE"]),
    ("VACUUM", ["VACUUM"]),
    ("ANALYZE", ["ANALYZE"]),
    ("REINDEX", ["REINDEX"]),
    ("BEGIN", ["BEGIN"]),
    ("COMMIT", ["COMMIT"]),
    ("SET ROLE postgres", ["SET"]),
    ("RESET ROLE", ["RESET"]),
    ("EXPLAIN SELECT 1", ["EXPLAIN"]),
    ("COPY (SELECT 1) TO '{tmp}/copy'", ["COPY"]),
    ("ATTACH DATABASE '{tmp}/x.db' AS x", ["ATTACH"]),
    ("DETACH DATABASE main", ["DETACH"]),
    ("PRAGMA table_info({v})", ["PRAGMA"]),
    ("PRAGMA query_only = OFF", ["PRAGMA"]),
    ("WITH d AS (DELETE FROM {v} RETURNING *) SELECT * FROM d", ["DELETE"]),
    ("SELECT * INTO copied FROM {v}", ["INTO"]),
    ("SELECT * FROM {v} FOR UPDATE", ["FOR UPDATE"]),
    # other tables
    ("SELECT * FROM auth_user", ["auth_user", "not a datastore table", "view"]),
    ('SELECT * FROM "main"."auth_user"', ["auth_user"]),
    ('SELECT * FROM "public"."auth_user"', ["auth_user"]),
    ("SELECT * FROM {v} JOIN auth_user ON 1 = 1", ["auth_user"]),
    ("SELECT (SELECT password FROM auth_user LIMIT 1)", ["auth_user"]),
    ("SELECT * FROM {v} WHERE 名称 IN (SELECT username FROM auth_user)", ["auth_user"]),
    ("SELECT * FROM sqlite_master", ["sqlite_master"]),
    ("SELECT * FROM sqlite_schema", ["sqlite_schema"]),
    ("SELECT * FROM temp.sqlite_master", ["sqlite_master"]),
    ("SELECT * FROM pg_catalog.pg_user", ["pg_user"]),
    ("SELECT * FROM pg_user", ["pg_user"]),
    ("SELECT * FROM pg_catalog.pg_authid", ["pg_authid"]),
    ("SELECT * FROM information_schema.tables", ["tables"]),
    ("SELECT * FROM machi_cache", ["machi_cache"]),
    ("SELECT * FROM datastore_table", ["datastore_table"]),
    ('SELECT * FROM "{t}#fts"', ["#fts"]),
    ('SELECT * FROM x.y."{uid}"', ["{uid}"]),
    # a CTE does not make a table of the same name readable outside its scope
    (
        "SELECT * FROM (WITH auth_user AS (SELECT 1 AS x) SELECT * FROM auth_user) a, auth_user",
        ["auth_user"],
    ),
    ("WITH pg_user AS (SELECT * FROM pg_user) SELECT * FROM pg_user", ["pg_user"]),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", ["“b”"]),
    # functions
    ("SELECT load_extension('x')", ["load_extension"]),
    ("SELECT load_extension('/tmp/evil.so', 'init')", ["load_extension"]),
    ("SELECT readfile('/etc/passwd')", ["readfile"]),
    ("SELECT writefile('{tmp}/w', 'x')", ["writefile"]),
    ("SELECT edit('x')", ["edit"]),
    ("SELECT fts3_tokenizer('simple')", ["fts3_tokenizer"]),
    ("SELECT sqlite_version()", ["sqlite_version"]),
    ("SELECT sqlite_compileoption_used('THREADSAFE')", ["sqlite_compileoption_used"]),
    ("SELECT * FROM pragma_table_info('auth_user')", ["pragma_table_info"]),
    ("SELECT * FROM json_each('[1]')", ["json_each"]),
    ("SELECT randomblob(1000000000)", ["randomblob"]),
    ("SELECT pg_read_file('/etc/passwd')", ["pg_read_file"]),
    ("SELECT pg_ls_dir('.')", ["pg_ls_dir"]),
    ("SELECT lo_import('/etc/passwd')", ["lo_import"]),
    ("SELECT lo_export(1, '{tmp}/lo')", ["lo_export"]),
    ("SELECT set_config('role', 'postgres', true)", ["set_config"]),
    ("SELECT pg_catalog.set_config('role', 'postgres', true)", ["set_config"]),
    ("SELECT pg_catalog.upper('x')", ["schema name"]),
    ("SELECT current_setting('is_superuser')", ["current_setting"]),
    ("SELECT query_to_xml('SELECT * FROM auth_user', true, true, '')", ["query_to_xml"]),
    ("SELECT table_to_xml('auth_user', true, true, '')", ["table_to_xml"]),
    ("SELECT * FROM ts_stat('SELECT 1')", ["ts_stat"]),
    ("SELECT dblink('host=x', 'SELECT 1')", ["dblink"]),
    ("SELECT pg_sleep(10)", ["pg_sleep"]),
    ("SELECT * FROM generate_series(1, 1000000000)", ["generate_series"]),
    ("SELECT version()", ["version"]),
    ("SELECT repeat('x', 1000000000)", ["repeat"]),
    ("SELECT 'auth_user'::regclass", ["regclass"]),
    ("SELECT CAST('<a/>' AS xml)", ["xml"]),
    ("SELECT * FROM {v} WHERE _id = ?", ["placeholder"]),
    ("SELECT * FROM {v} WHERE _id = $1", ["placeholder"]),
    ("SELECT * FROM {v} WHERE _id = :id", ["placeholder"]),
    # several statements, and statements hidden in comments
    ("SELECT 1; DELETE FROM {v}", ["one statement"]),
    ("SELECT * FROM {v}; DROP TABLE {v}", ["one statement"]),
    ("SELECT 1 -- comment\n; DELETE FROM {v}", ["one statement"]),
    ("SELECT 1 /* ; */; DELETE FROM {v} /* */", ["one statement"]),
    ("/* SELECT 1 */ DELETE FROM {v}", ["DELETE"]),
    ("-- SELECT 1\nDELETE FROM {v}", ["DELETE"]),
    # SQLite ends a block comment at the first */, PostgreSQL nests them (and
    # sqlglot follows each engine): however it reads, something is refused.
    (
        "SELECT 1 AS x /* /* */ , load_extension('x') /* */ FROM auth_user",
        [("auth_user", "load_extension", "could not be read")],
    ),
    (
        "SELECT 1 /* /* */ AS x, ' */ , set_config('role', 'postgres', true) AS y --'",
        [("set_config", "could not be read")],
    ),
    ("SELECT 1 AS x /* /* */ , load_extension('x') /* */", [("load_extension", "could not")]),
    # size and depth
    ("SELECT " + "1 + " * 25_000 + "1", ["characters long", "10,000"]),
    ("SELECT " + "(" * 500 + "1" + ")" * 500, ["nested too deeply"]),
    ("SELECT " + "NOT " * 1500 + "1", ["nested too deeply"]),
    ("SELECT " + " + ".join(["1"] * 2400), ["nested too deeply"]),
    ("SELECT " + "CASE WHEN 1 THEN " * 400 + "1" + " END" * 400, ["nested too deeply"]),
    # not SQL
    ("", ["SELECT", "sql"]),
    ("SELECT FROM WHERE )", ["could not"]),
    ("SELECT * FROM {v} WHERE 存在しない列 = 1", ["could not run", "存在しない列"]),
]


def _snapshot() -> list[Any]:
    """Every table and view of the datastore, and the nurseries' rows."""
    with engine.connection().cursor() as cursor:
        if engine.vendor() == "postgresql":
            cursor.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
            )
        else:
            cursor.execute("SELECT type, name FROM sqlite_master ORDER BY 1, 2")
        return cursor.fetchall()


def test_attacks_are_refused_and_change_nothing(
    resident: Client, nurseries: Table, tmp_path: Path
) -> None:
    # One loop over the list (one table load, not one per case); every case is
    # checked and the failures are reported together.
    fields = {"v": view(nurseries), "t": nurseries.name, "uid": nurseries.resource.uid}
    scratch = tmp_path / "scratch"  # tmp_path itself holds the uploaded files
    scratch.mkdir()
    before = _snapshot()
    rows = ok(resident, f"SELECT * FROM {view(nurseries)} ORDER BY _id")["records"]
    problems = []
    for attack, words in ATTACKS:
        query = attack.format(**fields, tmp=scratch)
        response = run(resident, query)
        detail = response.json().get("detail") if response.status_code == 400 else None
        if not isinstance(detail, str) or not detail:
            problems.append(f"{query[:80]!r}: {response.status_code} {response.content[:200]!r}")
            continue
        for word in words:  # a tuple: one of them
            choices = word if isinstance(word, tuple) else (word,)
            if not any(choice.format(**fields) in detail for choice in choices):
                problems.append(f"{query[:80]!r}: {word!r} not in {detail!r}")
        _assert_connection_restored()
    assert problems == []
    assert _snapshot() == before
    assert ok(resident, f"SELECT * FROM {view(nurseries)} ORDER BY _id")["records"] == rows
    assert list(scratch.iterdir()) == []


def _assert_connection_restored() -> None:
    conn = engine.connection()
    with conn.cursor() as cursor:
        if engine.vendor() == "postgresql":
            cursor.execute(
                "SELECT current_user = session_user, current_setting('transaction_read_only')"
            )
            assert cursor.fetchone() == (True, "off")
        else:
            cursor.execute("PRAGMA query_only")
            assert cursor.fetchone() == (0,)
            assert conn.connection.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) > 0


def test_regular_expressions_only_where_a_time_limit_stops_them(
    resident: Client, nurseries: Table
) -> None:
    # SQLite's REGEXP is Django's Python function: no progress handler can stop it.
    query = f"SELECT 名称 FROM {view(nurseries)} WHERE 名称 REGEXP '^白山' ORDER BY _id"
    if engine.vendor() == "sqlite":
        assert "regexp" in refused(resident, query).lower()
    else:
        assert ok(resident, query)["records"] == [{"名称": "白山ひまわり幼稚園"}]


def test_loads_still_work_after_queries(
    resident: Client, nurseries: Table, load_csv: Any, kikaku: Department
) -> None:
    refused(resident, "SELECT load_extension('x')")
    ok(resident, f"SELECT * FROM {view(nurseries)}")
    table = load_csv(kikaku, "later", "a\n1\n")
    assert ok(resident, f"SELECT a FROM {view(table)}")["records"] == [{"a": 1}]


# --- The engine's own guard, without the parser ----------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT load_extension('x')",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM pragma_table_info('x')",
        "PRAGMA table_info('x')",
        "ATTACH DATABASE ':memory:' AS x",
        'DELETE FROM "{t}"',
        "SELECT 名称 FROM {v} WHERE 名称 REGEXP 'a'",
        # SQLite ends a comment at the first */: sqlglot, nesting, saw only SELECT 1
        "SELECT 1 AS x /* /* */ , load_extension('x') /* */",
    ],
)
def test_sqlite_authorizer_refuses_on_its_own(nurseries: Table, query: str) -> None:
    if engine.vendor() != "sqlite":
        pytest.skip("SQLite's authorizer")
    readable = frozenset({str(nurseries.resource.uid), nurseries.name})
    query = query.format(v=view(nurseries), t=nurseries.name)
    before = _snapshot()
    with pytest.raises(DatastoreError):
        sql._run_sqlite(query, readable, 10)
    assert _snapshot() == before
    _assert_connection_restored()
    assert sql._run_sqlite(f"SELECT count(*) FROM {view(nurseries)}", readable, 10)[1] == [(6,)]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM public.auth_user",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT * FROM pg_catalog.pg_authid",
        "SELECT lo_import('/etc/passwd')",
    ],
)
def test_postgres_role_refuses_on_its_own(nurseries: Table, query: str) -> None:
    if engine.vendor() != "postgresql":
        pytest.skip("PostgreSQL's read-only role")
    with pytest.raises(DatastoreError, match="permission denied"):
        sql._run_postgres(query, 10)
    _assert_connection_restored()


def test_postgres_without_the_role_says_so(nurseries: Table, settings: Any) -> None:
    if engine.vendor() != "postgresql":
        pytest.skip("PostgreSQL's read-only role")
    settings.DATASTORE_SQL_ROLE = "machi_no_such_role"
    with pytest.raises(DatastoreError, match="docs/datastore.md"):
        sql.run_sql(None, f"SELECT * FROM {view(nurseries)}")
    _assert_connection_restored()


def test_dangerous_names_are_never_allowed() -> None:
    dangerous = [
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
        "set_config",
        "current_setting",
        "query_to_xml",
        "pg_read_file",
        "lo_import",
        "dblink",
        "regexp",
    ]
    for name in dangerous:
        assert name not in sql.ALLOWED_NAMES and name not in sql.SQLITE_FUNCTIONS
    assert not any(name.startswith(("pg_", "lo_", "sqlite_")) for name in sql.ALLOWED_NAMES)
    # Every allowed sqlglot class exists in the pinned version (an upgrade that
    # renames one would silently refuse that function).
    names = sql._ALLOWED_CLASS_NAMES.split()
    assert len(sql.ALLOWED_CLASSES) == len(names)
