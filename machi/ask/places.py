"""Data answers: "根津駅の近くのAEDは？" answered from the geo layers, not from FAQ text.

A question asks for places when it names a point layer (by the layer's keywords or title:
AED, Wi-Fi, 避難所, 保育園 ...) together with where: a town or station of the gazetteer
(`find_place`), or the resident's own location (lat/lon from the browser) with words like
近く, 最寄り, 一番近い. A town without "near" lists the layer's places in that town; anything
else lists the nearest places. Every place has its distance and a link to the map
(`/map/#map=17/lat/lon&layers=slug`, the map's permalink, docs/geo.md). A layer named
without any "where" ("保育園の申し込み") is a question for the FAQ.

Uses the geo app's services (machi.geo.services): find_place, point_layers, nearest,
within_town. Without the geo app, no question is a data question.

Asking where a facility is ("トイレはどこ", "AEDの場所", "Where is the AED?") asks for the
nearest ones too, and so does a bare layer name ("AED") that the FAQ cannot answer. A
resident further than FAR_M from the nearest place is not in the ward: the answer says so
rather than listing places hundreds of kilometres away.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from machi.ask.analysis import STOP_FORMS
from machi.lib import japanese
from machi.lib.i18n import english_requested

LIMIT = 5
# Words that ask for the nearest places to the resident (kana-folded normalized forms).
_NEAR = ("近く", "ちかく", "最寄", "もより", "一番近", "いちばん近", "近所", "周辺", "付近")
_NEAR_EN = ("near", "nearest", "nearby", "closest", "around")
# Words that ask where something is; only next to a layer's name do they ask for places
# ("トイレはどこ"), not in "保育園の申し込みはどこで" (about the service).
_WHERE = ("どこ", "何処", "場所", "ところ", "where")
# Further than this from the nearest place: the resident is outside the ward (about 4 km
# across), and a list of places hundreds of kilometres away helps nobody.
FAR_M = 5000
# Columns of a layer's table shown with each place, in the order tried.
_ADDRESS = ("address", "住所", "所在地")
_HOURS = ("hours", "開館時間", "利用時間", "営業時間", "開所時間", "利用可能時間")
_PHONE = ("phone", "電話番号", "電話", "tel")


@dataclass
class PlaceAnswer:
    layer_title: str
    where: str  # the town or station, or "" for the resident's location
    places: list[dict[str, Any]] = field(default_factory=list)
    map_url: str = ""  # the map with the layer shown (its "Near me" finds the nearest)
    example: str = ""  # the question again with a station, which this module answers
    far_away: bool = False  # the resident's location is too far from every place


def _geo() -> Any:
    try:
        from machi.geo import services
    except ImportError:
        return None
    needed = ("find_place", "point_layers", "nearest", "within_town")
    return services if all(hasattr(services, name) for name in needed) else None


def _folded(text: str) -> str:
    return japanese.to_hiragana(japanese.normalize(text))


def _mentions(question: str, words: list[str]) -> bool:
    folded = _folded(question)
    for word in words:
        word = _folded(word).strip()
        if not word or word in STOP_FORMS:
            continue
        if word.isascii():
            if f" {word} " in f" {' '.join(folded.replace('-', '').split())} ".replace("?", " "):
                return True
            if word.replace("-", "") in folded.replace("-", "") and len(word) >= 3:
                return True
        elif word in folded:
            return True
    return False


def _words(layer: Any) -> list[str]:
    """What residents call a layer's places: its keywords and titles."""
    return [*(getattr(layer, "keywords", None) or []), layer.title, layer.title_en or ""]


def _layer_for(question: str, layers: list[Any]) -> Any | None:
    # The layer whose longest keyword the question names: 認可保育園 before 保育.
    best, best_length = None, 0
    for layer in layers:
        for word in _words(layer):
            if word and len(word) > best_length and _mentions(question, [word]):
                best, best_length = layer, len(word)
    return best


def _asks_where(question: str, words: list[str]) -> bool:
    """The question asks where the layer's places are: the name next to a "where" word."""
    folded = " ".join(_folded(question).split())
    for word in words:
        name = re.escape(_folded(word).strip())
        if not name:
            continue
        patterns = (
            # トイレはどこ, AEDの場所, AEDがある場所, 避難所はどこにありますか
            rf"{name}\s*(?:は|って|の|が|も)?\s*(?:ある\s*)?(?:どこ|何処|場所|ところ)",
            # どこにトイレがある
            rf"(?:どこ|何処)\s*(?:に|で)?\s*{name}",
            rf"\bwhere(?:'s|\s+is|\s+are|\s+can\s+i\s+find)\s+(?:(?:the|a|an)\s+)?{name}\b",
        )
        if any(re.search(pattern, folded) for pattern in patterns):
            return True
    return False


