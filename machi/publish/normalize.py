"""Per-column normalisers: clean every cell, infer each column's type, count every change.

Staff see what was changed (counts and samples per rule), so each rule is deliberate:

- width: full-width letters and digits become ASCII everywhere. Full-width symbols
  (：－％…) become ASCII only next to ASCII text (`22：00` → `22:00`), and brackets only
  as a pair around ASCII text (`（０５４）` → `(054)`), so Japanese prose keeps its
  `（有料）`. ～ stays (it is the range mark of CP932 text). Half-width katakana become
  full width. NFKC is not used: it would also rewrite ㈱, ①, ㎡ and 〜, which are
  meaningful as typed.
- space: cells are trimmed and runs of spaces collapse to one. A 全角スペース between two
  Japanese characters stays 全角 (it is the usual word gap in names and addresses); next to
  ASCII text, or when a run mixed both kinds, the gap becomes one ASCII space.
- times past midnight: Table Schema's `time` cannot hold 24:00 or 25:30, which opening hours
  use; a column with such a value stays `string` holding normalised `HH:MM` text.
- coordinates: a row whose 緯度 is in Japan's longitude range and 経度 in its latitude
  range is swapped back by `check_coordinates`, with a warning saying so; coordinates outside
  Japan (latitude 20–46, longitude 122–154) only get a warning.
- empty cells are None; in typed columns a lone dash (-, －, ―) means "none" and is None too.
- a boolean column's empty cells stay None: a ○ column's blanks are not turned into False.
- codes (コード headers, and digits with leading zeros) stay text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from machi.publish.problems import Problem, cut

PROBLEM_LIMIT = 200  # problems kept per column; `problem_count` has them all
CACHE_LIMIT = 20_000  # distinct values remembered per column
TYPED_SHARE = 0.98  # share of sampled values that must parse for a column to be typed...
HINTED_SHARE = 0.8  # ...or when the header already says what the column holds

# ---------------------------------------------------------------- width and space

_FULL_ALNUM = [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
_ALNUM = str.maketrans({chr(c): chr(c - 0xFEE0) for c in _FULL_ALNUM})
_HALF_SYMBOLS = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5E)})
_WIDE = re.compile("[\uff01-\uff5d\uff61-\uff9f]")
_SYMBOL_RUN = re.compile("[\uff01-\uff07\uff0a-\uff0f\uff1a-\uff20\uff3c\uff3e-\uff40\uff5c]+")
_BRACKETS = re.compile("（[ -~]*）|［[ -~]*］|｛[ -~]*｝")  # a pair around ASCII text only
_HALF_KANA = re.compile("[\uff61-\uff9f]+")
_SPACE_RUN = re.compile("[ \t\u3000\xa0]+")
_DASHES = "‐‑‒–—―−－ーｰ"


def _symbol_run(match: re.Match[str]) -> str:
    text, (start, end) = match.string, match.span()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if "!" <= before <= "~" or "!" <= after <= "~":
        return match.group().translate(_HALF_SYMBOLS)
    return match.group()


def to_half_width(text: str) -> str:
    """The width rule (see the module docstring)."""
    if text.isascii() or not _WIDE.search(text):
        return text
    text = _SYMBOL_RUN.sub(_symbol_run, text.translate(_ALNUM))
    text = _BRACKETS.sub(lambda m: m.group().translate(_HALF_SYMBOLS), text)
    return _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _space_run(match: re.Match[str]) -> str:
    run = match.group()
    if run == " ":
        return run
    text, (start, end) = match.string, match.span()
    japanese = not text[start - 1].isascii() and not text[end].isascii()
    return "\u3000" if japanese and "\u3000" in run else " "


def tidy_spaces(text: str) -> str:
    """The space rule (see the module docstring)."""
    stripped = text.strip()
    if (
        "  " not in stripped
        and "\u3000" not in stripped
        and "\t" not in stripped
        and "\xa0" not in stripped
    ):
        return stripped
    return _SPACE_RUN.sub(_space_run, stripped)


# ---------------------------------------------------------------- parsers
# Each takes a cleaned cell (str) or a workbook value and returns (value, rule), or raises
# _Invalid. The rule is "" when the stored form is the text as it was.


class _Invalid(Exception):
    """Why a cell cannot be read as its column's type; args: (msgid, extra params)."""


