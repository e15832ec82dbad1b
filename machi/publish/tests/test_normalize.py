"""Cleaning cells and typing columns: every rule on real-world strings, then real files."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from machi.publish.normalize import (
    PROBLEM_LIMIT,
    ColumnPlan,
    check_coordinates,
    header_hint,
    plan_columns,
    tidy_spaces,
    to_half_width,
)
from machi.publish.normalize.parsers import parse_degrees

REAL = "realdata"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _plan(name: str, values: list[object], **types: str) -> ColumnPlan:
    return plan_columns([name], [[v] for v in values], types=types or None)[0]


def _converted(plan: ColumnPlan, values: list[object], first_row: int = 2) -> list[object]:
    return [plan.convert(v, row) for row, v in enumerate(values, first_row)]


def _read(path: Path, encoding: str) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


# ---------------------------------------------------------------- width and spaces


def test_full_width_letters_and_digits_become_ascii_but_japanese_text_stays() -> None:
    assert to_half_width("２階正面入口") == "2階正面入口"
    assert to_half_width("ＡＥＤ設置") == "AED設置"
    assert to_half_width("22：00まで") == "22:00まで"
    assert to_half_width("６：１５から２２：００まで") == "6:15から22:00まで"
    assert to_half_width("１００％") == "100%"
    # Symbols inside Japanese prose, and characters NFKC would rewrite, stay as typed.
    assert to_half_width("柴又公園駐車広場（有料）") == "柴又公園駐車広場（有料）"
    assert to_half_width("㈱まちづくり①　１２㎡") == "㈱まちづくり①　12㎡"
    assert to_half_width("9:00～17:00") == "9:00～17:00"


def test_brackets_convert_as_a_pair_around_ascii_only() -> None:
    assert to_half_width("（０５４）６２６－１１３９") == "(054)626-1139"
    assert to_half_width("１階（２Ｆ）") == "1階(2F)"
    # Never one bracket of a pair: 港区's address note keeps both full-width.
    assert (
        to_half_width("芝五丁目36番4号（2015年11月1日開設）")
        == "芝五丁目36番4号（2015年11月1日開設）"
    )


def test_half_width_katakana_become_full_width() -> None:
    assert to_half_width("ﾃﾞｨｽｶﾊﾞﾘｰﾊﾟｰｸ焼津水夢館") == "ディスカバリーパーク焼津水夢館"
    assert to_half_width("岸町ﾋﾞﾙ201") == "岸町ビル201"


def test_spaces_are_trimmed_and_collapsed() -> None:
    assert tidy_spaces("静岡県焼津市宗高88  ") == "静岡県焼津市宗高88"
    assert tidy_spaces("with  Kiyoshi   Atsumi") == "with Kiyoshi Atsumi"
    assert tidy_spaces("北袋町1-190-13  2階") == "北袋町1-190-13 2階"
    # A 全角スペース between Japanese words stays; a run of them becomes one.
    assert tidy_spaces("１階　保健室前") == "１階　保健室前"
    assert tidy_spaces("山田　　太郎") == "山田\u3000太郎"
    # Next to ASCII text the gap becomes an ASCII space.
    assert tidy_spaces("18号\u3000TTD PLAZAビル") == "18号 TTD PLAZAビル"
    assert tidy_spaces("TTD\u3000\u3000PLAZA") == "TTD PLAZA"
    assert tidy_spaces("\u3000 ") == ""


def test_string_columns_count_each_rule_with_distinct_samples() -> None:
    values = ["２階正面入口", "４階管財課", "２階正面入口", "入口付近", "宗高88  ", "", "  "]
    plan = _plan("設置位置", values)
    assert plan.type == "string"
    out = _converted(plan, values)
    assert out == ["2階正面入口", "4階管財課", "2階正面入口", "入口付近", "宗高88", None, None]
    assert plan.changes["width"].count == 3
    assert plan.changes["width"].samples == [
        ("２階正面入口", "2階正面入口"),
        ("４階管財課", "4階管財課"),
    ]
    assert plan.changes["space"].count == 2
    assert plan.problems == []


def test_samples_stop_at_five() -> None:
    values = [
        f"第{n}会議室".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        for n in range(20)
    ]
    plan = _plan("部屋", values)
    _converted(plan, values)
    assert plan.changes["width"].count == 20
    assert len(plan.changes["width"].samples) == 5


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("令和5年4月1日", dt.date(2023, 4, 1), "wareki"),
        ("令和５年４月１日", dt.date(2023, 4, 1), "wareki"),
        ("R5.4.1", dt.date(2023, 4, 1), "wareki"),
        ("Ｒ５．４．１", dt.date(2023, 4, 1), "wareki"),
        ("H31/4/30", dt.date(2019, 4, 30), "wareki"),
        ("H.31.4.30", dt.date(2019, 4, 30), "wareki"),
        ("平成31年4月30日", dt.date(2019, 4, 30), "wareki"),
        ("令和元年5月1日", dt.date(2019, 5, 1), "wareki"),
        ("昭和64年1月7日", dt.date(1989, 1, 7), "wareki"),
        ("S39-10-10", dt.date(1964, 10, 10), "wareki"),
        ("㍻元年1月8日", dt.date(1989, 1, 8), "wareki"),
        ("令和5年4月1日(土)", dt.date(2023, 4, 1), "wareki"),
        ("2023/4/1", dt.date(2023, 4, 1), "date"),
        ("2023年4月1日", dt.date(2023, 4, 1), "date"),
        ("2023.4.1", dt.date(2023, 4, 1), "date"),
        ("20230401", dt.date(2023, 4, 1), "date"),
        ("2023/04/01 0:00", dt.date(2023, 4, 1), "date"),  # Excel's CSV export of a date
        ("２０２３－０４－０１", dt.date(2023, 4, 1), "width"),
    ],
)
def test_dates_in_any_form_become_iso(text: str, expected: dt.date, rule: str) -> None:
    plan = _plan("設置日", [text])
    assert plan.type == "date"
    assert plan.convert(text, 2) == expected
    assert plan.changes[rule].count == 1


def test_an_iso_date_is_not_counted_as_a_change() -> None:
    plan = _plan("設置日", ["2023-04-01"])
    assert plan.convert("2023-04-01", 2) == dt.date(2023, 4, 1)
    assert plan.changes == {}


def test_mixed_date_forms_in_one_column() -> None:
    values = ["2023/4/1", "2023-04-02", "2023年4月3日", "20230404", "令和5年4月5日", "R5.4.6"]
    plan = _plan("開設日", values)
    assert plan.type == "date"
    assert _converted(plan, values) == [dt.date(2023, 4, d) for d in range(1, 7)]
    assert plan.changes["date"].count == 3
    assert plan.changes["wareki"].count == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("H31/5/1", "平成 ran from 1989-01-08 to 2019-04-30"),
        ("平成31年5月1日", "平成 ran from 1989-01-08 to 2019-04-30"),
        ("令和元年4月30日", "令和 began on 2019-05-01"),
        ("昭和64年1月8日", "昭和 ran from 1926-12-25 to 1989-01-07"),
    ],
)
def test_dates_outside_their_era_are_errors(text: str, reason: str) -> None:
    plan = _plan("設置日", ["令和5年4月1日"])
    assert plan.convert(text, 7) == text
    (problem,) = plan.problems
    assert problem.code == "bad-date" and problem.level == "error"
    assert (problem.row, problem.column, problem.value) == (7, "設置日", text)
    assert problem.message == f"Row 7, column 設置日: {text} is not a date: {reason}."


def test_impossible_dates_are_errors_naming_row_column_and_value() -> None:
    values = ["令和5年4月1日"] * 10
    plan = _plan("設置日", values)
    assert plan.convert("令和99年", 12) == "令和99年"
    assert plan.convert("2023/2/30", 13) == "2023/2/30"
    assert [p.message for p in plan.problems] == [
        "Row 12, column 設置日: 令和99年 is not a date.",
        "Row 13, column 設置日: 2023/2/30 is not a date.",
    ]
    assert plan.problem_count == 2


def test_a_date_column_tolerates_a_few_bad_values_and_reports_them() -> None:
    values = ["令和5年4月1日"] * 9 + ["未定"]
    plan = _plan("設置日", values)  # the header says date: 90% is enough
    assert plan.type == "date"
    _converted(plan, values)
    assert [p.value for p in plan.problems] == ["未定"]
    assert _plan("設置", values).type == "string"  # without the hint: nearly all must parse


def test_workbook_dates_pass_through() -> None:
    values: list[object] = [dt.date(2023, 4, 1), dt.datetime(2023, 4, 2), "2023/4/3"]
    plan = _plan("更新日", values)
    assert plan.type == "date"
    assert _converted(plan, values) == [dt.date(2023, 4, d) for d in (1, 2, 3)]


def test_excel_serial_days_in_a_date_column() -> None:
    plan = _plan("受付日", ["45017", "45018"])
    assert plan.type == "date"
    assert plan.convert("45017", 2) == dt.date(2023, 4, 1)


def test_eight_digits_are_dates_only_under_a_date_header() -> None:
    assert _plan("設置日", ["20230401", "20230402"]).type == "date"
    assert _plan("番号", ["20230401", "20230402"]).type == "integer"


def test_datetimes() -> None:
    values = ["2023/4/1 9:00", "令和5年4月2日 9時30分", "2023-04-03T10:15:00"]
    plan = _plan("受付日時", values)
    assert plan.type == "datetime"
    assert _converted(plan, values) == [
        dt.datetime(2023, 4, 1, 9, 0),
        dt.datetime(2023, 4, 2, 9, 30),
        dt.datetime(2023, 4, 3, 10, 15),
    ]


def test_years() -> None:
    values = ["令和5年", "2022年", "平成30年度"]
    plan = _plan("年度", values)
    assert plan.type == "year"
    assert _converted(plan, values) == [2023, 2022, 2018]


# ---------------------------------------------------------------- times


def test_times_in_any_form() -> None:
    values = ["9:00", "09:00:00", "９時３０分", "22：00", "午後3時", "8時半"]
    plan = _plan("開始時間", values)
    assert plan.type == "time"
    assert _converted(plan, values) == [
        dt.time(9),
        dt.time(9),
        dt.time(9, 30),
        dt.time(22),
        dt.time(15),
        dt.time(8, 30),
    ]
    assert plan.changes["time"].count == 5
    assert ("9:00", "09:00:00") in plan.changes["time"].samples


def test_a_column_with_24_00_stays_text_with_normalised_times() -> None:
    values = ["24:00", "9:00", "２２：００", "25:30"]
    plan = _plan("終了時間", values)
    assert (plan.type, plan.role) == ("string", "clock")
    assert _converted(plan, values) == ["24:00", "09:00", "22:00", "25:30"]
    assert plan.problems == []


def test_24_00_in_a_time_column_is_an_error_that_says_why() -> None:
    plan = _plan("終了時間", ["17:00", "18:00"])
    assert plan.convert("24:00", 9) == "24:00"
    (problem,) = plan.problems
    assert problem.code == "bad-time"
    assert "past midnight" in problem.message and problem.message.startswith(
        "Row 9, column 終了時間"
    )


def test_ranges_of_times_are_text() -> None:
    values = ["9:00～17:00", "8：30～17：15", "9:00～21:30"]
    plan = _plan("開館時間", values)
    assert plan.type == "string"
    assert _converted(plan, values) == ["9:00～17:00", "8:30～17:15", "9:00～21:30"]
    assert plan.problems == []


# ---------------------------------------------------------------- numbers


def test_numbers_with_commas_units_and_full_width_digits() -> None:
    values = ["1,234円", "５００円", "12円", "1,000,000円"]
    plan = _plan("料金", values)
    assert (plan.type, plan.unit) == ("integer", "円")
    assert _converted(plan, values) == [1234, 500, 12, 1000000]
    assert plan.changes["number"].count == 4
    assert plan.changes["number"].samples[0] == ("1,234円", "1234")


def test_japanese_accounting_minus_signs() -> None:
    values = ["▲500", "△1,200", "−3", "－４", "100"]
    plan = _plan("差引額", values)
    assert _converted(plan, values) == [-500, -1200, -3, -4, 100]


def test_decimals_make_a_number_column() -> None:
    values = ["12.5㎡", "８．２５㎡", "30㎡"]
    plan = _plan("面積", values)
    assert (plan.type, plan.unit) == ("number", "㎡")
    assert _converted(plan, values) == [12.5, 8.25, 30]


def test_a_different_unit_is_an_error_not_a_silent_thousandfold() -> None:
    plan = _plan("予算", ["1,000円", "2,000円"])
    assert plan.convert("5千円", 4) == "5千円"
    assert plan.problems[0].message == (
        "Row 4, column 予算: 5千円 is not a number in 円, the unit of this column."
    )
    assert _plan("予算", ["1,000円", "5千円"]).type == "string"  # mixed units: not typed


def test_a_lone_dash_in_a_typed_column_is_empty() -> None:
    plan = _plan("人数", ["12", "－", "-", "30"])
    assert plan.type == "integer"
    assert _converted(plan, ["12", "－", "-"]) == [12, None, None]
    assert plan.changes["dash"].count == 2


def test_codes_with_leading_zeros_stay_text() -> None:
    no = _plan("NO", ["0000000001", "0000000002", "0000100001"])
    assert no.type == "string"
    assert no.convert("0000000001", 2) == "0000000001"
    assert _plan("市区町村コード", ["011002", "222127"]).type == "string"
    assert _plan("市区町村コード", ["222127", "131229"]).type == "string"  # a code, never summed
    assert _plan("NO", ["1", "2", "3"]).type == "integer"
    assert _plan("整理番号", ["007", "123"]).type == "string"


def test_a_number_column_reports_words() -> None:
    plan = _plan("人数", ["12", "30", "45"])
    assert plan.convert("約40人", 5) == "約40人"
    assert plan.problems[0].message == "Row 5, column 人数: 約40人 is not a whole number."
    assert plan.convert("12.5", 6) == "12.5"
    assert plan.problem_count == 2


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize(
    "pair",
    [("有", "無"), ("あり", "なし"), ("○", "×"), ("〇", "✕"), ("はい", "いいえ"), ("可", "不可")]
    + [("TRUE", "FALSE"), ("true", "false")],
)
def test_yes_no_pairs_become_booleans(pair: tuple[str, str]) -> None:
    values = [pair[0], pair[1], "", pair[0]]
    plan = _plan("状況", values)
    assert plan.type == "boolean"
    assert _converted(plan, values) == [True, False, None, True]


def test_only_one_family_makes_a_boolean_column() -> None:
    assert _plan("状況", ["有", "×"]).type == "string"
    assert _plan("状況", ["有", "無", "不明"]).type == "string"


def test_a_column_of_marks_is_boolean_and_its_blanks_stay_empty() -> None:
    plan = _plan("開設される災害の種類（土砂災害）", ["○", "", "", "○"])
    assert plan.type == "boolean"
    assert _converted(plan, ["○", ""]) == [True, None]


def test_one_and_zero_are_flags_only_under_a_flag_header() -> None:
    assert _plan("バリアフリートイレ数", ["0", "1", "1"]).type == "integer"
    assert _plan("授乳室の有無", ["0", "1", "1"]).type == "boolean"


def test_workbook_booleans_and_the_cache_do_not_mix_up_true_and_one() -> None:
    plan = _plan("人数", ["1", "2"])
    assert plan.convert(1, 2) == 1
    assert plan.convert(True, 3) == "true"  # a boolean is not a count
    assert plan.problems[0].code == "bad-integer"
    flags = _plan("有無", [True, False])
    assert flags.type == "boolean"
    assert [flags.convert(v, 2) for v in (True, 1, False, 0)] == [True, True, False, False]


def test_a_column_whose_values_do_not_repeat_stops_caching_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from machi.publish.normalize import plans

    monkeypatch.setattr(plans, "CACHE_LIMIT", 50)
    areas = [f"{n:,}.5㎡" for n in range(1000, 1400)]  # every one different
    days = [f"R5.{1 + k // 28}.{1 + k % 28}" for k in range(60)]
    dates = [days[n % 60] for n in range(400)]  # 60 days, again and again
    # Phone numbers, text, are converted a chunk at a time without the cache (_convert_text).
    phones = [f"（０３）{n:04d}－{n % 7:04d}" for n in range(400)]
    for name, values, state in (
        ("面積", areas, "dropped"),
        ("開設日", dates, "kept"),
        ("電話番号", phones, "filling"),
    ):
        plan = _plan(name, values[:5])
        fresh = _plan(name, values[:5])
        assert plan.type == {"面積": "number", "開設日": "date", "電話番号": "string"}[name]
        chunks = [values[i : i + 40] for i in range(0, len(values), 40)]
        out = [
            v
            for n, c in enumerate(chunks)
            for v in plan.convert_column(c, list(range(n * 40, n * 40 + len(c))))
        ]
        assert plan._cache_state == state
        assert (len(plan._cache) > 0) is (state == "kept")
        # What it changed and counted is what converting the cells one by one gives.
        assert out == [fresh.convert(v, 0) for v in values]
        assert plan.changes == fresh.changes


# ---------------------------------------------------------------- phones and postcodes


def test_phone_numbers_take_the_hyphenated_form() -> None:
    values = [
        "(054)626-1139",
        "054(626)1139",
        "054 626 1139",
        "（０５４）６２６－１１３９",
        "090ー1234ー5678",
        "03-3657-3455（葛飾柴又寅さん記念館）",
        "03-5733-6822",
        "0546261139",
    ]
    plan = _plan("電話番号", values)
    assert (plan.type, plan.role) == ("string", "phone")
    assert _converted(plan, values) == [
        "054-626-1139",
        "054-626-1139",
        "054-626-1139",
        "054-626-1139",
        "090-1234-5678",
        "03-3657-3455（葛飾柴又寅さん記念館）",
        "03-5733-6822",
        "0546261139",  # splitting bare digits needs the area-code table
    ]
    assert plan.changes["phone"].count == 5


def test_extensions_stay_text() -> None:
    plan = _plan("TEL", ["054-626-1111 内線123"])
    assert plan.convert("(054)626-1111 内線123", 2) == "054-626-1111 内線123"


def test_postcodes() -> None:
    values = ["〒112-8555", "1128555", "１１２－８５５５", "112 8555"]
    plan = _plan("郵便番号", values)
    assert (plan.type, plan.role) == ("string", "postcode")
    assert _converted(plan, values) == ["112-8555"] * 4
    assert plan.changes["postcode"].count == 3


def test_postcodes_are_recognised_by_their_shape_only_when_marked() -> None:
    assert _plan("所在", ["〒112-8555", "〒425-0022"]).role == "postcode"
    assert _plan("所在", ["1128555", "4250022"]).type == "integer"


# ---------------------------------------------------------------- coordinates


def test_degrees_minutes_seconds_become_decimal_degrees() -> None:
    values = ["35°42'30\"N", "北緯35度42分30秒", "35.7083333"]
    plan = _plan("緯度", values)
    assert (plan.type, plan.role) == ("number", "lat")
    assert _converted(plan, values) == [35.7083333] * 3
    assert plan.changes["latlon"].count == 2
    # A decimal with the side as a letter or a word: N35.7325, 北緯35.7325, 139.7469E.
    assert [parse_degrees(v)[0] for v in ("N35.7325", "北緯35.7325", "139.7469E", "S33.9")] == [
        35.7325,
        35.7325,
        139.7469,
        -33.9,
    ]


def test_swapped_coordinates_are_swapped_back_with_a_warning() -> None:
    rows = [["34.866918", "138.323171"], ["138.320351", "34.863094"]]
    plans = plan_columns(["緯度", "経度"], rows)
    assert (plans[0].partner, plans[1].partner) == (1, 0)
    first = [p.convert(v, 2) for p, v in zip(plans, rows[0], strict=True)]
    assert check_coordinates(plans, first, 2) == []
    second = [p.convert(v, 3) for p, v in zip(plans, rows[1], strict=True)]
    (problem,) = check_coordinates(plans, second, 3)
    assert second == [34.863094, 138.320351]
    assert (problem.code, problem.level, problem.row) == ("swapped-latlon", "warning", 3)
    assert problem.message == (
        "Row 3: 緯度 138.320351 and 経度 34.863094 look swapped; they were swapped back."
    )
    assert plans[0].problems == [problem]
    assert plans[0].changes["swapped-latlon"].count == 1


def test_coordinates_outside_japan_are_warnings() -> None:
    plans = plan_columns(["latitude", "longitude"], [["35.1", "139.2"]])
    values = [0.0, 0.0]
    (problem,) = check_coordinates(plans, values, 5)
    assert (problem.code, problem.level) == ("outside-japan", "warning")
    assert values == [0.0, 0.0]
    assert "outside Japan" in problem.message


def test_a_latitude_without_its_longitude_is_still_checked() -> None:
    plans = plan_columns(["名称", "緯度"], [["市役所", "34.86"]])
    values = ["市役所", plans[1].convert("3.486", 2)]
    (problem,) = check_coordinates(plans, values, 2)
    assert problem.column == "緯度" and problem.code == "outside-japan"


def test_coordinates_pair_by_header() -> None:
    plans = plan_columns(
        ["緯度_入口", "緯度_出口", "経度_出口", "経度_入口"], [["35", "35", "139", "139"]]
    )
    assert [p.partner for p in plans] == [3, 2, 1, 0]


# ---------------------------------------------------------------- plans, caps, overrides


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("緯度", "lat"),
        ("longitude", "lon"),
        ("電話番号", "phone"),
        ("ＴＥＬ", "phone"),
        ("連絡先FAX", "phone"),
        ("hotel_name", ""),
        ("内線番号", "id"),
        ("郵便番号", "postcode"),
        ("全国地方公共団体コード", "code"),
        ("小児対応設備の有無", "flag"),
        ("更新日時", "datetime"),
        ("開始時間", "time"),
        ("設置日", "date"),
        ("利用可能曜日", ""),
        ("年度", "year"),
        ("NO", "id"),
        ("男性トイレ総数", "number"),
    ],
)
def test_header_hints(header: str, hint: str) -> None:
    assert header_hint(header) == hint


def test_types_given_by_staff_override_inference() -> None:
    plan = _plan("NO", ["0000000001", "0000000002"], NO="integer")
    assert plan.type == "integer"
    assert plan.convert("0000000002", 3) == 2
    text = _plan("人数", ["1", "2"], 人数="string")
    assert text.convert("1", 2) == "1"


def test_problems_are_capped_but_all_counted() -> None:
    plan = _plan("人数", ["1", "2", "3"])
    for row in range(2, 1002):
        plan.convert(f"不明{row}", row)
    assert len(plan.problems) == PROBLEM_LIMIT
    assert plan.problem_count == 1000


def test_repeated_values_are_counted_every_time() -> None:
    plan = _plan("設置日", ["令和5年4月1日"])
    for row in range(2, 102):
        assert plan.convert("令和5年4月1日", row) == dt.date(2023, 4, 1)
    plan.convert("令和99年", 200)
    plan.convert("令和99年", 201)
    assert plan.changes["wareki"].count == 100
    assert [p.row for p in plan.problems] == [200, 201]


def test_empty_columns_are_text() -> None:
    plan = _plan("備考", ["", "", ""])
    assert plan.type == "string"
    assert plan.convert("", 2) is None


def test_rules_say_which_normalisers_run() -> None:
    plans = plan_columns(["設置日", "電話番号", "緯度"], [["R5.4.1", "03-1234-5678", "35.1"]])
    assert plans[0].rules == ["width", "space", "dash", "wareki", "date"]
    assert plans[1].rules == ["width", "space", "phone"]
    assert plans[2].rules == ["width", "space", "dash", "latlon"]


# ---------------------------------------------------------------- real files


def test_yaizu_aed(shared_dir: Path) -> None:
    rows = _read(shared_dir / REAL / "yaizu" / "222127_aed.csv", "utf-8")
    header, body = rows[0], rows[1:]
    plans = plan_columns(header, body)
    by_name = {plan.name: plan for plan in plans}
    converted = [
        [plan.convert(value, line) for plan, value in zip(plans, row, strict=True)]
        for line, row in enumerate(body, 2)
    ]
    column = header.index
    assert by_name["緯度"].type == by_name["経度"].type == "number"
    assert converted[0][column("緯度")] == 34.866918
    assert by_name["電話番号"].role == "phone"
    assert converted[0][column("電話番号")] == "054-626-1139"
    assert ("(054)626-1139", "054-626-1139") in by_name["電話番号"].changes["phone"].samples
    assert by_name["電話番号"].changes["phone"].count == len(body)
    assert converted[0][column("設置位置")] == "2階正面入口"
    assert ("２階正面入口", "2階正面入口") in by_name["設置位置"].changes["width"].samples
    assert by_name["NO"].type == "string"
    assert converted[0][column("NO")] == "0000000001"
    assert by_name["小児対応設備の有無"].type == "boolean"
    assert {row[column("小児対応設備の有無")] for row in converted} == {True}
    assert by_name["名称"].changes["width"].samples[0] == (
        "ﾃﾞｨｽｶﾊﾞﾘｰﾊﾟｰｸ焼津水夢館",
        "ディスカバリーパーク焼津水夢館",
    )
    assert sum(plan.problem_count for plan in plans) == 0
    assert all(check_coordinates(plans, row, line) == [] for line, row in enumerate(converted, 2))


def test_minato_nurseries(shared_dir: Path) -> None:
    rows = _read(shared_dir / REAL / "minato" / "13103hoikuen201612.csv", "utf-8-sig")
    assert rows[0][0] == "港区内認可保育園等一覧"  # a title row; the header is on line 2
    header, body = rows[1], rows[2:]
    plans = plan_columns(header, body)
    by_name = {plan.name: plan for plan in plans}
    for name in (
        "短時間保育開始時間",
        "短時間保育終了時間",
        "標準時間開始時間",
        "標準時間終了時間",
    ):
        assert by_name[name].type == "time"
    start = by_name["短時間保育開始時間"]
    assert start.convert(body[0][header.index("短時間保育開始時間")], 3) == dt.time(9)
    extended = by_name["延長保育"]
    assert extended.type == "string"
    first = body[0][header.index("延長保育")]
    assert first == "22：00まで"
    assert extended.convert(first, 3) == "22:00まで"
    assert extended.changes["width"].samples == [("22：00まで", "22:00まで")]
    assert extended.problems == []
    assert by_name["緯度"].role == "lat" and by_name["電話番号"].role == "phone"


def test_katsushika_tourism_in_cp932(shared_dir: Path) -> None:
    rows = _read(shared_dir / REAL / "katsushika" / "katsushika_tourism.csv", "cp932")
    header, body = rows[0], rows[1:]
    plans = {plan.name: plan for plan in plan_columns(header, body)}
    assert plans["開始時間"].type == plans["終了時間"].type == "time"
    assert plans["料金（基本）"].type == "integer"
    assert plans["POIコード"].type == "string"
    assert plans["連絡先電話番号"].role == "phone"
    assert plans["緯度"].type == "number"


def test_takamatsu_toilets_open_until_24_00(shared_dir: Path) -> None:
    rows = _read(shared_dir / REAL / "takamatsu" / "public_toilet__data.csv", "utf-8-sig")
    header, body = rows[0], rows[1:]
    plans = {plan.name: plan for plan in plan_columns(header, body)}
    assert (plans["endTime"].type, plans["endTime"].role) == ("string", "clock")
    assert plans["endTime"].convert("24:00", 2) == "24:00"
    assert plans["startTime"].type == "time"
    assert plans["latitude"].role == "lat" and plans["wheelchairRestroom"].type == "boolean"


def test_yaizu_shelters_marks(shared_dir: Path) -> None:
    rows = _read(shared_dir / REAL / "yaizu" / "222127_hinannjo.csv", "utf-8-sig")
    header, body = rows[0], rows[1:]
    plans = {plan.name: plan for plan in plan_columns(header, body)}
    assert plans["開設される災害の種類（地震・津波）"].type == "boolean"
    assert plans["避難所面積平方メートル"].type == "integer"
    assert plans["NO"].type == "integer"


def test_full_width_digits_never_take_the_quick_path_uncounted() -> None:
    plan = _plan("人数", ["12", "30"])
    assert [plan.convert(v, 2) for v in ("１２", "12", "３５．５")] == [12, 12, "３５．５"]
    assert plan.changes["width"].count == 1  # a cell that is not converted changes nothing
    assert plan.problems[0].value == "３５．５"
    area = _plan("面積", ["1.5", "2.25"])
    assert area.convert("３５．５", 2) == 35.5
    assert area.changes["width"].count == 1


def test_a_column_at_once_gives_what_its_cells_one_by_one_give() -> None:
    values: list[object] = ["令和5年4月1日", "R5.4.1", "令和5年4月1日", "不明", "", "－"]
    values += ["2023-04-01", "令和99年", "不明", "H31/4/30", "R5.4.1", "  令和5年4月1日 "]
    one, whole = (_plan("設置日", values[:3]) for _ in range(2))
    singly = _converted(one, values * 3)
    rows = list(range(2, 2 + 3 * len(values)))
    assert whole.convert_column(values * 3, rows) == singly
    assert whole.changes == one.changes
    assert [(p.row, p.message) for p in whole.problems] == [
        (p.row, p.message) for p in one.problems
    ]
    assert whole.problem_count == one.problem_count == 9
    assert whole.changes["wareki"].count == 18


def test_full_width_numbers_take_the_quick_path_after_the_width_rule() -> None:
    plan = _plan("NO", ["１", "２", "３"])
    assert plan.type == "integer"
    assert _converted(plan, ["１２３", "４５", "０"]) == [123, 45, 0]
    assert plan.changes["width"].count == 3
    assert plan.changes["width"].samples[0] == ("１２３", "123")
    assert "number" not in plan.changes


TEXT_CELLS = [
    "本郷４丁目１６番１４号", "  湯島　二丁目  ", "ＮＰＯ法人　ぶんきょう", "（０３）３８１２",
    "（有料）", "２２：００まで", "ﾎﾝｺﾞｳ ﾎｲｸｴﾝ", "a\tb", "a\xa0b", "a  b", "", "　", "plain",
    "文京　区", "ａｂｃ　ｄｅｆ", "\x1ccontrol", "東京都文京区", "本郷４丁目１６番１４号",
    " lead", "trail ",
]  # fmt: skip


ROLE_CELLS = ["(03)3812-3111", "０３－３８１２－３１１１", "〒113-8555", "１１３８５５５", "9:00",
              "２４：００", "03 3812 3111"]  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 5, 40])
@pytest.mark.parametrize(
    ("column", "role"), [("住所", ""), ("電話番号", "phone"), ("郵便番号", "postcode")]
)
def test_a_text_column_converted_whole_matches_cell_by_cell(
    chunk: int, column: str, role: str
) -> None:
    """Text columns are converted a chunk at a time (ColumnPlan._convert_text): the same
    cells, counts and samples as the rules applied to one cell at a time, and cell by
    cell still for Excel's numbers and a cell holding the separator."""
    cells: list[object] = [*TEXT_CELLS, *ROLE_CELLS, "a\x1fb", 12, None]
    whole, single = _plan(column, ["x"]), _plan(column, ["x"])
    single._whole_text = False
    assert whole._whole_text and whole.type == "string" and whole.role == role
    results = {}
    for plan in (whole, single):
        out: list[object] = []
        for start in range(0, len(cells), chunk):
            part = cells[start : start + chunk]
            out += plan.convert_column(part, list(range(start, start + len(part))))
        results[id(plan)] = out
        plan.counted = {r: (c.count, c.samples) for r, c in plan.changes.items()}  # type: ignore[attr-defined]
    assert results[id(whole)] == results[id(single)]
    assert whole.counted == single.counted  # type: ignore[attr-defined]
    assert whole.changes["width"].count == 10 and whole.changes["space"].count == 9
    assert results[id(whole)][:3] == ["本郷4丁目16番14号", "湯島　二丁目", "NPO法人　ぶんきょう"]
    if role:
        assert whole.changes[role].count >= 2


