"""The national standard datasets as the project's own Table Schemas.

Each `standards/<slug>.json` defines one 自治体標準オープンデータセット (or its legacy
推奨データセット edition): item names in order, types, constraints and known
variants of each item name (`aliases`). This module finds the standard a file's
header follows, checks normalised cell values against it, and checks the check
digit of 全国地方公共団体コード.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from machi.lib import japanese
from machi.lib.i18n import english_requested
from machi.publish.problems import cut

DIRECTORY = Path(__file__).with_name("standards")

# The tag CKAN-style harvesters look for on datasets that follow a standard.
TAG = "自治体標準ODS"

# The best match at or above this score is proposed to staff as "this file
# follows <standard>". Real standard files score 0.95–1.0, 高松市's 保育所 list
# (English names, no code or kana columns) 0.57; 焼津市's 避難所 list, which only
# shares the usual name/address/lat-lon block, 0.41. A legacy file's runner-up
# can pass too (an AED list is 0.71 of 公共施設一覧): use it for the best match.
CONFIDENT = 0.5
LEADING, LEAD = 0.3, 1.8  # ...or at least 0.3 and 1.8 times the next standard's score

# Weights of a matched field: every field 1, plus 1 for a required one, plus 1
# for the leading identification columns that tell the editions apart, plus up
# to 2 for a name few standards share (SSID counts, 住所 hardly: see _spread).
_REQUIRED_WEIGHT = 1
_IDENTIFICATION_WEIGHT = 1
_DISTINCT_WEIGHT = 2


@dataclass(frozen=True)
class Standard:
    slug: str
    title: str
    edition: str  # "legacy", or the edition date such as "2026-08-01"
    schema: dict[str, Any] = dataclasses.field(compare=False, repr=False)

    @property
    def title_en(self) -> str:
        return str(self.schema.get("title_en", ""))

    @property
    def file_stem(self) -> str:
        """Its files' name after the municipality code (aed, population_yyyymmdd)."""
        return str(self.schema.get("file_name", ""))

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.schema["fields"]]

    def required(self) -> list[str]:
        """Fields a conforming file must have: required values and mandatory columns."""
        return [f["name"] for f in self.schema["fields"] if _is_required(f)]

    def field(self, name: str) -> dict[str, Any]:
        """The field's descriptor; KeyError names the field when the standard has none."""
        return _fields(self.slug)[name]


def _is_required(f: dict[str, Any]) -> bool:
    return bool(f.get("constraints", {}).get("required")) or f.get("level") == "required"


