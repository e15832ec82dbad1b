"""The conversion on every real municipal file in ../shared/realdata: what staff would be shown."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from machi.publish import pipeline

# file: (encoding, header rows, standard or "", {column: type}, {column: rule changed}, rows)
REAL_FILES: dict[str, tuple[str, list[int], str, dict[str, str], dict[str, str], int]] = {
    "yaizu/222127_aed.csv": (
        "UTF-8",
        [1],
        "aed",
        {"緯度": "number", "開始時間": "time", "NO": "string"},
        {"電話番号": "phone", "設置位置": "width"},
        82,
    ),
    "yaizu/222127_public_toilet.csv": (
        "UTF-8",
        [1],
        "public-toilet-2026",
        {"男性トイレ総数": "integer", "利用開始時間": "time"},
        {"名称": "width"},
        112,
    ),
    "yaizu/222127_public_wireless_lan.csv": (
        "UTF-8",
        [1],
        "public-wireless-lan",
        {"経度": "number"},
        {"電話番号": "phone", "名称": "space"},
        17,
    ),
    "yaizu/222127_facilities_smartmap.csv": (
        "UTF-8 (BOM)",
        [1],
        "public-facility",
        {"終了時間": "time"},
        # Published under the standard's spelling 利用可能時間特記事項 (an alias matched it).
        {"利用可能時間特記事項": "width"},
        28,
    ),
    "yaizu/222127_hinannjo.csv": (
        "UTF-8",
        [1],
        "",
        {"開設される災害の種類（風水害）": "boolean", "避難所面積平方メートル": "integer"},
        {"開設される災害の種類（風水害）": "flag", "電話番号": "phone"},
        56,
    ),
    "katsushika/katsushika_tourism.csv": (
        "Shift_JIS",
        [1],
        "tourism",
        {"開始時間": "time", "緯度": "number"},
        {"開始時間": "time"},
        3,
    ),
    "hachijo/hachijo_sightseeing.csv": ("Shift_JIS", [1], "", {"緯度": "number"}, {}, 20),
    "hachijo/hachijo_sightseeing.xlsx": ("", [1], "", {"緯度": "number"}, {}, 20),
    "minato/13103hoikuen201612.csv": (
        "UTF-8",
        [2],
        "",
        {"短時間保育開始時間": "time"},
        {"延長保育": "width", "所在地": "space"},
        66,
    ),
    "saitama/【さいたま市】AED設置場所一覧.csv": (
        "UTF-8 (BOM)",
        [1],
        "",
        {"緯度": "number"},
        {"設置場所": "width"},
        392,
    ),
    "takamatsu/public_toilet__data.csv": (
        "UTF-8",
        [1],
        "public-toilet",
        {"男性トイレ総数": "integer", "緯度": "number"},
        # 37201 is the 5-digit JIS code: its check digit is added (372013).
        {"都道府県コード又は市区町村コード": "lg-code"},
        169,
    ),
    "takamatsu/public_wireless_lan__data.xlsx": (
        "",
        [1],
        "public-wireless-lan",
        {"緯度": "number"},
        {"都道府県コード又は市区町村コード": "lg-code"},
        3,
    ),
    "takamatsu/nursery_school__data.xlsx": (
        "",
        [1],
        "preschool",
        {"開始時間": "time", "認可等年月日": "date"},
        {"開始時間": "time"},
        118,
    ),
    "takamatsu/population__0066_202601.xlsx": (
        "",
        [1],
        "population",
        {"総人口": "integer", "調査年月日": "date"},
        {"地域名": "width"},
        235,
    ),
    "bunkyo/bunkyoku_metadata.xlsx": (
        "",
        [1],
        "",
        {"最終更新日": "date"},
        {"最終更新日": "date"},
        64,
    ),
    "bunkyo/derived/open-infra-japan_131059_public-toilet_normalized.csv": (
        "UTF-8",
        [1],
        "public-toilet-2026",
        {"利用開始時間": "time"},
        {"備考": "width"},
        24,
    ),
}


def convert(path: Path, tmp_path: Path, **options: Any) -> pipeline.Result:
    return pipeline.convert(
        path, path.name, tmp_path / "out.csv", pipeline.Options(**options), lambda *a: None
    )


def test_every_real_file_is_listed(shared_dir: Path) -> None:
    found = {
        str(p.relative_to(shared_dir / "realdata"))
        for p in (shared_dir / "realdata").rglob("*")
        if p.suffix in {".csv", ".xlsx", ".xls", ".ods", ".tsv", ".txt"}
    }
    assert found == set(REAL_FILES)


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_file(name: str, shared_dir: Path, tmp_path: Path) -> None:
    encoding, header, standard, types, rules, rows = REAL_FILES[name]
    result = convert(shared_dir / "realdata" / name, tmp_path)
    report = result.report
    assert result.readable
    assert report["file"]["encoding"] == encoding
    assert report["layout"]["header_rows"] == header
    assert report["standard"]["slug"] == standard
    columns = {c["name"]: c for c in report["columns"]}
    for column, kind in types.items():
        assert columns[column]["type"] == kind, column
    for column, rule in rules.items():
        changed = {c["rule"]: c for c in columns[column]["changes"]}
        assert rule in changed, (column, list(changed))
        assert changed[rule]["count"] > 0 and changed[rule]["samples"]
    assert result.row_count == rows
    written = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert written[0].split(",")[: len(report["columns"])] == [c["name"] for c in report["columns"]]


def test_the_minato_title_row_is_skipped(shared_dir: Path, tmp_path: Path) -> None:
    result = convert(shared_dir / "realdata/minato/13103hoikuen201612.csv", tmp_path)
    assert result.report["layout"]["title"] == "港区内認可保育園等一覧"
    assert result.report["layout"]["body_start"] == 3


def test_bunkyo_section_rows_become_a_column_or_go(shared_dir: Path, tmp_path: Path) -> None:
    path = shared_dir / "realdata/bunkyo/bunkyoku_metadata.xlsx"
    kept = convert(path, tmp_path)
    assert kept.report["columns"][-1]["name"] == "区分"
    assert kept.report["preview"][1][-1] == "手続き・くらし"
    dropped = convert(path, tmp_path, section_mode="drop")
    assert "区分" not in [c["name"] for c in dropped.report["columns"]]
    assert dropped.row_count == kept.row_count == 64


def test_takamatsu_codes_get_their_check_digit(shared_dir: Path, tmp_path: Path) -> None:
    result = convert(shared_dir / "realdata/takamatsu/public_toilet__data.csv", tmp_path)
    assert "bad-lg-code" not in result.report["problem_counts"]
    header, *rows = [
        line.split(",") for line in (tmp_path / "out.csv").read_text().splitlines()[:3]
    ]
    assert rows[0][header.index("都道府県コード又は市区町村コード")] == "372013"
    # English FIWARE headers renamed to the standard's.
    assert {"緯度", "経度", "名称", "方書"} <= set(header)


def test_takamatsu_24_00_is_reported_per_cell(shared_dir: Path, tmp_path: Path) -> None:
    result = convert(shared_dir / "realdata/takamatsu/public_toilet__data.csv", tmp_path)
    bad = [p for p in result.report["problems"] if p["code"] == "bad-time"]
    assert bad and bad[0]["value"] == "24:00" and bad[0]["row"] >= 2


def test_a_mobile_number_in_a_description_is_flagged(shared_dir: Path, tmp_path: Path) -> None:
    result = convert(shared_dir / "realdata/hachijo/hachijo_sightseeing.csv", tmp_path)
    assert [(f["column"], f["kind"]) for f in result.report["privacy"]] == [
        ("説明", "mobile-phone")
    ]


def test_a_standard_chosen_by_staff_reports_what_is_missing(
    shared_dir: Path, tmp_path: Path
) -> None:
    path = shared_dir / "realdata/saitama/【さいたま市】AED設置場所一覧.csv"
    result = convert(path, tmp_path, standard="aed")
    assert result.report["standard"]["slug"] == "aed"
    missing = [
        p["column"] for p in result.report["problems"] if p["code"] == "required-column-missing"
    ]
    assert missing == ["名称_カナ"]
    names = [c["name"] for c in result.report["columns"]]
    assert names[:4] == ["都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名"]
    assert "名称" in names and result.report["standard"]["mapping"]["施設名等"] == "名称"


@pytest.mark.parametrize("width", [1, 3])
def test_clean_csv_lines_read_back_as_written(width: int) -> None:
    cells = ["", "a,b", 'say "hi"', "two\nlines", "carriage\rreturn", "東京都　文京区", "x"]
    columns = [cells[n:] + cells[:n] for n in range(width)]
    text = pipeline._csv_lines(columns)
    assert list(csv.reader(io.StringIO(text))) == [list(r) for r in zip(*columns, strict=True)]
    if width == 3:
        plain = io.StringIO()
        records = [r for r in zip(*columns, strict=True) if "\r" not in "".join(r)]
        csv.writer(plain, lineterminator="\n").writerows(records)
        kept = [list(c) for c in zip(*records, strict=True)]
        assert pipeline._csv_lines(kept) == plain.getvalue()


def test_rows_short_of_cells_are_read_and_said(tmp_path: Path) -> None:
    """A CSV row that lost its commas is read with empty cells, row by row in the report
    (a row with too many cells is left out, and said: the "ragged" bad file)."""
    path = tmp_path / "parks.csv"
    path.write_text(
        "名称,住所,緯度,経度\n"
        "小石川公園,東京都文京区小石川1-1,35.71,139.74\n"
        "礫川公園,東京都文京区春日1-15\n"
        "湯島公園,東京都文京区湯島1-1,35.70,139.77\n",
        encoding="utf-8",
    )
    result = convert(path, tmp_path)
    assert result.row_count == 3 and result.error_count == 0
    short = [p for p in result.report["problems"] if p["code"] == "short-row"]
    assert [(p["row"], p["column"], p["level"]) for p in short] == [(3, "C", "warning")]
    assert "row 3" in short[0]["message"] and "2 cells for the 4 columns" in short[0]["message"]


def test_a_cell_longer_than_a_spreadsheet_holds_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(f"名称,備考\n小石川公園,短い\n本郷公園,{'あ' * 40_000}\n", encoding="utf-8")
    result = convert(path, tmp_path)
    (problem,) = result.report["problems"]
    assert (problem["code"], problem["row"], problem["column"]) == ("cell-too-long", 3, "備考")
    assert "40,000 characters" in problem["message"] and result.error_count == 1


def test_a_time_a_standard_asks_for_is_one_error_per_cell(tmp_path: Path) -> None:
    """24:00 and 26:00 in a standard's time column: the normaliser cannot make them times
    and says so once per cell, with the standard's advice (23:59 or the notes column),
    not also the standard's own type check."""
    path = tmp_path / "aed.csv"
    path.write_text(
        "名称,開始時間,終了時間\n本郷公園,9:00,24:00\n湯島公園,9:00,26:00\n春日公園,９：００,17:00\n",
        encoding="utf-8",
    )
    result = convert(path, tmp_path, standard="aed")
    cells = [p for p in result.report["problems"] if p.get("row")]
    assert [(p["row"], p["column"], p["value"]) for p in cells] == [
        (2, "終了時間", "24:00"),
        (3, "終了時間", "26:00"),
    ]
    assert result.report["problem_counts"]["bad-time"] == 2
    for problem in cells:
        assert "23:59" in problem["message"] and "make the column text" not in problem["message"]
        assert problem["message"].count("終了時間") == 1


