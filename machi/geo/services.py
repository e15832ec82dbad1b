"""Map layers and spatial queries: the one place the map, the API and the chatbot ask.

Stable interface (docs/geo.md; machi.ask relies on it):

    find_place(text) -> Place | None
    point_layers(user=None) -> list[Layer]
    nearest(layer, lat, lon, n=10, radius_m=None) -> list[dict]
    within_town(layer, town_name) -> list[dict]

A feature dict is {"id", "name", "lat", "lon", "properties", "address"?, "phone"?, "hours"?}
plus "distance_m" (metres, rounded to 0.1) where a distance applies.

Point layers follow the datastore: every resource whose served table has coordinates is a
layer, and its points are indexed again whenever the served table changes (a new upload,
a reload, a version switch). Queries narrow by a box on the index (SQLite R*Tree,
PostgreSQL GiST with PostGIS, btree without) and then decide exactly in Python
(haversine, shapely), so every database gives the same answers in the same order.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from machi.accounts.permissions import department_ids, is_site_admin
from machi.catalog.models import Dataset
from machi.catalog.queries import visible_datasets
from machi.datastore import engine
from machi.datastore.models import Table
from machi.datastore.queries import serving_order
from machi.geo import gazetteer, postgis
from machi.geo.geometry import (
    GeoError,
    box_around,
    checked_point,
    farthest_corner_m,
    haversine_m,
)
from machi.geo.models import AreaFeature, Layer, LayerKind, Place, PlaceKind, PointFeature

Feature = dict[str, Any]
Box = tuple[float, float, float, float]  # south, west, north, east

# Words residents use for what common layers hold, with a colour and a short marker label.
# Keyed by the dataset's national standard (Dataset.standard) or its URL name. The map lists
# these layers first, in this order: what residents look for most (ward facilities, toilets,
# AED, shelters) comes before the alphabet does (docs/geo.md, "Map page").
KNOWN_LAYERS: dict[str, tuple[list[str], str, str]] = {
    "public-facility": (["公共施設", "区有施設", "区の施設", "public facility"], "#37474f", "公"),
    "public-toilet": (
        ["トイレ", "公衆トイレ", "公衆便所", "お手洗い", "toilet", "restroom"],
        "#6a1b9a",
        "WC",
    ),
    "aed": (["AED", "自動体外式除細動器", "除細動器"], "#c62828", "AED"),
    "evacuation-shelters": (
        ["避難所", "指定避難所", "福祉避難所", "shelter", "evacuation shelter"],
        "#2e7d32",
        "避",
    ),
    "evacuation-space": (
        ["避難場所", "緊急避難場所", "広域避難場所", "evacuation site"],
        "#1b5e20",
        "場",
    ),
    "public-wireless-lan": (
        ["Wi-Fi", "WiFi", "wifi", "無線LAN", "公衆無線LAN", "フリーWi-Fi"],
        "#0d47a1",
        "Wi",
    ),
    "clinics": (
        ["病院", "診療所", "クリニック", "医療機関", "hospital", "clinic"],
        "#ad1457",
        "医",
    ),
    "pharmacies": (["薬局", "pharmacy"], "#006978", "薬"),
    "preschool": (["保育園", "保育所", "認可保育所", "nursery"], "#bf360c", "保"),
    "kindergartens": (["幼稚園", "こども園", "kindergarten"], "#a84300", "幼"),
    "elementary-schools": (["小学校", "elementary school"], "#5d4037", "小"),
    "junior-high-schools": (["中学校", "junior high school"], "#5d4037", "中"),
    "libraries": (["図書館", "library"], "#4e342e", "図"),
    "parks": (["公園", "児童遊園", "遊び場", "park"], "#33691e", "園"),
    "welfare-facilities": (["福祉センター", "福祉施設", "welfare"], "#3d6b1f", "福"),
    "fire-stations": (["消防署", "出張所", "fire station"], "#b71c1c", "消"),
    "museums": (["博物館", "美術館", "museum"], "#4527a0", "博"),
    "tourism-spots": (["観光", "観光スポット", "名所", "sightseeing"], "#00695c", "観"),
}
_ROLE_COLUMNS = {
    "name": ["名称", "施設名", "名前", "名称_通称", "店舗名", "公園名", "name", "title"],
    "address": ["住所", "所在地_連結表記", "所在地", "施設所在地", "address", "所在地_町字"],
    "phone": ["電話番号", "電話", "施設電話番号", "連絡先電話番号", "phone", "tel"],
    "hours_from": ["開始時間", "開館時間", "営業開始時間"],
    "hours_to": ["終了時間", "閉館時間", "営業終了時間"],
    "hours_note": [
        "利用可能時間特記事項",
        "利用可能日時特記事項",
        "営業時間",
        "開館時間備考",
        "利用可能時間",
    ],
}
# Columns a popup leaves out: codes, readings and what the layer already says.
_QUIET_COLUMNS = {
    "都道府県コード又は市区町村コード",
    "全国地方公共団体コード",
    "市区町村コード",
    "no",
    "id",
    "都道府県名",
    "市区町村名",
    "地方公共団体名",
    "所在地_都道府県",
    "所在地_市区町村",
    "所在地_町字",
    "所在地_番地以下",
    "法人番号",
    "内線番号",
    "緯度",
    "経度",
    "lat",
    "lon",
    "latitude",
    "longitude",
}
# Columns ending in 名 that do not name the feature.
_NOT_NAMES = {
    "都道府県名",
    "市区町村名",
    "地方公共団体名",
    "法人名",
    "法人の名称",
    "河川名",
    "路線名",
    "連絡先名称",
    "場所名称",
}
_POPUP_FIELDS = 8
_BULK = 2000


class LayerNotFound(LookupError):
    """No such layer, or one the user may not see."""


# --- The stable interface --------------------------------------------------------------------


def find_place(text: str) -> Place | None:
    """The town (町 or 町丁目) or station named in free text, from the gazetteer.

    "根津駅の近くのAEDは？" finds the station 根津; "春日の保育園" the town 春日.
    """
    return gazetteer.find_in_text(text)


def point_layers(user: User | None = None) -> list[Layer]:
    """Point layers the user may see (None: the public), their indexes up to date."""
    sync_point_layers()
    return list(
        Layer.objects.filter(kind=LayerKind.POINT, dataset__in=visible_datasets(user))
        .select_related("dataset")
        .order_by("title")
    )


def nearest(
    layer: Layer, lat: float, lon: float, n: int = 10, radius_m: float | None = None
) -> list[Feature]:
    """The `n` features nearest to (lat, lon), nearest first, each with `distance_m`.

    Rings grow from a radius the layer's density suggests until `n` features lie inside
    one; every point inside a ring is in its box, so what the ring holds is exact.
    """
    lat, lon = checked_point(lat, lon)
    if n < 1:
        return []
    if radius_m is not None and radius_m <= 0:
        raise GeoError(_("The radius must be more than 0 metres."))
    extent = _extent(layer)
    if extent is None:
        return []
    if postgis.enabled():
        # The GiST index's n nearest (planar, in degrees) are n points within `ring`, so the
        # n nearest by haversine are within it too: the exact ring below decides, as always.
        ring = min(_knn_ring(layer, lat, lon, n), radius_m or math.inf)
        found = _in_ring(layer, lat, lon, ring)
        return _features(layer, [(pk, distance) for pk, distance, _row in found[:n]])
    reach = farthest_corner_m(lat, lon, extent)
    ring = min(_first_ring(layer, extent, n), radius_m or math.inf)
    while True:
        found = _in_ring(layer, lat, lon, ring)
        if len(found) >= n or ring >= reach or (radius_m is not None and ring >= radius_m):
            return _features(layer, [(pk, distance) for pk, distance, _row in found[:n]])
        ring = min(ring * 2.5, radius_m or math.inf, reach * 1.001 + 1)


def within_town(layer: Layer, town_name: str) -> list[Feature]:
    """Features in a town (町 or 町丁目): by the address, else by the nearest town point."""
    wanted = gazetteer.normalized(town_name).removesuffix("駅")
    if not wanted:
        raise GeoError(_("Name a town."))
    rows = list(PointFeature.objects.filter(layer=layer).values_list("id", "address", "lat", "lon"))
    towns = _town_points()
    chosen = []
    for pk, address, lat, lon in rows:
        place = _address_town(address)
        if place is None:
            place = _nearest_town(towns, lat, lon)
        if place is not None and (place == wanted or place.startswith(wanted)):
            chosen.append((pk, None))
    return _features(layer, chosen)


# --- More queries ------------------------------------------------------------------------------


def within_radius(layer: Layer, lat: float, lon: float, radius_m: float) -> list[Feature]:
    lat, lon = checked_point(lat, lon)
    if not (0 < radius_m <= 50_000):
        raise GeoError(_("The radius must be more than 0 and at most 50,000 metres."))
    found = _in_ring(layer, lat, lon, radius_m, full=True)
    rows = {pk: row for pk, _distance, row in found}
    return _features(layer, [(pk, distance) for pk, distance, _row in found], rows)


def within_bbox(layer: Layer, box: Box) -> list[Feature]:
    rows = {row[0]: row for row in _in_box(layer, box, full=True)}
    return _features(layer, [(pk, None) for pk in sorted(rows)], rows)


def within_polygon(layer: Layer, area: shapely.Geometry) -> list[Feature]:
    """Features inside an area (its boundary included)."""
    west, south, east, north = area.bounds
    candidates = _in_box(layer, (south, west, north, east), full=True)
    if not candidates:
        return []
    ids = np.array([c[0] for c in candidates])
    lats = np.array([c[1] for c in candidates])
    lons = np.array([c[2] for c in candidates])
    shapely.prepare(area)
    inside = shapely.intersects_xy(area, lons, lats)
    rows = {row[0]: row for row in candidates}
    return _features(layer, sorted((int(pk), None) for pk in ids[inside]), rows)


def area_geometry(layer: Layer, number: int) -> shapely.Geometry:
    feature = AreaFeature.objects.filter(layer=layer, number=number).first()
    if feature is None:
        raise GeoError(
            _("The area layer %(layer)s has no feature %(number)d.")
            % {"layer": layer.slug, "number": number}
        )
    return shapely.geometry.shape(feature.geometry)


def overlay(points: Layer, areas: Layer) -> tuple[list[Feature], list[dict[str, Any]]]:
    """Which points fall in which areas, and a count per area (every area, zeros too).

    A point in two overlapping areas is listed once per area.
    """
    if points.kind != LayerKind.POINT or areas.kind != LayerKind.AREA:
        raise GeoError(_("An overlay needs a point layer (points=) and an area layer (areas=)."))
    area_rows = list(
        AreaFeature.objects.filter(layer=areas).values_list("id", "number", "name", "geometry")
    )
    rows = _all_rows(points)
    numbers = [number for _pk, number, _name, _g in area_rows]
    names = {number: name for _pk, number, name, _g in area_rows}
    counts = np.zeros(len(area_rows), dtype=int)
    inside: list[Feature] = []
    if area_rows and rows:
        tree = shapely.STRtree([shapely.geometry.shape(g) for *_rest, g in area_rows])
        ids = np.array([r[0] for r in rows])
        located = shapely.points(np.array([r[2] for r in rows]), np.array([r[1] for r in rows]))
        point_index, area_index = tree.query(located, predicate="intersects")
        # By point id, then area number: the same order on every database.
        order = np.lexsort((np.array(numbers)[area_index], ids[point_index]))
        point_index, area_index = point_index[order], area_index[order]
        counts = np.bincount(area_index, minlength=len(area_rows))
        kept = list(dict.fromkeys(point_index.tolist()))
        features = dict(zip(kept, _build(points, [rows[i] for i in kept], None), strict=True))
        for p, a in zip(point_index.tolist(), area_index.tolist(), strict=True):
            number = numbers[a]
            inside.append({**features[p], "area": {"number": number, "name": names[number]}})
    summary = [
        {"number": number, "name": names[number], "count": int(counts[i])}
        for i, number in enumerate(numbers)
    ]
    return inside, summary


def by_town(layer: Layer, sum_field: str | None = None) -> list[dict[str, Any]]:
    """Count (and sum a number column) per town of the ward, in gazetteer order."""
    rows = PointFeature.objects.filter(layer=layer).values_list(
        "address", "lat", "lon", "properties"
    )
    if sum_field is not None and sum_field not in _columns(layer):
        raise GeoError(
            _('The layer has no column "%(column)s". Columns: %(columns)s')
            % {"column": sum_field, "columns": "、".join(_columns(layer))}
        )
    towns = _town_points()
    order = [name for name, _lat, _lon in towns]
    totals: dict[str, dict[str, Any]] = {
        name: {"town": name, "count": 0, **({"sum": 0} if sum_field else {})} for name in order
    }
    outside = {"town": "", "count": 0, **({"sum": 0} if sum_field else {})}
    for address, lat, lon, properties in rows:
        town = _address_town(address) or _nearest_town(towns, lat, lon)
        town = _town_of_chome(town)
        bucket = totals.get(town, outside) if town else outside
        bucket["count"] += 1
        if sum_field:
            value = _number(properties.get(sum_field))
            bucket["sum"] += value or 0
    result = [totals[name] for name in order]
    if outside["count"]:
        result.append(outside)
    return result


# --- Layers the user may see -------------------------------------------------------------------


def visible_layers(user: User | None, kind: str | None = None) -> QuerySet[Layer]:
    """Point layers of datasets the user may see, and area layers public or of their department."""
    sync_point_layers()
    points = Q(kind=LayerKind.POINT, dataset__in=visible_datasets(user))
    if user is not None and user.is_authenticated and is_site_admin(user):
        areas = Q(kind=LayerKind.AREA)
    elif user is not None and user.is_authenticated:
        areas = Q(kind=LayerKind.AREA) & (
            Q(is_public=True) | Q(department_id__in=department_ids(user))
        )
    else:
        areas = Q(kind=LayerKind.AREA, is_public=True)
    layers = Layer.objects.filter(points | areas).select_related("dataset")
    if kind:
        layers = layers.filter(kind=kind)
    return layers.order_by("kind", "title")


def map_order(layers: Iterable[Layer]) -> list[Layer]:
    """Layers as the map lists them: KNOWN_LAYERS in their order, other points, then areas.

    Code-point order put 公衆トイレ ninth and 指定緊急避難場所 28th of 42; residents look
    for those first.
    """
    first = {key: rank for rank, key in enumerate(KNOWN_LAYERS)}

    def rank(layer: Layer) -> tuple[int, int, str, int]:
        known = _known_key(layer.dataset) if layer.dataset else None
        return (
            layer.kind != LayerKind.POINT,
            first.get(known, len(first)) if known else len(first),
            layer.title,
            layer.pk,
        )

    return sorted(layers, key=rank)


def get_layer(user: User | None, key: str | int) -> Layer:
    """A visible layer by id or URL name; LayerNotFound otherwise."""
    layers = visible_layers(user)
    text = str(key)
    layer = layers.filter(pk=int(text)).first() if text.isdigit() else None
    layer = layer or layers.filter(slug=text).first()
    if layer is None:
        raise LayerNotFound(text)
    return layer


def layer_features(layer: Layer, box: Box | None = None, limit: int | None = None) -> list[Feature]:
    """Every feature of a point layer (in a box, if given), in row order."""
    if box is not None:
        return within_bbox(layer, box)[:limit]
    rows = _all_rows(layer)[:limit]
    return _features(layer, [(row[0], None) for row in rows], {row[0]: row for row in rows})


def area_features(layer: Layer) -> list[dict[str, Any]]:
    return [
        {
            "number": a.number,
            "name": a.name,
            "properties": a.properties,
            "geometry": a.geometry,
        }
        for a in AreaFeature.objects.filter(layer=layer).order_by("number")
    ]


# --- Keeping point layers in step with the datastore --------------------------------------------


def sync_point_layers() -> None:
    """Give every served table with coordinates a layer, and re-index those whose table changed."""
    serving = _serving_point_tables()
    layers = {
        layer.resource_id: layer
        for layer in Layer.objects.filter(kind=LayerKind.POINT, resource__isnull=False)
    }
    for resource_id, table in serving.items():
        layer = layers.get(resource_id) or _new_point_layer(table)
        if layer is not None and layer.indexed_table != table.name:
            index_points(layer, table)
    for resource_id, layer in layers.items():
        if resource_id not in serving and layer.indexed_table:
            _clear(layer)


def _serving_point_tables() -> dict[int, Table]:
    with_points = Table.objects.filter(geo__isnull=False).values("resource_id")
    tables = (
        Table.objects.filter(resource_id__in=with_points)
        .select_related("resource__dataset")
        .order_by("resource_id", *serving_order())
    )
    serving: dict[int, Table] = {}
    for table in tables:
        serving.setdefault(table.resource_id, table)
    return {rid: t for rid, t in serving.items() if t.geo}


def _new_point_layer(table: Table) -> Layer | None:
    resource = table.resource
    dataset = resource.dataset
    keywords, color, icon = _known(dataset)
    slug = slugify(dataset.name) or f"layer-{resource.pk}"
    if Layer.objects.filter(slug=slug).exists():
        slug = f"{slug}-{resource.pk}"
    columns = [f["name"] for f in table.fields]
    roles = {role: _find_column(columns, names) for role, names in _ROLE_COLUMNS.items()}
    roles = {role: column for role, column in roles.items() if column}
    if "name" not in roles:
        named = [c for c in columns if c.endswith(("名", "名称")) and _plain(c) not in _NOT_NAMES]
        named = [c for c in named if "カナ" not in c and "英語" not in c]
        fallback = named or [c for c in columns if c in {"設置場所", "種別"}]
        if fallback:
            roles["name"] = fallback[0]
    shown = {roles.get("name"), *(c for c in (table.geo or {}).values())}
    popup = [
        c
        for c in columns
        if c not in shown
        and _plain(c) not in _QUIET_COLUMNS
        and "カナ" not in c
        and "英語" not in c
    ][:_POPUP_FIELDS]
    title = dataset.title
    try:
        with transaction.atomic():
            return Layer.objects.create(
                slug=slug,
                kind=LayerKind.POINT,
                title=_stem(title),
                title_en=_stem(dataset.title_en),
                keywords=_unique([*keywords, _stem(title), _stem(dataset.title_en)]),
                dataset=dataset,
                resource=resource,
                is_public=dataset.is_public,
                color=color,
                icon=icon,
                popup_fields=popup,
                roles=roles,
                legend=resource.name,
            )
    except IntegrityError:  # made meanwhile by another request
        return Layer.objects.filter(resource=resource).first()


def index_points(layer: Layer, table: Table) -> int:
    """Copy the table's coordinates and columns into the layer's index, in one transaction."""
    geo = table.geo or {}
    columns = table.column_list
    names = ["_id", *(c.column for c in columns)]
    lat_column, lon_column = geo.get("lat"), geo.get("lon")
    listed = ", ".join(engine.quote(n) for n in names)
    roles = layer.roles or {}
    name_column = roles.get("name")
    address_column = roles.get("address")
    features = []
    with engine.connection().cursor() as cursor:
        cursor.execute(f"SELECT {listed} FROM {engine.qualified(table.name)} ORDER BY _id")
        by_column = {c.column: c.name for c in columns}
        lat_at, lon_at = names.index(lat_column), names.index(lon_column)
        for values in cursor.fetchall():
            lat, lon = _coordinate(values[lat_at], 90), _coordinate(values[lon_at], 180)
            if lat is None or lon is None:
                continue
            properties = {
                by_column[n]: _json_value(v)
                for n, v in zip(names[1:], values[1:], strict=True)
                if n not in {lat_column, lon_column} and by_column.get(n)
            }
            features.append(
                PointFeature(
                    layer=layer,
                    row=values[0],
                    name=str(properties.get(name_column) or "")[:300],
                    address=str(properties.get(address_column) or "")[:300],
                    lat=lat,
                    lon=lon,
                    properties=properties,
                )
            )
    with transaction.atomic():
        # Two requests may notice the same new table at once: one rebuilds, the other waits.
        current = Layer.objects.select_for_update().get(pk=layer.pk)
        if current.indexed_table == table.name:
            return current.feature_count
        PointFeature.objects.filter(layer=layer).delete()
        PointFeature.objects.bulk_create(features, batch_size=_BULK)
        _set_extent(layer, [(f.lat, f.lon) for f in features])
        layer.indexed_table = table.name
        layer.is_public = table.resource.dataset.is_public
        layer.save()
    return len(features)


def _clear(layer: Layer) -> None:
    with transaction.atomic():
        PointFeature.objects.filter(layer=layer).delete()
        _set_extent(layer, [])
        layer.indexed_table = ""
        layer.save()


def _set_extent(layer: Layer, points: Sequence[tuple[float, float]]) -> None:
    layer.feature_count = len(points)
    if points:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        layer.south, layer.north = min(lats), max(lats)
        layer.west, layer.east = min(lons), max(lons)
    else:
        layer.south = layer.north = layer.west = layer.east = None


# --- The index: a box first, then exact ---------------------------------------------------------


_COLUMNS = ("id", "lat", "lon", "row", "name", "address", "properties")
Row = tuple[Any, ...]  # _COLUMNS, or their first three


def _in_box(layer: Layer, box: Box, full: bool = False) -> list[Row]:
    """The layer's points in the box, edges included: (id, lat, lon[, row, name, ...])."""
    south, west, north, east = box
    listed = ", ".join(f"p.{c}" for c in (_COLUMNS if full else _COLUMNS[:3]))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # The R*Tree keeps 32-bit boxes that contain each point; its overlap test is a
            # superset, and the real columns then decide. CROSS JOIN keeps SQLite from
            # starting at the (layer, lat, lon) btree, which reads a whole band of latitude.
            cursor.execute(
                f"SELECT {listed} FROM geo_point_rtree r "
                "CROSS JOIN geo_pointfeature p ON p.id = r.id "
                "WHERE r.max_lat >= %s AND r.min_lat <= %s AND r.max_lon >= %s "
                "AND r.min_lon <= %s AND p.layer_id = %s "
                "AND p.lat BETWEEN %s AND %s AND p.lon BETWEEN %s AND %s",
                [south, north, west, east, layer.pk, south, north, west, east],
            )
        elif postgis.enabled():
            # The GiST box test (&&) narrows; the exact BETWEEN keeps the edges as elsewhere.
            cursor.execute(
                f"SELECT {listed} FROM geo_pointfeature p WHERE {postgis.POINT} "
                "&& ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND p.layer_id = %s "
                "AND p.lat BETWEEN %s AND %s AND p.lon BETWEEN %s AND %s",
                [west, south, east, north, layer.pk, south, north, west, east],
            )
        else:
            cursor.execute(
                f"SELECT {listed} FROM geo_pointfeature p WHERE p.layer_id = %s "
                "AND p.lat BETWEEN %s AND %s AND p.lon BETWEEN %s AND %s",
                [layer.pk, south, north, west, east],
            )
        return cursor.fetchall()


