"""The map's search box: layers a query names, and facilities whose names hold its words.

A query is split into words after NFKC (full-width ＡＥＤ and "根津　駅" read as "AED" and
"根津", "駅"); a facility matches when its name holds every word, or every word that does not
name its layer ("トイレ 根津" finds 根津神社境内公衆便所 in 公衆トイレ). One building is often
in several layers (千石図書館 is in the AED, Wi-Fi, cycle-port, ward-facility and library
layers); it is listed once, under the layer whose subject it is, the others in `also`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q

from machi.geo import services
from machi.geo.geometry import haversine_m
from machi.geo.models import Layer, PointFeature

# The same name this close, in another layer, is the same place. Layers place one building
# differently (a park's centre, its water tank): up to about 340 m apart in the demo.
SAME_PLACE_M = 400.0
# Rows read per result wanted: duplicates are merged after reading.
_READ_PER_RESULT = 10

Row = tuple[int, int, str, str, float, float]  # id, layer id, name, address, lat, lon


def search_layers(user: User | None, text: str, limit: int = 5) -> list[dict[str, Any]]:
    """Layers the query names (title, English title or a keyword), best named first."""
    words = _words(text)
    if not words:
        return []
    scored: list[tuple[int, int, int, Layer]] = []
    for order, layer in enumerate(services.map_order(services.point_layers(user))):
        matches = [_names(_layer_names(layer), word) for word in words]
        if layer.feature_count and any(matches):
            # More words naming it, then exact names, then the map's order.
            named, exact = sum(m > 0 for m in matches), sum(m == 2 for m in matches)
            scored.append((-named, -exact, order, layer))
    scored.sort(key=lambda item: item[:3])
    return [
        {
            "layer": layer.slug,
            "layer_title": layer.display_title,
            "feature_count": layer.feature_count,
        }
        for *_rank, layer in scored[:limit]
    ]


def search_features(user: User | None, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Facilities whose names hold the query's words, over the layers the user may see.

    The same name at (nearly) the same place in several layers is one result, under the
    layer the query names, else the layer a word of whose name it bears (千石図書館 →
    区立図書館), else the first in the map's order; the other layers are in `also`.
    """
    words = _words(text)
    if not words:
        return []
    layers = services.map_order(services.point_layers(user))
    by_id = {layer.pk: layer for layer in layers}
    named = {layer.pk: {w for w in words if _names(_layer_names(layer), w)} for layer in layers}
    wanted = _name_holds(words)
    for pk, naming in named.items():
        rest = [w for w in words if w not in naming]
        if naming and rest:
            wanted |= Q(layer_id=pk) & _name_holds(rest)
    rows: list[Row] = list(
        PointFeature.objects.filter(wanted, layer_id__in=by_id)
        .order_by("name", "id")
        .values_list("id", "layer_id", "name", "address", "lat", "lon")[: limit * _READ_PER_RESULT]
    )
    # The database matched each word in one width; the words must all be there once read.
    rows = [
        r
        for r in rows
        if all(w in _plain(r[2]) or w in named[r[1]] for w in words)
        and any(w in _plain(r[2]) for w in words)
    ]
    rank = {layer.pk: i for i, layer in enumerate(layers)}

    def preference(row: Row) -> tuple[bool, bool, int, int]:
        layer = by_id[row[1]]
        subject = any(len(k) >= 2 and k in _plain(row[2]) for k in _layer_names(layer))
        return (not named[row[1]], not subject, rank[row[1]], row[0])

    groups = _same_places(sorted(rows, key=preference))
    # By name; one name at several places: the preferred layer's first.
    groups.sort(key=lambda group: (group[0][2], preference(group[0])))

    def label(row: Row) -> dict[str, str]:
        layer = by_id[row[1]]
        return {"layer": layer.slug, "layer_title": layer.display_title}

    found = []
    for lead, *others in groups[:limit]:
        pk, _layer_id, name, address, lat, lon = lead
        hit = {"id": pk, **label(lead), "name": name, "address": address, "lat": lat, "lon": lon}
        found.append({**hit, "also": [label(row) for row in others]})
    return found


def _same_places(rows: Sequence[Row]) -> list[list[Row]]:
    """Rows grouped by name and place, the most preferred first in each group.

    Never two rows of one layer: a layer's rows are distinct things (20 消火栓 are 20).
    """
    groups: list[list[Row]] = []
    by_name: dict[str, list[list[Row]]] = {}
    for row in rows:
        key = _plain(row[2]).replace(" ", "")
        for group in by_name.setdefault(key, []):
            lead = group[0]
            if all(r[1] != row[1] for r in group) and (
                haversine_m(lead[4], lead[5], row[4], row[5]) <= SAME_PLACE_M
            ):
                group.append(row)
                break
        else:
            group = [row]
            by_name[key].append(group)
            groups.append(group)
    return groups


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(_plain(text).split()))


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def _wide(word: str) -> str:
    """ASCII as full-width (AED → ＡＥＤ): names are stored as published, in either width."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _name_holds(words: Sequence[str]) -> Q:
    wanted = Q()
    for word in words:
        # SQLite's LIKE ignores case in ASCII only: ＡＥＤ is asked for in capitals too.
        wanted &= (
            Q(name__icontains=word)
            | Q(name__icontains=_wide(word))
            | Q(name__icontains=_wide(word.upper()))
        )
    return wanted


def _layer_names(layer: Layer) -> list[str]:
    return [_plain(n) for n in (layer.title, layer.title_en, *layer.keywords) if n]


def _names(names: Sequence[str], word: str) -> int:
    """2: a name of the layer is the word; 1: a name holds the word or the word a name; 0."""
    if word in names:
        return 2
    if _long_enough(word) and any(word in name for name in names):
        return 1
    if any(_long_enough(name) and name in word for name in names):
        return 1
    return 0


def _long_enough(word: str) -> bool:
    # A short Latin word ("in", "of") is in too many English titles to name anything.
    return len(word) >= (3 if word.isascii() else 2)
