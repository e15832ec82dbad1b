"""Loading, replacing and dropping tables; bad rows never half-write."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client
from django.utils import translation

from machi.accounts.models import Department
from machi.audit.models import AuditEvent
from machi.catalog import services as catalog
from machi.catalog.models import Dataset
from machi.datastore import engine, services
from machi.datastore.errors import LoadError
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

SCHEMA = {
    "fields": [
        {"name": "名称", "type": "string"},
        {"name": "人数", "type": "integer"},
        {"name": "日付", "type": "date"},
        {"name": "あり", "type": "boolean"},
        {"name": "地点", "type": "geopoint"},
        {"name": "時刻", "type": "time"},
        {"name": "日時", "type": "datetime"},
        {"name": "年", "type": "year"},
        {"name": "率", "type": "number"},
    ]
}
ROW = ["文京区役所", "12", "2024-04-01", "true", "139.7525, 35.7081", "09:30:00",
       "2024-04-01T09:30:00", "2024", "0.25"]  # fmt: skip


def names_in_datastore() -> set[str]:
    with connections["datastore"].cursor() as cursor:
        if engine.vendor() == "postgresql":
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'datastore'"
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        return {row[0] for row in cursor.fetchall()}


def test_every_type_is_stored_and_read_back(
    resident: Client, site_admin: User, nurseries: Table
) -> None:
    version = nurseries.version
    table = services.load_table(actor=site_admin, version=version, schema=SCHEMA, rows=[ROW])
    record = resident.get(f"/api/v1/datastore/{version.resource.uid}/rows").json()["records"][0]
    assert record == {
        "_id": 1,
        "名称": "文京区役所",
        "人数": 12,
        "日付": "2024-04-01",
        "あり": True,
        "地点": "139.7525, 35.7081",
        "時刻": "09:30:00",
        "日時": "2024-04-01T09:30:00",
        "年": 2024,
        "率": 0.25,
    }
    assert table.geo == {"lat": "_lat", "lon": "_lon"}
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"SELECT _lat, _lon FROM {engine.qualified(table.name)}")
        assert cursor.fetchone() == (35.7081, 139.7525)


def test_a_bad_cell_names_file_line_and_column_and_writes_nothing(
    site_admin: User, nurseries: Table
) -> None:
    before = names_in_datastore()
    rows = [ROW, ROW[:1] + ["十二"] + ROW[2:]]
    with pytest.raises(LoadError) as caught:
        services.load_table(
            actor=site_admin, version=nurseries.version, schema=SCHEMA, rows=rows, source="a.csv"
        )
    message = str(caught.value)
    assert "a.csv" in message and "3" in message and "人数" in message and "十二" in message
    assert names_in_datastore() == before
    nurseries.refresh_from_db()
    assert nurseries.row_count == 6  # the previous table still serves


@pytest.mark.parametrize(("language", "words"), [("en", "is not a"), ("ja", "行目")])
def test_a_bad_cell_is_reported_in_the_language_of_the_load(
    site_admin: User, nurseries: Table, language: str, words: str
) -> None:
    # The message must not fall back to the site's language (rows were once read on a
    # helper thread, which did).
    rows = [ROW, ROW[:1] + ["十二"] + ROW[2:]]
    with translation.override(language), pytest.raises(LoadError) as caught:
        services.load_table(actor=site_admin, version=nurseries.version, schema=SCHEMA, rows=rows)
    assert words in str(caught.value)


def test_short_rows_and_bad_schemas_are_refused(site_admin: User, nurseries: Table) -> None:
    with pytest.raises(LoadError, match="2"):
        services.load_table(
            actor=site_admin, version=nurseries.version, schema=SCHEMA, rows=[["x"]]
        )
    with pytest.raises(LoadError):
        services.load_table(
            actor=site_admin,
            version=nurseries.version,
            schema={"fields": [{"name": "a", "type": "nonsense"}]},
            rows=[],
        )


def test_reload_replaces_the_table_and_drops_the_old_one(
    site_admin: User, nurseries: Table
) -> None:
    old_name = nurseries.name
    table = services.load_table(
        actor=site_admin, version=nurseries.version, schema=SCHEMA, rows=[ROW, ROW]
    )
    assert table.pk == nurseries.pk and table.name != old_name and table.row_count == 2
    assert old_name not in names_in_datastore()
    assert AuditEvent.objects.filter(object_type="datastore.table", action="update").exists()


def test_a_new_version_takes_over_and_the_old_stays_queryable(
    resident: Client, site_admin: User, nurseries: Table, django_capture_on_commit_callbacks: Any
) -> None:
    resource = nurseries.resource
    version = catalog.replace_resource(
        actor=site_admin,
        resource=resource,
        upload=SimpleUploadedFile("v2.csv", "名称,定員\n新園,10\n".encode()),
    )
    services.load_version_file(actor=site_admin, version=version)
    base = f"/api/v1/datastore/{resource.uid}"
    assert resident.get(f"{base}/rows").json()["total"] == 1
    assert resident.get(f"{base}/rows", {"version": 1}).json()["total"] == 6
    assert resident.get(base).json()["versions"] == [1, 2]
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {engine.qualified(str(resource.uid))}")
        assert cursor.fetchone()[0] == 1  # the resource's view follows the newest version

    with django_capture_on_commit_callbacks(execute=True):
        services.drop_table(actor=site_admin, table=Table.objects.get(version=version))
    assert resident.get(f"{base}/rows").json()["total"] == 6
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {engine.qualified(str(resource.uid))}")
        assert cursor.fetchone()[0] == 6


def test_outsiders_cannot_load_or_drop(outsider: User, nurseries: Table) -> None:
    with pytest.raises(PermissionDenied):
        services.load_table(actor=outsider, version=nurseries.version, schema=SCHEMA, rows=[])
    with pytest.raises(PermissionDenied):
        services.drop_table(actor=outsider, table=nurseries)


def test_deleting_the_dataset_drops_its_tables_and_view(
    site_admin: User, nurseries: Table, django_capture_on_commit_callbacks: Any
) -> None:
    view = str(nurseries.resource.uid)
    assert {nurseries.name, view} <= names_in_datastore()
    with django_capture_on_commit_callbacks(execute=True):
        catalog.delete_dataset(actor=site_admin, dataset=nurseries.resource.dataset)
    assert not {nurseries.name, view} & names_in_datastore()


def test_a_table_loaded_with_search_later_serves_rows_then_full_text(
    site_admin: User, make_dataset: Callable[..., Dataset], kikaku: Department, resident: Client
) -> None:
    dataset = make_dataset(
        kikaku, "later", "後から索引", csv="名称,住所\n本郷保育園,本郷1\n春日児童館,春日2\n"
    )
    version = dataset.resources.get().current
    schema = {"fields": [{"name": "名称", "type": "string"}, {"name": "住所", "type": "string"}]}
    table = services.load_table(
        actor=site_admin,
        version=version,
        schema=schema,
        rows=[["本郷保育園", "本郷1"], ["春日児童館", "春日2"]],
        search_later=True,
    )
    url = f"/api/v1/datastore/{table.resource.uid}/rows"
    assert resident.get(url, {"名称": "春日児童館"}).json()["total"] == 1
    waiting = resident.get(url, {"q": "保育"})
    assert waiting.status_code == 503 and waiting["Retry-After"] == "60"
    assert "全文検索は準備中" in waiting.json()["detail"]
    services.build_search(table)
    found = resident.get(url, {"q": "保育"}).json()
    assert [r["名称"] for r in found["records"]] == ["本郷保育園"]


CANONICAL = {"fields": [f for f in SCHEMA["fields"] if f["type"] != "geopoint"]}
CANONICAL_ROW = [
    cell for cell, f in zip(ROW, SCHEMA["fields"], strict=True) if f["type"] != "geopoint"
]


def test_canonical_rows_load_typed_with_empty_cells_as_null(
    resident: Client, site_admin: User, nurseries: Table
) -> None:
    empty = ["" for _ in CANONICAL_ROW]
    rows = [CANONICAL_ROW, empty] * 2500  # more than one chunk of columns
    version = nurseries.version
    table = services.load_table(
        actor=site_admin, version=version, schema=CANONICAL, rows=rows, canonical=True
    )
    assert table.row_count == 5000
    page = resident.get(f"/api/v1/datastore/{version.resource.uid}/rows?limit=2").json()
    first, second = page["records"]
    assert first["人数"] == 12 and first["あり"] is True and first["日付"] == "2024-04-01"
    assert first["率"] == 0.25 and first["年"] == 2024
    assert {k: v for k, v in second.items() if k != "_id"} == dict.fromkeys(first.keys() - {"_id"})


def test_canonical_rows_name_the_files_first_bad_cell(site_admin: User, nurseries: Table) -> None:
    before = names_in_datastore()
    rows = [list(CANONICAL_ROW) for _ in range(3000)]
    rows[2500][7] = "0.2.5"  # 率, a later column, in an earlier row...
    rows[2600][1] = "十二"  # ...than 人数's bad cell
    with pytest.raises(LoadError) as caught:
        services.load_table(
            actor=site_admin,
            version=nurseries.version,
            schema=CANONICAL,
            rows=rows,
            source="a.csv",
            canonical=True,
        )
    assert caught.value.where == {"line": 2502, "column": "率"}
    rows[2500] = rows[2500][:3]
    with pytest.raises(LoadError, match="2502"):
        services.load_table(
            actor=site_admin, version=nurseries.version, schema=CANONICAL, rows=rows, canonical=True
        )
    assert names_in_datastore() == before


# The publish pipeline's large tables (tokens written later) load as text on SQLite
# (engine.insert_text): the same values, the same errors, as the Python path above.
AS_TEXT = {"fields": [f for f in CANONICAL["fields"] if f["type"] != "datetime"]}
AS_TEXT_ROW = [
    c for c, f in zip(CANONICAL_ROW, CANONICAL["fields"], strict=True) if f["type"] != "datetime"
]


@pytest.fixture
def text_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows each text load took (none on PostgreSQL, which copies cast rows)."""
    taken: list[int] = []
    insert = engine.insert_text

    def counted(name: str, columns: Any, rows: Any) -> int:
        taken.append(insert(name, columns, rows))
        return taken[-1]

    monkeypatch.setattr(engine, "insert_text", counted)
    return taken


