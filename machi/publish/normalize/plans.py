"""ColumnPlan: how one column's cells are cleaned and typed, and what that changed."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter, ne
from typing import Any

from django.utils.translation import gettext as _

from machi.publish.normalize.parsers import (
    _NO_VALUE,
    _Invalid,
    normalise_clock,
    normalise_mark,
    normalise_phone,
    normalise_postcode,
    normalise_yes_no,
    parse_date,
    parse_datetime,
    parse_degrees,
    parse_flag,
    parse_number,
    parse_time,
    parse_year,
)
from machi.publish.normalize.text import _WIDE, tidy_spaces, to_half_width
from machi.publish.problems import Problem, cut

PROBLEM_LIMIT = 200  # problems kept per column; `problem_count` has them all
CACHE_LIMIT = 20_000  # distinct values remembered per column
# ...of which clean ones, which the quick path reads anyway: enough for a column of
# kinds or codes, while a column of names does not fill memory with them.
QUICK_CACHE_LIMIT = 2_000
# Once a column's cache is full, the share of its cells found in it over the next
# CACHE_LIMIT look-ups says whether its values repeat: below this (numbers, dates or
# coordinates that do not repeat) the cache is emptied and not filled again, so a
# worker's memory stays what it is after the first rows. Text columns whose cells are
# mostly new (addresses, phone numbers) skip the cache (_convert_text).
CACHE_MIN_HITS = 0.15


@dataclass
class Change:
    """One rule on one column."""

    rule: str
    count: int = 0
    samples: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PlanCounts:
    """ColumnPlan.hand_over's counts: per rule (rule, count, new samples); problems kept."""

    changes: list[tuple[str, int, list[tuple[str, str]]]]
    problems: list[Problem]
    problem_count: int


class _Bad:
    """A cache entry's mark for a cell that cannot be converted, with the reason."""

    __slots__ = ("reason", "params")

    def __init__(self, reason: str, params: dict[str, str]) -> None:
        self.reason, self.params = reason, params


_MESSAGES: dict[str, Callable[[], str]] = {
    "integer": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a whole number."),
    "number": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a number."),
    "boolean": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a yes/no value."),
    "date": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a date."),
    "time": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a time of day."),
    "datetime": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a date and time."),
    "year": lambda: _("Row %(row)d, column %(column)s: %(value)s is not a year."),
    "degrees": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is not a coordinate in degrees."
    ),
    "era-ran": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is not a date: %(era)s ran from "
        "%(start)s to %(end)s."
    ),
    "era-began": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is not a date: %(era)s began on %(start)s."
    ),
    "past-midnight": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is past midnight, which a time column "
        "cannot hold; make the column text to keep it."
    ),
    # The standard's column must stay a time: text would break it as well.
    "past-midnight-standard": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is past midnight; the standard asks for a "
        "time of day, which ends at 23:59. For open all day or until midnight, write 23:59, "
        "or say so in the notes column."
    ),
    "unit": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is not a number in %(unit)s, the unit of "
        "this column."
    ),
    "time-range": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is a range of times, and a time column "
        "holds one: put the start and the end in two columns (開始時間 and 終了時間), or a "
        "note such as 24時間 in the notes column."
    ),
}
_CLOCK_TEXT = r"\s*\d{1,2}[:時]\d{0,2}分?\s*"
_TIME_RANGE = re.compile(rf"{_CLOCK_TEXT}[～〜~\-ー－―から]+{_CLOCK_TEXT}")


def _as_text(value: object) -> str:
    if value.__class__ is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?").fullmatch
_SLOW = object()  # a quick path's "this cell needs the rules"
_SEPARATOR = "\x1f"  # ASCII's unit separator, which cells practically never hold (checked)
_JOIN = _SEPARATOR.join
# Spaces other than the space rule's own (and the separator): rare enough that a column
# holding one takes the rule cell by cell.
_OTHER_SPACE = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u1680\u2000-\u200a\u2028\u2029\u202f\u205f]")


def _untidy(joined: str) -> bool:
    """Whether the space rule may change a cell of these joined cells: one starting or
    ending with a space, or holding a run or kind of space it rewrites (tidy_spaces).
    Searches for fixed text, which run in C at memory speed (a regular expression with
    alternatives took longer than the rules cell by cell)."""
    return (
        "  " in joined
        or "\u3000" in joined
        or "\t" in joined
        or "\xa0" in joined
        or " " + _SEPARATOR in joined
        or _SEPARATOR + " " in joined
        or joined[:1] == " "
        or joined[-1:] == " "
        or _OTHER_SPACE.search(joined) is not None
    )


_FIRST, _SECOND = itemgetter(0), itemgetter(1)  # a cache entry's value and changes


