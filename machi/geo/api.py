"""The spatial API under /api/v1/geo/: layers, nearest, within, overlay, per town.

Results are GeoJSON FeatureCollections (`application/geo+json`; distances in metres as the
`distance_m` property) or CSV with `format=csv`. Layers are named by id or URL name.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Body, Query, Router, Schema
from pydantic import Field

from machi.geo import gazetteer, services
from machi.geo import search as map_search
from machi.geo.geometry import GeoError, checked_bbox, polygon_from_geojson
from machi.geo.models import Layer, LayerKind, Place

router = Router(tags=["geo"])

Format = Literal["geojson", "csv"]
MAX_N = 1000


class ErrorOut(Schema):
    detail: str


class LayerOut(Schema):
    id: int
    slug: str
    kind: str = Field(description="point or area")
    title: str
    title_en: str
    keywords: list[str]
    dataset: str | None = Field(description="URL name of the catalog dataset")
    color: str
    icon: str
    legend: str
    popup_fields: list[str]
    feature_count: int
    bbox: list[float] | None = Field(description="west, south, east, north")
    is_public: bool


class GeoJSONOut(Schema):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


class TownCount(Schema):
    town: str
    count: int
    sum: float | None = None


class TownOrStationOut(Schema):
    name: str
    kind: str
    kana: str
    town: str
    lat: float
    lon: float


class LayerHitOut(Schema):
    layer: str = Field(description="URL name of the layer")
    layer_title: str = Field(description="in the request's language")
    feature_count: int


class SearchOut(Schema):
    places: list[TownOrStationOut]
    layers: list[LayerHitOut] = Field(description="layers the query names")
    features: list[dict[str, Any]]


ERRORS = {400: ErrorOut, 404: ErrorOut}


def answers(view: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input → 400 and an unknown or hidden layer → 404, each with `detail`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except GeoError as error:
            return _error(400, str(error))
        except services.LayerNotFound as error:
            return _error(404, _("There is no map layer %(layer)s.") % {"layer": error})

    return wrapped


def _error(status: int, detail: str) -> HttpResponse:
    return HttpResponse(
        json.dumps({"detail": detail}, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def layer_out(layer: Layer) -> dict[str, Any]:
    bbox = None
    if layer.south is not None:
        bbox = [layer.west, layer.south, layer.east, layer.north]
    return {
        "id": layer.pk,
        "slug": layer.slug,
        "kind": layer.kind,
        "title": layer.title,
        "title_en": layer.title_en,
        "keywords": layer.keywords,
        "dataset": layer.dataset.name if layer.dataset else None,
        "color": layer.color,
        "icon": layer.icon,
        "legend": layer.legend,
        "popup_fields": layer.popup_fields,
        "feature_count": layer.feature_count,
        "bbox": bbox,
        "is_public": layer.is_public if layer.dataset is None else layer.dataset.is_public,
    }


def _user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _layer(request: HttpRequest, key: str, kind: str | None = None) -> Layer:
    layer = services.get_layer(_user(request), key)
    if kind == LayerKind.POINT and layer.kind != LayerKind.POINT:
        raise GeoError(_("%(layer)s is an area layer; this query needs points.") % {"layer": key})
    if kind == LayerKind.AREA and layer.kind != LayerKind.AREA:
        raise GeoError(_("%(layer)s is a point layer; this query needs areas.") % {"layer": key})
    return layer


def point_feature(feature: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"name": feature["name"]}
    for key in ("distance_m", "address", "phone", "hours"):
        if key in feature:
            properties[key] = feature[key]
    properties.update(extra or {})
    for key, value in feature["properties"].items():
        properties.setdefault(key, value)
    return {
        "type": "Feature",
        "id": feature["id"],
        "geometry": {"type": "Point", "coordinates": [feature["lon"], feature["lat"]]},
        "properties": properties,
    }


def geojson(document: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        json.dumps(document, ensure_ascii=False), content_type="application/geo+json"
    )


def csv_response(rows: list[dict[str, Any]], filename: str) -> HttpResponse:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 with a byte order mark as UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def features_answer(
    layer: Layer, features: list[dict[str, Any]], format: str, name: str, **members: Any
) -> HttpResponse:
    if format == "csv":
        rows = []
        for feature in features:
            flat = point_feature(feature)["properties"]
            rows.append({"id": feature["id"], "lat": feature["lat"], "lon": feature["lon"], **flat})
        return csv_response(rows, f"{layer.slug}-{name}")
    return geojson(
        {
            "type": "FeatureCollection",
            "layer": layer.slug,
            **members,
            "features": [point_feature(f) for f in features],
        }
    )


@router.get("/geo/layers", response=list[LayerOut], summary="Map layers")
def layers(request: HttpRequest, kind: Literal["point", "area"] | None = None) -> Any:
    """Point layers (datastore tables with coordinates) and area layers (uploads) you may see."""
    return [layer_out(layer) for layer in services.visible_layers(_user(request), kind)]


@router.get("/geo/layers/{layer}", response={200: LayerOut, **ERRORS}, summary="One layer")
@answers
def layer_detail(request: HttpRequest, layer: str) -> Any:
    return layer_out(_layer(request, layer))


@router.get(
    "/geo/layers/{layer}/features",
    response={200: GeoJSONOut, **ERRORS},
    summary="Features of a layer",
)
@answers
def features(
    request: HttpRequest,
    layer: str,
    bbox: str | None = Query(None, description="west,south,east,north"),
    limit: int = Query(10_000, ge=1, le=100_000),
    format: Format = "geojson",
) -> Any:
    """Every feature (points, or areas with their geometry), or those in `bbox`."""
    found = _layer(request, layer)
    if found.kind == LayerKind.AREA:
        areas = services.area_features(found)
        if format == "csv":
            rows = [{"number": a["number"], "name": a["name"], **a["properties"]} for a in areas]
            return csv_response(rows, found.slug)
        return geojson(
            {
                "type": "FeatureCollection",
                "layer": found.slug,
                "features": [
                    {
                        "type": "Feature",
                        "id": a["number"],
                        "geometry": a["geometry"],
                        "properties": {"name": a["name"], **a["properties"]},
                    }
                    for a in areas
                ],
            }
        )
    box = checked_bbox(bbox) if bbox else None
    return features_answer(found, services.layer_features(found, box, limit), format, "features")


@router.get(
    "/geo/layers/{layer}/nearest",
    response={200: GeoJSONOut, **ERRORS},
    summary="Nearest features to a point",
)
@answers
def nearest(
    request: HttpRequest,
    layer: str,
    lat: float,
    lon: float,
    n: int = Query(10, ge=1, le=MAX_N),
    radius: float | None = Query(None, gt=0, le=50_000, description="metres"),
    format: Format = "geojson",
) -> Any:
    """The `n` nearest features, nearest first, with `distance_m` (metres)."""
    found = _layer(request, layer, LayerKind.POINT)
    result = services.nearest(found, lat, lon, n=n, radius_m=radius)
    return features_answer(found, result, format, "nearest")


@router.get(
    "/geo/layers/{layer}/within",
    response={200: GeoJSONOut, **ERRORS},
    summary="Features within a radius, a box or an area",
)
@answers
def within(
    request: HttpRequest,
    layer: str,
    lat: float | None = None,
    lon: float | None = None,
    radius: float | None = Query(None, description="metres, with lat and lon"),
    bbox: str | None = Query(None, description="west,south,east,north"),
    area: str | None = Query(
        None, description="an area layer's feature: <layer id or name>:<feature number>"
    ),
    format: Format = "geojson",
) -> Any:
    """One of: `lat`+`lon`+`radius` (nearest first, with `distance_m`), `bbox`, or `area`."""
    found = _layer(request, layer, LayerKind.POINT)
    if lat is not None and lon is not None and radius is not None:
        result = services.within_radius(found, lat, lon, radius)
    elif bbox:
        result = services.within_bbox(found, checked_bbox(bbox))
    elif area:
        key, _sep, number = area.rpartition(":")
        if not key or not number.isdigit():
            raise GeoError(_("area must be <layer>:<feature number>, for example flood-areas:3."))
        areas = _layer(request, key, LayerKind.AREA)
        result = services.within_polygon(found, services.area_geometry(areas, int(number)))
    else:
        raise GeoError(_("Give lat, lon and radius; or bbox; or area."))
    return features_answer(found, result, format, "within")


@router.post(
    "/geo/layers/{layer}/within",
    response={200: GeoJSONOut, **ERRORS},
    summary="Features within a GeoJSON polygon",
)
@answers
def within_polygon(
    request: HttpRequest,
    layer: str,
    polygon: dict[str, Any] = Body(  # noqa: B008 - ninja's way to declare a body
        ..., description="A GeoJSON Polygon or MultiPolygon (or a Feature holding one), WGS84"
    ),
    format: Format = "geojson",
) -> Any:
    found = _layer(request, layer, LayerKind.POINT)
    area = polygon_from_geojson(polygon, _("the request body"))
    return features_answer(found, services.within_polygon(found, area), format, "within")


@router.get(
    "/geo/layers/{layer}/by-town",
    response={200: list[TownCount], **ERRORS},
    summary="Counts (and sums) per town",
)
@answers
def by_town(
    request: HttpRequest,
    layer: str,
    sum: str | None = Query(None, description="a number column to add up per town"),
    format: Format | Literal["json"] = "json",
) -> Any:
    """Features per town (町) of the gazetteer, by address or else by the nearest town point."""
    found = _layer(request, layer, LayerKind.POINT)
    result = services.by_town(found, sum)
    if format == "csv":
        return csv_response(result, f"{found.slug}-by-town")
    return result


@router.get(
    "/geo/layers/{layer}/in-town",
    response={200: GeoJSONOut, **ERRORS},
    summary="Features in one town",
)
@answers
def in_town(request: HttpRequest, layer: str, town: str, format: Format = "geojson") -> Any:
    """Features in a town (春日) or 町丁目 (春日一丁目)."""
    found = _layer(request, layer, LayerKind.POINT)
    return features_answer(found, services.within_town(found, town), format, "in-town")


@router.get("/geo/overlay", response={200: GeoJSONOut, **ERRORS}, summary="Points in areas")
@answers
def overlay(request: HttpRequest, points: str, areas: str, format: Format = "geojson") -> Any:
    """Points of one layer inside the areas of another; `areas` in the answer counts per area.

    With `format=csv`, one row per point and area.
    """
    point_layer = _layer(request, points, LayerKind.POINT)
    area_layer = _layer(request, areas, LayerKind.AREA)
    inside, summary = services.overlay(point_layer, area_layer)
    if format == "csv":
        rows = []
        for feature in inside:
            flat = point_feature(feature)["properties"]
            rows.append(
                {
                    "area_number": feature["area"]["number"],
                    "area_name": feature["area"]["name"],
                    "id": feature["id"],
                    "lat": feature["lat"],
                    "lon": feature["lon"],
                    **flat,
                }
            )
        return csv_response(rows, f"{point_layer.slug}-in-{area_layer.slug}")
    return geojson(
        {
            "type": "FeatureCollection",
            "points": point_layer.slug,
            "areas": summary,
            "features": [
                point_feature(
                    f, {"area_number": f["area"]["number"], "area_name": f["area"]["name"]}
                )
                for f in inside
            ],
        }
    )


@router.get("/geo/places", response=list[TownOrStationOut], summary="Towns and stations")
def places(request: HttpRequest, q: str = "") -> Any:
    """The gazetteer: towns (町, 町丁目) and stations whose name or reading holds `q`."""
    return gazetteer.search(q, limit=20) if q else list(Place.objects.all())


@router.get("/geo/search", response=SearchOut, summary="Search towns, stations and facilities")
def search(request: HttpRequest, q: str) -> Any:
    """Towns and stations, layers the query names, and facilities whose names hold its words.

    A facility in several layers (one building with an AED and Wi-Fi) is listed once, the
    other layers in its `also`.
    """
    user = _user(request)
    return {
        "places": gazetteer.search(q, limit=10),
        "layers": map_search.search_layers(user, q),
        "features": map_search.search_features(user, q, limit=20),
    }
