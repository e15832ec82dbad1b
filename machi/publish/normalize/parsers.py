"""Reading cell text as values: dates and 和暦, times, numbers with units, yes/no flags,
degrees, phone numbers and postcodes; and what a column's header hints it holds.

Each parser takes a cleaned cell (str) or a workbook value and returns (value, rule), or raises
_Invalid. The rule is "" when the stored form is the text as it was.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from machi.publish.normalize.text import _DASHES


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
_DATE = re.compile(  # H.31.4.1 too: a point after the era's letter
    rf"(?:(?P<era>{_ERA})\.?\s*(?P<ey>元|\d{{1,2}})|(?P<y>\d{{4}}))\s*(?:年|[./-])\s*"
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
    for unit in "円 千円 万円 人 名 件 台 個 本 基 口 面 回 戸 世帯 棟 室 床 席 校 園 箇所 歳 才"
    " ㎡ ㎢ 平方メートル ha km m メートル cm mm kg t %".split()
}
_UNITS |= {"m²": "㎡", "m2": "㎡", "km2": "㎢", "㎞": "km", "パーセント": "%"}
_UNITS |= {"ヶ所": "箇所", "ケ所": "箇所", "カ所": "箇所", "か所": "箇所"}
_NO_VALUE = {"-", "－", "―", "‐", "ー", "—", "−", "–", "ｰ"}
_FREE = {"無料", "無償", "0円（無料）"}


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
    if value in _FREE:  # a fee of 無料 is 0 (in a 円 column, or one without a unit)
        if unit and unit != "円":
            raise _Invalid("")
        return 0, "number", unit
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
_LETTERED = re.compile(
    r"(?P<pre>北緯|南緯|東経|西経|[NSEWnsew])\s*(?P<d>\d{1,3}\.\d+)"
    r"|(?P<d2>\d{1,3}\.\d+)\s*(?P<post>[NSEWnsew])"
)


def parse_degrees(value: object) -> tuple[float, str]:
    """Decimal degrees from 35.7, 35°42'30"N or 北緯35度42分30秒."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), ""
    if not isinstance(value, str):
        raise _Invalid("")
    if _DECIMAL.fullmatch(value):
        return float(value), ""
    lettered = _LETTERED.fullmatch(value)  # N35.7325, 東経139.7469, 35.7325N
    if lettered is not None:
        side = (lettered["pre"] or lettered["post"]).upper()
        degrees = float(lettered["d"] or lettered["d2"])
        return (-degrees if side in ("S", "W", "南緯", "西経") else degrees), "latlon"
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


_MARKED = {word for word, value in _FLAG_VALUE.items() if value} | {"●", "✓", "✔", "レ"}
_UNMARKED = {word for word, value in _FLAG_VALUE.items() if not value} | {"－", "-", "ー"}


def normalise_mark(text: str) -> str:
    """A standard's "1 or empty" column (災害種別_洪水: 1 when the place serves floods):
    ○, 〇, ◯, ●, 有, あり … → 1; ×, 無, なし, - … → empty. Other text stays, for the
    standard's check to report."""
    return _marked(text, "1", "")


def normalise_yes_no(text: str) -> str:
    """A standard's 有/無 column (公衆トイレ 2026): ○, あり, true … → 有; ×, なし … → 無."""
    return _marked(text, "有", "無")


def _marked(text: str, yes: str, no: str) -> str:
    folded = text.lower()
    if folded in _MARKED:
        return yes
    if folded in _UNMARKED:
        return no
    return text


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
