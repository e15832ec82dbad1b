"""Personal data in a table about to be published: what to check before anyone can download it.

Four kinds, each judged per column:

- e-mail addresses (any; the message says a shared office address is fine);
- mobile numbers: 070/080/090 (or +81 70/80/90) and eight digits, any separators and widths.
  Office numbers (03-…, 054-…) are not personal;
- My Number (個人番号): twelve digits passing the My Number check digit, and most of a column's
  twelve-digit numbers passing it (random twelve-digit ids pass one time in eleven); yyyymmddhhmm
  timestamps are left out. In a column named 個人番号/マイナンバー any twelve digits count;
- names of people, only in a table that also has an address column: a person's header
  (氏名, 担当者 …) with values Sudachi reads as names, or values that read as a surname and a
  given name in most of a column's sample. Sudachi reads many places and words as names
  (小川, 坂本, even 有), so one name word alone counts only under a person's header.

`feed_columns` is called for every chunk of records: C-level substring tests on each
column's joined cells decide whether a regular expression runs at all; names are judged
in `findings` on the first 500 non-empty cells of each column (Sudachi is slow).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from django.utils.translation import gettext as _

from machi.lib.japanese import morphemes
from machi.publish.problems import column_letter

NAME_SAMPLE = 500  # non-empty cells per column given to Sudachi...
NAME_SAMPLE_ROWS = 5_000  # ...from the first rows only, so an empty column stops sampling
ROWS_KEPT = 20

_SEP = "\x1f"  # joins a column's cells; no cell text holds it
_DIGIT = "0-9０-９"
_GAP = "[- 　‐－ー−―().・（）]"  # never \s: it would match _SEP and join two cells
# Not after a digit; the look-behind follows the first character so that the pattern
# starts with a literal or a class, which re skips to quickly (a column of web addresses
# with 090 in them was scanned 2.5 times faster).
_MOBILE = re.compile(
    rf"(?:\+(?<![{_DIGIT}]\+)81{_GAP}?|[0０](?<![{_DIGIT}][0０]))[7-9７-９][0０]"
    rf"{_GAP}{{0,2}}[{_DIGIT}]{{4}}{_GAP}{{0,2}}[{_DIGIT}]{{4}}(?![{_DIGIT}])"
)
_TWELVE = re.compile(
    rf"(?<![{_DIGIT}])[{_DIGIT}]{{4}}[- ]?[{_DIGIT}]{{4}}[- ]?[{_DIGIT}]{{4}}(?![{_DIGIT}])"
)
_AT = re.compile("[@＠]")
# The hot path decides with bytes.translate and substring tests (all in C) whether a
# column needs a regular expression at all. Its UTF-8 "shape": ASCII digits -> d, space and
# hyphen -> s; full-width digits (EF BC 90-99, the only chars encoded so) -> EBF -> d.
_SHAPE = bytearray(b"x" * 256)
for _byte in b"0123456789":
    _SHAPE[_byte] = ord("d")
_SHAPE[ord(" ")] = _SHAPE[ord("-")] = ord("s")
_SHAPE[0xEF], _SHAPE[0xBC] = ord("E"), ord("B")
for _byte in range(0x90, 0x9A):
    _SHAPE[_byte] = ord("F")
_SHAPE_TABLE = bytes(_SHAPE)
_TWELVE_SHAPES = (b"d" * 12, b"ddddsddddsdddd", b"ddddsdddddddd", b"ddddddddsdddd")
_MOBILE_PREFIXES = ("090", "080", "070", "+81")
_NARROW = str.maketrans("０１２３４５６７８９＋", "0123456789+")
# A full-width digit or plus sign in UTF-8. Only text holding one is translated: on
# Japanese text str.translate looks every character up in a dict, and a column of prose
# with a full-width bracket cost more than the rest of its scan.
_WIDE_DIGIT = re.compile(b"\xef\xbc[\x8b\x90-\x99]")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_NOT_DIGITS = re.compile(r"\D")

_PERSON_HEADERS = ("氏名", "名前", "代表者", "担当者", "所有者", "申請者", "届出者", "世帯主")
_PERSON_HEADERS += ("契約者", "保護者", "person", "owner", "applicant", "representative")
_PERSON_HEADERS += ("fullname", "full_name", "firstname", "first_name", "lastname", "last_name")
_NOT_PERSON = ("名称", "施設", "団体", "法人", "会社", "事業所", "役職", "所属", "住所", "電話")
_ADDRESS_HEADERS = ("住所", "所在地", "所在", "address", "番地")
_MY_NUMBER_HEADERS = ("個人番号", "マイナンバー", "mynumber", "my_number")
_BIRTH_HEADERS = ("生年月日", "誕生日", "birthdate", "birth_date", "dateofbirth", "birthday")
_HONORIFICS = {"様", "さん", "氏", "殿"}


@dataclass
class Finding:
    column: str
    kind: str  # "email", "mobile-phone", "my-number", "personal-name", "birth-date",
    # "hidden-column"
    count: int  # cells matched
    rows: list[int]  # first 20 row numbers
    message: str  # translated: what was found, where, and why it matters


def hidden_column(column: str, letter: str) -> Finding:
    """A column the workbook hides: staff hide the columns that are theirs (担当者, メモ),
    and a published file shows every column."""
    message = _(
        "Column %(column)s is hidden in the workbook (column %(letter)s). Hidden columns "
        "often hold notes for staff only: publish it only if it is meant for everyone."
    ) % {"column": column, "letter": letter}
    return Finding(column=column, kind="hidden-column", count=0, rows=[], message=message)


def _header(name: str) -> str:
    return unicodedata.normalize("NFKC", name).lower().replace(" ", "")


def is_my_number(digits: str) -> bool:
    """The My Number check digit (番号法施行令 第8条) on twelve ASCII digits."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    total = sum(
        int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(digits[:11]), 1)
    )
    remainder = total % 11
    return int(digits[11]) == (0 if remainder <= 1 else 11 - remainder)


