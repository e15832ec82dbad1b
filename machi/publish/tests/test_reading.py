"""Opening staff files: encodings, delimiters, workbooks, and files that cannot be read."""

from __future__ import annotations

import datetime as dt
import random
import struct
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from django.utils import translation

from machi.publish import reading
from machi.publish.reading import ReadError, open_source

REAL = "realdata"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _rows(path: Path, sheet: int = 0) -> list[tuple[int, list[object]]]:
    with open_source(path) as source:
        return list(source.rows(sheet))


def _fails(path: Path, code: str, **kwargs: object) -> str:
    with pytest.raises(ReadError) as caught:
        open_source(path, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code
    return str(caught.value)


# ---------------------------------------------------------------- real municipal files


@pytest.mark.parametrize(
    ("path", "encoding", "first_cell", "records"),
    [
        ("katsushika/katsushika_tourism.csv", "Shift_JIS", "都道府県コード又は市区町村コード", 4),
        ("hachijo/hachijo_sightseeing.csv", "Shift_JIS", "観光スポット名称", 21),
        ("yaizu/222127_aed.csv", "UTF-8", "都道府県コード又は市区町村コード", 83),
        (
            "yaizu/222127_facilities_smartmap.csv",
            "UTF-8 (BOM)",
            "都道府県コード又は市区町村コード",
            29,
        ),
        ("yaizu/222127_public_toilet.csv", "UTF-8", "全国地方公共団体コード", 113),
        ("yaizu/222127_public_wireless_lan.csv", "UTF-8", "都道府県コード又は市区町村コード", 18),
        ("yaizu/222127_hinannjo.csv", "UTF-8", "NO", 57),
        ("saitama/【さいたま市】AED設置場所一覧.csv", "UTF-8 (BOM)", "施設名等", 393),
        # The README says this one has a BOM; its first bytes are e6 b8 af (港), no BOM.
        ("minato/13103hoikuen201612.csv", "UTF-8", "港区内認可保育園等一覧", 68),
        ("takamatsu/public_toilet__data.csv", "UTF-8", "#property", 170),
        (
            "bunkyo/derived/open-infra-japan_131059_public-toilet_normalized.csv",
            "UTF-8",
            "全国地方公共団体コード",
            25,  # PROVENANCE says 25 toilets; the file has a header and 24
        ),
    ],
)
def test_real_text_files_open_with_their_encoding(
    shared_dir: Path, path: str, encoding: str, first_cell: str, records: int
) -> None:
    with open_source(shared_dir / REAL / path) as source:
        assert (source.format, source.encoding, source.delimiter) == ("CSV", encoding, ",")
        assert source.sheets == [reading.SheetInfo(index=0, name="", rows=None, columns=None)]
        assert source.problems == []
        rows = list(source.rows())
    assert rows[0][0] == 1
    assert rows[0][1][0] == first_cell  # a BOM is never part of the first cell
    assert len(rows) == records
    widths = {len(cells) for _n, cells in rows}
    assert len(widths) == 1  # every record splits into the header's width


def test_real_line_numbers_follow_the_file(shared_dir: Path) -> None:
    # Shift_JIS, CRLF, four records of long text (no quoted line breaks).
    rows = _rows(shared_dir / REAL / "katsushika/katsushika_tourism.csv")
    assert [n for n, _cells in rows] == [1, 2, 3, 4]
    assert rows[1][1][4] == "葛飾柴又寅さん記念館"
    # LF line endings, unlike its siblings.
    rows = _rows(shared_dir / REAL / "yaizu/222127_public_wireless_lan.csv")
    assert rows[1][1][4] == "市役所アトレ庁舎１階"
    assert rows[-1][0] == 18


@pytest.mark.parametrize(
    ("path", "sheet", "rows", "columns", "first_cell"),
    [
        ("bunkyo/bunkyoku_metadata.xlsx", "metadata", 74, 9, "タイトル"),
        ("hachijo/hachijo_sightseeing.xlsx", "観光スポット", 21, 7, "観光スポット名称"),
        ("takamatsu/nursery_school__data.xlsx", "Sheet1", 119, 18, "#property"),
        ("takamatsu/population__0066_202601.xlsx", "Sheet0", 236, 49, "#property"),
        ("takamatsu/public_wireless_lan__data.xlsx", "Sheet1", 4, 19, "#property"),
    ],
)
def test_real_workbooks_list_their_sheets(
    shared_dir: Path, path: str, sheet: str, rows: int, columns: int, first_cell: str
) -> None:
    with open_source(shared_dir / REAL / path) as source:
        assert (source.format, source.encoding, source.delimiter) == ("XLSX", "", "")
        assert source.sheets == [reading.SheetInfo(0, sheet, rows, columns)]
        read = list(source.rows())
        assert read == list(source.rows())  # re-reading gives the same rows
    assert len(read) == rows
    assert read[0] == (1, read[0][1])
    assert read[0][1][0] == first_cell
    assert {len(cells) for _n, cells in read} == {columns}


def test_real_population_numbers_are_ints_and_dates_dates(shared_dir: Path) -> None:
    rows = _rows(shared_dir / REAL / "takamatsu/population__0066_202601.xlsx")
    header, first = rows[0][1], rows[1][1]
    record = dict(zip(header, first, strict=True))
    assert record["#property"] == 1 and type(record["#property"]) is int
    assert record["prefCode"] == 37201 and type(record["prefCode"]) is int
    assert record["surveyDate"] == dt.date(2026, 1, 1)
    assert record["regionName"] == "塩屋町"
    assert record["totalPopulation"] == 400
    assert record["regionCode"] == ""  # empty cells are "", never None
    assert all(type(v) is int for v in first[7:46])


def test_real_nursery_keeps_text_cells_text(shared_dir: Path) -> None:
    # Takamatsu typed numbers as text here; they stay text for the normalisers to judge.
    rows = _rows(shared_dir / REAL / "takamatsu/nursery_school__data.xlsx")
    assert rows[1][1][:4] == ["1", "34.347392", "134.032587", "高松市立瀬戸内保育所"]
    assert rows[-1][1][11] == "1号認定 20、2・3号認定 35"


def test_real_hachijo_workbook_and_csv_hold_the_same_table(shared_dir: Path) -> None:
    csv_rows = _rows(shared_dir / REAL / "hachijo/hachijo_sightseeing.csv")
    xlsx_rows = _rows(shared_dir / REAL / "hachijo/hachijo_sightseeing.xlsx")
    assert csv_rows[0][1] == xlsx_rows[0][1]
    assert len(csv_rows) == len(xlsx_rows) == 21
    assert [c[1][0] for c in csv_rows] == [c[1][0] for c in xlsx_rows]
    assert csv_rows[1][1][2] == "33.108218" and xlsx_rows[1][1][2] == 33.108218


# ---------------------------------------------------------------- encodings


def test_cp932_and_euc_jp_are_told_apart(tmp_path: Path) -> None:
    text = "名称,住所\r\n焼津市役所,静岡県焼津市本町2-16-32\r\nアトレ庁舎,本町5-6-1\r\n"
    (tmp_path / "sjis.csv").write_bytes(text.encode("cp932"))
    (tmp_path / "euc.csv").write_bytes(text.encode("euc_jp"))
    for name, label in (("sjis.csv", "Shift_JIS"), ("euc.csv", "EUC-JP")):
        with open_source(tmp_path / name) as source:
            assert source.encoding == label
            assert source.problems == []
            assert list(source.rows())[1] == (2, ["焼津市役所", "静岡県焼津市本町2-16-32"])


def test_half_width_katakana_file_is_shift_jis_though_it_decodes_as_euc(tmp_path: Path) -> None:
    data = "ｶﾅ,ｱｲ\nｳｴ,ｻｸ\n".encode("cp932")
    assert data.decode("euc_jp") == "凝,渦\n慨,燦\n"  # the trap: clean EUC-JP kanji
    (tmp_path / "kana.csv").write_bytes(data)
    with open_source(tmp_path / "kana.csv") as source:
        assert source.encoding == "Shift_JIS"
        assert list(source.rows())[0][1] == ["ｶﾅ", "ｱｲ"]


def test_ascii_is_utf8_and_a_bom_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"id,name\n1,x\n")
    (tmp_path / "b.csv").write_bytes("\ufeffid,名前\n1,x\n".encode())
    with open_source(tmp_path / "a.csv") as source:
        assert source.encoding == "UTF-8"
    with open_source(tmp_path / "b.csv") as source:
        assert source.encoding == "UTF-8 (BOM)"
        assert next(source.rows()) == (1, ["id", "名前"])


