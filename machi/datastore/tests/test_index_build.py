"""Finishing a loaded table: empty cells counted, indexes built with a small page cache."""

from collections.abc import Callable

import pytest
from django.db import connections

from machi.accounts.models import Department
from machi.datastore import engine
from machi.datastore.models import Table

from .conftest import NURSERIES

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


@pytest.mark.skipif("connections['datastore'].vendor != 'sqlite'", reason="SQLite's page cache")
def test_the_page_cache_is_small_while_indexes_build_and_restored_after(
    load_csv: Callable[..., Table], kikaku: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = []
    build = engine._build_group_indexes

    def watched(cursor, name, single):  # type: ignore[no-untyped-def]
        cursor.execute("PRAGMA cache_size")
        sizes.append(cursor.fetchone()[0])
        return build(cursor, name, single)

    with connections["datastore"].cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (readers,) = cursor.fetchone()
    monkeypatch.setattr(engine, "_build_group_indexes", watched)
    table = load_csv(kikaku, "nurseries", NURSERIES)
    assert sizes == [engine.INDEX_BUILD_CACHE_SIZE]
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
