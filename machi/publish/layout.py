"""Find the table inside a sheet: title and note rows, a header of one or more rows, the body.

Staff sheets put a title, notes and blank rows above the header, a group row merged over
sub-headers (男性 over 0-4歳, 5-9歳), section headings between records (＜手続き・くらし＞)
and footnotes under them (※…). `guess_layout` reads the first rows; `BodyReader` then
classifies every later row in one pass, holding back only single-cell rows, which are
footnotes when nothing but blank rows and other single cells follow them.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time

from django.utils.translation import gettext as _

from machi.publish.problems import Problem, column_letter, cut
from machi.publish.reading import place

SECTION_COLUMN = "区分"
MAX_HEADER_ROWS = 3
PENDING_LIMIT = 1000  # single-cell rows held back as possible footnotes; older ones are data
OWN_COLUMN_SHARE = 0.3  # body rows with text beyond the header that make an unnamed column
PROBLEM_LIMIT = 1000  # ragged rows listed one by one; then one summary (`ragged` counts all)

_BRACKETS = {
    "＜": "＞",
    "<": ">",
    "【": "】",
    "[": "]",
    "［": "］",
    "〈": "〉",
    "《": "》",
    "≪": "≫",
    "〔": "〕",
}  # not （…）: a bracketed line in a table is more often a remark than a heading
_BULLETS = "■□●◆◇▼▽▲△▶▷★☆◎"
SECTION_START = frozenset(_BRACKETS) | frozenset(_BULLETS)
_NOTE = re.compile(r"(※|＊|\*|注[\d０-９:：)）.．\s]|[（(]注|出典|資料[:：]|備考[:：])")
_VALUE = re.compile(r"(?=.*[\d０-９])[\d０-９\s.,，．:：/／\-－−()（）+＋%％〒]+")
_LINE_BREAK = re.compile(r"[ \t\u3000]*[\r\n]+[ \t\u3000]*")

_BLANK, _SECTION, _SINGLE, _DATA = range(4)


@dataclass
class Layout:
    header_rows: list[int]  # row numbers joined into the header
    body_start: int  # row number of the first row after the header that is not blank
    columns: list[str]  # header names, parts of a multi-row header joined with "_"
    title: str = ""  # text above the header (e.g. 港区内認可保育園等一覧)
    section_mode: str = "column"  # "column": section text in a last column 区分; "drop"
    problems: list[Problem] = field(default_factory=list)
    first_column: int = 0  # cells left of the table (an empty margin column) are not read


def guess_layout(head: list[tuple[int, list[object]]], *, sheet: str = "") -> Layout:
    """The likely layout from the first rows: the first row wide and wordy enough to be the
    header, plus the rows under it that complete a merged group header."""
    rows = [(number, [_text(c) for c in cells]) for number, cells in head]
    filled = [sum(1 for t in texts if t) for _n, texts in rows]
    nonblank = [i for i, count in enumerate(filled) if count]
    if not nonblank:
        return Layout(
            header_rows=[],
            body_start=rows[0][0] if rows else 1,
            columns=[],
            problems=[
                Problem(
                    code="no-table",
                    sheet=sheet,
                    message=_("No table found: the first %(count)d rows are empty.")
                    % {"count": len(rows)},
                )
            ],
        )
    widest = max(filled)
    need = max(min(2, widest), widest / 2)
    words = [_words(head[i][1]) for i in range(len(rows))]
    candidates = [
        i
        for i in nonblank
        if filled[i] >= need and len({t for t in rows[i][1] if t}) >= min(2, widest)
    ]
    header = next((i for i in candidates if words[i][0] >= words[i][1]), None)
    if header is None:
        header = max(candidates, key=lambda i: words[i][0]) if candidates else nonblank[0]
    chosen = [header]
    below = header + 1
    while (
        len(chosen) < MAX_HEADER_ROWS
        and below < len(rows)
        and filled[below]
        and not words[below][1]
        and _continues(_join([rows[i][1] for i in chosen]), rows[below][1])
    ):
        chosen.append(below)
        below += 1
    return _layout(head, rows, [rows[i][0] for i in chosen], None, sheet)


def layout_from(
    head: list[tuple[int, list[object]]],
    header_rows: list[int],
    body_start: int | None = None,
    *,
    sheet: str = "",
) -> Layout:
    """The layout staff chose (a corrected guess); header_rows may be empty (no header)."""
    rows = [(number, [_text(c) for c in cells]) for number, cells in head]
    return _layout(head, rows, sorted(header_rows), body_start, sheet)


def _layout(
    head: list[tuple[int, list[object]]],
    rows: list[tuple[int, list[str]]],
    header_rows: list[int],
    body_start: int | None,
    sheet: str,
) -> Layout:
    chosen = set(header_rows)
    header_texts = [[_name(c) for c in cells] for number, cells in head if number in chosen]
    last = max(header_rows) if header_rows else 0
    after = [(number, texts) for number, texts in rows if number > last]
    if body_start is None:
        body_start = next((n for n, texts in after if any(texts)), last + 1)
    # The table's columns: the header's, widened to columns with text in a fair share of the
    # rows under it (an unnamed column), but not to one stray cell (a ragged row).
    used = {i for texts in header_texts for i, t in enumerate(texts) if t}
    body = [texts for _n, texts in after if sum(1 for t in texts if t) >= 2]
    filled = Counter(i for texts in body for i, t in enumerate(texts) if t)
    share = max(2, OWN_COLUMN_SHARE * len(body))  # one cell is a ragged row, however short
    used |= {i for i, count in filled.items() if count >= share}
    first = min(used, default=0)
    end = max(used, default=-1) + 1
    names = _join(header_texts) if header_texts else []
    names = (names + [""] * end)[first:end]
    above = [texts for number, texts in rows if number < (min(header_rows) if header_rows else 0)]
    title = next((t for texts in above for t in texts if t), "")
    problems = _name_problems(names, first, last, sheet) if header_rows else []
    return Layout(
        header_rows=header_rows,
        body_start=body_start,
        columns=names,
        title=title,
        problems=problems,
        first_column=first,
    )


def _text(value: object) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _name(value: object) -> str:
    """A header cell as a column name: trimmed, line breaks removed (a space between words)."""
    text = _text(value)
    if "\n" in text or "\r" in text:
        text = _LINE_BREAK.sub(_line_break, text)
    return text


def _line_break(match: re.Match[str]) -> str:
    text, (start, end) = match.string, match.span()
    before = text[start - 1 : start]
    after = text[end : end + 1]
    wordy = before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
    return " " if wordy else ""


def _words(cells: list[object]) -> tuple[int, int]:
    """(text cells, value cells): a header is words, data rows carry numbers and dates."""
    text = value = 0
    for cell in cells:
        if type(cell) is str:
            stripped = cell.strip()
            if not stripped:
                continue
            if _VALUE.fullmatch(stripped):
                value += 1
            else:
                text += 1
        elif cell is not None and cell != "":
            value += 1
    return text, value


def _join(header: list[list[str]]) -> list[str]:
    """Column names of a header of one or more rows.

    A group label written once over its sub-headers (男性, "", …) is carried right while the
    row below goes on; a label merged down (地区 over 地区) is used once."""
    width = max((len(texts) for texts in header), default=0)
    rows = [texts + [""] * (width - len(texts)) for texts in header]
    filled = [list(texts) for texts in rows]
    for upper, lower in zip(filled, rows[1:], strict=False):
        group = ""
        for c in range(width):
            if upper[c]:
                group = upper[c] if lower[c] else ""
            elif group and lower[c]:
                upper[c] = group
            else:
                group = ""
    names = []
    for c in range(width):
        parts: list[str] = []
        for texts in filled:
            if texts[c] and (not parts or parts[-1] != texts[c]):
                parts.append(texts[c])
        names.append("_".join(parts))
    return names


def _continues(upper: list[str], lower: list[str]) -> bool:
    """Does `lower` complete the header `upper`? It must fill names that are empty, merged
    over several columns or open a group, and leave every other column empty or the same."""
    width = max(len(upper), len(lower))
    upper = upper + [""] * (width + 1 - len(upper))
    lower = lower + [""] * (width + 1 - len(lower))
    completes = False
    for c in range(width):
        # A merged group repeats its label in adjacent cells; a name used twice far apart
        # is a mistake in a one-row header, not a group.
        merged = upper[c] in (upper[c - 1] if c else "", upper[c + 1])
        opens_group = upper[c] and not upper[c + 1] and lower[c + 1]
        if not upper[c] or merged or opens_group:
            completes = completes or bool(lower[c])
        elif lower[c] and lower[c] != upper[c]:
            return False
    return completes


def _name_problems(names: list[str], first: int, row: int, sheet: str) -> list[Problem]:
    problems = []
    seen: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        letter = column_letter(first + i)
        if not name:
            problems.append(
                Problem(
                    code="empty-header",
                    level="warning",
                    sheet=sheet,
                    row=row,
                    column=letter,
                    message=_("%(where)s: the column has no name in the header.")
                    % {"where": _capital(place("", sheet, row, letter))},
                )
            )
        else:
            seen.setdefault(name, []).append(letter)
    for name, letters in seen.items():
        if len(letters) > 1:
            problems.append(
                Problem(
                    code="duplicate-column",
                    sheet=sheet,
                    row=row,
                    column=name,
                    value=cut(name),
                    message=_(
                        "%(where)s: the column name “%(name)s” is used %(count)d times "
                        "(columns %(columns)s); every column needs its own name."
                    )
                    % {
                        "where": _capital(place("", sheet, row)),
                        "name": name,
                        "count": len(letters),
                        "columns": ", ".join(letters),
                    },
                )
            )
    return problems


def _capital(text: str) -> str:
    """A place that starts a sentence (no file name before it): "Row 2, column C"."""
    return text[:1].upper() + text[1:]


def is_section(text: str) -> bool:
    """A section heading: bracketed (＜手続き・くらし＞, 【…】) or bulleted (■…)."""
    if len(text) < 2:
        return False
    mark = text[0]
    if mark in _BRACKETS:
        return text[-1] == _BRACKETS[mark] and bool(text[1:-1].strip())
    return mark in _BULLETS and bool(text[1:].strip())


def section_label(text: str) -> str:
    """The heading without its brackets or bullet: ＜手続き・くらし＞ → 手続き・くらし."""
    return (text[1:-1] if text[0] in _BRACKETS else text[1:]).strip()


# A first cell that makes a row the sum of the rows above (合計 in a ward's tables), when
# the rest of the row is numbers. 総数 is left alone: it heads real rows (all ages).
TOTAL_WORDS = frozenset({"合計", "合 計", "総計", "総 計", "小計", "小 計", "計", "合計:", "計:"})


def _only_numbers(cells: list[object], first: int) -> bool:
    rest = [c for c in cells[first + 1 :] if c != "" and c is not None]
    return bool(rest) and all(
        type(c) in (int, float) or (type(c) is str and c.replace(",", "").strip().isdigit())
        for c in rest
    )


class BodyReader:
    """Streams the data rows after the header; counts what it skipped and why."""

    def __init__(self, layout: Layout, *, sheet: str = "", source_name: str = "") -> None:
        self.layout = layout
        self.sheet = sheet
        self.source_name = source_name
        self.problems: list[Problem] = []
        self.sections = 0
        self.blank = 0
        self.footnotes: list[str] = []
        self.totals: list[int] = []  # 合計 rows left out (row numbers)
        self.ragged = 0  # rows left out for cells beyond the last column (all of them)
        self.short = 0  # rows with fewer cells than the columns, read with empty ones

    def records(
        self, rows: Iterator[tuple[int, list[object]]]
    ) -> Iterator[tuple[int, list[object]]]:
        """Data rows, each fitted to the columns (plus 区分 in "column" section mode)."""
        layout = self.layout
        first = layout.first_column
        second = first + 1
        end = first + len(layout.columns)
        start = layout.body_start
        with_section = layout.section_mode == "column"
        section = ""
        pending: deque[tuple[int, list[object], str]] = deque()  # possible footnotes
        for number, cells in rows:
            if number < start:
                continue
            size = len(cells)
            if size > first and cells[first] in TOTAL_WORDS and _only_numbers(cells, first):
                # A sum of the rows above: published, it would be counted with them.
                self.totals.append(number)
                continue
            # The usual row starts with two different cells: data, with no more checks
            # (a heading merged across the row repeats itself).
            if not (
                size > second
                and cells[first] != ""
                and cells[second] != ""
                and cells[first] != cells[second]
            ):
                kind, text = self._classify(cells, first, end - first)
                if kind == _BLANK:
                    self.blank += 1
                    continue
                if kind == _SINGLE:
                    if len(pending) >= PENDING_LIMIT:  # too many for footnotes: the oldest is data
                        yield from self._release(pending, first, end, section, with_section, 1)
                    pending.append((number, cells, text))
                    continue
                if pending:
                    yield from self._release(pending, first, end, section, with_section)
                if kind == _SECTION:
                    self.sections += 1
                    section = text
                    continue
            elif pending:
                yield from self._release(pending, first, end, section, with_section)
            if size == end and not first:
                record = cells
            else:
                record = self._fit(number, cells, first, end)
                if record is None:
                    continue
            if with_section:
                record.append(section)
            yield number, record
        self.footnotes.extend(text for _n, _cells, text in pending)
        if self.short > PROBLEM_LIMIT:
            self._more(
                "short-row",
                _("%(where)s: %(count)d more rows have fewer cells than the columns."),
                self.short,
                level="warning",
            )
        if self.ragged > PROBLEM_LIMIT:
            self._more(
                "ragged-row",
                _(
                    "%(where)s: %(count)d more rows have cells beyond the last column "
                    "and were left out."
                ),
                self.ragged,
            )

    def _more(self, code: str, message: str, count: int, level: str = "error") -> None:
        """One problem for the rows of a kind past the PROBLEM_LIMIT reported one by one."""
        where = place(self.source_name, self.sheet)
        self.problems.append(
            Problem(
                code=code,
                level=level,
                sheet=self.sheet,
                message=message % {"where": where, "count": count - PROBLEM_LIMIT},
            )
        )

    def _release(
        self,
        pending: deque[tuple[int, list[object], str]],
        first: int,
        end: int,
        section: str,
        with_section: bool,
        count: int | None = None,
    ) -> Iterator[tuple[int, list[object]]]:
        """Held-back single-cell rows (all, or the oldest `count`) that turned out to be data."""
        for _held in range(len(pending) if count is None else count):
            number, cells, _note = pending.popleft()
            record = self._fit(number, cells, first, end)
            if record is not None:
                if with_section:
                    record.append(section)
                yield number, record

    def _classify(self, cells: list[object], first: int, width: int) -> tuple[int, str]:
        lead = cells[first] if first < len(cells) else ""
        if len(cells) - cells.count("") >= 2 and not (
            type(lead) is str and lead[:1] in SECTION_START
        ):
            return _DATA, ""  # two or more cells, no heading mark
        filled = [
            (i, v) for i, v in enumerate(cells) if v != "" and not (type(v) is str and v.isspace())
        ]
        if not filled:
            return _BLANK, ""
        index, value = filled[0]
        # One cell, or one merged cell filled across a run of columns.
        if all(v == value for _i, v in filled) and filled[-1][0] - index == len(filled) - 1:
            text = _text(value)
            if type(value) is str and is_section(text):
                return _SECTION, section_label(text)
            if _NOTE.match(text) or (index <= first and width > 1):
                return _SINGLE, text
        return _DATA, ""

    def _fit(self, number: int, cells: list[object], first: int, end: int) -> list[object] | None:
        size = len(cells)
        if size > end:
            for offset, value in enumerate(cells[end:]):
                if value != "" and not (type(value) is str and value.isspace()):
                    self._ragged(number, end + offset, value, size)
                    return None
            return cells[first:end]
        if size == end:
            return cells[first:] if first else cells
        if size > first:  # not a row that ends before the table starts (a blank one)
            self._short(number, size, end)
        return cells[first:] + [""] * (end - max(size, first))

    def _short(self, number: int, size: int, end: int) -> None:
        """A row with fewer cells than the header (CSV; workbooks' rows are full width):
        read with empty cells, and said, since a lost comma shifts the cells after it."""
        self.short += 1
        if self.short > PROBLEM_LIMIT:
            return
        letter = column_letter(size)
        self.problems.append(
            Problem(
                code="short-row",
                level="warning",
                sheet=self.sheet,
                row=number,
                column=letter,
                message=_(
                    "%(where)s: the row has %(found)d cells for the %(columns)d columns; the "
                    "cells from column %(letter)s on were read as empty. Look for a missing comma."
                )
                % {
                    "where": place(self.source_name, self.sheet, number),
                    "found": size - self.layout.first_column,
                    "columns": len(self.layout.columns),
                    "letter": letter,
                },
            )
        )

    def _ragged(self, number: int, index: int, value: object, size: int) -> None:
        self.ragged += 1
        if self.ragged > PROBLEM_LIMIT:
            return
        letter = column_letter(index)
        self.problems.append(
            Problem(
                code="ragged-row",
                sheet=self.sheet,
                row=number,
                column=letter,
                value=cut(value),
                message=_(
                    "%(where)s: the row has a cell beyond the last of the %(columns)d columns, "
                    "holding “%(value)s”; the row was left out. Look for a stray comma or a "
                    "missing quote."
                )
                % {
                    "where": place(self.source_name, self.sheet, number, letter),
                    "columns": len(self.layout.columns),
                    "value": cut(value),
                },
            )
        )