# Quick paths: an already clean cell (the common case) costs a few C calls, not the rules.
def _quick_text(value: str) -> object:
    if (
        value
        and (value.isascii() or not _WIDE.search(value))
        and not value[0].isspace()
        and not value[-1].isspace()
        and "  " not in value
        and "\u3000" not in value
        and "\t" not in value
        and "\xa0" not in value
    ):
        return value
    return _SLOW


def _quick_integer(value: str) -> object:
    if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
        return int(value)
    return _SLOW


def _quick_number(value: str) -> object:
    if _PLAIN_NUMBER(value):
        return float(value) if "." in value else int(value)
    return _SLOW


def _quick_degrees(value: str) -> object:
    return float(value) if _PLAIN_NUMBER(value) else _SLOW


def _no_quick(value: str) -> object:
    return _SLOW


_QUICK = {"string": _quick_text, "integer": _quick_integer, "number": _quick_number}


def _integer(value: object, unit: str) -> tuple[object, str]:
    number, rule, _unit = parse_number(value, unit, zeros=True)
    if isinstance(number, float):
        if not number.is_integer():
            raise _Invalid("")
        return int(number), "number"
    return number, rule


def _number(value: object, unit: str) -> tuple[object, str]:
    number, rule, _unit = parse_number(value, unit, zeros=True)
    return number, rule


def _time(value: object, unit: str) -> tuple[object, str]:
    clock, rule = parse_time(value)
    if isinstance(clock, str):
        raise _Invalid("past-midnight")
    return clock, rule


def _text(
    normalise: Callable[[str], str], rule: str
) -> Callable[[object, str], tuple[object, str]]:
    def parse(value: object, unit: str) -> tuple[object, str]:
        if not isinstance(value, str):
            return _as_text(value), ""
        out = normalise(value)
        return out, "" if out == value else rule

    return parse


_TYPE_PARSERS: dict[str, Callable[[object, str], tuple[object, str]]] = {
    "integer": _integer,
    "number": _number,
    "boolean": lambda value, unit: parse_flag(value),
    "date": lambda value, unit: parse_date(value),
    "datetime": lambda value, unit: parse_datetime(value),
    "time": _time,
    "year": lambda value, unit: parse_year(value),
}
# Text roles: the normaliser (text → text, never failing) and the rule it counts under.
_ROLE_TEXT: dict[str, tuple[Callable[[str], str], str]] = {
    "phone": (normalise_phone, "phone"),
    "postcode": (normalise_postcode, "postcode"),
    "clock": (normalise_clock, "time"),
    "mark": (normalise_mark, "mark"),
    "yes-no": (normalise_yes_no, "yes-no"),
}
_ROLE_PARSERS = {
    "lat": lambda value, unit: parse_degrees(value),
    "lon": lambda value, unit: parse_degrees(value),
    **{role: _text(normalise, rule) for role, (normalise, rule) in _ROLE_TEXT.items()},
}
_PLAIN = _text(lambda text: text, "")