_ERAS = {  # name: (first day, last day)
    "明治": (dt.date(1868, 10, 23), dt.date(1912, 7, 29)),
    "大正": (dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    "昭和": (dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    "平成": (dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "令和": (dt.date(2019, 5, 1), None),
}
_ERA_ALIASES = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_ERA_ALIASES |= {"㍾": "明治", "㍽": "大正", "㍼": "昭和", "㍻": "平成", "㋿": "令和"}
_ERA = "明治|大正|昭和|平成|令和|[MTSHRmtshr㍾㍽㍼㍻㋿]"
_DATE = re.compile(
    rf"(?:(?P<era>{_ERA})\s*(?P<ey>元|\d{{1,2}})|(?P<y>\d{{4}}))\s*(?:年|[./-])\s*"
    r"(?P<m>\d{1,2})\s*(?:月|[./-])\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*[(（][月火水木金土日](?:曜日?)?[・･]?祝?[)）])?"
)
_YEAR = re.compile(rf"(?:(?P<era>{_ERA})\s*(?P<ey>元|\d{{1,2}})|(?P<y>\d{{4}}))\s*年?度?")
_CLOCK = re.compile(
    r"(?P<ap>午前|午後|AM|PM|am|pm)?\s*(?P<h>\d{1,2})\s*"
    r"(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?|時\s*(?:(?P<km>\d{1,2})\s*分|(?P<half>半))?"
    r"\s*(?:(?P<ks>\d{1,2})\s*秒)?)\s*(?P<ap2>AM|PM|am|pm)?"
)
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _era_year(era: str, year_text: str) -> tuple[str, int]:
    name = _ERA_ALIASES.get(era.upper(), era)
    number = 1 if year_text == "元" else int(year_text)
    if number < 1:
        raise _Invalid("")
    return name, _ERAS[name][0].year + number - 1


def _era_range_error(name: str) -> _Invalid:
    first, last = _ERAS[name]
    if last is None:
        return _Invalid("era-began", {"era": name, "start": first.isoformat()})
    return _Invalid("era-ran", {"era": name, "start": first.isoformat(), "end": last.isoformat()})


def _date_from(match: re.Match[str]) -> tuple[dt.date, bool]:
    """(date, written in 和暦) from a _DATE match."""
    era = match["era"]
    name, year = _era_year(era, match["ey"]) if era else ("", int(match["y"]))
    try:
        day = dt.date(year, int(match["m"]), int(match["d"]))
    except ValueError:
        raise _Invalid("") from None
    if name:
        first, last = _ERAS[name]
        if day < first or (last is not None and day > last):
            raise _era_range_error(name)
    return day, bool(era)


def parse_date(value: object) -> tuple[dt.date, str]:
    """(date, rule that changed it or "")."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise _Invalid("")
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    if isinstance(value, int) and not isinstance(value, bool) and 20_000 <= value <= 73_050:
        return _EXCEL_EPOCH + dt.timedelta(days=value), "date"  # an Excel serial day
    if not isinstance(value, str):
        raise _Invalid("")
    text = value
    if text.isdigit() and text.isascii():
        if len(text) == 8:
            return parse_date(f"{text[:4]}-{text[4:6]}-{text[6:]}")[0], "date"
        if len(text) == 5:
            return parse_date(int(text))
        raise _Invalid("")
    match = _DATE.match(text)
    if match is None:
        raise _Invalid("")
    day, wareki = _date_from(match)
    rest = text[match.end() :]
    if rest and parse_time(rest.lstrip("T "))[0] != dt.time():  # "2023/04/01 0:00" from Excel
        raise _Invalid("")
    return day, "wareki" if wareki else ("" if text == day.isoformat() else "date")


def parse_time(value: object) -> tuple[dt.time | str, str]:
    """(time, rule) — or normalised "HH:MM" text for 24:00–29:59, which `time` cannot hold."""
    if isinstance(value, dt.time):
        return value, ""
    if not isinstance(value, str):
        raise _Invalid("")
    match = _CLOCK.fullmatch(value)
    if match is None:
        raise _Invalid("")
    hour = int(match["h"])
    minute = int(match["m"] or match["km"] or (30 if match["half"] else 0))
    second_text = match["s"] or match["ks"]
    second = int(second_text or 0)
    meridiem = match["ap"] or match["ap2"]
    if meridiem:
        if hour > 12:
            raise _Invalid("")
        hour = hour % 12 + (12 if meridiem in ("午後", "PM", "pm") else 0)
    if minute > 59 or second > 59 or hour > 29:
        raise _Invalid("")
    if hour > 23:
        text = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second_text else "")
        return text, "" if text == value else "time"
    clock = dt.time(hour, minute, second)
    return clock, "" if value == clock.isoformat() else "time"


def parse_datetime(value: object) -> tuple[dt.datetime, str]:
    if isinstance(value, dt.datetime):
        return value, ""
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()), ""
    if not isinstance(value, str):
        raise _Invalid("")
    if _ISO_DATETIME.match(value):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment, "" if value == moment.isoformat() else "datetime"
    match = _DATE.match(value)
    if match is None:
        raise _Invalid("")
    day, wareki = _date_from(match)
    rest = value[match.end() :].lstrip("T ")
    clock, _rule = parse_time(rest) if rest else (dt.time(), "")
    if isinstance(clock, str):
        raise _Invalid("past-midnight")
    return dt.datetime.combine(day, clock), "wareki" if wareki else "datetime"


def parse_year(value: object) -> tuple[int, str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, ""
    if not isinstance(value, str):
        raise _Invalid("")
    match = _YEAR.fullmatch(value)
    if match is None:
        raise _Invalid("")
    if not match["era"]:
        year = int(match["y"])
        return year, "" if value == str(year) else "year"
    name, year = _era_year(match["era"], match["ey"])
    first, last = _ERAS[name]
    if last is not None and year > last.year:
        raise _era_range_error(name)
    return year, "wareki"


# ▲/△ are the minus of Japanese accounts; ー only as a leading sign, where it is clearly one.
_NUMBER = re.compile(
    r"([-+−－‐‒–—―ー▲△]?)\s*([¥￥]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(.*)", re.DOTALL
)
_UNITS = {
    unit: unit
    for unit in "円 千円 万円 人 名 件 台 個 本 回 戸 世帯 棟 室 床 席 校 園 箇所 歳 才 ㎡ ㎢"
    " 平方メートル ha km m メートル cm mm kg t %".split()
}
_UNITS |= {"m²": "㎡", "m2": "㎡", "km2": "㎢", "㎞": "km", "パーセント": "%"}
_UNITS |= {"ヶ所": "箇所", "ケ所": "箇所", "カ所": "箇所", "か所": "箇所"}
_NO_VALUE = {"-", "－", "―", "‐", "ー", "—", "−", "–", "ｰ"}


def parse_number(
    value: object, unit: str = "", *, zeros: bool = False
) -> tuple[float | int, str, str]:
    """(number, rule, unit): 1,234円 → (1234, "number", "円"); ▲500 → -500.

    A float for text with a decimal point, else an int. `unit` given: a different unit
    is an error (5千円 in a 円 column would be off by a thousand). Leading zeros mark a
    code, not a quantity, unless `zeros` (the column is already numeric).
    """
    if value.__class__ is not str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, "", ""  # type: ignore[return-value]
        raise _Invalid("")
    match = _NUMBER.fullmatch(value)  # type: ignore[arg-type]
    if match is None:
        raise _Invalid("")
    sign, currency, digits, decimals, rest = match.groups()
    if not zeros and len(digits) > 1 and digits[0] == "0":
        raise _Invalid("")
    found = "円" if currency else ""
    if rest:
        if currency or rest not in _UNITS:
            raise _Invalid("")
        found = _UNITS[rest]
    if unit and found and found != unit:
        raise _Invalid("unit", {"unit": unit})
    digits = digits.replace(",", "")
    number: float | int = float(digits + decimals) if decimals else int(digits)
    negative = bool(sign) and sign != "+"
    if negative:
        number = -number
    plain = ("-" if negative else "") + digits + (decimals or "")
    return number, "" if plain == value else "number", found


_FLAGS = (  # families of yes/no words; a boolean column uses one family
    ({"有", "有り", "あり", "アリ"}, {"無", "無し", "なし", "ナシ"}),
    ({"○", "〇", "◯", "◎"}, {"×", "✕", "✖", "╳"}),
    ({"はい"}, {"いいえ"}),
    ({"可"}, {"不可"}),
    ({"true", "yes"}, {"false", "no"}),
    ({"1"}, {"0"}),
)
_FLAG_VALUE = {word: True for yes, _no in _FLAGS for word in yes}
_FLAG_VALUE |= {word: False for _yes, no in _FLAGS for word in no}
_FLAG_FAMILY = {
    word: index for index, family in enumerate(_FLAGS) for word in family[0] | family[1]
}


def parse_flag(value: object) -> tuple[bool, str]:
    if isinstance(value, bool):
        return value, ""
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value), "flag"
    if not isinstance(value, str):
        raise _Invalid("")
    found = _FLAG_VALUE.get(value.lower())
    if found is None:
        raise _Invalid("")
    return found, "" if value in ("true", "false") else "flag"


_DEGREES = re.compile(
    r"(?P<pre>北緯|南緯|東経|西経|[NSEWnsew])?\s*(?P<d>\d{1,3}(?:\.\d+)?)\s*[°度˚]\s*"
    r"(?:(?P<m>\d{1,2}(?:\.\d+)?)\s*['′’分]\s*)?(?:(?P<s>\d{1,2}(?:\.\d+)?)\s*(?:\"|″|”|''|秒)\s*)?"
    r"(?P<post>[NSEWnsew])?"
)
_DECIMAL = re.compile(r"[-+]?\d{1,3}\.\d+|[-+]?\d{1,3}")


def parse_degrees(value: object) -> tuple[float, str]:
    """Decimal degrees from 35.7, 35°42'30"N or 北緯35度42分30秒."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), ""
    if not isinstance(value, str):
        raise _Invalid("")
    if _DECIMAL.fullmatch(value):
        return float(value), ""
    match = _DEGREES.fullmatch(value)
    if match is None:
        raise _Invalid("")
    degrees = float(match["d"]) + float(match["m"] or 0) / 60 + float(match["s"] or 0) / 3600
    side = (match["pre"] or match["post"] or "N").upper()
    if side in ("S", "W", "南緯", "西経"):
        degrees = -degrees
    return round(degrees, 7), "latlon"


_PHONE = re.compile(
    rf"\(?(0\d{{1,4}})\)?[\s{_DASHES}-]*\(?(\d{{1,4}})\)?[\s{_DASHES}-]*(\d{{3,4}})(?!\d)"
)
_POSTCODE = re.compile(rf"〒?\s*(\d{{3}})[\s{_DASHES}-]?(\d{{4}})")


def normalise_phone(text: str) -> str:
    """(054)626-1139, 054(626)1139, 054 626 1139 → 054-626-1139; text after it is kept."""
    match = _PHONE.match(text)
    if match is None or match.group().isdigit():
        return text  # bare digits: splitting them needs the area-code table
    a, b, c = match.groups()
    if len(a + b + c) not in (10, 11):
        return text
    return f"{a}-{b}-{c}{text[match.end() :]}"


def normalise_postcode(text: str) -> str:
    match = _POSTCODE.fullmatch(text)
    return text if match is None else f"{match[1]}-{match[2]}"


def normalise_clock(text: str) -> str:
    """A time as HH:MM text (string columns holding 24:00); other text is left alone."""
    try:
        clock, _rule = parse_time(text)
    except _Invalid:
        return text
    if isinstance(clock, str):
        return clock
    return clock.isoformat("seconds" if clock.second else "minutes")


# ---------------------------------------------------------------- header hints

_TEL = re.compile(r"(?<![a-z])(?:tel|fax)(?![a-z])")


def header_hint(name: str) -> str:
    """What a header says its column holds: lat, lon, phone, postcode, code, id, flag,
    datetime, time, date, year, number, or ""."""
    n = unicodedata.normalize("NFKC", name).lower().replace(" ", "")
    if "緯度" in n or n == "lat" or "latitude" in n:
        return "lat"
    if "経度" in n or n in ("lon", "lng", "long") or "longitude" in n:
        return "lon"
    if "郵便番号" in n or "〒" in n or "postcode" in n or "postal" in n or "zip" in n:
        return "postcode"
    if "内線" in n or "extension" in n:
        return "id"
    if any(k in n for k in ("電話", "phone", "ファックス", "ファクス", "携帯")) or _TEL.search(n):
        return "phone"
    if "コード" in n or "code" in n:
        return "code"
    if any(k in n for k in ("有無", "可否", "フラグ", "flag")) or n.startswith(("is_", "has_")):
        return "flag"
    if "日時" in n or "datetime" in n or "timestamp" in n:
        return "datetime"
    if "時刻" in n or "時間" in n or "time" in n:
        return "time"
    if "年月日" in n or "日付" in n or "date" in n or (n.endswith("日") and "曜日" not in n):
        return "date"
    if n.endswith(("年", "年度")) or "year" in n:
        return "year"
    if "番号" in n or n in ("no", "no.", "id", "#") or n.endswith(("_id", "_no")):
        return "id"
    if any(k in n for k in ("数", "額", "金", "料", "面積", "人口", "count", "amount", "area")):
        return "number"
    return ""


# ---------------------------------------------------------------- plans


@dataclass
class Change:
    """One rule on one column."""

    rule: str
    count: int = 0
    samples: list[tuple[str, str]] = field(default_factory=list)


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
    "unit": lambda: _(
        "Row %(row)d, column %(column)s: %(value)s is not a number in %(unit)s, the unit of "
        "this column."
    ),
}

_TYPE_RULES = {
    "integer": ["number"],
    "number": ["number"],
    "boolean": ["flag"],
    "date": ["wareki", "date"],
    "datetime": ["wareki", "datetime"],
    "time": ["time"],
    "year": ["wareki", "year"],
}
_ROLE_RULES = {
    "lat": "latlon",
    "lon": "latlon",
    "phone": "phone",
    "postcode": "postcode",
    "clock": "time",
}


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
_ROLE_PARSERS = {
    "lat": lambda value, unit: parse_degrees(value),
    "lon": lambda value, unit: parse_degrees(value),
    "phone": _text(normalise_phone, "phone"),
    "postcode": _text(normalise_postcode, "postcode"),
    "clock": _text(normalise_clock, "time"),
}
_PLAIN = _text(lambda text: text, "")


@dataclass
class ColumnPlan:
    """How one column is cleaned and typed; counts what it changed and what it could not read.

    `role` refines the type: "lat"/"lon" (degrees; `partner` is the index of the other
    coordinate's plan), "phone", "postcode", "clock" (times kept as text). `unit` is the
    unit stripped from numbers (円, 人, ㎡ …).
    """

    name: str
    type: str
    rules: list[str]
    role: str = ""
    unit: str = ""
    partner: int | None = None
    changes: dict[str, Change] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    _cache: dict[object, tuple[object, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _quick: Callable[[str], object] = field(init=False, repr=False, compare=False)
    _parser: Callable[[object, str], tuple[object, str]] = field(
        init=False, repr=False, compare=False
    )
    # Indices of the table's latitude plans and lone longitude plans (check_coordinates).
    _coordinates: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        degrees = self.role in ("lat", "lon")
        self._quick = _quick_degrees if degrees else _QUICK.get(self.type, _no_quick)
        if self.role and not degrees:
            self._quick = _no_quick
        self._parser = _ROLE_PARSERS.get(self.role) or _TYPE_PARSERS.get(self.type, _PLAIN)

    def convert(self, value: object, row: int) -> object:
        """Normalised value (str for strings, int/float/bool/date/time/datetime for typed;
        None for empty). Unconvertible values in a typed column: returns the text unchanged
        and records a Problem (code "bad-<type>", level error) with row and column."""
        entry = self._cache.get(value)
        if entry is None:
            if value.__class__ is str:
                out = self._quick(value)
                if out is not _SLOW:
                    return out
            entry = self._remember(value)
        out, changes = entry
        if changes:
            if changes.__class__ is tuple:
                for change in changes:
                    change.count += 1
            else:
                self._bad(value, row, changes)
        return out

    def _remember(self, value: object) -> tuple[object, Any]:
        entry = self._compute(value)
        # Never cache numbers equal to 0 or 1: True == 1 would find their entry.
        if len(self._cache) < CACHE_LIMIT and (
            value.__class__ is str or not (value == 0 or value == 1)
        ):
            self._cache[value] = entry
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
        elif value is None:
            return None, ()
        try:
            out, rule = self._parser(text, self.unit)
        except _Invalid as error:
            reason = error.args[0] if error.args and error.args[0] else self._kind()
            params = error.args[1] if len(error.args) > 1 else {}
            return _as_text(value), _Bad(reason, params)
        if rule:
            steps.append((rule, text, out))
        return out, self._changes(steps) if steps else ()

    def _kind(self) -> str:
        return "degrees" if self.role in ("lat", "lon") else self.type

    def _changes(self, steps: list[tuple[str, object, object]]) -> tuple[Change, ...]:
        found = []
        for rule, before, after in steps:
            change = self.changes.get(rule)
            if change is None:
                change = self.changes[rule] = Change(rule)
            if len(change.samples) < 5:
                sample = (_as_text(before), _as_text(after))
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
        self.problems.append(
            Problem(
                code=f"bad-{self.type}",
                message=_MESSAGES[bad.reason]() % params,
                row=row,
                column=self.name,
                value=text,
            )
        )

    def note(self, problem: Problem) -> None:
        """Keep a problem found outside convert (coordinates), within the same cap."""
        self.problem_count += 1
        if len(self.problems) < PROBLEM_LIMIT:
            self.problems.append(problem)


# ---------------------------------------------------------------- inference


def _clean(value: object) -> object:
    if isinstance(value, str):
        return tidy_spaces(to_half_width(value))
    return value


def _passes(parse: Callable[[object], object], values: Counter[object], share: float) -> bool:
    total = sum(values.values())
    allowed = total * (1 - share)
    failed = 0
    for value, count in values.items():
        try:
            parse(value)
        except _Invalid:
            failed += count
            if failed > allowed:
                return False
    return True


def _number_type(values: Counter[object], share: float) -> tuple[str, str] | None:
    """("integer" or "number", unit) when the values are numbers in one unit."""
    units: set[str] = set()
    decimal = False

    def parse(value: object) -> None:
        nonlocal decimal
        number, _rule, unit = parse_number(value)
        units.add(unit)
        decimal = decimal or isinstance(number, float)

    if not _passes(parse, values, share):
        return None
    units.discard("")
    if len(units) > 1:
        return None
    return ("number" if decimal else "integer"), (units.pop() if units else "")


def _time_type(values: Counter[object], share: float) -> tuple[str, str, str] | None:
    """A time column, or a string column of clock text when a time is past midnight."""
    past_midnight = False

    def parse(value: object) -> None:
        nonlocal past_midnight
        past_midnight = isinstance(parse_time(value)[0], str) or past_midnight

    if not _passes(parse, values, share):
        return None
    return ("string", "clock", "") if past_midnight else ("time", "", "")


def _leading_zeros(values: Counter[object]) -> bool:
    return any(isinstance(v, str) and len(v) > 1 and v[0] == "0" and v[1].isdigit() for v in values)


def _infer(hint: str, values: Counter[object]) -> tuple[str, str, str]:
    """(type, role, unit) of a column from its cleaned non-empty sample values."""
    if not values:
        return "string", hint if hint in ("phone", "postcode") else "", ""
    if hint in ("phone", "postcode"):
        return "string", hint, ""
    if hint == "code" or (hint == "id" and _leading_zeros(values)):
        return "string", "", ""
    if hint in ("lat", "lon") and _passes(parse_degrees, values, HINTED_SHARE):
        return "number", hint, ""
    words = {str(v).lower() for v in values}
    families = {_FLAG_FAMILY.get(w) for w in words}
    if len(families) == 1 and None not in families:
        if families != {_FLAG_FAMILY["1"]} or hint == "flag":  # 1/0 alone are numbers
            return "boolean", "", ""
    order = ["integer", "date", "datetime", "time", "year"]
    if hint in order:
        order.remove(hint)
        order.insert(0, hint)
    if _leading_zeros(values):
        order.remove("integer")
    for kind in order:
        share = (
            HINTED_SHARE if kind == hint or (kind, hint) == ("integer", "number") else TYPED_SHARE
        )
        if kind == "integer":
            found = _number_type(values, share)
            if found:
                return found[0], "", found[1]
        elif kind == "time":
            found = _time_type(values, share)
            if found:
                return found
        elif _passes(_INFER_PARSERS[kind], values, share):
            return kind, "", ""
    if all(isinstance(v, str) and not v.isdigit() and _PHONE.fullmatch(v) for v in values):
        return "string", "phone", ""
    if all(
        isinstance(v, str) and re.fullmatch(r"〒\s*\d{3}-?\d{4}|\d{3}-\d{4}", v) for v in values
    ):
        return "string", "postcode", ""
    return "string", "", ""


_INFER_PARSERS = {"date": parse_date, "datetime": parse_datetime, "year": parse_year}


def plan_columns(
    columns: list[str], sample: list[list[object]], *, types: dict[str, str] | None = None
) -> list[ColumnPlan]:
    """Infer each column's type and normalisers from a sample (e.g. first 5,000 data rows);
    `types` overrides (staff edits or the standard's types).

    Latitude and longitude plans are paired through `partner`; run `check_coordinates`
    on each converted row to catch swapped or out-of-Japan coordinates.
    """
    types = types or {}
    plans = []
    for index, name in enumerate(columns):
        hint = header_hint(name)
        values: Counter[object] = Counter()
        for row in sample:
            if index < len(row):
                value = _clean(row[index])
                if value is not None and value != "" and value not in _NO_VALUE:
                    values[value] += 1
        given = types.get(name)
        if given is None:
            kind, role, unit = _infer(hint, values)
        else:
            kind, role, unit = given, "", ""
            if kind == "number" and hint in ("lat", "lon"):
                role = hint
            elif kind == "string" and hint in ("phone", "postcode"):
                role = hint
            elif kind in ("integer", "number"):
                unit = (_number_type(values, 0.0) or ("", ""))[1]
        rules = ["width", "space"]
        if kind != "string":
            rules.append("dash")
        rules += _TYPE_RULES.get(kind, []) if role not in ("lat", "lon") else []
        if role:
            rules.append(_ROLE_RULES[role])
        plans.append(ColumnPlan(name=name, type=kind, rules=rules, role=role, unit=unit))
    _pair_coordinates(plans)
    return plans


def _pair_coordinates(plans: list[ColumnPlan]) -> None:
    lats = [i for i, plan in enumerate(plans) if plan.role == "lat"]
    lons = [i for i, plan in enumerate(plans) if plan.role == "lon"]
    for lat in lats:
        twin = plans[lat].name.replace("緯度", "経度").replace("latitude", "longitude")
        pick = next((i for i in lons if plans[i].name == twin), lons[0] if lons else None)
        if pick is not None:
            lons.remove(pick)
            plans[lat].partner, plans[pick].partner = pick, lat
    checks = tuple(sorted(lats + lons))
    for plan in plans:
        plan._coordinates = checks


# ---------------------------------------------------------------- coordinates

_LAT_RANGE = (20.0, 46.0)
_LON_RANGE = (122.0, 154.0)


def _within(value: object, bounds: tuple[float, float]) -> bool:
    return isinstance(value, float) and bounds[0] <= value <= bounds[1]


def check_coordinates(plans: list[ColumnPlan], values: list[object], row: int) -> list[Problem]:
    """Warnings for one converted row's coordinates; swaps a swapped pair in `values`.

    `plans` as plan_columns returned them. The problems are also kept on the latitude
    column's plan (capped like convert's), so a caller collects either the plans' problems
    or these, not both.
    """
    problems: list[Problem] = []
    for index in plans[0]._coordinates if plans else ():
        plan = plans[index]
        lat = values[index]
        if plan.partner is not None and lat.__class__ is float and 20.0 <= lat <= 46.0:  # type: ignore[operator]
            lon = values[plan.partner]
            if lon.__class__ is float and 122.0 <= lon <= 154.0:  # type: ignore[operator]
                continue  # the common case, without a call
        problem = _check_pair(plans, values, index, row)
        if problem is not None:
            plan.note(problem)
            problems.append(problem)
    return problems


def _check_pair(
    plans: list[ColumnPlan], values: list[object], index: int, row: int
) -> Problem | None:
    plan = plans[index]
    value = values[index]
    if not isinstance(value, float):
        return None
    if plan.partner is None:
        if plan.role == "lat":
            if _within(value, _LAT_RANGE):
                return None
            message = _(
                "Row %(row)d, column %(column)s: %(value)s is outside Japan (latitude 20 to 46)."
            )
        else:
            if _within(value, _LON_RANGE):
                return None
            message = _(
                "Row %(row)d, column %(column)s: %(value)s is outside Japan (longitude 122 to 154)."
            )
        params = {"row": row, "column": plan.name, "value": value}
        return Problem("outside-japan", message % params, "warning", row=row, column=plan.name)
    other = plans[plan.partner]
    lat, lon = value, values[plan.partner]
    if not isinstance(lon, float) or (_within(lat, _LAT_RANGE) and _within(lon, _LON_RANGE)):
        return None
    params = {"row": row, "lat": lat, "lon": lon, "lat_column": plan.name}
    params["lon_column"] = other.name
    if _within(lon, _LAT_RANGE) and _within(lat, _LON_RANGE):
        values[index], values[plan.partner] = lon, lat
        change = plan.changes.setdefault("swapped-latlon", Change("swapped-latlon"))
        change.count += 1
        if len(change.samples) < 5:
            change.samples.append((f"{lat}, {lon}", f"{lon}, {lat}"))
        message = _(
            "Row %(row)d: %(lat_column)s %(lat)s and %(lon_column)s %(lon)s look swapped; "
            "they were swapped back."
        )
        return Problem("swapped-latlon", message % params, "warning", row=row, column=plan.name)
    message = _(
        "Row %(row)d, columns %(lat_column)s and %(lon_column)s: %(lat)s, %(lon)s is outside "
        "Japan (latitude 20 to 46, longitude 122 to 154)."
    )
    return Problem("outside-japan", message % params, "warning", row=row, column=plan.name)