def test_a_time_staff_chose_advises_text_for_hours_past_midnight(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    path.write_text("名称,終了時間\n本郷公園,17:00\n湯島公園,26:00\n", encoding="utf-8")
    result = convert(path, tmp_path, standard="", types={"終了時間": "time"})
    (problem,) = result.report["problems"]
    assert (problem["code"], problem["row"], problem["value"]) == ("bad-time", 3, "26:00")
    assert "make the column text" in problem["message"]


def test_a_standard_rule_broken_in_a_cell_names_its_place_once(tmp_path: Path) -> None:
    path = tmp_path / "toilets.csv"
    # あり would be written 有 (a mark the standard takes another way); 不明 is no mark.
    path.write_text("名称,車椅子使用者用トイレ有無\n本郷トイレ,不明\n", encoding="utf-8")
    result = convert(path, tmp_path, standard="public-toilet-2026")
    (problem,) = [p for p in result.report["problems"] if p["code"] == "enum"]
    assert problem["message"] == (
        'Row 2, column 車椅子使用者用トイレ有無: "不明" is not one of 有 / 無.'
    )


def test_a_standard_s_times_are_written_as_hh_mm_and_the_csv_meets_its_schema(
    tmp_path: Path,
) -> None:
    """The standards ask for hh:mm (format %H:%M in the published schema): the clean CSV
    holds 09:00, not 09:00:00, so it validates against the schema it is published with,
    and only cells whose text changed are counted as changed."""
    from frictionless import Resource, Schema

    path = tmp_path / "aed.csv"
    path.write_text(
        "名称,開始時間,終了時間\n本郷公園,9:00,17:00\n湯島公園,０９：３０,17:00\n春日公園,,17:00\n",
        encoding="utf-8",
    )
    result = convert(path, tmp_path, standard="aed")
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [(r["開始時間"], r["終了時間"]) for r in rows] == [
        ("09:00", "17:00"),
        ("09:30", "17:00"),
        ("", "17:00"),
    ]
    columns = {c["name"]: c for c in result.report["columns"]}
    assert [c["rule"] for c in columns["終了時間"]["changes"]] == []
    changes = {c["rule"]: c for c in columns["開始時間"]["changes"]}
    assert (changes["time"]["count"], changes["time"]["samples"]) == (1, [["9:00", "09:00"]])
    assert changes["width"]["samples"] == [["０９：３０", "09:30"]]
    fields = {f["name"]: f for f in result.schema["fields"]}
    assert fields["開始時間"]["format"] == "%H:%M"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "out.csv").write_bytes((tmp_path / "out.csv").read_bytes())
    schema = Schema.from_descriptor(result.schema)
    report = Resource(path="out.csv", basepath=str(tmp_path / "data"), schema=schema).validate()
    assert [e for e in report.flatten(["fieldName", "type"]) if e[1] == "type-error"] == []