def test_excel_unicode_text_is_read_as_utf16_tsv(tmp_path: Path) -> None:
    (tmp_path / "unicode.txt").write_bytes(
        "名称\t電話\r\n市役所\t054-626-1111\r\n".encode("utf-16")
    )
    with open_source(tmp_path / "unicode.txt") as source:
        assert (source.format, source.encoding, source.delimiter) == ("TSV", "UTF-16", "\t")
        assert list(source.rows()) == [(1, ["名称", "電話"]), (2, ["市役所", "054-626-1111"])]


def test_detection_streams_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny chunks split every multi-byte character somewhere: still clean.
    monkeypatch.setattr(reading, "CHUNK", 7)
    text = "a,b\n" * 50 + "東京都,葛飾区\n" * 20
    for codec, label in (("utf-8", "UTF-8"), ("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP")):
        (tmp_path / "x.csv").write_bytes(text.encode(codec))
        assert reading.detect_encoding(tmp_path / "x.csv", "x.csv") == (label, True)


def test_undecodable_bytes_are_reported_where_they_are(tmp_path: Path) -> None:
    # 0x85 0x40 is in no candidate: unassigned in CP932, invalid in EUC-JP and UTF-8.
    data = (
        "名称,住所,備考\r\n".encode("cp932")
        + '"二行の\r\n名称",静岡県,なし\r\n'.encode("cp932")
        + "焼津,".encode("cp932")
        + b"\x93\x8c\x85\x40\x8b\x9e"  # 東 ? 京
        + ",あり\r\n".encode("cp932")
    )
    (tmp_path / "bad.csv").write_bytes(data)
    with open_source(tmp_path / "bad.csv") as source:
        assert source.encoding == "Shift_JIS"
        assert len(source.problems) == 1
        problem = source.problems[0]
        assert (problem.code, problem.level, problem.row, problem.column) == (
            "decode",
            "error",
            4,
            "B",
        )
        assert problem.value == "東\\x85@京"
        assert "\\x85" in problem.message and "Shift_JIS" in problem.message
        assert "bad.csv" in problem.message
        rows = list(source.rows())
    # The record spanning lines 2-3 is numbered by its first line.
    assert [n for n, _cells in rows] == [1, 2, 4]
    assert rows[1][1][0] == "二行の\r\n名称"
    # Shown as escapes, not replaced by a guess.
    assert rows[2][1] == ["焼津", "東\\x85@京", "あり"]