def _names_only(question: str, words: list[str]) -> bool:
    """The question is the layer's name and nothing else: "AED", "トイレ？"."""
    bare = re.sub(r"(?:は|って)$", "", re.sub(r"[\s?!.。、]+", "", _folded(question)))
    return any(word and bare == re.sub(r"\s+", "", _folded(word)) for word in words)


def asks_near(question: str) -> bool:
    folded = _folded(question)
    return any(word in folded for word in _NEAR) or any(
        word in folded.split() or word in folded for word in _NEAR_EN
    )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    radius = 6_371_000
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def distance_text(metres: float) -> str:
    """A distance as residents read it: 850 m, 1.2 km, 436 km."""
    if metres < 1000:
        return _("%(distance)s m") % {"distance": round(metres)}
    km = metres / 1000
    shown = f"{km:.1f}" if km < 10 else f"{round(km):,}"
    return _("%(distance)s km") % {"distance": shown}


def example(title: str, *, english: bool) -> str:
    """A question with a station that finds the nearest places (asked in either language)."""
    # Station names are only known in Japanese, so the English example keeps 根津駅.
    return f"{title} near 根津駅" if english else f"根津駅の近くの{title}"


def map_url(layer: Any, lat: float, lon: float) -> str:
    """A permalink of the map centred on a place with the layer shown."""
    return f"/map/#map=17/{lat:.5f}/{lon:.5f}&layers={quote(str(layer.slug))}"


def layer_map_url(layer: Any) -> str:
    """The map with the layer shown, where residents find the nearest places with "Near me"."""
    return f"/map/#layers={quote(str(layer.slug))}"


def _first(properties: dict[str, Any], names: tuple[str, ...]) -> str:
    lowered = {str(key).lower(): value for key, value in properties.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, ""):
            return str(value)
    return ""


def _place(
    layer: Any, item: dict[str, Any], origin: tuple[float, float] | None, title: str
) -> dict[str, Any]:
    properties = item.get("properties") or {}
    lat, lon = float(item["lat"]), float(item["lon"])
    distance = item.get("distance_m")
    if distance is None and origin is not None:
        distance = distance_m(origin[0], origin[1], lat, lon)
    return {
        "name": str(item.get("name") or ""),
        "lat": lat,
        "lon": lon,
        "distance_m": round(float(distance)) if distance is not None else None,
        "distance_text": distance_text(float(distance)) if distance is not None else "",
        "address": item.get("address") or _first(properties, _ADDRESS),
        "hours": item.get("hours") or _first(properties, _HOURS),
        "phone": item.get("phone") or _first(properties, _PHONE),
        "layer": title,
        "map_url": map_url(layer, lat, lon),
    }


def answer(
    question: str,
    *,
    lat: float | None = None,
    lon: float | None = None,
    user: Any = None,
    bare: bool = False,
) -> PlaceAnswer | None:
    """Places that answer a question about facilities, or None when it is not one, in the
    active language (the layer's English title on English answers).

    `bare` lets a question that is only a layer's name ("AED") ask for the nearest places
    (when the FAQ has no answer to it).
    """
    geo = _geo()
    if geo is None:
        return None
    near = asks_near(question)
    place = geo.find_place(question)
    folded = _folded(question)
    may_ask_where = any(word in folded for word in _WHERE) or (bare and len(folded) <= 30)
    if place is None and not near and not may_ask_where:
        return None  # no "where": not a question about places (and the layers stay unread)
    layer = _layer_for(question, list(geo.point_layers(user=user)))
    if layer is None:
        return None
    if place is None and not near:
        words = _words(layer)
        near = _asks_where(question, words) or (bare and _names_only(question, words))
    title = layer.display_title
    found = PlaceAnswer(
        title, "", [], layer_map_url(layer), example(title, english=english_requested())
    )
    if place is not None and (place.kind != "town" or near):
        origin = (place.lat, place.lon)
        items = geo.nearest(layer, place.lat, place.lon, n=LIMIT)
    elif place is not None:
        origin = (place.lat, place.lon)
        items = geo.within_town(layer, place.name)
        items = sorted(
            items, key=lambda i: distance_m(origin[0], origin[1], float(i["lat"]), float(i["lon"]))
        )
    elif not near:
        # "保育園の申し込み": about the service, not about where one is.
        return None
    elif lat is not None and lon is not None:
        origin = (lat, lon)
        items = geo.nearest(layer, lat, lon, n=LIMIT)
    else:
        # Asks what is near, but not near where.
        return found
    found.places = [_place(layer, item, origin, title) for item in items[:LIMIT]]
    found.where = place.name if place is not None else ""
    if place is None and found.places:
        nearest_m = found.places[0]["distance_m"]
        found.far_away = nearest_m is not None and nearest_m > FAR_M
    return found
