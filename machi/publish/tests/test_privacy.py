"""Personal data before publishing: e-mail, mobile numbers, My Numbers, names beside addresses."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from machi.publish.privacy import Finding, PrivacyScanner, is_my_number

REAL = "realdata"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _scan(columns: list[str], rows: list[list[object]], first_row: int = 2) -> list[Finding]:
    scanner = PrivacyScanner(columns)
    for row, values in enumerate(rows, first_row):
        scanner.feed(row, values)
    return scanner.findings()


def _kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.column, f.kind) for f in findings]


def _scan_file(path: Path, encoding: str, skip: int = 0) -> list[Finding]:
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle))[skip:]
    return _scan(rows[0], rows[1:], first_row=skip + 2)  # type: ignore[arg-type]


# ---------------------------------------------------------------- e-mail


def test_email_addresses_are_found_with_rows_and_a_message() -> None:
    rows = [
        ["市民課", "shimin@city.example.lg.jp"],
        ["税務課", ""],
        ["個人", "taro.yamada＠example.com"],
    ]
    (finding,) = _scan(["担当", "連絡先"], rows)
    assert (finding.column, finding.kind, finding.count, finding.rows) == (
        "連絡先",
        "email",
        2,
        [2, 4],
    )
    assert finding.message == (
        "Column 連絡先 holds e-mail addresses (cells: 2, first in row 2). An e-mail address can "
        "identify a person: publish only shared office addresses."
    )


def test_an_at_sign_alone_is_not_an_email_address() -> None:
    assert _scan(["備考"], [["@渋谷"], ["会議室@3階"]]) == []


# ---------------------------------------------------------------- mobile numbers


@pytest.mark.parametrize(
    "number",
    [
        "090-1234-5678",
        "09012345678",
        "080 1234 5678",
        "070(1234)5678",
        "０９０－１２３４－５６７８",
        "090ー1234ー5678",
        "+81-90-1234-5678",
        "携帯：080-9876-5432（担当直通）",
    ],
)
def test_mobile_numbers_in_any_form(number: str) -> None:
    (finding,) = _scan(["名称", "連絡先"], [["公民館", number]])
    assert (finding.kind, finding.rows) == ("mobile-phone", [2])
    assert "mobile phone numbers" in finding.message


def test_office_numbers_are_not_personal() -> None:
    rows = [["054-626-1139"], ["(054)626-1139"], ["03-3455-4669"], ["0120-123-456"]]
    rows += [["0570-090-123"], ["03-5090-8012"]]
    assert _scan(["電話番号"], rows) == []


def test_numbers_that_only_contain_090_are_not_mobiles() -> None:
    rows = [["34.870901", "138.090123", "4080001012345", "10900", "2090-12-31"]]
    assert _scan(["緯度", "経度", "法人番号", "人数", "日付"], rows) == []


def test_each_cell_counts_once() -> None:
    (finding,) = _scan(["備考"], [["090-1111-2222 または 080-3333-4444"]])
    assert finding.count == 1


# ---------------------------------------------------------------- My Number


def test_the_my_number_check_digit() -> None:
    assert is_my_number("123456789018")
    assert not is_my_number("123456789012")
    assert not is_my_number("12345678901")


def test_valid_my_numbers_are_found_in_any_column() -> None:
    rows = [["1234 5678 9018"], ["１２３４５６７８９０１８"], ["番号は123456789018です"]]
    (finding,) = _scan(["備考"], rows)
    assert (finding.kind, finding.count, finding.rows) == ("my-number", 3, [2, 3, 4])
    assert "My Number" in finding.message


def test_twelve_digit_ids_that_fail_the_check_digit_are_not_my_numbers() -> None:
    # Random ids pass the check digit one time in eleven: a column mostly failing it is ids.
    ids = [f"{n:012d}" for n in range(100_000_000_000, 100_000_000_000 + 110)]
    assert 0 < sum(is_my_number(i) for i in ids) < 20
    assert _scan(["受付ID"], [[i] for i in ids]) == []
    assert _scan(["受付番号"], [["123456789012"]]) == []


def test_timestamps_are_not_my_numbers() -> None:
    assert is_my_number("202304011205")  # 2023-04-01 12:05, and a valid check digit
    assert _scan(["更新"], [["202304011205"]]) == []


def test_a_my_number_column_is_flagged_even_when_check_digits_fail() -> None:
    (finding,) = _scan(["個人番号"], [["123456789012"], [""], ["1234-5678-9018"]])
    assert (finding.kind, finding.count, finding.rows) == ("my-number", 2, [2, 4])


def test_workbook_numbers_are_scanned_too() -> None:
    (finding,) = _scan(["マイナンバー", "人数"], [[123456789018, 3]])
    assert finding.kind == "my-number"


# ---------------------------------------------------------------- names beside addresses


def test_names_of_people_next_to_addresses() -> None:
    rows = [
        ["山田 太郎", "東京都港区芝五丁目1-1", "03-1234-5678"],
        ["佐藤花子", "東京都港区芝五丁目2-2", "03-1234-5679"],
        ["鈴木　一郎", "東京都港区芝五丁目3-3", "03-1234-5670"],
    ]
    (finding,) = _scan(["氏名", "住所", "電話番号"], rows)
    assert (finding.column, finding.kind, finding.count, finding.rows) == (
        "氏名",
        "personal-name",
        3,
        [2, 3, 4],
    )
    assert finding.message == (
        "Column 氏名 looks like names of people (names: 3 of 3 values checked, first in row 2), "
        "and column 住所 holds addresses. A name with an address identifies a person: remove "
        "the column, or publish it only with their consent."
    )


def test_names_are_recognised_by_their_values_under_any_header() -> None:
    rows = [["山田太郎", "港区芝1-1"], ["高橋 美咲", "港区芝1-2"], ["渡辺 健", "港区芝1-3"]]
    assert _kinds(_scan(["連絡先", "所在地"], rows)) == [("連絡先", "personal-name")]


def test_a_surname_alone_counts_only_under_a_persons_header() -> None:
    rows = [["田中", "港区芝1-1"], ["中村", "港区芝1-2"]]
    assert _kinds(_scan(["担当者", "住所"], rows)) == [("担当者", "personal-name")]
    # 地区 names Sudachi also reads as surnames (小川, 和田, 石津) are not people.
    places = [["小川", "焼津市小川1"], ["和田", "焼津市田尻2"], ["石津", "焼津市石津3"]]
    assert _scan(["地区", "住所"], places) == []


def test_a_persons_header_over_departments_is_not_a_finding() -> None:
    rows = [["管財課", "焼津市本町2-16-32"], ["地域防災課", "焼津市石津728-2"]]
    assert _scan(["担当者", "住所"], rows) == []


def test_names_without_addresses_are_not_a_finding() -> None:
    assert _scan(["氏名", "役職"], [["山田太郎", "市長"], ["佐藤花子", "副市長"]]) == []


def test_facility_names_are_not_people() -> None:
    rows = [
        ["芝保育園", "東京都港区芝五丁目18番1-101号"],
        ["山田洋次ミュージアム", "東京都葛飾区柴又6-22-19"],
        ["大井川河川敷運動公園", "静岡県焼津市西島538"],
        ["ホタル水路", "東京都八丈島八丈町三根"],
    ]
    assert _scan(["名称", "住所"], rows) == []


def test_only_a_bounded_sample_goes_to_sudachi() -> None:
    scanner = PrivacyScanner(["氏名", "住所", "方書"])
    for row in range(2, 2002):
        scanner.feed(row, ["山田太郎", "港区芝1-1", ""])
    (finding,) = scanner.findings()
    assert finding.count == 500
    for row in range(2002, 10_002):
        scanner.feed(row, ["", "港区芝1-1", ""])
    assert scanner._pending == []  # the empty 方書 stopped sampling after the first rows


# ---------------------------------------------------------------- real files


def test_yaizu_aed_has_no_personal_data(shared_dir: Path) -> None:
    assert _scan_file(shared_dir / REAL / "yaizu" / "222127_aed.csv", "utf-8") == []


def test_minato_nurseries_have_no_personal_data(shared_dir: Path) -> None:
    path = shared_dir / REAL / "minato" / "13103hoikuen201612.csv"
    assert _scan_file(path, "utf-8-sig", skip=1) == []


def test_other_real_files_have_no_names(shared_dir: Path) -> None:
    files = [
        ("katsushika/katsushika_tourism.csv", "cp932"),
        ("yaizu/222127_hinannjo.csv", "utf-8-sig"),
        ("yaizu/222127_public_toilet.csv", "utf-8-sig"),
        ("takamatsu/public_toilet__data.csv", "utf-8-sig"),
        ("saitama/【さいたま市】AED設置場所一覧.csv", "utf-8-sig"),
    ]
    for name, encoding in files:
        assert _scan_file(shared_dir / REAL / name, encoding) == [], name


def test_hachijo_has_a_mobile_number_in_a_description(shared_dir: Path) -> None:
    findings = _scan_file(shared_dir / REAL / "hachijo" / "hachijo_sightseeing.csv", "cp932")
    assert _kinds(findings) == [("説明", "mobile-phone")]
    assert findings[0].count == 1


def test_a_chunk_of_records_scanned_by_column_finds_what_rows_one_by_one_find() -> None:
    columns = ["住所", "連絡先", "備考", "番号"]
    rows: list[list[object]] = []
    for n in range(60):
        rows.append(
            [
                f"文京区春日{n % 3 + 1}丁目",
                "090-1234-5678" if n % 7 == 0 else "03-3812-7111",
                "info@example.jp と shimin@example.jp" if n % 5 == 0 else "",
                "123456789018" if n % 9 == 0 else n,
            ]
        )
    one = _scan(columns, rows)
    scanner = PrivacyScanner(columns)
    numbers = list(range(2, 62))
    for start in range(0, 60, 25):
        chunk = rows[start : start + 25]
        cells = [list(c) for c in zip(*chunk, strict=True)]
        scanner.feed_columns(numbers[start : start + 25], cells)
    assert scanner.findings() == one
    assert [(f.kind, f.count, f.rows[:2]) for f in one] == [
        ("mobile-phone", 9, [2, 9]),
        ("email", 12, [2, 7]),
        ("my-number", 7, [2, 11]),
    ]


def test_a_mobile_number_of_mixed_widths_is_found() -> None:
    (finding,) = _scan(["名称", "連絡先"], [["公民館", "０90-1234-5678"]])
    assert finding.kind == "mobile-phone"


def test_dates_of_birth_are_personal_data_by_their_column() -> None:
    """A 防災 volunteer list: names, birth dates and mobiles; the birth dates were missed."""
    rows = [["山田 太郎", "1980-04-01"], ["佐藤 花子", ""], ["鈴木 一郎", "昭和55年5月5日"]]
    (finding,) = _scan(["氏名", "生年月日"], rows)
    assert (finding.column, finding.kind, finding.count, finding.rows) == (
        "生年月日",
        "birth-date",
        2,
        [2, 4],
    )
    assert "dates of birth" in finding.message
    assert _scan(["施設名", "開設日"], [["本郷会館", "1980-04-01"]]) == []