def test_a_utf8_file_with_a_shift_jis_row_pasted_in_is_utf8_with_that_row_reported(
    tmp_path: Path,
) -> None:
    """Shift_JIS read the UTF-8 rows with fewer faults (as other characters): every
    column name came out garbled and the good rows were blamed."""
    good = "名称,住所\n文京区役所,東京都文京区春日1-16-21\n本郷図書館,東京都文京区本郷4-8-15\n"
    data = good.encode("utf-8") + "小石川図書館,東京都文京区小石川5-9-20\n".encode("cp932")
    (tmp_path / "mixed.csv").write_bytes(data)
    with open_source(tmp_path / "mixed.csv") as source:
        assert source.encoding == "UTF-8"
        assert {(p.row, p.column) for p in source.problems} == {(4, "A"), (4, "B")}
        rows = list(source.rows())
    assert rows[0][1] == ["名称", "住所"] and rows[1][1][0] == "文京区役所"


def test_undecodable_places_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "DECODE_PROBLEMS", 3)
    lines = ["名称,値"] + [f"行{i},x" for i in range(10)]
    data = "\n".join(lines).encode("cp932").replace(b"x", b"\x85\x40")
    (tmp_path / "bad.csv").write_bytes(data)
    with open_source(tmp_path / "bad.csv") as source:
        assert [p.row for p in source.problems] == [2, 3, 4, None]
        assert "7 more cells" in source.problems[-1].message


