"""The full-text index of a large table, written after it is published (`search_later`):
the same tokens, index and ranks as a table loaded with them, in one process or several,
in one run or resumed after a stop."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from machi.accounts.models import Department
from machi.catalog import search as catalog_search
from machi.catalog.models import Dataset
from machi.datastore import engine, services
from machi.datastore.models import Table
from machi.lib import search

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

SCHEMA = {
    "fields": [
        {"name": "名称", "type": "string"},
        {"name": "種別", "type": "string"},
        {"name": "定員", "type": "integer"},
        {"name": "電話番号", "type": "string", "x-search": False},
        {"name": "備考", "type": "string"},
    ]
}
NAMES = ["本郷", "湯島", "千石", "目白台", "白山", "小石川", "春日", "根津"]
KINDS = ["認可保育所", "認定こども園", "児童館", "避難所", "図書館", "公園"]
NOTES = ["", "駅から徒歩3分", "土曜休館", "定員は年度ごとに変わる", "駐車場あり", "バリアフリー"]
QUERIES = ["保育", "ひなんじょ", "本郷 児童館", "図書館", "駅", "あおぞら"]


def rows(count: int) -> list[list[str]]:
    """Text that repeats as published tables do, with empty cells and a row without text."""
    found = []
    for n in range(1, count + 1):
        name = NAMES[n % len(NAMES)] + ("" if n % 7 else "あおぞら")
        kind = KINDS[n % len(KINDS)]
        note = NOTES[(n * 5) % len(NOTES)]
        if n == 3:
            name, kind, note = "", "", ""
        found.append([f"{name}{kind}", kind, str(n % 150), f"03-{n:04d}-0000", note])
    return found


@pytest.fixture
def load(
    site_admin: User, make_dataset: Callable[..., Dataset], kikaku: Department
) -> Callable[..., Table]:
    names = (f"search{n}" for n in itertools.count())

    def load(count: int, *, search_later: bool) -> Table:
        name = next(names)
        dataset = make_dataset(kikaku, name, name, csv="名称\n")
        return services.load_table(
            actor=site_admin,
            version=dataset.resources.get().current,
            schema=SCHEMA,
            rows=rows(count),
            search_later=search_later,
        )

    return load


def tokens(table: Table) -> list[tuple[int, Any]]:
    """Each row's tokens: its tsvector (PostgreSQL) or its terms in the index (SQLite)."""
    with connections["datastore"].cursor() as cursor:
        if postgres():
            cursor.execute(
                f"SELECT _id, _search::text FROM {engine.qualified(table.name)} ORDER BY _id"
            )
            return cursor.fetchall()
        fts = engine.quote(f"{table.name}#fts")
        cursor.execute(f"CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, {fts}, instance)")
        try:
            cursor.execute("SELECT doc, term FROM temp.terms ORDER BY doc, offset")
            found: dict[int, list[str]] = {}
            for doc, term in cursor.fetchall():
                found.setdefault(doc, []).append(term)
        finally:
            cursor.execute("DROP TABLE temp.terms")
        cursor.execute(f"SELECT _id FROM {engine.quote(table.name)} ORDER BY _id")
        return [(i, " ".join(found[i]) if i in found else None) for (i,) in cursor.fetchall()]


def postgres() -> bool:
    return connections["datastore"].vendor == "postgresql"