def test_seconds_in_a_standard_s_hh_mm_time_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "aed.csv"
    path.write_text("名称,開始時間\n本郷公園,9:00:15\n", encoding="utf-8")
    result = convert(path, tmp_path, standard="aed")
    (problem,) = [p for p in result.report["problems"] if p["code"] == "bad-time"]
    assert (problem["row"], problem["value"]) == (2, "09:00:15")
    assert "hh:mm" in problem["message"]


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_file_meets_its_published_schema_but_where_the_report_says(
    name: str, shared_dir: Path, tmp_path: Path
) -> None:
    """What a harvester validating the published CSV against the published Table Schema
    finds, staff were told: every cell Frictionless rejects is a problem in the report."""
    from frictionless import Resource, Schema

    result = convert(shared_dir / "realdata" / name, tmp_path)
    schema = Schema.from_descriptor(result.schema)
    report = Resource(path="out.csv", basepath=str(tmp_path), schema=schema).validate()
    rejected = {(row, field) for row, field in report.flatten(["rowNumber", "fieldName"])}
    told = {(p.get("row"), p.get("column")) for p in result.report["problems"]}
    whole_columns = {column for row, column in told if row is None}
    assert {(r, f) for r, f in rejected if (r, f) not in told and f not in whole_columns} == set()