@pytest.mark.parametrize(
    ("enum", "values", "expected"),
    [
        (
            ["1"],
            ["○", "〇", "◯", "●", "×", "なし", "1", "済"],
            ["1", "1", "1", "1", None, None, "1", "済"],
        ),
        (
            ["有", "無"],
            ["○", "あり", "true", "×", "なし", "有", "不明"],
            ["有", "有", "有", "無", "無", "有", "不明"],
        ),
    ],
)
def test_a_standard_s_marks_are_written_as_it_wants_them(
    enum: list[str], values: list[str], expected: list[object]
) -> None:
    """公衆トイレ (2026) wants 有/無 and the 2023 evacuation spaces 1 or empty; files hold ○/×."""
    field = {"name": "設備", "type": "string", "constraints": {"enum": enum}}
    plan = plan_columns(
        ["設備"], [[v] for v in values], types={"設備": "string"}, standard_fields={"設備": field}
    )[0]
    assert plan.convert_column(values, list(range(2, 2 + len(values)))) == expected


def test_counts_of_fixtures_keep_their_unit() -> None:
    plan = _plan("男性トイレ総数", ["3基", "2基", "１基"])
    assert (plan.type, plan.unit) == ("integer", "基")
    assert _converted(plan, ["3基", "１基"]) == [3, 1]


def test_a_free_fee_is_zero() -> None:
    """料金 columns say 無料 for free: it was an error in a column of prices."""
    plan = _plan("料金", ["無料", "300円", "1,200円"])
    assert (plan.type, plan.unit) == ("integer", "円")
    assert _converted(plan, ["無料", "300円"]) == [0, 300]
    assert _plan("面積", ["無料", "12㎡", "30㎡"]).convert("無料", 2) == "無料"  # not 0 ㎡


def test_a_range_of_times_in_one_cell_is_told_to_go_in_two_columns() -> None:
    plan = _plan("開始時間", ["9:00", "8:30～17:15", "10:00"], 開始時間="time")
    assert _converted(plan, ["8:30～17:15"]) == ["8:30～17:15"]
    (problem,) = plan.problems
    assert "is a range of times" in problem.message and "開始時間 and 終了時間" in problem.message