def test_a_few_bad_bytes_in_a_utf8_file_keep_it_utf8(tmp_path: Path) -> None:
    data = ("名称,住所\n" + "焼津市役所,静岡県焼津市\n" * 30).encode() + b"x,\x82\xa0\n"
    (tmp_path / "mixed.csv").write_bytes(data)
    with open_source(tmp_path / "mixed.csv") as source:
        assert source.encoding == "UTF-8"
        assert [(p.row, p.column) for p in source.problems] == [(32, "B")]


# ---------------------------------------------------------------- delimiters and lines


def test_tsv_and_txt_with_tabs(tmp_path: Path) -> None:
    (tmp_path / "a.tsv").write_text("名称\t備考\n市役所\t1,2,3\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(
        "名称\t備考\t緯度\n市役所\tあり, なし\t34.8\n", encoding="utf-8"
    )
    (tmp_path / "c.txt").write_text("名称,備考\n市役所,なし\n", encoding="utf-8")
    (tmp_path / "d.csv").write_text("名称\t住所\n市役所\t焼津\n", encoding="utf-8")
    expected = {"a.tsv": "\t", "b.txt": "\t", "c.txt": ",", "d.csv": "\t"}
    for name, delimiter in expected.items():
        with open_source(tmp_path / name) as source:
            assert source.delimiter == delimiter, name
            assert source.format == ("TSV" if delimiter == "\t" else "CSV")
    assert _rows(tmp_path / "b.txt")[1] == (2, ["市役所", "あり, なし", "34.8"])


def test_old_mac_line_endings(tmp_path: Path) -> None:
    (tmp_path / "cr.csv").write_bytes(b"a,b\r1,2\r\r3,4\r")
    assert _rows(tmp_path / "cr.csv") == [
        (1, ["a", "b"]),
        (2, ["1", "2"]),
        (3, []),
        (4, ["3", "4"]),
    ]