def _rows(ids: Sequence[int]) -> dict[int, Row]:
    """Full rows of points by id, without the ORM (a radius query may read thousands)."""
    found: dict[int, Row] = {}
    listed = ", ".join(f"p.{c}" for c in _COLUMNS)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _BULK):
            chunk = list(ids[start : start + _BULK])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {listed} FROM geo_pointfeature p WHERE p.id IN ({marks})", chunk
            )
            found.update((row[0], row) for row in cursor.fetchall())
    return found


def _all_rows(layer: Layer) -> list[Row]:
    listed = ", ".join(f"p.{c}" for c in _COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {listed} FROM geo_pointfeature p WHERE p.layer_id = %s ORDER BY p.row",
            [layer.pk],
        )
        return cursor.fetchall()


def _in_ring(
    layer: Layer, lat: float, lon: float, radius_m: float, full: bool = False
) -> list[tuple[int, float, Row]]:
    """(id, distance, row) of points within `radius_m`, nearest first, ties by id."""
    found = []
    for row in _in_box(layer, box_around(lat, lon, radius_m), full):
        distance = haversine_m(lat, lon, row[1], row[2])
        if distance <= radius_m:
            found.append((distance, row[0], row))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(pk, distance, row) for distance, pk, row in found]


def _knn_ring(layer: Layer, lat: float, lon: float, n: int) -> float:
    """Metres to the farthest of the n points PostGIS's KNN ordering (<->) finds first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.lat, p.lon FROM geo_pointfeature p WHERE p.layer_id = %s "
            f"ORDER BY {postgis.POINT} <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT %s",
            [layer.pk, lon, lat, n],
        )
        farthest = max((haversine_m(lat, lon, y, x) for y, x in cursor.fetchall()), default=0.0)
    return farthest + 0.01  # a centimetre more, so rounding in the box cannot drop that point


def _extent(layer: Layer) -> Box | None:
    if layer.feature_count == 0 or layer.south is None:
        return None
    return layer.south, layer.west, layer.north, layer.east  # type: ignore[return-value]


def _first_ring(layer: Layer, extent: Box, n: int) -> float:
    """A radius likely to hold `n` points were they spread evenly over the layer's extent."""
    south, west, north, east = extent
    height = max(haversine_m(south, west, north, west), 50.0)
    width = max(haversine_m(south, west, south, east), 50.0)
    per_m2 = layer.feature_count / (height * width)
    return max(50.0, 1.5 * math.sqrt(n / (math.pi * per_m2)))