@dataclass
class ColumnPlan:
    """How one column is cleaned and typed; counts what it changed and what it could not read.

    `role` refines the type: "lat"/"lon" (degrees; `partner` is the index of the other
    coordinate's plan), "phone", "postcode", "clock" (times kept as text), "mark" and
    "yes-no" (a standard's 1-or-empty and 有/無 columns). `unit` is the unit stripped from
    numbers (円, 人, ㎡ …).
    `by_standard`: the type is the national standard's (staff did not change it), so text
    is no way out for a bad cell.
    `time_format`: the standard's form of a time column ("%H:%M": the national standards
    write 09:00), in which its times are written and judged changed.
    """

    name: str
    type: str
    rules: list[str]
    role: str = ""
    unit: str = ""
    partner: int | None = None
    by_standard: bool = False
    time_format: str = ""
    changes: dict[str, Change] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    _cache: dict[object, tuple[object, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # The cache is "filling", then "judged" (cells looked up and missed are counted),
    # then "kept" or "dropped" (CACHE_MIN_HITS).
    _cache_state: str = field(default="filling", init=False, repr=False, compare=False)
    _looked: int = field(default=0, init=False, repr=False, compare=False)
    _missed: int = field(default=0, init=False, repr=False, compare=False)
    _quick: Callable[[str], object] = field(init=False, repr=False, compare=False)
    _parser: Callable[[object, str], tuple[object, str]] = field(
        init=False, repr=False, compare=False
    )
    _whole_text: bool = field(default=False, init=False, repr=False, compare=False)
    # Indices of the table's latitude plans and lone longitude plans (check_coordinates).
    _coordinates: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)
    # Samples of each rule already handed over (hand_over), by rule.
    _handed: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Text, and text roles (phone numbers, postcodes): _convert_text's path.
        self._whole_text = self.type == "string" and (not self.role or self.role in _ROLE_TEXT)
        degrees = self.role in ("lat", "lon")
        self._quick = _quick_degrees if degrees else _QUICK.get(self.type, _no_quick)
        if self.role and not degrees:
            self._quick = _no_quick
        self._parser = _ROLE_PARSERS.get(self.role) or _TYPE_PARSERS.get(self.type, _PLAIN)

    def convert(self, value: object, row: int) -> object:
        """One cell's convert_column."""
        return self.convert_column([value], [row])[0]

    def convert_column(self, values: Sequence[object], rows: Sequence[int]) -> list[object]:
        """Each cell normalised (str for strings, int/float/bool/date/time/datetime for
        typed; None for empty). Unconvertible values in a typed column keep their text and
        record a Problem (code "bad-<type>", level error) with row and column.

        Cells repeat (kinds, towns, dates, flags), so the cache is looked up for the whole
        column in C and each distinct entry's changes are counted once; only cells seen
        for the first time take the quick path or the rules, in order, as one by one."""
        if not values:
            return []
        cache = self._cache
        entries: list[Any] = list(map(cache.get, values))
        missed = entries.count(None)
        if self._cache_state == "judged":
            self._looked += len(entries)
            self._missed += missed
        if self._whole_text and missed * 2 > len(entries):
            # Mostly values not seen yet (addresses, numbers, web addresses): the rules
            # applied to the whole column at once cost less than the cells one by one.
            converted = self._convert_text(values)
            if converted is not None:
                return converted
        if missed:
            quick = self._quick
            for i, entry in enumerate(entries):
                if entry is not None:
                    continue
                value = values[i]
                entry = cache.get(value)  # an earlier cell of this column may have added it
                if entry is None:
                    out = quick(value) if value.__class__ is str else _SLOW
                    if out is _SLOW:
                        entry = self._remember(value)
                    else:
                        entry = (out, ())
                        if len(cache) < QUICK_CACHE_LIMIT and self._cache_state != "dropped":
                            cache[value] = entry
                entries[i] = entry
        changed = list(map(_SECOND, entries))
        counts = Counter(map(id, changed))
        if len(counts) > 1 or changed[0]:
            by_id = dict(zip(map(id, changed), changed, strict=True))
            bad = False
            for key, count in counts.items():
                changes = by_id[key]
                if changes.__class__ is tuple:
                    for change in changes:
                        change.count += count
                elif changes:
                    bad = True
            if bad:  # problems in row order
                for i, changes in enumerate(changed):
                    if changes.__class__ is _Bad:
                        self._bad(values[i], rows[i], changes)
        return list(map(_FIRST, entries))

    def _convert_text(self, values: Sequence[object]) -> list[object] | None:
        """A text column's cells with the width and space rules, and its role's, applied: what
        _compute gives each cell, with the same counts and samples, for much less. The
        cells are joined into one string, which fixed-text searches (C, at memory speed)
        tell whether a rule can change any cell; a rule that can runs on each cell
        through map, and what it changed is counted by comparing the lists. None when a
        cell is not text (Excel's numbers and dates) or holds the separator."""
        try:
            joined = _JOIN(values)  # type: ignore[arg-type]
        except TypeError:
            return None
        if joined.count(_SEPARATOR) != len(values) - 1:
            return None
        texts: Sequence[str] = values  # type: ignore[assignment]
        # Each cell by itself: str.translate of a whole column of Japanese text took longer
        # than to_half_width's quick return on the cells without wide characters.
        if not joined.isascii() and _WIDE.search(joined):
            texts = self._count("width", texts, list(map(to_half_width, texts)))
            joined = _JOIN(texts)
        if _untidy(joined):
            texts = self._count("space", texts, list(map(tidy_spaces, texts)))
        if self.role:
            normalise, rule = _ROLE_TEXT[self.role]
            texts = self._count(rule, texts, [normalise(t) if t else t for t in texts])
        return [text or None for text in texts]

    def _count(self, rule: str, before: Sequence[str], after: list[str]) -> list[str]:
        """Count the cells `rule` changed (before → after), keep its first samples."""
        changed = list(map(ne, before, after))
        count = changed.count(True)
        if count:
            change = self.changes.get(rule)
            if change is None:
                change = self.changes[rule] = Change(rule)
            change.count += count
            for sample in compress(zip(before, after, strict=True), changed):
                if len(change.samples) >= 5:
                    break
                if sample not in change.samples:
                    change.samples.append(sample)
        return after

    def _remember(self, value: object) -> tuple[object, Any]:
        entry = self._compute(value)
        if len(self._cache) < CACHE_LIMIT:
            if self._cache_state != "dropped" and (
                # Never cache numbers equal to 0 or 1: True == 1 would find their entry.
                value.__class__ is str or not (value == 0 or value == 1)
            ):
                self._cache[value] = entry
        elif self._cache_state == "filling":
            self._cache_state = "judged"
        elif self._cache_state == "judged" and self._looked >= CACHE_LIMIT:
            if self._looked - self._missed < CACHE_MIN_HITS * self._looked:
                self._cache.clear()
                self._cache_state = "dropped"
            else:
                self._cache_state = "kept"
        return entry

    def _compute(self, value: object) -> tuple[object, Any]:
        steps: list[tuple[str, object, object]] = []
        text: object = value
        if value.__class__ is str:
            text = value if value.isascii() else to_half_width(value)  # type: ignore[union-attr]
            if text != value:
                steps.append(("width", value, text))
            spaced = tidy_spaces(text)  # type: ignore[arg-type]
            if spaced != text:
                steps.append(("space", text, spaced))
                text = spaced
            if not text:
                return None, self._changes(steps)
            if text in _NO_VALUE and self.type != "string":
                steps.append(("dash", text, ""))
                return None, self._changes(steps)
            if steps:  # now as clean as a quick path's cell (１２３ → 123)?
                out = self._quick(text)
                if out is not _SLOW:
                    return out, self._changes(steps)
        elif value is None:
            return None, ()
        try:
            out, rule = self._parser(text, self.unit)
        except _Invalid as error:
            reason = error.args[0] if error.args and error.args[0] else self._kind()
            params = error.args[1] if len(error.args) > 1 else {}
            return _as_text(value), _Bad(reason, params)
        if self.time_format and out.__class__ is dt.time and text.__class__ is str:
            rule = "" if text == self.shown(out) else "time"
        if rule:
            steps.append((rule, text, out))
        return out, self._changes(steps) if steps else ()

    def shown(self, value: object) -> str:
        """A cell's value as the clean CSV writes it."""
        if (
            self.time_format
            and value.__class__ is dt.time
            and not (value.second or value.microsecond)  # type: ignore[union-attr]
        ):
            return value.strftime(self.time_format)  # type: ignore[union-attr]
        return _as_text(value)

    def _kind(self) -> str:
        return "degrees" if self.role in ("lat", "lon") else self.type

    def _changes(self, steps: list[tuple[str, object, object]]) -> tuple[Change, ...]:
        found = []
        for rule, before, after in steps:
            change = self.changes.get(rule)
            if change is None:
                change = self.changes[rule] = Change(rule)
            if len(change.samples) < 5:
                sample = (_as_text(before), self.shown(after))
                if sample not in change.samples:
                    change.samples.append(sample)
            found.append(change)
        return tuple(found)

    def _bad(self, value: object, row: int, bad: _Bad) -> None:
        self.problem_count += 1
        if len(self.problems) >= PROBLEM_LIMIT:
            return
        text = cut(_as_text(value))
        params = {"row": row, "column": self.name, "value": text, **bad.params}
        reason = bad.reason
        if reason == "past-midnight" and self.by_standard:
            reason = "past-midnight-standard"
        if self.type == "time" and _TIME_RANGE.fullmatch(to_half_width(text)):
            reason = "time-range"  # 8:30～17:15 in one cell: the standards have two columns
        self.problems.append(
            Problem(
                code=f"bad-{self.type}",
                message=_MESSAGES[reason]() % params,
                row=row,
                column=self.name,
                value=text,
            )
        )

    def hand_over(self) -> PlanCounts:
        """What this plan counted and kept since the last hand-over, counting afresh from
        here: a worker process converting chunks of a file gives this with each chunk.
        The caches stay, so a value seen in an earlier chunk costs a look-up again."""
        changes = []
        for rule, change in self.changes.items():
            handed = self._handed.get(rule, 0)
            if change.count or len(change.samples) > handed:
                changes.append((rule, change.count, change.samples[handed:]))
                change.count = 0
                self._handed[rule] = len(change.samples)
        counts = PlanCounts(changes, self.problems, self.problem_count)
        self.problems, self.problem_count = [], 0
        return counts

    def take(self, counts: PlanCounts) -> None:
        """Add a chunk's counts. Taken in file order, the counts, samples and kept
        problems are those of converting every record here."""
        for rule, count, samples in counts.changes:
            change = self.changes.get(rule)
            if change is None:
                change = self.changes[rule] = Change(rule)
            change.count += count
            for sample in samples:
                if len(change.samples) < 5 and sample not in change.samples:
                    change.samples.append(sample)
        self.problems.extend(counts.problems[: PROBLEM_LIMIT - len(self.problems)])
        self.problem_count += counts.problem_count

    def note(self, problem: Problem) -> None:
        """Keep a problem found outside convert (coordinates), within the same cap."""
        self.problem_count += 1
        if len(self.problems) < PROBLEM_LIMIT:
            self.problems.append(problem)