def index_content(table: Table) -> dict[str, Any]:
    """What the full-text index holds and how it ranks: every term's documents and
    positions, and each query's rows with their bm25 (SQLite) or ts_rank (PostgreSQL)."""
    found: dict[str, Any] = {}
    with connections["datastore"].cursor() as cursor:
        if postgres():
            for q in QUERIES:
                cursor.execute(
                    f"SELECT _id, ts_rank(_search, q) FROM {engine.qualified(table.name)}, "
                    "CAST(%s AS tsquery) AS q WHERE _search @@ q ORDER BY 2 DESC, 1",
                    [search.tsquery(parsed(q))],
                )
                found[q] = cursor.fetchall()
            return found
        fts = engine.quote(f"{table.name}#fts")
        cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('integrity-check')")
        cursor.execute(f"CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, {fts}, instance)")
        try:
            cursor.execute("SELECT term, doc, col, offset FROM temp.vocab ORDER BY 1, 2, 3, 4")
            found["instances"] = cursor.fetchall()
        finally:
            cursor.execute("DROP TABLE temp.vocab")
        for q in QUERIES:
            cursor.execute(
                f"SELECT rowid, bm25({fts}) FROM {fts} WHERE {fts} MATCH %s ORDER BY rank, rowid",
                [search.fts5_query(parsed(q))],
            )
            found[q] = cursor.fetchall()
    return found


def parsed(q: str) -> Any:
    node = catalog_search.parse_query(q)
    assert node is not None
    return node


def found_names(client: Client, table: Table, q: str) -> list[str]:
    url = f"/api/v1/datastore/{table.resource.uid}/rows"
    return [r["名称"] for r in client.get(url, {"q": q, "limit": 1000}).json()["records"]]


def test_a_table_indexed_later_matches_one_loaded_with_its_tokens(
    load: Callable[..., Table], resident: Client
) -> None:
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    assert not later.search_ready
    assert all(t is None for _id, t in tokens(later))
    services.build_search(later)
    later.refresh_from_db()
    assert later.search_ready
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)
    assert all(index_content(loaded)[q] for q in QUERIES)  # every query finds rows
    for q in QUERIES:
        assert found_names(resident, later, q) == found_names(resident, loaded, q)


def test_search_processes_write_what_one_process_writes(
    load: Callable[..., Table], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    settings.DATASTORE_SEARCH_PROCESSES = 2
    monkeypatch.setattr(engine, "SEARCH_PROCESS_MIN_ROWS", 100)
    monkeypatch.setattr(engine, "_FILL_PART", 16)  # many parts, handed out and taken back
    assert engine.search_processes(300) == 2 and engine.search_processes(99) == 1
    written = list(engine.fill_search(later.name, later.column_list, batch=64))
    assert written == [64, 128, 192, 256, 300]
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)


def test_a_stopped_build_is_finished_by_the_next_run(
    load: Callable[..., Table], resident: Client
) -> None:
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    fill = engine.fill_search(later.name, later.column_list, batch=100)
    assert next(fill) == 100
    fill.close()  # stopped after its first batch, as a killed worker leaves it
    written = tokens(later)
    assert written[:100] == tokens(loaded)[:100]
    assert all(t is None for _id, t in written[100:])
    url = f"/api/v1/datastore/{later.resource.uid}/rows"
    assert resident.get(url, {"q": "保育"}).status_code == 503
    services.build_search(Table.objects.get(pk=later.pk))
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)
    assert found_names(resident, later, "保育") == found_names(resident, loaded, "保育")


def test_two_runs_at_once_index_each_row_once(load: Callable[..., Table]) -> None:
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    first = engine.fill_search(later.name, later.column_list, batch=100)
    assert next(first) == 100  # its next batches are being analysed...
    assert list(engine.fill_search(later.name, later.column_list, batch=100)) == [200, 300]
    list(first)  # ...and arrive after a second run wrote the same rows
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)


def test_a_table_without_searched_text_is_ready_with_an_index(
    site_admin: User, make_dataset: Callable[..., Dataset], kikaku: Department, resident: Client
) -> None:
    dataset = make_dataset(kikaku, "codes", "コード", csv="コード\n")
    table = services.load_table(
        actor=site_admin,
        version=dataset.resources.get().current,
        schema={"fields": [{"name": "コード", "type": "string", "x-search": False}]},
        rows=[["A1"], ["B2"]],
        search_later=True,
    )
    assert table.search_ready
    url = f"/api/v1/datastore/{table.resource.uid}/rows"
    assert resident.get(url, {"q": "保育"}).json()["total"] == 0


