"""Distances, boxes and geometry checks, the same on every database.

Distances are great-circle (haversine) on a sphere of the mean Earth radius; within a
ward the difference from the ellipsoid is under 0.5 %, far below what a map shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8
# Japan's extent, generously (Okinotorishima to Etorofu, Yonaguni to Minamitorishima).
JAPAN = {"south": 20.0, "north": 46.0, "west": 122.0, "east": 154.0}


class GeoError(ValueError):
    """Input that cannot be a location or an area; the message says what and where."""


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def box_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, west, north, east) holding every point within `radius_m` of (lat, lon)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    # The widest longitude span is at the box's pole-ward edge.
    edge = min(89.9, abs(lat) + dlat)
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * math.cos(math.radians(edge))))
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


def farthest_corner_m(lat: float, lon: float, box: Sequence[float]) -> float:
    south, west, north, east = box
    return max(haversine_m(lat, lon, y, x) for y in (south, north) for x in (west, east))


def in_japan(lat: float, lon: float) -> bool:
    return JAPAN["south"] <= lat <= JAPAN["north"] and JAPAN["west"] <= lon <= JAPAN["east"]


def checked_point(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        y, x = float(lat), float(lon)
    except (TypeError, ValueError):
        raise GeoError(_("Latitude and longitude must be numbers.")) from None
    if not (math.isfinite(y) and math.isfinite(x)) or not (-90 <= y <= 90 and -180 <= x <= 180):
        raise GeoError(_("Latitude must be between -90 and 90 and longitude between -180 and 180."))
    return y, x


def checked_bbox(text: str) -> tuple[float, float, float, float]:
    """`west,south,east,north` (as GeoJSON and OGC order it) as (south, west, north, east)."""
    parts = text.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise GeoError(
            _("bbox must be four numbers: west,south,east,north (longitude, latitude).")
        ) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise GeoError(_("bbox must be four finite numbers."))
    if south > north or west > east:
        raise GeoError(_("bbox must be west,south,east,north with west <= east, south <= north."))
    return south, west, north, east


def polygon_from_geojson(data: Any, where: str = "") -> shapely.Geometry:
    """A valid Polygon or MultiPolygon in Japan from GeoJSON (geometry, Feature)."""
    prefix = f"{where}: " if where else ""
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") not in {"Polygon", "MultiPolygon"}:
        raise GeoError(prefix + _("The geometry must be a GeoJSON Polygon or MultiPolygon."))
    try:
        geometry = shape(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        raise GeoError(
            prefix + _("The polygon's coordinates are not valid: %(error)s") % {"error": error}
        ) from None
    return checked_area(geometry, where)


def checked_area(geometry: shapely.Geometry, where: str = "") -> shapely.Geometry:
    prefix = f"{where}: " if where else ""
    if geometry.is_empty or geometry.geom_type not in {"Polygon", "MultiPolygon"}:
        raise GeoError(prefix + _("The geometry must be a non-empty Polygon or MultiPolygon."))
    if not geometry.is_valid:
        reason = explain_validity(geometry)
        if "Self-intersection" in reason:
            raise GeoError(
                prefix
                + _("The polygon crosses itself (%(reason)s). Fix it, for example in QGIS.")
                % {"reason": reason}
            )
        raise GeoError(prefix + _("The polygon is not valid: %(reason)s") % {"reason": reason})
    west, south, east, north = geometry.bounds
    if not (in_japan(south, west) and in_japan(north, east)):
        raise GeoError(
            prefix
            + _(
                "The coordinates (longitude %(lon).4f, latitude %(lat).4f) are outside Japan. "
                "The file may be in another coordinate system, or have latitude and longitude "
                "swapped."
            )
            % {"lon": west, "lat": south}
        )
    return geometry