def _timestamp(digits: str) -> bool:
    """yyyymmddhhmm: twelve digits that are a time stamp, not a person."""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute = int(digits[8:10]), int(digits[10:])
    return (
        1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60
    )


def _name_kind(text: str) -> str:
    """How a cell reads: "full" (surname and given name), "part" (one name word) or ""."""
    if len(text) < 2 or len(text) > 30 or any(ch.isdigit() for ch in text):
        return ""
    names = 0
    for surface, pos in morphemes(text):
        if pos[0] in ("空白", "補助記号"):
            continue
        if pos[:3] == ("名詞", "固有名詞", "人名"):
            names += 1
        elif not (pos[0] == "接尾辞" and surface in _HONORIFICS):
            return ""
    return "full" if names >= 2 else "part" if names else ""


@dataclass
class _Hits:
    count: int = 0
    rows: list[int] = field(default_factory=list)

    def add(self, row: int) -> None:
        self.count += 1
        if len(self.rows) < ROWS_KEPT:
            self.rows.append(row)


class PrivacyScanner:
    """Feed every record; ask for findings at the end."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = [name or column_letter(i) for i, name in enumerate(columns)]
        headers = [_header(name) for name in columns]
        self._my_number_columns = {
            i for i, h in enumerate(headers) if any(k in h for k in _MY_NUMBER_HEADERS)
        }
        self._address = next(
            (
                i
                for i, h in enumerate(headers)
                if any(k in h for k in _ADDRESS_HEADERS) and "mail" not in h and "メール" not in h
            ),
            None,
        )
        self._person_columns = {
            i
            for i, h in enumerate(headers)
            if any(k in h for k in _PERSON_HEADERS) and not any(k in h for k in _NOT_PERSON)
        }
        # A date of birth is about one person whatever else the table holds.
        self._birth_columns = [
            i for i, h in enumerate(headers) if any(k in h for k in _BIRTH_HEADERS)
        ]
        self._hits: dict[tuple[int, str], _Hits] = {}
        # Names matter only next to addresses: without an address column nothing is sampled.
        self._samples: dict[int, list[tuple[int, str]]] = {}
        if self._address is not None:
            self._samples = {i: [] for i in range(len(columns)) if i != self._address}
        self._pending = list(self._samples.items())
        self._sampled_rows = 0
        self._handed: dict[int, int] = {}  # samples per column already handed over

    def feed(self, row: int, values: list[object]) -> None:
        """One record (feed_columns of one row)."""
        self.feed_columns([row], [[value] for value in values])

    def feed_columns(
        self,
        rows: Sequence[int],
        columns: Sequence[Sequence[object]],
        texts: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Records given column by column (`columns[i][n]` is column i of record `rows[n]`),
        converted (str, int, float, date, None …); `texts`, the same cells as text, when
        the caller has them (str() of each otherwise).

        Hot path: per column, a join, an encode, a translate and a few substring tests,
        all in C, decide whether a regular expression runs over the column's text at all.
        """
        if self._pending:
            self._sample(rows, columns)
        if texts is None:
            texts = [list(map(str, column)) for column in columns]
        for index in self._birth_columns:
            for row, cell in zip(rows, texts[index], strict=True):
                if cell and cell != "None":
                    self._hits.setdefault((index, "birth-date"), _Hits()).add(row)
        for index, cells in enumerate(texts):
            text = _SEP.join(cells)
            data = text.encode()
            wide = b"\xef\xbc" in data  # full-width forms (＠, ０-９ …)
            scans = []
            if b"@" in data or (wide and "＠" in text):
                scans.append((_AT, "email"))
            # ０9０ has a mobile's 090
            narrow = text.translate(_NARROW) if wide and _WIDE_DIGIT.search(data) else text
            if any(prefix in narrow for prefix in _MOBILE_PREFIXES):
                scans.append((_MOBILE, "mobile-phone"))
            shape = data.translate(_SHAPE_TABLE)
            if wide:
                shape = shape.replace(b"EBF", b"d")
            if any(twelve in shape for twelve in _TWELVE_SHAPES):
                scans.append((_TWELVE, "twelve"))
            if scans:
                ends = list(accumulate(len(cell) + 1 for cell in cells))  # past each separator
                for pattern, kind in scans:
                    self._scan(index, rows, ends, text, pattern, kind)

    def _sample(self, rows: Sequence[int], columns: Sequence[Sequence[object]]) -> None:
        for n, row in enumerate(rows):
            self._sampled_rows += 1
            if self._sampled_rows > NAME_SAMPLE_ROWS:
                self._pending = []
                return
            for index, cells in self._pending:
                value = columns[index][n] if index < len(columns) else ""
                if isinstance(value, str) and value.strip():
                    cells.append((row, value.strip()))
            self._pending = [(i, cells) for i, cells in self._pending if len(cells) < NAME_SAMPLE]
            if not self._pending:
                return

    def _scan(
        self,
        index: int,
        rows: Sequence[int],
        ends: list[int],
        text: str,
        pattern: re.Pattern[str],
        kind: str,
    ) -> None:
        """Matches in one column's text (its cells joined by _SEP), counted once per cell."""
        counted = set()
        for match in pattern.finditer(text):
            n = bisect_right(ends, match.start())  # the cell: no match spans a separator
            found = kind
            if kind == "email":
                begin = ends[n - 1] if n else 0
                cell = text[begin : ends[n] - 1]
                if not _EMAIL.search(unicodedata.normalize("NFKC", cell)):
                    continue
            elif kind == "twelve":
                digits = unicodedata.normalize("NFKC", _NOT_DIGITS.sub("", match.group()))
                if _timestamp(digits) and index not in self._my_number_columns:
                    continue
                found = "my-number" if is_my_number(digits) else "twelve"
            if (n, found) not in counted:
                counted.add((n, found))
                self._hits.setdefault((index, found), _Hits()).add(rows[n])

    def start_at(self, ordinal: int) -> None:
        """The next record fed is the file's record number `ordinal` (0-based): the ones
        before it were fed to another scanner (a worker process converting chunks)."""
        self._sampled_rows = ordinal
        if ordinal >= NAME_SAMPLE_ROWS:
            self._pending = []

    def hand_over(self) -> tuple[dict[tuple[int, str], _Hits], dict[int, list[tuple[int, str]]]]:
        """What was found and sampled since the last hand-over; hits count afresh."""
        hits, self._hits = self._hits, {}
        samples = {}
        for index, cells in self._samples.items():
            handed = self._handed.get(index, 0)
            if len(cells) > handed:
                samples[index] = cells[handed:]
                self._handed[index] = len(cells)
        return hits, samples

    def take(
        self, handed: tuple[dict[tuple[int, str], _Hits], dict[int, list[tuple[int, str]]]]
    ) -> None:
        """Add another scanner's hand-over; taken in file order, the findings are those of
        feeding every record here."""
        hits, samples = handed
        for key, found in hits.items():
            mine = self._hits.setdefault(key, _Hits())
            mine.count += found.count
            mine.rows.extend(found.rows[: ROWS_KEPT - len(mine.rows)])
        for index, cells in samples.items():
            mine_cells = self._samples[index]
            mine_cells.extend(cells[: NAME_SAMPLE - len(mine_cells)])

    def findings(self) -> list[Finding]:
        """What was found, column by column, in column order."""
        found = []
        for index in range(len(self.columns)):
            for kind in ("email", "mobile-phone", "birth-date"):
                hits = self._hits.get((index, kind))
                if hits:
                    found.append(self._finding(index, kind, hits))
            my_number = self._my_number(index)
            if my_number:
                found.append(self._finding(index, "my-number", my_number))
            if index in self._samples:
                finding = self._names(index)
                if finding:
                    found.append(finding)
        return found

    def _my_number(self, index: int) -> _Hits | None:
        valid = self._hits.get((index, "my-number"))
        other = self._hits.get((index, "twelve"))
        if index in self._my_number_columns and (valid or other):
            both = [h for h in (valid, other) if h]
            rows = sorted(row for h in both for row in h.rows)[:ROWS_KEPT]
            return _Hits(sum(h.count for h in both), rows)
        if valid and valid.count >= (other.count if other else 0):
            return valid
        return None

    def _names(self, index: int) -> Finding | None:
        cells = self._samples[index]
        if not cells:
            return None
        kinds: dict[str, str] = {}
        hits = _Hits()
        person_header = index in self._person_columns
        for row, value in cells:
            if value not in kinds:
                kinds[value] = _name_kind(value)
            kind = kinds[value]
            if kind == "full" or (kind == "part" and person_header):
                hits.add(row)
        needed = 0.2 if person_header else 0.5
        if hits.count < 2 and not (person_header and hits.count):
            return None
        if hits.count < needed * len(cells):
            return None
        finding = self._finding(index, "personal-name", hits)
        finding.message = _(
            "Column %(column)s looks like names of people (names: %(count)d of %(checked)d "
            "values checked, first in row %(row)d), and column %(address)s holds addresses. A "
            "name with an address identifies a person: remove the column, or publish it only "
            "with their consent."
        ) % {
            "column": self.columns[index],
            "count": hits.count,
            "checked": len(cells),
            "row": hits.rows[0],
            "address": self.columns[self._address or 0],
        }
        return finding

    def _finding(self, index: int, kind: str, hits: _Hits) -> Finding:
        params = {"column": self.columns[index], "count": hits.count, "row": hits.rows[0]}
        if kind == "email":
            message = _(
                "Column %(column)s holds e-mail addresses (cells: %(count)d, first in row "
                "%(row)d). An e-mail address can identify a person: publish only shared office "
                "addresses."
            )
        elif kind == "mobile-phone":
            message = _(
                "Column %(column)s holds mobile phone numbers (cells: %(count)d, first in row "
                "%(row)d). A mobile number usually belongs to one person: publish an office "
                "number instead."
            )
        elif kind == "birth-date":
            message = _(
                "Column %(column)s holds dates of birth (cells: %(count)d, first in row "
                "%(row)d). A date of birth belongs to one person: remove the column, or "
                "publish it only with their consent."
            )
        else:
            message = _(
                "Column %(column)s holds twelve-digit numbers that may be My Numbers (個人番号) "
                "(cells: %(count)d, first in row %(row)d). The My Number Act forbids publishing "
                "them: remove the column."
            )
        return Finding(self.columns[index], kind, hits.count, hits.rows, message % params)
