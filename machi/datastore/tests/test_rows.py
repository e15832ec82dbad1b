"""Row queries through the API: filters, full text, sorts, fields, paging, totals."""

from typing import Any

import pytest
from django.test import Client, override_settings

from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def rows(client: Client, table: Table, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/datastore/{table.resource.uid}/rows", params)
    assert response.status_code == 200, response.content.decode()
    return response.json()


def names(result: dict[str, Any]) -> list[str]:
    return [record["名称"] for record in result["records"]]


def test_unfiltered_rows_come_typed_in_file_order(resident: Client, nurseries: Table) -> None:
    result = rows(resident, nurseries)
    assert result["total"] == 6 and result["total_exact"] is True
    assert [f["name"] for f in result["fields"]][:3] == ["_id", "名称", "種別"]
    first = result["records"][0]
    assert first == {
        "_id": 1,
        "名称": "本駒込保育園",
        "種別": "認可保育所",
        "定員": 120,
        "開設日": "1975-04-01",
        "駐車場": True,
        "緯度": 35.7301,
        "経度": 139.7532,
        "備考": None,
    }
    assert result["next"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"種別": "認可保育所"}, ["本駒込保育園", "湯島あおぞら保育園"]),
        (
            {"種別__ne": "認可保育所"},
            ["千石こども園", "目白台保育室", "白山ひまわり幼稚園", "小石川学童クラブ"],
        ),
        ({"種別__in": "幼稚園,学童保育"}, ["白山ひまわり幼稚園", "小石川学童クラブ"]),
        ({"種別__in": '["幼稚園"]'}, ["白山ひまわり幼稚園"]),
        # A comma too many is not an empty value (it said 「」は文字列ではありません).
        ({"種別__in": "幼稚園,学童保育,"}, ["白山ひまわり幼稚園", "小石川学童クラブ"]),
        ({"定員__gte": "120"}, ["本駒込保育園", "千石こども園", "白山ひまわり幼稚園"]),
        ({"定員__gt": "120"}, ["千石こども園", "白山ひまわり幼稚園"]),
        ({"定員__lt": "40"}, ["目白台保育室"]),
        ({"定員__lte": "40"}, ["目白台保育室", "小石川学童クラブ"]),
        ({"開設日__gte": "2010-01-01"}, ["湯島あおぞら保育園", "千石こども園", "目白台保育室"]),
        ({"名称__prefix": "白山"}, ["白山ひまわり幼稚園"]),
        ({"開設日__isnull": "true"}, ["小石川学童クラブ"]),
        ({"備考__isnull": "false"}, ["湯島あおぞら保育園", "目白台保育室", "小石川学童クラブ"]),
        ({"駐車場": "true", "定員__lt": "150"}, ["本駒込保育園"]),
        ({"_id__gt": "4"}, ["白山ひまわり幼稚園", "小石川学童クラブ"]),
    ],
)
def test_filters(resident: Client, nurseries: Table, params: dict, expected: list) -> None:
    result = rows(resident, nurseries, **params)
    assert names(result) == expected
    assert result["total"] == len(expected) and result["total_exact"] is True


def test_full_text_uses_the_japanese_analyzer(resident: Client, nurseries: Table) -> None:
    # 保育 is a part of 認可保育所, 保育園 and 学童保育; こども園 is not matched.
    result = rows(resident, nurseries, q="保育")
    assert "千石こども園" not in names(result)
    assert set(names(result)) >= {"本駒込保育園", "目白台保育室", "小石川学童クラブ"}
    assert names(rows(resident, nurseries, q="徒歩")) == ["湯島あおぞら保育園"]
    assert names(rows(resident, nurseries, q="保育 定員", sort="_id")) == [
        "目白台保育室",
        "小石川学童クラブ",
    ]


def test_sort_on_several_columns_and_fields(resident: Client, nurseries: Table) -> None:
    result = rows(resident, nurseries, sort="-駐車場,定員", fields="名称,定員")
    assert [f["name"] for f in result["fields"]] == ["名称", "定員"]
    assert result["records"][0] == {"名称": "本駒込保育園", "定員": 120}
    assert names(result) == [
        "本駒込保育園",
        "千石こども園",
        "白山ひまわり幼稚園",
        "目白台保育室",
        "小石川学童クラブ",
        "湯島あおぞら保育園",
    ]
    ckan_style = rows(resident, nurseries, sort="駐車場 desc, 定員 asc", fields="名称,定員")
    assert ckan_style["records"] == result["records"]