def test_text_loads_store_what_the_python_path_stores(
    resident: Client, site_admin: User, nurseries: Table, text_loads: list[int]
) -> None:
    rows = [AS_TEXT_ROW, ["" for _ in AS_TEXT_ROW], ["x", "-3", "", "false", "", "", "12"]]
    rows.append(["y", "", "", "", "08:15", "", ""])  # the standards' hh:mm (format %H:%M)
    version = nurseries.version
    url = f"/api/v1/datastore/{version.resource.uid}/rows"
    loaded = {}
    for later in (False, True):
        services.load_table(
            actor=site_admin,
            version=version,
            schema=AS_TEXT,
            rows=rows,
            canonical=True,
            search_later=later,
        )
        loaded[later] = resident.get(url).json()["records"]
    assert text_loads == ([4] if engine.vendor() == "sqlite" else [])
    assert loaded[True] == loaded[False]
    first, empty, third, fourth = loaded[True]
    assert first == {"_id": 1, "名称": "文京区役所", "人数": 12, "日付": "2024-04-01",
                     "あり": True, "時刻": "09:30:00", "年": 2024, "率": 0.25}  # fmt: skip
    assert [v for k, v in empty.items() if k != "_id"] == [None] * 7
    assert third["人数"] == -3 and third["あり"] is False and third["率"] == 12.0
    assert fourth["時刻"] == "08:15:00"


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        (1, "十二"),
        (1, "12.5"),
        (2, "2024-02-30"),
        (3, "yes"),
        (4, "25:00:00"),
        (5, "令和6"),
        (6, "0.2.5"),
    ],  # fmt: skip
)
def test_text_loads_name_the_files_first_bad_cell(
    site_admin: User, nurseries: Table, text_loads: list[int], column: int, cell: str
) -> None:
    before = names_in_datastore()
    rows = [list(AS_TEXT_ROW) for _ in range(3000)]
    rows[2500][column] = cell
    rows[2700][1] = "十三"  # a later row's bad cell in an earlier column
    with pytest.raises(LoadError) as caught:
        services.load_table(
            actor=site_admin,
            version=nurseries.version,
            schema=AS_TEXT,
            rows=rows,
            source="a.csv",
            canonical=True,
            search_later=True,
        )
    name = AS_TEXT["fields"][column]["name"]
    assert caught.value.where == {"line": 2502, "column": name}
    assert "a.csv" in str(caught.value) and cell in str(caught.value)
    rows[2500] = rows[2500][:3]
    with pytest.raises(LoadError, match="2502"):
        services.load_table(
            actor=site_admin,
            version=nurseries.version,
            schema=AS_TEXT,
            rows=rows,
            canonical=True,
            search_later=True,
        )
    assert names_in_datastore() == before
