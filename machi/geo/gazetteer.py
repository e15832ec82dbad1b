"""The ward's towns (町, 町丁目) and stations: loading, and finding them in free text.

Three CSV layouts load (the header tells which):
- the team's file (machi/geo/data/bunkyo-gazetteer.csv): kind,name,kana,name_en,town,chome,lat,lon
- the Digital Agency's address base registry town file (町字マスター with its position
  extension, `mt_town_pos`): oaza_cho, chome_number, rep_lat, rep_lon (or the Japanese headers
  大字・町名, 丁目名_数字, 代表点_緯度, 代表点_経度), one row a 町丁目;
- a simple town list: town, chome, lat, lng|lon (and town_kana).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from machi.geo.geometry import GeoError, checked_point
from machi.geo.models import Place, PlaceKind

TEAM_FILE = Path(__file__).parent / "data" / "bunkyo-gazetteer.csv"
KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMERALS = "〇一二三四五六七八九十"
_ALIASES = {
    "kind": ["kind"],
    "name": ["name"],
    "town": ["town", "oaza_cho", "大字・町名", "大字町丁目名"],
    "chome": ["chome", "chome_number", "丁目名_数字"],
    "lat": ["lat", "rep_lat", "代表点_緯度", "緯度", "緯度（代表点）"],
    "lon": ["lon", "lng", "rep_lon", "代表点_経度", "経度", "経度（代表点）"],
    "kana": ["kana", "town_kana", "oaza_cho_kana", "大字・町名_カナ"],
    "name_en": ["name_en", "oaza_cho_roma"],
    "note": ["note"],
}


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    lat: float
    lon: float
    town: str = ""
    chome: int | None = None
    kana: str = ""
    name_en: str = ""
    note: str = ""


def kanji_number(text: str) -> int:
    """一〜九十九 as a number (丁目 are 1–7 in the ward, but read them all)."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _sep, ones = text.partition("十")
        return KANJI_DIGITS.get(tens, 1) * 10 + KANJI_DIGITS.get(ones, 0)
    return KANJI_DIGITS[text]


def chome_name(town: str, chome: int) -> str:
    digits = "一二三四五六七八九"
    if chome < 10:
        number = digits[chome - 1]
    else:
        number = ("" if chome < 20 else digits[chome // 10 - 1]) + "十"
        number += digits[chome % 10 - 1] if chome % 10 else ""
    return f"{town}{number}丁目"


def normalized(text: str) -> str:
    """NFKC, no spaces, 丁目 numbers as digits: 春日一丁目 and 春日１丁目 read alike."""
    text = unicodedata.normalize("NFKC", text or "").replace(" ", "").replace("\u3000", "")
    return re.sub(
        f"([{_NUMERALS}]+)丁目", lambda m: f"{kanji_number(m.group(1))}丁目", text
    ).replace("ヶ", "ケ")


def read_csv(data: bytes | str, source: str = "") -> list[Entry]:
    """Entries from one of the three layouts; errors name the line."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []

    def column(key: str) -> str | None:
        return next((name for name in _ALIASES[key] if name in header), None)

    columns = {key: column(key) for key in _ALIASES}
    if not (columns["lat"] and columns["lon"] and (columns["name"] or columns["town"])):
        raise GeoError(
            _(
                "%(source)s: the header needs a name or town column and latitude and "
                "longitude columns (for example town,chome,lat,lon)."
            )
            % {"source": source or _("the file")}
        )
    entries = []
    for line, row in enumerate(reader, start=2):

        def cell(key: str, row: dict[str, str] = row) -> str:
            name = columns[key]
            return (row.get(name) or "").strip() if name else ""

        try:
            lat, lon = checked_point(cell("lat"), cell("lon"))
        except GeoError as error:
            raise GeoError(
                _("%(source)s line %(line)d: %(error)s")
                % {"source": source or _("the file"), "line": line, "error": error}
            ) from None
        kind = cell("kind") or PlaceKind.TOWN
        if kind not in PlaceKind.values:
            raise GeoError(
                _("%(source)s line %(line)d: kind must be town or station, not %(kind)s.")
                % {"source": source or _("the file"), "line": line, "kind": kind}
            )
        town = cell("town")
        chome_text = normalized(cell("chome")).removesuffix("丁目")
        chome = int(chome_text) if chome_text.isdigit() and int(chome_text) > 0 else None
        name = cell("name") or (chome_name(town, chome) if chome else town)
        entries.append(
            Entry(
                kind=kind,
                name=name,
                lat=lat,
                lon=lon,
                town=town or name,
                chome=chome,
                kana=cell("kana"),
                name_en=cell("name_en"),
                note=cell("note"),
            )
        )
    return entries


def save(entries: Iterable[Entry], replace: bool = False) -> int:
    """Store entries (a name already there is updated); `replace` empties the gazetteer first."""
    entries = list(entries)
    with transaction.atomic():
        if replace:
            Place.objects.all().delete()
        for entry in entries:
            Place.objects.update_or_create(
                kind=entry.kind,
                name=entry.name,
                defaults={
                    "lat": entry.lat,
                    "lon": entry.lon,
                    "town": entry.town,
                    "chome": entry.chome,
                    "kana": entry.kana,
                    "name_en": entry.name_en,
                    "note": entry.note,
                },
            )
    return len(entries)


def load_team_gazetteer() -> int:
    return save(read_csv(TEAM_FILE.read_bytes(), TEAM_FILE.name))


def _keys(place: Place) -> list[str]:
    """How a place is written in a question: 根津駅, 春日一丁目 / 春日1丁目, 春日."""
    if place.kind == PlaceKind.STATION:
        return [normalized(place.name + "駅")]
    return [normalized(place.name)]


def find_in_text(text: str) -> Place | None:
    """The place a question names: the longest name found wins (根津駅 over 根津);
    a station only when written with 駅, so 春日の保育園 is the town."""
    wanted = normalized(text)
    best: tuple[int, int, Place] | None = None
    for place in Place.objects.all():
        for key in _keys(place):
            if key and key in wanted:
                # Longer first; at equal length a town (0) before a station (1).
                rank = (len(key), 1 if place.kind == PlaceKind.TOWN else 0)
                if best is None or rank > best[:2]:
                    best = (*rank, place)
    return best[2] if best else None


def search(text: str, limit: int = 10) -> list[Place]:
    """Places whose name or reading starts with or contains the text (the map's search box)."""
    wanted = normalized(text).removesuffix("駅")
    if not wanted:
        return []
    # Readings are katakana; a hiragana query (ねづ) reads them too.
    reading = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in wanted)
    found = [
        p
        for p in Place.objects.all()
        if wanted in normalized(p.name)
        or (p.kana and reading in p.kana)
        or (p.name_en and wanted.lower() in p.name_en.lower())
    ]
    found.sort(key=lambda p: (not normalized(p.name).startswith(wanted), len(p.name), p.kind))
    return found[:limit]