def _features(
    layer: Layer, found: Iterable[tuple[int, float | None]], rows: dict[int, Row] | None = None
) -> list[Feature]:
    found = list(found)
    if rows is None:
        rows = _rows([pk for pk, _d in found])
    return _build(layer, [rows[pk] for pk, _d in found], [d for _pk, d in found])


def _build(layer: Layer, rows: list[Row], distances: list[float | None] | None) -> list[Feature]:
    """Feature dicts of rows; their properties decoded in one go (SQLite hands JSON as text)."""
    texts = [row[6] for row in rows]
    if texts and all(isinstance(t, str) for t in texts):
        decoded = json.loads("[" + ",".join(texts) + "]")
    else:
        decoded = [json.loads(t) if isinstance(t, str) else t for t in texts]
    roles = layer.roles or {}
    distances = distances or [None] * len(rows)
    return [
        _feature(row, properties, distance, roles)
        for row, properties, distance in zip(rows, decoded, distances, strict=True)
    ]


def _feature(
    row: Row, properties: dict[str, Any], distance: float | None, roles: dict[str, str]
) -> Feature:
    pk, lat, lon, number, name, address, _text = row
    feature: Feature = {
        "id": pk,
        "row": number,
        "name": name,
        "lat": lat,
        "lon": lon,
        "properties": properties,
    }
    if distance is not None:
        feature["distance_m"] = round(distance, 1)
    if address:
        feature["address"] = address
    phone = properties.get(roles.get("phone", ""))
    if phone:
        feature["phone"] = phone
    hours = _hours(properties, roles)
    if hours:
        feature["hours"] = hours
    return feature