def test_nulls_sort_first_ascending_on_both_engines(resident: Client, nurseries: Table) -> None:
    assert names(rows(resident, nurseries, sort="開設日"))[0] == "小石川学童クラブ"
    assert names(rows(resident, nurseries, sort="-開設日"))[-1] == "小石川学童クラブ"


@pytest.mark.parametrize("sort", ["", "開設日", "-開設日", "-駐車場,定員", "備考,-名称"])
def test_cursor_pages_through_every_row_once(resident: Client, nurseries: Table, sort: str) -> None:
    expected = names(rows(resident, nurseries, sort=sort, limit=100))
    seen, token = [], None
    for _page in range(10):
        params = {"sort": sort, "limit": 2, **({"next": token} if token else {})}
        result = rows(resident, nurseries, **params)
        seen += names(result)
        token = result["next"]
        if token is None:
            break
    assert seen == expected


def test_offset_paging(resident: Client, nurseries: Table) -> None:
    result = rows(resident, nurseries, limit=2, offset=4)
    assert names(result) == ["白山ひまわり幼稚園", "小石川学童クラブ"]
    assert result["total"] == 6


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"人口": "1"}, ["人口", "名称"]),
        ({"定員": "たくさん"}, ["定員", "たくさん"]),
        ({"開設日__gte": "令和"}, ["開設日"]),
        ({"定員__isnull": "maybe"}, ["定員__isnull"]),
        ({"種別__prefix": ""}, None),
        ({"sort": "年齢"}, ["sort", "年齢"]),
        ({"fields": "名称,住所"}, ["fields", "住所"]),
        ({"limit": "10001"}, ["limit"]),
        ({"limit": "abc"}, ["limit", "abc"]),
        ({"offset": "-1"}, ["offset"]),
        ({"next": "garbage"}, ["next"]),
        ({"定員__prefix": "1"}, ["定員__prefix"]),
        ({"種別__in": ""}, ["種別__in", "カンマ"]),
    ],
)
def test_bad_parameters_get_400_naming_the_problem(
    resident: Client, nurseries: Table, params: dict, words: list | None
) -> None:
    response = resident.get(f"/api/v1/datastore/{nurseries.resource.uid}/rows", params)
    if words is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content.decode()
    detail = response.json()["detail"]
    for word in words:
        assert word in detail


def test_a_cursor_from_another_query_is_refused(resident: Client, nurseries: Table) -> None:
    token = rows(resident, nurseries, limit=1, sort="定員")["next"]
    response = resident.get(
        f"/api/v1/datastore/{nurseries.resource.uid}/rows", {"next": token, "sort": "名称"}
    )
    assert response.status_code == 400
    assert "next" in response.json()["detail"]


