"""Finding the table in a sheet, and classifying the rows under its header."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import openpyxl
import pytest
from django.utils import translation

from machi.publish import layout as layouts
from machi.publish.layout import BodyReader, Layout, guess_layout, layout_from
from machi.publish.reading import open_source
from machi.publish.tests.test_reading import GROUPED, _write_ods, _write_xls

REAL = "realdata"
HEAD = 60


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _read(
    path: Path, sheet: int = 0, mode: str = "column"
) -> tuple[Layout, BodyReader, list[tuple[int, list[object]]]]:
    with open_source(path) as source:
        name = source.sheets[sheet].name
        found = guess_layout(list(islice(source.rows(sheet), HEAD)), sheet=name)
        found.section_mode = mode
        body = BodyReader(found, sheet=name, source_name=source.name)
        records = list(body.records(source.rows(sheet)))
    return found, body, records


def _csv(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, build: object, name: str = "t.xlsx") -> Path:
    book = openpyxl.Workbook()
    build(book.active)  # type: ignore[operator]
    book.save(tmp_path / name)
    return tmp_path / name


# ---------------------------------------------------------------- real municipal files


@pytest.mark.parametrize(
    ("path", "columns", "first", "last", "records"),
    [
        ("katsushika/katsushika_tourism.csv", 30, "都道府県コード又は市区町村コード", "備考", 3),
        ("hachijo/hachijo_sightseeing.csv", 7, "観光スポット名称", "八丈町ホームページ記載", 20),
        ("hachijo/hachijo_sightseeing.xlsx", 7, "観光スポット名称", "八丈町ホームページ記載", 20),
        ("yaizu/222127_aed.csv", 22, "都道府県コード又は市区町村コード", "備考", 82),
        (
            "yaizu/222127_facilities_smartmap.csv",
            24,
            "都道府県コード又は市区町村コード",
            "備考",
            28,
        ),
        ("yaizu/222127_public_toilet.csv", 39, "全国地方公共団体コード", "備考", 112),
        (
            "yaizu/222127_public_wireless_lan.csv",
            18,
            "都道府県コード又は市区町村コード",
            "備考",
            17,
        ),
        ("yaizu/222127_hinannjo.csv", 18, "NO", "備考", 56),
        ("saitama/【さいたま市】AED設置場所一覧.csv", 6, "施設名等", "経度", 392),
        ("takamatsu/public_toilet__data.csv", 33, "#property", "note", 169),
        ("takamatsu/nursery_school__data.xlsx", 18, "#property", "temporaryKeeping", 118),
        ("takamatsu/population__0066_202601.xlsx", 49, "#property", "location", 235),
        ("takamatsu/public_wireless_lan__data.xlsx", 19, "#property", "note", 3),
        (
            "bunkyo/derived/open-infra-japan_131059_public-toilet_normalized.csv",
            39,
            "全国地方公共団体コード",
            "備考",
            24,
        ),
    ],
)
def test_real_files_have_their_header_on_row_one(
    shared_dir: Path, path: str, columns: int, first: str, last: str, records: int
) -> None:
    found, body, rows = _read(shared_dir / REAL / path, mode="drop")
    assert (found.header_rows, found.body_start, found.title) == ([1], 2, "")
    assert (len(found.columns), found.columns[0], found.columns[-1]) == (columns, first, last)
    assert found.problems == [] and found.first_column == 0
    assert len(rows) == records
    numbers = [n for n, _cells in rows]
    assert numbers[0] == 2 and numbers == sorted(set(numbers))
    assert {len(cells) for _n, cells in rows} == {columns}
    assert (body.blank, body.sections, body.footnotes, body.problems) == (0, 0, [], [])


def test_real_minato_title_row_above_the_header(shared_dir: Path) -> None:
    found, body, rows = _read(shared_dir / REAL / "minato/13103hoikuen201612.csv", mode="drop")
    assert found.title == "港区内認可保育園等一覧"  # row 1 also says Ver201612 in column B
    assert (found.header_rows, found.body_start) == ([2], 3)
    assert found.columns[:3] == ["施設種別", "地区", "保育園名"]
    assert found.columns[-3:] == ["延長保育対象月齢", "延長保育", "休園日"]
    assert len(found.columns) == 16
    assert rows[0] == (
        3,
        [
            "認可保育園",
            "芝",
            "芝保育園",
            "東京都港区芝五丁目18番1-101号",
            "35.6484",
            "139.747716",
            "区立",
            "03-3455-4669",
            "3か月",
            "9:00",
            "17:00",
            "7:15",
            "18:15",
            "1歳の誕生日",
            "22：00まで",
            "日・祝・年末年始",
        ],
    )
    assert len(rows) == 66 and body.problems == []


BUNKYO_SECTIONS = [
    "手続き・くらし",
    "子育て・教育",
    "文化・観光・スポーツ",
    "保健・福祉",
    "防災・まちづくり・環境",
    "産業振興・協働",
    "区政情報",
    "写真",
    "その他",
]


def test_real_bunkyo_section_rows_become_a_column(shared_dir: Path) -> None:
    path = shared_dir / REAL / "bunkyo/bunkyoku_metadata.xlsx"
    found, body, rows = _read(path)
    assert (found.header_rows, found.body_start) == ([1], 2)  # row 2 is ＜手続き・くらし＞
    assert found.columns == [
        "タイトル",
        "URL",
        "説明",
        "連絡先",
        "作成者",
        "データ形式",
        "タグ",
        "最終更新日",
        "ライセンス",
    ]
    assert (body.sections, len(rows), body.blank, body.footnotes) == (9, 64, 0, [])
    assert rows[0] == (
        3,
        [
            "集会施設",
            "http://www.city.bunkyo.lg.jp/shisetsu/kumin.html",
            "文京区の集会施設の一覧です。",
            "(03)5803-1170",
            "区民部区民課",
            "Excel、CSV",
            "集会、公共施設",
            "2022-07-28",
            "CCBY",
            "手続き・くらし",
        ],
    )
    assert rows[-1][1][0] == "イベント一覧" and rows[-1][1][-1] == "その他"
    counts = Counter(cells[-1] for _n, cells in rows)
    assert list(counts) == BUNKYO_SECTIONS
    assert list(counts.values()) == [10, 10, 5, 7, 11, 1, 10, 9, 1]


def test_real_bunkyo_section_rows_dropped(shared_dir: Path) -> None:
    found, body, rows = _read(shared_dir / REAL / "bunkyo/bunkyoku_metadata.xlsx", mode="drop")
    assert (body.sections, len(rows)) == (9, 64)
    assert {len(cells) for _n, cells in rows} == {9}
    assert not any(str(cells[0]).startswith("＜") for _n, cells in rows)


def test_real_hachijo_workbook_and_csv_give_the_same_columns(shared_dir: Path) -> None:
    from_csv, _b, csv_rows = _read(shared_dir / REAL / "hachijo/hachijo_sightseeing.csv")
    from_xlsx, _b, xlsx_rows = _read(shared_dir / REAL / "hachijo/hachijo_sightseeing.xlsx")
    assert (
        from_csv.columns
        == from_xlsx.columns
        == [
            "観光スポット名称",
            "所在地",
            "緯度",
            "経度",
            "座標系",
            "説明",
            "八丈町ホームページ記載",
        ]
    )
    assert [r[1][0] for r in csv_rows] == [r[1][0] for r in xlsx_rows]


def test_real_population_body_is_typed(shared_dir: Path) -> None:
    import datetime as dt

    found, _body, rows = _read(shared_dir / REAL / "takamatsu/population__0066_202601.xlsx")
    record = dict(zip(found.columns, rows[0][1], strict=False))
    assert record["surveyDate"] == dt.date(2026, 1, 1)
    assert record["totalPopulation"] == 400 and type(record["totalPopulation"]) is int


# ---------------------------------------------------------------- synthetic sheets


def _census(sheet: object) -> None:
    ws = sheet  # openpyxl worksheet
    ws["A1"] = "年齢別人口"  # type: ignore[index]
    ws["A2"] = "令和6年1月1日現在"  # type: ignore[index]
    ws["E3"] = "単位：人"  # type: ignore[index]
    ws.append([])  # type: ignore[attr-defined]
    ws.append(["地区", "男性", None, "女性", None, "合計"])  # type: ignore[attr-defined]
    ws.append([None, "0-4歳", "5-9歳", "0-4歳", "5-9歳", None])  # type: ignore[attr-defined]
    for merged in ("A5:A6", "B5:C5", "D5:E5", "F5:F6"):
        ws.merge_cells(merged)  # type: ignore[attr-defined]
    ws.append(["本町", 10, 12, 9, 11, 42])  # type: ignore[attr-defined]
    ws.append([])  # type: ignore[attr-defined]
    ws.append(["駅北", 5.0, 6, 7, 8, 26])  # type: ignore[attr-defined]
    ws.append(["（休止中の地区を含む）"])  # type: ignore[attr-defined]
    ws.append(["田尻", 1, 2, 3, 4, 10])  # type: ignore[attr-defined]
    ws.append([])  # type: ignore[attr-defined]
    ws.append(["※ 外国人住民を含む。"])  # type: ignore[attr-defined]
    ws.append(["出典：住民基本台帳"])  # type: ignore[attr-defined]


CENSUS_COLUMNS = ["地区", "男性_0-4歳", "男性_5-9歳", "女性_0-4歳", "女性_5-9歳", "合計"]


def test_title_notes_and_a_merged_two_row_header(tmp_path: Path) -> None:
    found, body, rows = _read(_xlsx(tmp_path, _census), mode="drop")
    assert found.title == "年齢別人口"
    assert (found.header_rows, found.body_start) == ([5, 6], 7)
    assert found.columns == CENSUS_COLUMNS
    assert found.problems == []
    assert rows == [
        (7, ["本町", 10, 12, 9, 11, 42]),
        (9, ["駅北", 5, 6, 7, 8, 26]),
        (10, ["（休止中の地区を含む）", "", "", "", "", ""]),  # mid-body single cell: data
        (11, ["田尻", 1, 2, 3, 4, 10]),
    ]
    assert body.blank == 2
    assert body.footnotes == ["※ 外国人住民を含む。", "出典：住民基本台帳"]


def test_a_group_label_written_once_is_carried_over_its_sub_headers(tmp_path: Path) -> None:
    # The same header as a CSV export: no merges, the group label in its first cell only.
    text = "年齢別人口\n\n地区,男性,,女性,,合計\n,0-4歳,5-9歳,0-4歳,5-9歳,\n本町,10,12,9,11,42\n"
    found, _body, rows = _read(_csv(tmp_path, text), mode="drop")
    assert found.columns == CENSUS_COLUMNS
    assert (found.header_rows, found.title) == ([3, 4], "年齢別人口")
    assert rows == [(5, ["本町", "10", "12", "9", "11", "42"])]


def test_xls_and_ods_headers(tmp_path: Path) -> None:
    _write_xls(tmp_path / "a.xls", "人口", GROUPED, merges=[(2, 3, 0, 0), (2, 2, 1, 2)])
    _write_ods(tmp_path / "a.ods", "人口", GROUPED)
    for name in ("a.xls", "a.ods"):
        found, _body, rows = _read(tmp_path / name, mode="drop")
        assert found.title == "人口表", name
        assert found.columns == ["地区", "男性_0-4歳", "男性_5-9歳"], name
        assert rows == [(5, ["A町", 1, 2.5])], name


def test_merged_cells_in_the_body_are_filled_down(tmp_path: Path) -> None:
    def build(ws: object) -> None:
        for row in (
            ["区", "施設", "定員"],
            ["西区", "A園", 30],
            [None, "B園", 40],
            ["東区", "C園", 50],
        ):
            ws.append(row)  # type: ignore[attr-defined]
        ws.merge_cells("A2:A3")  # type: ignore[attr-defined]

    _found, _body, rows = _read(_xlsx(tmp_path, build), mode="drop")
    assert [cells for _n, cells in rows] == [
        ["西区", "A園", 30],
        ["西区", "B園", 40],
        ["東区", "C園", 50],
    ]


def test_section_rows_in_csv_and_merged_across_a_workbook(tmp_path: Path) -> None:
    text = "名称,住所\n＜公園＞,,\n中央公園,本町1\n■ 図書館\n中央図書館,本町2\n西図書館,本町3\n"
    found, body, rows = _read(_csv(tmp_path, text))
    assert rows == [
        (3, ["中央公園", "本町1", "公園"]),
        (5, ["中央図書館", "本町2", "図書館"]),
        (6, ["西図書館", "本町3", "図書館"]),
    ]
    assert body.sections == 2

    def build(ws: object) -> None:
        for row in (["名称", "住所", "電話"], ["【公園】"], ["中央公園", "本町1", "054"]):
            ws.append(row)  # type: ignore[attr-defined]
        ws.merge_cells("A2:C2")  # type: ignore[attr-defined]

    _found, body, rows = _read(_xlsx(tmp_path, build))
    assert rows == [(3, ["中央公園", "本町1", "054", "公園"])]
    assert body.sections == 1


def test_single_cell_rows_are_data_until_only_footnotes_follow(tmp_path: Path) -> None:
    text = "名称,備考\nA,x\nB\nC\nD,y\nE\n\n注1 調査時点\n"
    _found, body, rows = _read(_csv(tmp_path, text), mode="drop")
    assert [cells[0] for _n, cells in rows] == ["A", "B", "C", "D"]
    assert body.footnotes == ["E", "注1 調査時点"] and body.blank == 1


def test_held_back_rows_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layouts, "PENDING_LIMIT", 3)
    text = "名称,備考\nA,x\n" + "".join(f"R{i}\n" for i in range(10))
    _found, body, rows = _read(_csv(tmp_path, text), mode="drop")
    assert [cells[0] for _n, cells in rows] == ["A"] + [f"R{i}" for i in range(7)]
    assert body.footnotes == ["R7", "R8", "R9"]


def test_a_single_column_table_is_all_data(tmp_path: Path) -> None:
    _found, body, rows = _read(_csv(tmp_path, "名称\nA\nB\n※ 令和6年\n"), mode="drop")
    assert [cells for _n, cells in rows] == [["A"], ["B"]]
    assert body.footnotes == ["※ 令和6年"]


def test_duplicate_and_empty_column_names(tmp_path: Path) -> None:
    found, _body, rows = _read(_csv(tmp_path, "名称,住所,,名称\nA,本町,x,B\n"), mode="drop")
    assert found.columns == ["名称", "住所", "", "名称"]
    by_code = {p.code: p for p in found.problems}
    duplicate = by_code["duplicate-column"]
    assert (duplicate.level, duplicate.row, duplicate.column) == ("error", 1, "名称")
    assert "“名称” is used 2 times (columns A, D)" in duplicate.message
    empty = by_code["empty-header"]
    assert (empty.level, empty.row, empty.column) == ("warning", 1, "C")
    assert rows == [(2, ["A", "本町", "x", "B"])]


def test_header_only_table(tmp_path: Path) -> None:
    found, body, rows = _read(_csv(tmp_path, "名称,住所,電話\n"))
    assert (found.columns, found.header_rows, found.body_start) == (
        ["名称", "住所", "電話"],
        [1],
        2,
    )
    assert rows == [] and body.problems == []

    def build(ws: object) -> None:
        ws["A1"] = "施設一覧"  # type: ignore[index]
        ws.append(["名称", "住所"])  # type: ignore[attr-defined]

    found, _body, rows = _read(_xlsx(tmp_path, build))
    assert (found.title, found.columns, rows) == ("施設一覧", ["名称", "住所"], [])


def test_ragged_rows_are_reported_and_left_out(tmp_path: Path) -> None:
    text = "名称,住所\nA,本町\nB,本町,\n甲,乙,丙\nC,駅北,,\n"
    _found, body, rows = _read(_csv(tmp_path, text, "ragged.csv"), mode="drop")
    assert [cells for _n, cells in rows] == [["A", "本町"], ["B", "本町"], ["C", "駅北"]]
    (problem,) = body.problems
    assert (problem.code, problem.level, problem.row, problem.column, problem.value) == (
        "ragged-row",
        "error",
        4,
        "C",
        "丙",
    )
    assert problem.message.startswith("ragged.csv, row 4, column C:")
    assert body.ragged == 1


def test_ragged_problems_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layouts, "PROBLEM_LIMIT", 2)
    found = Layout(header_rows=[1], body_start=2, columns=["a", "b"], section_mode="drop")
    body = BodyReader(found, source_name="x.csv")
    rows = list(body.records((n, ["1", "2", "3"]) for n in range(2, 7)))
    assert rows == [] and body.ragged == 5
    assert [p.row for p in body.problems] == [2, 3, None]
    assert "3 more rows" in body.problems[-1].message


def test_short_rows_are_padded(tmp_path: Path) -> None:
    _found, _body, rows = _read(_csv(tmp_path, "a,b,c\n1,2\n"))
    assert rows == [(2, ["1", "2", "", ""])]


def test_an_unnamed_column_with_data_is_kept(tmp_path: Path) -> None:
    found, _body, rows = _read(_csv(tmp_path, "名称,住所\nA,本町,メモ1\nB,駅北,\nC,田尻,メモ3\n"))
    assert found.columns == ["名称", "住所", ""]
    assert [p.code for p in found.problems] == ["empty-header"]
    assert rows[0] == (2, ["A", "本町", "メモ1", ""])


def test_one_stray_cell_in_a_short_table_is_a_ragged_row_not_a_column(tmp_path: Path) -> None:
    """Three rows, one with a cell past the header: that row is reported and left out (it
    made an unnamed fourth column, and the two good rows were called short)."""
    text = "施設名,所在地,連絡先\nA,文京区1-1,03-1\nB,文京区2-2,03-2,余分\nC,文京区3-3,03-3\n"
    found, body, rows = _read(_csv(tmp_path, text))
    assert found.columns == ["施設名", "所在地", "連絡先"] and found.problems == []
    assert [number for number, _cells in rows] == [2, 4]
    assert [(p.code, p.row) for p in body.problems] == [("ragged-row", 3)]


def test_a_margin_column_is_not_part_of_the_table(tmp_path: Path) -> None:
    def build(ws: object) -> None:
        ws["B2"] = "名称"  # type: ignore[index]
        ws["C2"] = "定員"  # type: ignore[index]
        ws["B3"] = "A園"  # type: ignore[index]
        ws["C3"] = 30  # type: ignore[index]
        ws["B4"] = "B園"  # type: ignore[index]
        ws["C4"] = 40  # type: ignore[index]

    found, _body, rows = _read(_xlsx(tmp_path, build), mode="drop")
    assert (found.columns, found.first_column, found.header_rows) == (["名称", "定員"], 1, [2])
    assert rows == [(3, ["A園", 30]), (4, ["B園", 40])]


def test_numeric_year_headers_below_a_title() -> None:
    head: list[tuple[int, list[object]]] = [
        (1, ["人口の推移", "", ""]),
        (2, ["地区", 2020, 2021]),
        (3, ["本町", 100, 110]),
        (4, ["駅北", 200, 190]),
    ]
    found = guess_layout(head)
    assert (found.title, found.header_rows, found.columns) == (
        "人口の推移",
        [2],
        ["地区", "2020", "2021"],
    )


def test_a_banner_merged_across_the_header_is_a_title() -> None:
    head: list[tuple[int, list[object]]] = [
        (1, ["施設一覧", "施設一覧", "施設一覧"]),
        (2, ["名称", "住所", "電話"]),
        (3, ["A", "本町", "054"]),
    ]
    found = guess_layout(head)
    assert (found.title, found.header_rows) == ("施設一覧", [2])


def test_an_all_text_body_is_not_taken_for_a_second_header_row() -> None:
    head: list[tuple[int, list[object]]] = [
        (1, ["名称", "住所", "", "備考"]),
        (2, ["市役所", "本町", "本館", "あり"]),
    ]
    found = guess_layout(head)
    assert (found.header_rows, found.body_start) == ([1], 2)


def test_line_breaks_in_header_cells() -> None:
    head: list[tuple[int, list[object]]] = [
        (1, ["利用開始\n時間", "Opening\r\nhours", " 名称 "]),
        (2, ["9:00", "9:00", "A"]),
    ]
    assert guess_layout(head).columns == ["利用開始時間", "Opening hours", "名称"]


def test_no_table_in_an_empty_head() -> None:
    found = guess_layout([(1, ["", ""]), (2, [])], sheet="Sheet1")
    assert (found.columns, found.header_rows) == ([], [])
    assert [(p.code, p.sheet) for p in found.problems] == [("no-table", "Sheet1")]


def test_layout_from_staff_choices() -> None:
    head: list[tuple[int, list[object]]] = [
        (1, ["一覧", "", ""]),
        (2, ["名称", "住所", "電話"]),
        (3, ["", "", ""]),
        (4, ["A", "本町", "054"]),
    ]
    found = layout_from(head, [2])
    assert (found.title, found.columns, found.body_start) == ("一覧", ["名称", "住所", "電話"], 4)
    found = layout_from(head, [2], 3)
    assert found.body_start == 3
    # No header at all: the columns are unnamed, the body starts at the first row.
    found = layout_from(head, [])
    assert (found.columns, found.body_start, found.problems) == (["", "", ""], 1, [])


def test_records_skip_rows_before_the_body() -> None:
    found = Layout(header_rows=[1], body_start=3, columns=["a", "b"], section_mode="drop")
    rows: list[tuple[int, list[object]]] = [(1, ["a", "b"]), (2, ["x", "y"]), (3, ["1", "2"])]
    assert list(BodyReader(found).records(iter(rows))) == [(3, ["1", "2"])]


def test_a_total_row_of_numbers_is_left_out_and_counted(tmp_path: Path) -> None:
    """合計 under a ward's table: published, it is summed with the rows it sums."""
    text = '地区,男,女\n本郷,10,12\n小石川,8,9\n合計,18,21\n計,"1,800",21\n'
    _found, body, rows = _read(_csv(tmp_path, text))
    assert [cells[0] for _n, cells in rows] == ["本郷", "小石川"]
    assert body.totals == [4, 5]


def test_a_row_named_total_that_is_not_numbers_stays(tmp_path: Path) -> None:
    text = "科目,内容\n合計,各項目の合計額\n総数,1000\n"
    _found, body, rows = _read(_csv(tmp_path, text))
    assert [cells[0] for _n, cells in rows] == ["合計", "総数"] and body.totals == []