def _hours(properties: dict[str, Any], roles: dict[str, str]) -> str:
    start = properties.get(roles.get("hours_from", ""))
    end = properties.get(roles.get("hours_to", ""))
    note = properties.get(roles.get("hours_note", ""))
    text = f"{start}〜{end}" if start and end else ""
    if note:
        text = f"{text}（{note}）" if text else str(note)
    return text


# --- Towns ---------------------------------------------------------------------------------------

_ADDRESS_TOWN = re.compile(
    r"文京区(?P<town>[^\d０-９一二三四五六七八九十〇]+)(?P<chome>[0-9]+丁目)?"
)


def _address_town(address: str) -> str | None:
    """町丁目 of a Bunkyo address, normalized: 東京都文京区春日一丁目16番21号 → 春日1丁目."""
    if not address or "文京区" not in address:
        return None
    match = _ADDRESS_TOWN.search(gazetteer.normalized(address))
    if not match:
        return None
    return match.group("town") + (match.group("chome") or "")


def _town_points() -> list[tuple[str, float, float]]:
    """Towns (町 level and 町丁目) of the gazetteer, normalized names and points."""
    return [
        (gazetteer.normalized(p.name), p.lat, p.lon)
        for p in Place.objects.filter(kind=PlaceKind.TOWN).order_by("kana", "chome", "name")
    ]