@cache
def _load() -> dict[str, Standard]:
    standards = {}
    for path in sorted(DIRECTORY.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        standards[path.stem] = Standard(
            slug=path.stem, title=schema["title"], edition=schema["edition"], schema=schema
        )
    return standards


def all_standards() -> list[Standard]:
    return list(_load().values())


def get(slug: str) -> Standard:
    """The standard with this slug; KeyError for an unknown slug."""
    return _load()[slug]


@cache
def _fields(slug: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in get(slug).schema["fields"]}


def standard_title(slug: str) -> str:
    """A standard's name in the reader's language (公衆トイレ一覧, Public toilets); the slug
    if machi does not know it."""
    if not slug:
        return ""
    try:
        standard = get(slug)
    except KeyError:
        return slug
    return (english_requested() and standard.title_en) or standard.title


def tags_for(standard: Standard) -> list[str]:
    """Tags that let harvesters find a dataset following this standard."""
    return [TAG, standard.title]


def schema_for_publish(standard: Standard) -> dict[str, Any]:
    """A plain Table Schema for the published table, without our matching notes."""
    keep = ("name", "title", "type", "format", "constraints")
    return {
        "fields": [
            {k: copy.deepcopy(f[k]) for k in keep if k in f} for f in standard.schema["fields"]
        ]
    }


# Header matching ----------------------------------------------------------------

# Dashes and their look-alikes. After kana they are the long-vowel mark
# (コ―ド → コード); elsewhere a hyphen (0ー4歳 → 0-4歳). Wave dashes are ranges only
# between digits (0～4歳).
_DASHES = frozenset("-‐‑‒–—―−ー~〜")
_WAVES = frozenset("~〜")
_DROP = re.compile(r"[\s_()\[\]【】〔〕「」『』]+")
_EDGES = " *※◎○●.:"


def _is_kana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u30ff"


@lru_cache(maxsize=4096)
def header_key(name: str) -> str:
    """A header reduced to what identifies it: width, brackets, dashes, spaces, _ and case."""
    text = unicodedata.normalize("NFKC", name).strip(_EDGES).casefold()
    chars: list[str] = []
    for i, ch in enumerate(text):
        if ch in _DASHES:
            before = chars[-1] if chars else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if _is_kana(before):
                ch = "ー"
            elif ch not in _WAVES or (before.isdigit() and after.isdigit()):
                ch = "-"
        chars.append(ch)
    return _DROP.sub("", "".join(chars))


_QUALIFIER = re.compile(r"[(（［\[【][^)）］\]】]*[)）］\]】]")


def _plainer_keys(name: str) -> list[str]:
    """Keys of a header that matched nothing, said more plainly: without what its
    brackets qualify (緯度（世界測地系）, 経度(東経)), and for a header joined from two
    rows whose lower row is a short word (人口_男, 総数_計), that word: a longer one is a
    standard's own compound name (所在地_都道府県)."""
    keys = [header_key(_QUALIFIER.sub("", name))]
    lower = name.rsplit("_", 1)[1] if "_" in name else ""
    if 0 < len(lower) <= 2:
        keys.append(header_key(lower))
    return [key for key in keys if key]


def _near(a: str, b: str) -> bool:
    """One typo apart: a letter changed, added, dropped, or two neighbours swapped.

    Numbers must agree (man1 is not man2). A kanji for another is a typo only as the
    input method makes them, one that reads the same (男姓 for 男性, 番合 for 番号); else it
    is another word (開館時間 is not 開始時間, 男 is not 女).
    """
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 4 or a == b:
        return False
    if re.sub(r"\D", "", a) != re.sub(r"\D", "", b):
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return not (_is_kanji(a[i]) and _is_kanji(b[i])) or _homophones(a, b, i)
        return a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short[i:] == long[i + 1 :]


def _homophones(a: str, b: str, i: int) -> bool:
    """Whether the kanji at `i` read alike, alone or with the one before them."""
    before = max(i - 1, 0)
    return japanese.reading(a[i]) == japanese.reading(b[i]) or japanese.reading(
        a[before : i + 1]
    ) == japanese.reading(b[before : i + 1])


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@cache
def _spread() -> dict[str, float]:
    """How much a field name tells the standards apart: 1 for a name only one standard
    has, 0 for a name every standard has (inverse document frequency, scaled)."""
    standards = all_standards()
    counts: dict[str, int] = {}
    for standard in standards:
        for name in standard.field_names():
            counts[name] = counts.get(name, 0) + 1
    scale = math.log(len(standards))
    return {name: math.log(len(standards) / n) / scale for name, n in counts.items()}


@dataclass(frozen=True)
class _Index:
    names: dict[str, str]  # key of a field name -> field
    aliases: dict[str, str]  # key of an alias -> field
    weights: dict[str, int]


@cache
def _index(slug: str) -> _Index:
    standard = get(slug)
    identification = set(standard.schema.get("identification", []))
    spread = _spread()
    names, aliases, weights = {}, {}, {}
    for f in standard.schema["fields"]:
        names[header_key(f["name"])] = f["name"]
        for alias in f.get("aliases", []):
            aliases.setdefault(header_key(alias), f["name"])
        weights[f["name"]] = (
            1
            + _REQUIRED_WEIGHT * _is_required(f)
            + _IDENTIFICATION_WEIGHT * (f["name"] in identification)
            + _DISTINCT_WEIGHT * spread[f["name"]]
        )
    return _Index(names=names, aliases=aliases, weights=weights)


@dataclass
class Match:
    standard: Standard
    score: float  # 0..1
    mapping: dict[str, str]  # source column -> standard field name
    missing_required: list[str]
    missing: list[str]  # every field no column maps to, required ones included
    extra: list[str]  # named source columns not mapped


def match_to(standard: Standard, columns: list[str]) -> Match:
    """How the columns map onto this standard.

    Names first, then aliases, then one-typo matches with a single candidate;
    each field takes at most one column (the first). The score is the weighted
    share of the standard's fields that were found, times the share of the
    file's named columns that found a field: a file about something else that
    shares the usual name/address/lat-lon block scores low on both.
    """
    index = _index(standard.slug)
    keys = [header_key(c) for c in columns]
    assigned: dict[int, str] = {}
    taken: set[str] = set()

    def assign(i: int, name: str | None) -> None:
        if name is not None and name not in taken:
            assigned[i] = name
            taken.add(name)

    for table in (index.names, index.aliases):
        for i, key in enumerate(keys):
            if key and i not in assigned:
                assign(i, table.get(key))
    candidates = [*index.names.items(), *index.aliases.items()]
    for i, key in enumerate(keys):
        if key and i not in assigned:
            near = {name for other, name in candidates if _near(key, other)}
            if len(near) == 1:
                assign(i, near.pop())
    for i, column in enumerate(columns):
        if keys[i] and i not in assigned:
            for key in _plainer_keys(column):
                found = index.names.get(key) or index.aliases.get(key)
                if found is not None and found not in taken:
                    assign(i, found)
                    break

    named = [i for i, key in enumerate(keys) if key]
    total = sum(index.weights.values())
    found = sum(index.weights[name] for name in taken)
    score = (found / total) * (len(taken) / len(named)) if named else 0.0
    return Match(
        standard=standard,
        score=round(score, 4),
        mapping={columns[i]: assigned[i] for i in sorted(assigned)},
        missing_required=[n for n in standard.required() if n not in taken],
        missing=[n for n in standard.field_names() if n not in taken],
        extra=[columns[i] for i in named if i not in assigned],
    )


def match(columns: list[str]) -> list[Match]:
    """Every standard the columns partly follow, best first."""
    found = [m for m in (match_to(s, columns) for s in all_standards()) if m.score > 0]
    return sorted(found, key=lambda m: (-m.score, -len(m.mapping), m.standard.slug))


def confident_match(candidates: list[Match]) -> Match | None:
    """The standard to follow without asking, from `match`'s list: a high score, or one
    that leads the next clearly (ten AED columns among its 22 fields score under half,
    with nothing else near)."""
    if not candidates:
        return None
    best = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if best.score >= CONFIDENT or (best.score >= LEADING and best.score >= LEAD * runner_up):
        return best
    # Near in score, but it explains a column by a field none of the close ones has, and
    # they explain no column that it does not: of those, the AED list's 設置位置 is AED's
    # alone, its name, address and coordinates are everyone's.
    close = [c for c in candidates[1:] if c.score * LEAD > best.score]
    explained = set(best.mapping)
    others = {name for c in close for name in c.standard.field_names()}
    own = any(name not in others for name in best.mapping.values())
    if best.score >= LEADING and own and all(set(c.mapping) <= explained for c in close):
        return best
    return None


# 全国地方公共団体コード ------------------------------------------------------------

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(code5: str) -> str:
    """JIS X 0401/0402 check digit of a 5-digit code: (11 - Σ digit×weight mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(code5, _WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def check_lg_code(code: str) -> bool:
    """A 6-digit 全国地方公共団体コード: prefecture 01–47 and a correct check digit.

    The 5-digit form without check digit is not accepted: the standards ask for
    six digits. `complete_lg_code` offers the fix.
    """
    return (
        len(code) == 6
        and code.isascii()
        and code.isdigit()
        and 1 <= int(code[:2]) <= 47
        and check_digit(code[:5]) == code[5]
    )


def complete_lg_code(code: str) -> str | None:
    """The 6-digit code meant by a 5-digit one, when only one reading is valid.

    A 5-digit value is either the code without its check digit (37201 → 372013)
    or a 6-digit code that lost its leading zero in a spreadsheet (92011 → 092011).
    """
    if len(code) != 5 or not (code.isascii() and code.isdigit()):
        return None
    readings = {c for c in (code + check_digit(code), "0" + code) if check_lg_code(c)}
    return readings.pop() if len(readings) == 1 else None


# Cell values ----------------------------------------------------------------------

Check = Callable[[object], tuple[str, str] | None]

_GOOD_VALUES = 10_000  # per column
_INTEGER = re.compile(r"[+-]?[0-9]+")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):[0-5][0-9]")

# Patterns staff read better as words.
_FORMS = {"^[0-9]{6}$": gettext_noop("6 digits"), "^[0-9]{13}$": gettext_noop("13 digits")}


def _say(kind: str, message: str, /, **place: object) -> tuple[str, str]:
    return kind, message % {k: cut(v) if isinstance(v, str) else v for k, v in place.items()}


def validate_value(standard: Standard, field: str, value: object) -> str | None:
    """A translated message, naming the field, when the (normalised) value breaks the
    field's type or rules."""
    problem = validator(standard, field)(value)
    if problem is None:
        return None
    return _("%(field)s: %(message)s") % {"field": field, "message": problem[1]}


@lru_cache(maxsize=1024)
def validator(standard: Standard, field: str) -> Check:
    """The check of one field, built once per column: value → (problem code, message) or None.
    The message does not name the field: the report says the row and column before it.

    Values are what the normaliser yields: str, int, float, date, time, or None
    for empty. Text in a typed column is accepted when it reads as that type.
    """
    spec = standard.field(field)
    constraints = spec.get("constraints", {})
    typed = _TYPES.get(spec["type"], _as_text)
    required = bool(constraints.get("required"))
    rules = _rules(spec)
    fmt = spec.get("format", "default")
    plain = spec["type"] == "string" and not rules

    # Columns repeat their values (codes, times, flags): remember good ones.
    good: set[tuple[type, object]] = set()

    def check(value: object) -> tuple[str, str] | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                return _say("required-missing", _("Required but empty."), field=field)
            return None
        if plain:
            return None
        seen = (value.__class__, value)
        if seen in good:
            return None
        converted = typed(value, fmt)
        if converted is None:
            message = _TYPE_MESSAGES[spec["type"]]()
            if spec["type"] == "time" and str(value).strip().startswith("24:"):
                message = _end_of_day()
            return _say(f"bad-{spec['type']}", message, field=field, value=str(value))
        for rule in rules:
            problem = rule(converted)
            if problem:
                return problem
        if len(good) < _GOOD_VALUES:
            good.add(seen)
        return None

    return check


def checks_only_empty(standard: Standard, field: str) -> bool:
    """Whether the field's check can only find an empty cell (text with no rules):
    a column without empty cells then needs no call per cell."""
    spec = standard.field(field)
    return spec["type"] == "string" and not _rules(spec)


def _as_text(value: object, fmt: str) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_integer(value: object, fmt: str) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None


def _as_number(value: object, fmt: str) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_date(value: object, fmt: str) -> date | None:
    if isinstance(value, datetime):
        return value.date() if value.time() == time() else None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _as_time(value: object, fmt: str) -> time | None:
    # 24:00 ("open all day") is not a time of day and cannot be stored as one.
    if isinstance(value, time):
        # hh:mm has no place for seconds: the clean CSV would break the schema.
        return None if fmt == "%H:%M" and (value.second or value.microsecond) else value
    if isinstance(value, str):
        text = value.strip()
        if fmt == "%H:%M":
            return time.fromisoformat(text.zfill(5)) if _HHMM.fullmatch(text) else None
        try:
            return time.fromisoformat(text)
        except ValueError:
            return None
    return None


_TYPES: dict[str, Callable[[object, str], object]] = {
    "string": _as_text,
    "integer": _as_integer,
    "number": _as_number,
    "date": _as_date,
    "time": _as_time,
}

_TYPE_MESSAGES: dict[str, Callable[[], str]] = {
    "integer": lambda: _('"%(value)s" is not a whole number.'),
    "number": lambda: _('"%(value)s" is not a number.'),
    "date": lambda: _('"%(value)s" is not a date (YYYY-MM-DD).'),
    "time": lambda: _('"%(value)s" is not a time of day (hh:mm).'),
}


def _end_of_day() -> str:
    """Staff write 24:00 for "until midnight" or "all day", which a time of day cannot hold."""
    return _(
        '"%(value)s" cannot be stored as a time of day, which ends at 23:59. '
        "For open all day or until midnight, write 23:59, or say so in the notes column."
    )


def _rules(spec: dict[str, Any]) -> list[Callable[[Any], tuple[str, str] | None]]:
    name = spec["name"]
    constraints = spec.get("constraints", {})
    rules: list[Callable[[Any], tuple[str, str] | None]] = []
    if spec.get("check") == "lg-code":
        rules.append(lambda v: _lg_code_problem(name, v))
    elif "pattern" in constraints:
        pattern = re.compile(constraints["pattern"])
        form = _FORMS.get(constraints["pattern"], constraints["pattern"])

        def matches(v: str) -> tuple[str, str] | None:
            if pattern.fullmatch(v):
                return None
            return _say(
                "pattern",
                _('"%(value)s" should be %(form)s.'),
                field=name,
                value=v,
                form=_(form),
            )

        rules.append(matches)
    if "enum" in constraints:
        allowed = constraints["enum"]

        def listed(v: object) -> tuple[str, str] | None:
            if v in allowed:
                return None
            return _say(
                "enum",
                _('"%(value)s" is not one of %(allowed)s.'),
                field=name,
                value=str(v),
                allowed=" / ".join(allowed),
            )

        rules.append(listed)
    low, high = constraints.get("minimum"), constraints.get("maximum")
    if low is not None or high is not None:
        rules.append(lambda v: _range_problem(name, v, low, high))
    if spec.get("format") == "uri":
        rules.append(lambda v: _uri_problem(name, v))
    return rules


def _lg_code_problem(field: str, code: str) -> tuple[str, str] | None:
    if check_lg_code(code):
        return None
    meant = complete_lg_code(code)
    if meant:
        return _say(
            "bad-lg-code",
            _(
                '"%(value)s" has 5 digits; the standard needs the 6-digit code, '
                "here probably %(code)s."
            ),
            field=field,
            value=code,
            code=meant,
        )
    if len(code) == 6 and code.isascii() and code.isdigit() and 1 <= int(code[:2]) <= 47:
        return _say(
            "bad-check-digit",
            _('The check digit of "%(value)s" is wrong; it should end in %(digit)s.'),
            field=field,
            value=code,
            digit=check_digit(code[:5]),
        )
    return _say(
        "bad-lg-code",
        _('"%(value)s" is not a 6-digit local government code.'),
        field=field,
        value=code,
    )


def _range_problem(
    field: str, value: float, low: float | None, high: float | None
) -> tuple[str, str] | None:
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    if low is not None and high is not None:
        return _say(
            "out-of-range",
            _("%(value)s is outside the range %(minimum)s to %(maximum)s."),
            field=field,
            value=value,
            minimum=low,
            maximum=high,
        )
    if low is not None:
        return _say(
            "out-of-range",
            _("%(value)s is below the minimum %(minimum)s."),
            field=field,
            value=value,
            minimum=low,
        )
    return _say(
        "out-of-range",
        _("%(value)s is above the maximum %(maximum)s."),
        field=field,
        value=value,
        maximum=high,
    )


# The usual cell: urlsplit would find the scheme and a host, at ten times the cost.
_PLAIN_WEB_ADDRESS = re.compile(r"https?://[^/?#\s\[\]][^\s\[\]]*").fullmatch


def _uri_problem(field: str, value: str) -> tuple[str, str] | None:
    if value.isascii() and _PLAIN_WEB_ADDRESS(value):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    return _say(
        "bad-uri",
        _('"%(value)s" is not a web address starting with http:// or https://.'),
        field=field,
        value=value,
    )
