"""Exports: each format read back equals the rows API; queries apply; streamed, not built."""

import csv
import datetime
import io
import json
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client

from machi.accounts.models import Department
from machi.datastore import exports, services
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def url(table: Table, format: str) -> str:
    return f"/api/v1/datastore/{table.resource.uid}/export.{format}"


def export(client: Client, table: Table, format: str, **params: Any) -> StreamingHttpResponse:
    response = client.get(url(table, format), params)
    assert response.status_code == 200, response.content.decode()
    assert response.streaming is True
    assert isinstance(response, StreamingHttpResponse)
    return response


def body(response: StreamingHttpResponse) -> bytes:
    # Consumed here, after the view returned: as a WSGI server does.
    return b"".join(response.streaming_content)


def records(client: Client, table: Table, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("limit", 10000)
    response = client.get(f"/api/v1/datastore/{table.resource.uid}/rows", params)
    assert response.status_code == 200, response.content.decode()
    return response.json()["records"]


def as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_xlsx(content: bytes) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    width = len(rows[0])  # read-only sheets leave out trailing empty cells
    return [tuple(row) + (None,) * (width - len(row)) for row in rows]


@pytest.mark.parametrize(
    ("encoding", "charset", "bom"),
    [
        (None, "utf-8", True),
        ("utf-8-sig", "utf-8", True),
        ("utf-8", "utf-8", False),
        ("cp932", "Windows-31J", False),
    ],
)
def test_csv_in_each_encoding_reads_back_as_the_rows(
    resident: Client, nurseries: Table, encoding: str | None, charset: str, bom: bool
) -> None:
    params = {"encoding": encoding} if encoding else {}
    response = export(resident, nurseries, "csv", **params)
    assert response["Content-Type"] == f"text/csv; charset={charset}; header=present"
    content = body(response)
    assert content.startswith(b"\xef\xbb\xbf") is bom
    text = content.decode("cp932" if encoding == "cp932" else "utf-8-sig")
    assert "\r\n" in text
    table = list(csv.reader(io.StringIO(text, newline="")))
    expected = records(resident, nurseries)
    assert table[0] == list(expected[0])
    assert table[1:] == [[as_csv_text(v) for v in record.values()] for record in expected]


def test_json_is_an_array_of_the_rows_records(resident: Client, nurseries: Table) -> None:
    response = export(resident, nurseries, "json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body(response)) == records(resident, nurseries)


def test_ndjson_is_a_record_a_line(resident: Client, nurseries: Table) -> None:
    response = export(resident, nurseries, "ndjson")
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = body(response).decode().splitlines()
    assert [json.loads(line) for line in lines] == records(resident, nurseries)


def test_geojson_points_come_from_the_coordinate_columns(
    resident: Client, nurseries: Table
) -> None:
    response = export(resident, nurseries, "geojson")
    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    collection = json.loads(body(response))
    assert collection["type"] == "FeatureCollection"
    expected = records(resident, nurseries)
    assert len(collection["features"]) == len(expected)
    for feature, record in zip(collection["features"], expected, strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"] == {
            "type": "Point",
            "coordinates": [record["経度"], record["緯度"]],
        }
        assert feature["properties"] == {
            k: v for k, v in record.items() if k not in {"緯度", "経度"}
        }


def test_geojson_adds_the_coordinates_to_chosen_fields_and_keeps_rows_without(
    resident: Client, load_csv: Callable[..., Table], kikaku: Department
) -> None:
    table = load_csv(kikaku, "points", "名称,緯度,経度\nA,35.7,139.7\nB,,\nC,135.0,139.7\n")
    collection = json.loads(body(export(resident, table, "geojson", fields="名称")))
    assert [f["properties"] for f in collection["features"]] == [
        {"名称": "A"},
        {"名称": "B"},
        {"名称": "C"},
    ]
    geometries = [f["geometry"] for f in collection["features"]]
    assert geometries == [{"type": "Point", "coordinates": [139.7, 35.7]}, None, None]


def test_geojson_of_a_geopoint_column(
    resident: Client, site_admin: User, make_dataset: Callable[..., Any], kikaku: Department
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED", csv='名称,位置\nA,"139.75,35.71"\n')
    table = services.load_table(
        actor=site_admin,
        version=dataset.resources.get().current,
        schema={
            "fields": [{"name": "名称", "type": "string"}, {"name": "位置", "type": "geopoint"}]
        },
        rows=[["A", "139.75,35.71"], ["B", ""]],
    )
    collection = json.loads(body(export(resident, table, "geojson")))
    assert [f["geometry"] for f in collection["features"]] == [
        {"type": "Point", "coordinates": [139.75, 35.71]},
        None,
    ]
    assert collection["features"][0]["properties"] == {"_id": 1, "名称": "A"}


def test_geojson_of_a_table_without_coordinates_is_refused(
    resident: Client, load_csv: Callable[..., Table], kikaku: Department
) -> None:
    table = load_csv(kikaku, "plain", "名称,人数\nA,1\n")
    response = resident.get(url(table, "geojson"))
    assert response.status_code == 400
    assert response.json()["parameter"] == "format"
    english = resident.get(url(table, "geojson"), HTTP_ACCEPT_LANGUAGE="en")
    assert "no coordinates" in english.json()["detail"]


def test_xlsx_keeps_numbers_dates_and_booleans_typed(resident: Client, nurseries: Table) -> None:
    response = export(resident, nurseries, "xlsx")
    assert response["Content-Type"] == exports_content_type()
    assert "Content-Encoding" not in response
    sheet = read_xlsx(body(response))
    expected = records(resident, nurseries)
    assert list(sheet[0]) == list(expected[0])
    assert len(sheet) == len(expected) + 1
    for row, record in zip(sheet[1:], expected, strict=True):
        values = dict(zip(sheet[0], row, strict=True))
        assert values["_id"] == record["_id"] and isinstance(values["定員"], int)
        assert values["定員"] == record["定員"]
        assert values["駐車場"] is record["駐車場"]
        assert values["緯度"] == record["緯度"]
        assert values["名称"] == record["名称"]
        assert values["備考"] == record["備考"]
        if record["開設日"] is None:
            assert values["開設日"] is None
        else:
            assert isinstance(values["開設日"], datetime.datetime)
            assert values["開設日"].date().isoformat() == record["開設日"]


def exports_content_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_xlsx_header_is_bold_and_text_never_becomes_a_formula(
    resident: Client, load_csv: Callable[..., Table], kikaku: Department
) -> None:
    table = load_csv(kikaku, "formula", "式,備考\n=1+1,#N/A\nふつう,\n")
    content = body(export(resident, table, "xlsx"))
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet["B1"].value == "式" and sheet["B1"].font.bold
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"
    assert sheet["C2"].value == "#N/A" and sheet["C2"].data_type == "s"


@pytest.mark.parametrize("format", ["csv", "json", "ndjson", "geojson", "xlsx"])
def test_filters_sort_and_fields_apply_to_exports(
    resident: Client, nurseries: Table, format: str
) -> None:
    params = {"種別__ne": "幼稚園", "q": "保育", "sort": "-定員", "fields": "名称,定員,駐車場"}
    expected = records(resident, nurseries, **params)
    assert 1 < len(expected) < 6
    content = body(export(resident, nurseries, format, **params, limit="1", offset="1"))
    if format == "csv":
        table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        got = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
        expected = [{k: as_csv_text(v) for k, v in r.items()} for r in expected]
    elif format == "json":
        got = json.loads(content)
    elif format == "ndjson":
        got = [json.loads(line) for line in content.decode().splitlines()]
    elif format == "geojson":
        got = [f["properties"] for f in json.loads(content)["features"]]
    else:
        sheet = read_xlsx(content)
        got = [dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]]
    assert got == expected


def test_cp932_replaces_what_it_cannot_encode_with_geta(
    resident: Client, load_csv: Callable[..., Table], kikaku: Department
) -> None:
    table = load_csv(kikaku, "kanji", "店名,時間\n𠮷野家,9:00〜17:00\n髙島屋①,10:00−20:00\n")
    text = body(export(resident, table, "csv", encoding="cp932")).decode("cp932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # 𠮷 is outside CP932; 〜 and − have CP932 twins (～, －); 髙 and ① are in CP932.
    assert rows[1][1:] == ["〓野家", "9:00～17:00"]
    assert rows[2][1:] == ["髙島屋①", "10:00－20:00"]


def test_file_name_is_the_dataset_and_resource(resident: Client, nurseries: Table) -> None:
    disposition = export(resident, nurseries, "csv")["Content-Disposition"]
    uid = nurseries.resource.uid.hex[:8]
    assert disposition.startswith(
        f"attachment; filename=\"nurseries-{uid}.csv\"; filename*=UTF-8''"
    )
    assert "nurseries" in disposition.split("filename*=")[1]


def test_unknown_format_and_encoding(resident: Client, nurseries: Table) -> None:
    assert resident.get(url(nurseries, "pdf")).status_code == 404
    response = resident.get(url(nurseries, "csv"), {"encoding": "latin-1"})
    assert response.status_code == 400
    assert response.json()["parameter"] == "encoding"
    assert resident.get(url(nurseries, "csv"), {"人口": "1"}).status_code == 400


def test_private_tables_are_not_exported_to_residents(
    resident: Client,
    load_csv: Callable[..., Table],
    kikaku: Department,
    client_for: Any,
    viewer: Any,
) -> None:
    table = load_csv(kikaku, "draft", "a,b\n1,2\n", is_public=False)
    assert resident.get(url(table, "csv")).status_code == 404
    assert client_for(viewer).get(url(table, "csv")).status_code == 200


def test_xlsx_refuses_more_rows_than_a_sheet_holds(
    resident: Client, nurseries: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    for params in ({}, {"種別__ne": "幼稚園"}):
        response = resident.get(url(nurseries, "xlsx"), params)
        assert response.status_code == 400, params
        assert "CSV" in response.json()["detail"]
    assert len(read_xlsx(body(export(resident, nurseries, "xlsx", 種別="認可保育所")))) == 3
    # Counted while writing, when the table's count did not tell first.
    Table.objects.filter(pk=nurseries.pk).update(row_count=0)
    response = resident.get(url(nurseries, "xlsx"))
    assert response.status_code == 400
    assert "CSV" in response.json()["detail"]


MANY = 4500  # more than one fetch of the chunked cursor (2000) and several 64 KiB chunks


@pytest.fixture
def many(load_csv: Callable[..., Table], kikaku: Department) -> Table:
    lines = ["番号,名称,値"] + [
        f"{n},施設{n % 50}の説明文をここに,{n / 7:.4f}" for n in range(MANY)
    ]
    return load_csv(kikaku, "many", "\n".join(lines) + "\n")


def _check_many(resident: Client, table: Table) -> None:
    response = export(resident, table, "csv", sort="-番号")
    parts = list(response.streaming_content)
    assert len(parts) > 3  # streamed in pieces
    rows = list(csv.reader(io.StringIO(b"".join(parts).decode("utf-8-sig"), newline="")))
    assert len(rows) == MANY + 1
    assert [int(r[1]) for r in rows[1:]] == list(range(MANY - 1, -1, -1))
    lines = body(export(resident, table, "ndjson", **{"番号__gte": "100"})).splitlines()
    assert len(lines) == MANY - 100
    assert len(json.loads(body(export(resident, table, "json")))) == MANY


def test_large_exports_stream_in_chunks(resident: Client, many: Table) -> None:
    _check_many(resident, many)


@pytest.mark.django_db(
    databases=["default", "datastore"], transaction=True, serialized_rollback=True
)
def test_large_exports_stream_in_autocommit(resident: Client, many: Table) -> None:
    # Outside a test transaction, as in production: PostgreSQL's server-side
    # cursor must still be readable after the view has returned.
    _check_many(resident, many)