def test_english_messages_on_request(resident: Client, nurseries: Table) -> None:
    response = resident.get(
        f"/api/v1/datastore/{nurseries.resource.uid}/rows",
        {"定員": "many"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "is not a whole number" in response.json()["detail"]


def test_private_tables_are_not_found_by_residents(
    resident: Client, load_csv: Any, kikaku: Any, client_for: Any, viewer: Any
) -> None:
    table = load_csv(kikaku, "draft", "a,b\n1,2\n", is_public=False)
    url = f"/api/v1/datastore/{table.resource.uid}/rows"
    assert resident.get(url).status_code == 404
    assert client_for(viewer).get(url).status_code == 200


# --- Query plans: every way to the rows gives the same rows -------------------------------


@pytest.fixture
def generated(load_csv: Any, kikaku: Any) -> tuple[Table, list[dict[str, Any]]]:
    text, expected = _generated_rows()
    return load_csv(kikaku, "generated", text), expected


def _generated_rows() -> tuple[str, list[dict[str, Any]]]:
    kinds = ["公園", "保育園", "図書館", "児童館"]
    lines, expected = ["番号,区分,名称,値"], []
    for n in range(1, 3001):
        kind = kinds[n % 4] if n % 97 else "まれな施設"
        value = "" if n % 11 == 0 else str((n * 37) % 500)
        lines.append(f"{n},{kind},文京{kind}{n},{value}")
        expected.append(
            {
                "_id": n,
                "番号": n,
                "区分": kind,
                "名称": f"文京{kind}{n}",
                "値": int(value) if value else None,
            }
        )
    return "\n".join(lines) + "\n", expected


def ordered(records: list[dict[str, Any]], sort: str) -> list[int]:
    """What the API's order means: NULL smallest, ties by _id in the last key's direction."""
    keys = [(part.lstrip("-"), part.startswith("-")) for part in sort.split(",") if part]
    tie_descending = keys[-1][1] if keys else False
    result = sorted(records, key=lambda r: r["_id"], reverse=tie_descending)
    for column, descending in reversed(keys):
        result.sort(
            key=lambda r, c=column: (r[c] is not None, r[c] if r[c] is not None else 0),
            reverse=descending,
        )
    return [r["_id"] for r in result]


def _all_pages(client: Client, table: Table, **params: Any) -> list[int]:
    ids, token = [], None
    while True:
        page = rows(client, table, **params, **({"next": token} if token else {}))
        ids += [r["_id"] for r in page["records"]]
        token = page["next"]
        if token is None:
            return ids


@pytest.mark.parametrize("sample", [20000, 500], ids=["whole table sampled", "part sampled"])
@pytest.mark.parametrize("budget", [1, 10**9], ids=["walk cut short", "walk allowed"])
@pytest.mark.parametrize(
    ("filters", "sort"),
    [
        ({"区分": "公園"}, "-値"),
        ({"区分": "まれな施設"}, "値"),
        ({"値__gte": "250"}, "-番号"),
        ({"区分__in": "保育園,児童館", "値__lt": "100"}, "区分,-値"),
    ],
)
def test_filtered_sorts_agree_whichever_plan_runs(
    resident: Client,
    generated: Any,
    monkeypatch: Any,
    budget: int,
    sample: int,
    filters: dict,
    sort: str,
) -> None:
    from machi.datastore import queries

    monkeypatch.setattr(queries, "INDEX_ORDER_BUDGET", budget)
    monkeypatch.setattr(queries, "ESTIMATE_SAMPLE", sample)
    table, records = generated
    expected = ordered([r for r in records if _matches(r, filters)], sort)
    first = rows(resident, table, **filters, sort=sort, limit=100)
    assert [r["_id"] for r in first["records"]] == expected[:100]
    if first["total_exact"]:
        assert first["total"] == len(expected)
    else:  # estimated from the first 500 rows of 3000
        assert first["total"] == pytest.approx(len(expected), rel=0.5, abs=100)
    assert _all_pages(resident, table, **filters, sort=sort, limit=500) == expected


@pytest.fixture
def grouped(load_csv: Any, kikaku: Any, monkeypatch: Any) -> tuple[Table, list[dict[str, Any]]]:
    """The generated rows, loaded as a large table is: with group indexes (SQLite)."""
    from machi.datastore import engine

    monkeypatch.setattr(engine, "GROUP_INDEX_MIN_ROWS", 1000)
    text, expected = _generated_rows()
    return load_csv(kikaku, "grouped", text), expected


def test_large_tables_get_indexes_led_by_their_columns_of_few_values(
    generated: Any, grouped: Any
) -> None:
    from machi.datastore import engine

    small, large = generated[0], grouped[0]
    assert engine.group_indexes(small.name, small.loaded) == ()
    found = engine.group_indexes(large.name, large.loaded)
    if engine.vendor() != "sqlite":
        assert found == ()  # PostgreSQL combines its single-column indexes itself
        return
    # 区分 has 5 values, 値 500; 番号 and 名称 (3,000 each) lead none.
    assert [g.columns for g in found] == [("区分", "番号", "値"), ("値", "番号", "区分")]


@pytest.mark.parametrize(
    ("filters", "sort", "uses_group"),
    [
        ({"区分": "公園"}, "-値", True),
        ({"区分": "まれな施設"}, "値", True),
        ({"区分": "公園", "値__gte": "250"}, "-番号", True),
        ({"区分__in": "保育園,児童館", "値__lt": "100"}, "区分,-値", True),
        ({"値": "74"}, "", True),
        ({"区分": "公園"}, "名称", False),  # 名称 is not in the index
        ({"値__gte": "250"}, "-番号", False),  # no column fixed
    ],
)
@pytest.mark.parametrize(
    ("walk_rows", "budget"),
    [(0, 1), (10**9, 10**9), (10**9, 1)],
    ids=["index entries sorted", "sort order walked", "walk cut short"],
)
def test_group_indexes_give_the_same_pages_and_exact_totals(
    resident: Client,
    grouped: Any,
    monkeypatch: Any,
    walk_rows: int,
    budget: int,
    filters: dict,
    sort: str,
    uses_group: bool,
) -> None:
    from machi.datastore import engine, queries

    monkeypatch.setattr(queries, "WALK_ROWS", walk_rows)
    monkeypatch.setattr(queries, "INDEX_ORDER_BUDGET", budget)
    table, records = grouped
    query = queries.parse(table, {**filters, "sort": sort})
    group = queries._group_index(table, query, queries._order(query))
    assert (group is not None) == (uses_group and engine.vendor() == "sqlite")
    expected = ordered([r for r in records if _matches(r, filters)], sort)
    first = rows(resident, table, **filters, sort=sort, limit=100)
    assert [r["_id"] for r in first["records"]] == expected[:100]
    assert (first["total"], first["total_exact"]) == (len(expected), True)
    later = rows(resident, table, **filters, sort=sort, limit=7, offset=101)
    assert [r["_id"] for r in later["records"]] == expected[101:108]
    assert _all_pages(resident, table, **filters, sort=sort, limit=300) == expected
    if group is None:
        return
    with override_settings(DATASTORE_COUNT_TIME_LIMIT_MS=0):  # no time to count
        estimated = rows(resident, table, **filters, sort=sort, limit=1)
    assert estimated["total_exact"] is False
    assert estimated["total"] == pytest.approx(len(expected), rel=0.1, abs=10)


def test_a_query_is_counted_once_however_many_pages_are_read(
    resident: Client, grouped: Any
) -> None:
    from django.test.utils import CaptureQueriesContext

    from machi.datastore import engine

    table, records = grouped
    first = rows(resident, table, 区分="公園", sort="-値", limit=10)
    with CaptureQueriesContext(engine.connection()) as captured:
        second = rows(resident, table, 区分="公園", sort="-値", limit=10, next=first["next"])
    assert (second["total"], second["total_exact"]) == (first["total"], True)
    assert first["total"] == sum(r["区分"] == "公園" for r in records)
    assert [q["sql"] for q in captured.captured_queries if "count(" in q["sql"]] == []


def _matches(record: dict[str, Any], filters: dict[str, str]) -> bool:
    for key, raw in filters.items():
        name, _sep, op = key.partition("__")
        value = record[name]
        if op == "in" and value not in raw.split(","):
            return False
        if op in {"gte", "lt"} and (value is None or not _compare(value, op, int(raw))):
            return False
        if not op and str(value) != raw:
            return False
    return True


def _compare(value: int, op: str, bound: int) -> bool:
    return value >= bound if op == "gte" else value < bound


@pytest.mark.parametrize("sort", ["", "-_id"])
def test_deep_offsets_without_filters_land_on_the_right_rows(
    resident: Client, generated: Any, sort: str
) -> None:
    table, records = generated
    ids = [r["_id"] for r in records]
    if sort:
        ids.reverse()
    page = rows(resident, table, sort=sort, offset=2500, limit=10)
    assert [r["_id"] for r in page["records"]] == ids[2500:2510]
    assert rows(resident, table, sort=sort, offset=2995, limit=10)["records"][-1]["_id"] == ids[-1]


@pytest.mark.parametrize("sort", ["", "-_id", "-値"])
def test_full_text_pages_in_any_order(resident: Client, generated: Any, sort: str) -> None:
    table, records = generated
    matching = [r for r in records if "保育" in r["名称"]]
    assert _all_pages(resident, table, q="保育", sort=sort, limit=200) == ordered(matching, sort)
    assert rows(resident, table, q="保育")["total"] == len(matching)


def test_estimated_full_text_totals_are_close(resident: Client, generated: Any) -> None:
    table, records = generated
    with override_settings(DATASTORE_COUNT_TIME_LIMIT_MS=0):
        page = rows(resident, table, q="公園", limit=1)
    assert page["total_exact"] is False
    assert page["total"] == pytest.approx(sum("公園" in r["名称"] for r in records), rel=0.1)


def test_the_dataset_api_links_each_loaded_resource_to_its_rows(
    resident: Client, nurseries: Table, make_dataset: Any, kikaku: Any
) -> None:
    make_dataset(kikaku, "pdf-only", "PDFだけ")
    resource = resident.get("/api/v1/datasets/nurseries").json()["resources"][0]
    assert resource["datastore"].endswith(f"/api/v1/datastore/{nurseries.resource.uid}/rows")
    assert resident.get(resource["datastore"]).json()["total"] == 6
    listed = resident.get("/api/v1/datasets", {"q": "nurseries"}).json()
    assert any(r["datastore"] for d in listed["results"] for r in d["resources"])