@pytest.mark.skipif("connections['datastore'].vendor != 'sqlite'")
def test_a_table_loaded_before_contentless_indexes_gets_one(
    load: Callable[..., Table],
) -> None:
    # Tables loaded with search_later by earlier versions kept their tokens in a
    # `_search` column, with an FTS5 index over it and triggers; an unfinished one is
    # indexed afresh, the old index and its triggers gone.
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    name, fts = engine.quote(later.name), engine.quote(f"{later.name}#fts")
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"DROP TABLE {fts}")
        cursor.execute(f"ALTER TABLE {name} ADD COLUMN _search text")
        cursor.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(_search, content={name}, content_rowid='_id')"
        )
        cursor.execute(
            f"CREATE TRIGGER {engine.quote(later.name + '#ai')} AFTER INSERT ON {name} BEGIN "
            f"INSERT INTO {fts}(rowid, _search) VALUES (new._id, new._search); END"
        )
        cursor.execute(f"UPDATE {name} SET _search = 'stale' WHERE _id <= 10")
    services.build_search(later)
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)
    with connections["datastore"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert cursor.fetchone() == (0,)


@pytest.mark.skipif("connections['datastore'].vendor != 'sqlite'")
def test_an_unfinished_index_with_row_sizes_is_finished_where_it_stopped(
    load: Callable[..., Table],
) -> None:
    # Earlier contentless indexes kept each row's size (FTS5's default), so they could
    # list their rows and had no `#fts_done` table: the next run resumes after their last.
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    fts, done = engine.quote(f"{later.name}#fts"), engine.quote(f"{later.name}#fts_done")
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"DROP TABLE {fts}")
        cursor.execute(f"DROP TABLE {done}")
        cursor.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(_search, content='', "
            "tokenize=\"unicode61 remove_diacritics 0 tokenchars '~'\")"
        )
    fill = engine.fill_search(later.name, later.column_list, batch=100)
    assert next(fill) == 100
    fill.close()
    assert engine._last_indexed(later.name, tracked=False) == 100
    services.build_search(later)
    assert tokens(later) == tokens(loaded)


# The worker closes its connections between tasks: a transactional test.
@pytest.mark.django_db(
    databases=["default", "datastore"], transaction=True, serialized_rollback=True
)
def test_a_worker_that_starts_queues_what_a_stopped_one_left(
    load: Callable[..., Table], resident: Client, settings: Any
) -> None:
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from machi.datastore import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    later = load(300, search_later=True)
    fill = engine.fill_search(later.name, later.column_list, batch=100)
    next(fill)
    fill.close()  # the worker stopped here; nothing is queued any more
    assert tasks.resume_search() == 1
    assert tasks.resume_search() == 0  # queued once, not once per start
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0.1)
    assert Table.objects.get(pk=later.pk).search_ready
    assert found_names(resident, later, "保育")
    assert tasks.resume_search() == 0


def page_settings() -> tuple[int, int]:
    with connections["datastore"].cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (cache,) = cursor.fetchone()
        cursor.execute("PRAGMA mmap_size")
        (mapped,) = cursor.fetchone()
    return cache, mapped


@pytest.mark.skipif(
    "connections['datastore'].vendor != 'sqlite'", reason="SQLite's page cache and memory map"
)
def test_tokens_are_written_with_a_small_page_cache_and_no_memory_map(
    load: Callable[..., Table],
) -> None:
    later = load(300, search_later=True)
    readers = page_settings()
    assert readers[0] != engine.BULK_CACHE_SIZE and readers[1] > 0
    stopped = engine.fill_search(later.name, later.column_list, batch=100)
    assert next(stopped) == 100
    assert page_settings() == (engine.BULK_CACHE_SIZE, 0)
    stopped.close()
    assert page_settings() == readers
    assert list(engine.fill_search(later.name, later.column_list, batch=100)) == [200, 300]
    assert page_settings() == readers
