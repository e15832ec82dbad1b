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


def tokens(table: Table) -> list[tuple[int, str | None]]:
    column = "_search::text" if postgres() else "_search"
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"SELECT _id, {column} FROM {engine.qualified(table.name)} ORDER BY _id")
        return cursor.fetchall()


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
        # The same triggers as a table loaded with its tokens, so later writes follow.
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [table.name],
        )
        found["triggers"] = sorted(
            (name.removeprefix(table.name), sql.replace(table.name, "T"))
            for name, sql in cursor.fetchall()
        )
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
    if not postgres():
        assert not engine.table_exists(f"{later.name}#fts")  # built once, after the tokens
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
    assert all(t is not None for _id, t in written[:100])
    assert all(t is None for _id, t in written[100:])
    if not postgres():
        assert not engine.table_exists(f"{later.name}#fts")
    url = f"/api/v1/datastore/{later.resource.uid}/rows"
    assert resident.get(url, {"q": "保育"}).status_code == 503
    services.build_search(Table.objects.get(pk=later.pk))
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)
    assert found_names(resident, later, "保育") == found_names(resident, loaded, "保育")


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
def test_a_table_indexed_before_its_tokens_keeps_its_index_in_step(
    load: Callable[..., Table],
) -> None:
    # Tables loaded with search_later before the index was built after the fill have it
    # already, empty, with triggers that follow the updates.
    loaded = load(300, search_later=False)
    later = load(300, search_later=True)
    with connections["datastore"].cursor() as cursor:
        engine._build_fts(cursor, later.name)
    services.build_search(later)
    assert tokens(later) == tokens(loaded)
    assert index_content(later) == index_content(loaded)


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