def _nearest_town(towns: list[tuple[str, float, float]], lat: float, lon: float) -> str | None:
    best = min(towns, key=lambda t: haversine_m(lat, lon, t[1], t[2]), default=None)
    return best[0] if best else None


def _town_of_chome(name: str | None) -> str | None:
    return re.sub(r"[0-9]+丁目$", "", name) if name else None


# --- Small helpers -----------------------------------------------------------------------------


def _known(dataset: Dataset) -> tuple[list[str], str, str]:
    key = _known_key(dataset)
    return KNOWN_LAYERS[key] if key else ([], "#1f6fb2", "")


def _known_key(dataset: Dataset) -> str | None:
    return next((k for k in (dataset.name, dataset.standard) if k in KNOWN_LAYERS), None)


def _stem(title: str) -> str:
    """A dataset title as a layer name: AED設置場所一覧 → AED設置場所."""
    title = re.sub(r"[（(][^）)]*[）)]\s*$", "", title or "").strip()
    return re.sub(r"(一覧|の一覧)$", "", title).strip()


def _unique(words: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for word in words:
        if word and word not in seen:
            seen[word] = None
    return list(seen)


def _plain(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


def _find_column(columns: Sequence[str], names: Sequence[str]) -> str | None:
    plain = {_plain(c): c for c in columns}
    return next((plain[_plain(n)] for n in names if _plain(n) in plain), None)


def _columns(layer: Layer) -> list[str]:
    first = PointFeature.objects.filter(layer=layer).values_list("properties", flat=True).first()
    return list(first or {})


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) > limit or number == 0:
        return None
    return number


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value
