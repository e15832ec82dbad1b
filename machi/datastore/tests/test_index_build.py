"""Loading and finishing a table: a small page cache meanwhile, empty cells counted, no
index for a column without values."""

from collections.abc import Callable

import pytest
from django.db import connections
from django.test import Client

from machi.accounts.models import Department
from machi.datastore import engine
from machi.datastore.models import Table

from .conftest import NURSERIES

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


@pytest.mark.skipif("connections['datastore'].vendor != 'sqlite'", reason="SQLite's page cache")
def test_the_page_cache_is_small_while_a_table_loads_and_restored_after(
    load_csv: Callable[..., Table], kikaku: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = []

    def cache_size() -> int:
        with connections["datastore"].cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    def watched(step):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            sizes.append((step.__name__, cache_size()))
            return step(*args, **kwargs)

        return run

    readers = cache_size()
    # The rows' insert, then the index builds.
    monkeypatch.setattr(engine, "insert_rows", watched(engine.insert_rows))
    monkeypatch.setattr(engine, "_build_group_indexes", watched(engine._build_group_indexes))
    table = load_csv(kikaku, "nurseries", NURSERIES)
    small = engine.BULK_CACHE_SIZE
    assert sizes == [("insert_rows", small), ("_build_group_indexes", small)]
    with connections["datastore"].cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == readers == -65536
        cursor.execute(f'SELECT count(*) FROM "{table.name}"')
        assert cursor.fetchone()[0] == 6


def test_empty_cells_are_counted_per_column(nurseries: Table) -> None:
    nulls = {c.name: c.nulls for c in nurseries.column_list}
    assert nulls == {
        "名称": 0,
        "種別": 0,
        "定員": 0,
        "開設日": 1,
        "駐車場": 0,
        "緯度": 0,
        "経度": 0,
        "備考": 3,
    }


WITH_EMPTY = (
    NURSERIES.replace("備考\n", "備考,通称\n").replace("\n", ",\n").replace("通称,\n", "通称\n")
)


def index_columns(table: Table) -> set[str]:
    """The columns the table's single-column indexes are on."""
    with connections["datastore"].cursor() as cursor:
        if engine.vendor() == "postgresql":
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
                "WHERE c.relname = %s AND i.indnatts = 1",
                [table.name],
            )
        else:
            cursor.execute(
                "SELECT ii.name FROM sqlite_master m, pragma_index_info(m.name) ii "
                "WHERE m.type = 'index' AND m.tbl_name = %s AND m.name NOT LIKE '%%#by%%'",
                [table.name],
            )
        return {row[0] for row in cursor.fetchall()}


def test_a_column_without_values_gets_no_index_and_is_answered_without_one(
    load_csv: Callable[..., Table], kikaku: Department, resident: Client
) -> None:
    table = load_csv(kikaku, "nurseries", WITH_EMPTY)
    columns = {c.name: c for c in table.column_list}
    assert columns["通称"].empty and columns["通称"].nulls == 6
    assert not columns["備考"].empty  # some cells empty, not all
    assert "通称" not in index_columns(table) and {"名称", "備考"} <= index_columns(table)

    def rows(**params: str) -> list[int]:
        url = f"/api/v1/datastore/{table.resource.uid}/rows"
        response = resident.get(url, {"fields": "_id", **params})
        assert response.status_code == 200, response.content.decode()
        return [r["_id"] for r in response.json()["records"]]

    assert rows(通称="本郷") == [] and rows(通称__prefix="") == [] and rows(通称__gt="あ") == []
    assert rows(通称__ne="本郷") == [1, 2, 3, 4, 5, 6]
    assert rows(通称__isnull="true", 種別="認可保育所") == [1, 2]
    assert rows(通称__isnull="false") == []
    # Every row ties on it: the row id decides, in the sort's direction when it comes last.
    assert rows(sort="通称 desc") == [6, 5, 4, 3, 2, 1]
    assert rows(sort="通称, 定員 desc") == [5, 3, 1, 2, 6, 4]
    first = resident.get(
        f"/api/v1/datastore/{table.resource.uid}/rows", {"sort": "通称 desc", "limit": 4}
    ).json()
    assert rows(sort="通称 desc", limit="4", next=first["next"]) == [2, 1]
    facets = resident.get(
        f"/api/v1/datastore/{table.resource.uid}/facets", {"columns": "通称", "駐車場": "true"}
    ).json()
    assert facets == {"通称": [{"value": None, "count": 3}]}