def test_a_column_left_as_text_by_a_few_bad_values_is_said(tmp_path: Path) -> None:
    """One impossible 和暦 date kept the type from 設置日: its good dates stay unconverted,
    so staff are told which type it nearly has and what to do."""
    path = tmp_path / "aed.csv"
    path.write_text(
        "施設名,設置日,台数\n"
        "区役所,令和5年4月1日,2\n図書館,令和5年4月2日,1\n公園,令和5年13月40日,1\n"
        "体育館,R5.4.4,3\n集会所,令和5年4月5日,1\n",
        encoding="utf-8",
    )
    with translation.override("ja"):
        result = convert(path, tmp_path, standard="")
    [warning] = [p for p in result.report["problems"] if p["code"] == "nearly-typed"]
    assert warning["level"] == "warning" and warning["column"] == "設置日"
    assert warning["message"] == (
        "「設置日」列は、読み取った 5 件のうち 4 件が日付に見えますが、そうでない値"
        "（「令和5年13月40日」など）があるため文字列のままにしました。"
        "型を「日付」にすると、合わないセルが分かります。"
    )
    # Staff set the type: the bad cell is an error with its place, and no more warning.
    with translation.override("ja"):
        typed = convert(path, tmp_path, standard="", types={"設置日": "date"})
    codes = {p["code"] for p in typed.report["problems"]}
    assert "nearly-typed" not in codes and typed.error_count == 1


def test_a_first_data_row_past_the_end_blames_the_choice_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "aed.csv"
    path.write_text("施設名,台数\n区役所,2\n図書館,1\n", encoding="utf-8")
    with translation.override("ja"):
        result = convert(path, tmp_path, header_rows=[1], body_start=50)
    [problem] = [p for p in result.report["problems"] if p["code"] == "no-rows"]
    assert problem["message"] == (
        "aed.csv には 50 行目から後にデータがありません。データの最初の行を選び直してください"
        "（上の「ファイルの中に見つけた表」でシートの先頭の行を確かめられます）。"
    )


def test_a_unit_taken_off_the_numbers_stays_with_the_column(tmp_path: Path) -> None:
    """1,234.5㎡ is published as 1234.5: the schema keeps ㎡, or the number means nothing."""
    path = tmp_path / "halls.csv"
    path.write_text('名称,延床面積\n本郷会館,"1,234.5㎡"\n春日会館,980㎡\n', encoding="utf-8")
    result = convert(path, tmp_path, standard="")
    (field,) = [f for f in result.schema["fields"] if f["name"] == "延床面積"]
    assert (field["type"], field["x-unit"], field["description"]) == ("number", "㎡", "Unit: ㎡")
    (column,) = [c for c in result.report["columns"] if c["name"] == "延床面積"]
    assert column["unit"] == "㎡"


def test_a_postcode_of_fewer_than_seven_digits_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "halls.csv"
    path.write_text("名称,郵便番号\n本郷会館,113-0033\n春日会館,113\n", encoding="utf-8")
    result = convert(path, tmp_path, standard="")
    (warning,) = [p for p in result.report["problems"] if p["code"] == "short-postcode"]
    assert (
        warning["column"] == "郵便番号"
        and "1 postcode has fewer than 7 digits" in warning["message"]
    )