def test_a_quote_never_closed_is_a_read_error_with_the_row(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text('a,b\n1,"oops\n' + "x" * 200_000 + "\n", encoding="utf-8")
    with open_source(tmp_path / "q.csv") as source:
        with pytest.raises(ReadError) as caught:
            list(source.rows())
    assert caught.value.code == "corrupt"
    assert "row 2" in str(caught.value) and "quote" in str(caught.value)


# ---------------------------------------------------------------- files that cannot be read


def test_empty_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert _fails(tmp_path / "empty.csv", "empty") == "empty.csv is empty."
    (tmp_path / "blank.csv").write_bytes(b"\r\n  \r\n\t\n")
    assert "blank lines" in _fails(tmp_path / "blank.csv", "empty")
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf\r\n")
    _fails(tmp_path / "bom.csv", "empty")


def test_binary_file_renamed_csv(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(1).randbytes(2000)
    (tmp_path / "photo.csv").write_bytes(png)
    message = _fails(tmp_path / "photo.csv", "binary")
    assert message == "photo.csv is not a text file: it contains binary data near byte 8."


def test_binary_without_nul_bytes_is_still_binary(tmp_path: Path) -> None:
    noise = bytes(random.Random(2).choice(range(1, 8)) for _ in range(500))
    (tmp_path / "noise.csv").write_bytes(b"a,b\n" + noise)
    assert "near byte 4" in _fails(tmp_path / "noise.csv", "binary")


def test_too_big(tmp_path: Path, settings: object) -> None:
    (tmp_path / "big.csv").write_bytes(b"a,b\n" * 100)
    message = _fails(tmp_path / "big.csv", "too-big", max_bytes=100)
    assert message.startswith("big.csv is 400")
    settings.PUBLISH_MAX_FILE_BYTES = 399  # type: ignore[attr-defined]
    _fails(tmp_path / "big.csv", "too-big")
    settings.PUBLISH_MAX_FILE_BYTES = 400  # type: ignore[attr-defined]
    assert open_source(tmp_path / "big.csv").format == "CSV"


def _declare(data: bytes, member: bytes, size: int, compressed: int | None = None) -> bytes:
    """Rewrite a ZIP member's sizes in the central directory, where readers look first."""
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == member:
            packed = struct.unpack_from("<I", data, central + 20)[0]
            sizes = struct.pack("<II", packed if compressed is None else compressed, size)
            data = data[: central + 20] + sizes + data[central + 28 :]
        central = data.find(b"PK\x01\x02", central + 4)
    return data


def test_zip_bomb_renamed_xlsx_is_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("calamine must not see a bomb")

    monkeypatch.setattr(reading.python_calamine.CalamineWorkbook, "from_path", never)
    started = time.perf_counter()
    # A part declaring 2 GB of zeros that it does not hold ...
    path = tmp_path / "declared.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(1 << 16))
    path.write_bytes(_declare(path.read_bytes(), b"xl/worksheets/sheet1.xml", 2_000_000_000))
    message = _fails(path, "zip-bomb")
    assert message.startswith("declared.xlsx looks like a compressed bomb")
    assert "xl/worksheets/sheet1.xml" in message
    # ... and one that really inflates a thousand times.
    path = tmp_path / "real.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", bytes(8 << 20))
    _fails(path, "zip-bomb")
    # Parts adding up beyond what is ever read.
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(3):
            archive.writestr(f"xl/media/{i}.bin", b"x")
    data = path.read_bytes()
    for i in range(3):
        data = _declare(data, f"xl/media/{i}.bin".encode(), 2_000_000_000, 15_000_000)
    path.write_bytes(data)
    assert "would expand to" in _fails(path, "zip-bomb")
    assert time.perf_counter() - started < 0.5


def test_corrupt_workbooks(tmp_path: Path) -> None:
    noise = random.Random(3).randbytes(4000)
    (tmp_path / "noise.xlsx").write_bytes(noise)
    assert "noise.xlsx cannot be opened as a workbook" in _fails(tmp_path / "noise.xlsx", "corrupt")
    (tmp_path / "zip.xlsx").write_bytes(b"PK\x03\x04" + noise)
    _fails(tmp_path / "zip.xlsx", "corrupt")
    (tmp_path / "ole.xls").write_bytes(reading.OLE_MAGIC + noise)
    _fails(tmp_path / "ole.xls", "corrupt")
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook><sheets><sheet")
    _fails(path, "corrupt")


def test_files_that_are_not_tables(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n")
    _fails(tmp_path / "report.pdf", "unsupported")
    with zipfile.ZipFile(tmp_path / "letter.xlsx", "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "a Word document" in _fails(tmp_path / "letter.xlsx", "unsupported")
    (tmp_path / "page.xls").write_text("<html><table><tr><td>1</td></tr></table></html>")
    assert "web page" in _fails(tmp_path / "page.xls", "unsupported")
    (tmp_path / "old.xls").write_text(
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
    )
    assert "Excel 2003 XML" in _fails(tmp_path / "old.xls", "unsupported")


def test_encrypted_workbook_asks_for_no_password(tmp_path: Path) -> None:
    # An encrypted .xlsx is a compound file with an EncryptionInfo stream.
    (tmp_path / "secret.xlsx").write_bytes(
        reading.OLE_MAGIC + bytes(600) + "EncryptionInfo".encode("utf-16-le") + bytes(600)
    )
    assert "password" in _fails(tmp_path / "secret.xlsx", "unsupported")


def test_csv_saved_with_an_excel_name_is_read_as_csv(tmp_path: Path) -> None:
    (tmp_path / "export.xls").write_bytes("名称,住所\n市役所,焼津\n".encode("cp932"))
    with open_source(tmp_path / "export.xls") as source:
        assert (source.format, source.encoding) == ("CSV", "Shift_JIS")


def test_workbook_saved_with_a_csv_name_is_read_as_a_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["名称", "定員"])
    book.save(tmp_path / "data.csv")
    with open_source(tmp_path / "data.csv") as source:
        assert source.format == "XLSX"
        assert list(source.rows()) == [(1, ["名称", "定員"])]


def test_workbook_without_cells(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    assert _fails(tmp_path / "blank.xlsx", "no-sheets") == (
        "blank.xlsx has no worksheet with any cells."
    )


# ---------------------------------------------------------------- workbooks


def test_xlsx_cells_sheets_and_merges(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "設定"
    hidden.sheet_state = "hidden"
    hidden["A1"] = "list"
    sheet = book.create_sheet("一覧")
    sheet["C3"] = "表題"
    sheet["B5"], sheet["C5"], sheet["D5"] = "区", 1.0, 2.5
    sheet["B6"], sheet["C6"], sheet["D6"] = dt.date(2024, 4, 1), dt.time(9, 30), True
    sheet["B7"] = dt.datetime(2024, 4, 1, 8, 0)
    sheet["C7"] = dt.timedelta(hours=1, minutes=15)
    sheet["D7"] = dt.timedelta(hours=30)
    sheet["B8"] = 12345678901234567890  # beyond a float's exact integers
    sheet["B9"] = "西区"
    sheet.merge_cells("B9:B10")
    sheet["C9"], sheet["C10"] = "A", "B"
    sheet["C11"] = "見出し"
    sheet.merge_cells("C11:D11")
    book.save(tmp_path / "book.xlsx")
    with open_source(tmp_path / "book.xlsx") as source:
        assert [(s.index, s.name) for s in source.sheets] == [(0, "一覧"), (1, "設定")]
        assert source.sheets[0].rows == 11
        rows = dict(source.rows())
        assert list(source.rows(1)) == [(1, ["list"])]
    assert rows[3] == ["", "", "表題", ""]  # padded from column A: index = column
    assert rows[5] == ["", "区", 1, 2.5] and type(rows[5][2]) is int
    assert rows[6] == ["", dt.date(2024, 4, 1), dt.time(9, 30), True]
    assert rows[7] == ["", dt.datetime(2024, 4, 1, 8, 0), dt.time(1, 15), "30:00:00"]
    assert type(rows[8][1]) is float
    assert rows[9][1:3] == ["西区", "A"] and rows[10][1:3] == ["西区", "B"]
    assert rows[11] == ["", "", "見出し", "見出し"]


def _xls_record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _write_xls(path: Path, sheet: str, rows: list[list[object]], merges: list[tuple]) -> None:
    """A minimal Excel 97-2003 file: one BIFF8 sheet inside a compound file (no xlwt here)."""
    end, free, fat_sector, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF

    def bof(kind: int) -> bytes:
        return _xls_record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 1996, 0, 6))

    cells = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                data = struct.pack("<HHHHB", r, c, 0, len(value), 1) + value.encode("utf-16-le")
                cells.append(_xls_record(0x0204, data))  # LABEL
            elif value is not None:
                cells.append(_xls_record(0x0203, struct.pack("<HHHd", r, c, 0, value)))  # NUMBER
    refs = b"".join(struct.pack("<HHHH", *m) for m in merges)
    cells.append(_xls_record(0x00E5, struct.pack("<H", len(merges)) + refs))  # MERGEDCELLS
    width = max(len(row) for row in rows)
    body = bof(0x10) + _xls_record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    body += b"".join(cells) + _xls_record(0x000A)
    name = struct.pack("<BB", len(sheet), 1) + sheet.encode("utf-16-le")
    offset = len(bof(5)) + len(_xls_record(0x0085, bytes(6) + name)) + len(_xls_record(0x000A))
    stream = bof(5) + _xls_record(0x0085, struct.pack("<IBB", offset, 0, 0) + name)
    stream += _xls_record(0x000A) + body
    stream = stream.ljust(max(4096, -(-len(stream) // 512) * 512), b"\0")  # no mini stream
    count = len(stream) // 512
    fat = [fat_sector, end] + [n + 3 for n in range(count - 1)] + [end]
    header = (
        reading.OLE_MAGIC
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0, 0)
        + struct.pack("<I", free) * 108
    )

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le") if name else b""
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(raw), kind, 1, none, none, child)
            + bytes(36)
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, none, 2, len(stream))
    directory += entry("", 0, none, 0, 0) * 2
    fats = b"".join(struct.pack("<I", v) for v in fat + [free] * (128 - len(fat)))
    path.write_bytes(header + fats + directory + stream)


def _write_ods(path: Path, sheet: str, rows: list[list[object]]) -> None:
    """A minimal OpenDocument spreadsheet (mimetype, manifest, content)."""
    xml_rows = []
    for row in rows:
        cells = []
        for value in row:
            if value is None:
                cells.append("<table:table-cell/>")
            elif isinstance(value, str):
                cells.append(
                    '<table:table-cell office:value-type="string">'
                    f"<text:p>{escape(value)}</text:p></table:table-cell>"
                )
            else:
                cells.append(
                    f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>"
                )
        xml_rows.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{escape(sheet)}">'
        + "".join(xml_rows)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    mimetype = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", mimetype)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)


GROUPED = [
    ["人口表"],
    [],
    ["地区", "男性", None],
    [None, "0-4歳", "5-9歳"],
    ["A町", 1.0, 2.5],
]


def test_xls(tmp_path: Path) -> None:
    _write_xls(tmp_path / "old.xls", "人口", GROUPED, merges=[(2, 3, 0, 0), (2, 2, 1, 2)])
    with open_source(tmp_path / "old.xls") as source:
        assert (source.format, source.encoding, source.delimiter) == ("XLS", "", "")
        assert source.sheets == [reading.SheetInfo(0, "人口", 5, 3)]
        assert list(source.rows()) == [
            (1, ["人口表", "", ""]),
            (2, ["", "", ""]),
            (3, ["地区", "男性", "男性"]),
            (4, ["地区", "0-4歳", "5-9歳"]),
            (5, ["A町", 1, 2.5]),
        ]


def test_ods(tmp_path: Path) -> None:
    # calamine gives no merged ranges for ODS; the layout carries group labels instead.
    _write_ods(tmp_path / "libre.ods", "人口", GROUPED)
    with open_source(tmp_path / "libre.ods") as source:
        assert (source.format, source.encoding) == ("ODS", "")
        assert source.sheets == [reading.SheetInfo(0, "人口", 5, 3)]
        rows = list(source.rows())
    assert rows[2:] == [
        (3, ["地区", "男性", ""]),
        (4, ["", "0-4歳", "5-9歳"]),
        (5, ["A町", 1, 2.5]),
    ]


def test_place_names_file_sheet_row_and_column() -> None:
    assert reading.place("a.xlsx", "表", 3, "B") == "a.xlsx, sheet “表”, row 3, column B"
    assert reading.place("a.csv", row=3) == "a.csv, row 3"


@pytest.mark.parametrize("chunk", [64, 1 << 20])
def test_hidden_rows_and_columns_of_an_xlsx_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Read from the sheet's XML (calamine does not say), in chunks whose ends cut tags."""
    book = openpyxl.Workbook()
    book.active.title = "表紙"
    sheet = book.create_sheet("一覧")
    for n in range(1, 200):
        sheet.append([f"施設{n}", n, "メモ"])
    for row in (5, 77, 150):
        sheet.row_dimensions[row].hidden = True
    sheet.column_dimensions["C"].hidden = True
    path = tmp_path / "hidden.xlsx"
    book.save(path)
    monkeypatch.setattr(reading, "CHUNK", chunk)
    with reading.open_source(path, "hidden.xlsx") as source:
        names = [info.name for info in source.sheets]
        listed = names.index("一覧")
        assert source.hidden_rows(listed) == {5, 77, 150}
        assert source.hidden_columns(listed) == {2}
        assert not source.hidden_rows(names.index("表紙"))
