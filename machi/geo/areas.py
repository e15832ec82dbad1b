"""Area layers from staff uploads: GeoJSON, zipped Shapefile (pyshp) and KML.

Every feature is read, converted to WGS84 (pyproj; JGD2011 plane rectangular zones
EPSG:6669–6687 and JGD2000 ones 2443–2461 included), checked with shapely, and only
then stored, in one transaction: a file with one bad feature stores nothing.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import shapefile
import shapely
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import mapping, shape

from machi.accounts.models import Department, Role
from machi.accounts.permissions import has_role
from machi.audit import services as audit
from machi.geo.geometry import GeoError, checked_area
from machi.geo.models import AreaFeature, Layer, LayerKind

WGS84 = CRS.from_epsg(4326)
_NAME_KEYS = ("name", "名称", "名前", "NAME", "Name", "title", "区域名", "町丁目名", "S_NAME")
_KML = "{http://www.opengis.net/kml/2.2}"


@dataclass
class AreaInput:
    name: str
    properties: dict[str, Any]
    geometry: shapely.Geometry


def max_bytes() -> int:
    return int(getattr(settings, "GEO_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


def max_features() -> int:
    return int(getattr(settings, "GEO_MAX_AREA_FEATURES", 20_000))


def max_vertices() -> int:
    return int(getattr(settings, "GEO_MAX_AREA_VERTICES", 2_000_000))


def read_file(filename: str, data: bytes, crs: str = "") -> list[AreaInput]:
    """The areas in an uploaded file, in WGS84, every one checked."""
    if len(data) > max_bytes():
        raise GeoError(
            _("The file is %(size).1f MB; area files may be at most %(limit).0f MB.")
            % {"size": len(data) / 1e6, "limit": max_bytes() / 1e6}
        )
    lower = filename.lower()
    if lower.endswith((".geojson", ".json")):
        areas = _read_geojson(data, crs)
    elif lower.endswith(".zip"):
        areas = _read_shapefile(data, crs)
    elif lower.endswith(".kml"):
        areas = _read_kml(data)
    else:
        raise GeoError(
            _("%(name)s: upload GeoJSON (.geojson), a zipped Shapefile (.zip) or KML (.kml).")
            % {"name": filename}
        )
    if not areas:
        raise GeoError(_("%(name)s has no areas (polygons).") % {"name": filename})
    vertices = sum(shapely.get_num_coordinates(a.geometry) for a in areas)
    if vertices > max_vertices():
        raise GeoError(
            _("The file has %(count)d vertices; at most %(limit)d. Simplify it first.")
            % {"count": vertices, "limit": max_vertices()}
        )
    return areas


def upload_area_layer(
    *,
    actor: User,
    department: Department,
    title: str,
    filename: str,
    data: bytes,
    title_en: str = "",
    crs: str = "",
    is_public: bool = True,
    color: str = "#e53935",
    keywords: list[str] | None = None,
) -> Layer:
    if not has_role(actor, department, Role.EDITOR):
        raise PermissionDenied(_("You cannot add map layers for this department."))
    areas = read_file(filename, data, crs)
    return store_area_layer(
        title=title,
        title_en=title_en,
        areas=areas,
        department=department,
        is_public=is_public,
        color=color,
        keywords=keywords or [],
        actor=actor,
    )


def store_area_layer(
    *,
    title: str,
    areas: list[AreaInput],
    title_en: str = "",
    department: Department | None = None,
    is_public: bool = True,
    color: str = "#e53935",
    keywords: list[str] | None = None,
    actor: User | None = None,
    slug: str = "",
) -> Layer:
    title = title.strip()
    if not title:
        raise GeoError(_("Give the layer a title."))
    base = slug or slugify(title_en or "") or "area"
    slug, n = base, 1
    while Layer.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    bounds = shapely.total_bounds([a.geometry for a in areas])
    with transaction.atomic():
        layer = Layer.objects.create(
            slug=slug,
            kind=LayerKind.AREA,
            title=title,
            title_en=title_en.strip(),
            keywords=keywords or [title],
            department=department,
            is_public=is_public,
            color=color,
            feature_count=len(areas),
            west=bounds[0],
            south=bounds[1],
            east=bounds[2],
            north=bounds[3],
            legend=title,
            created_by=actor,
        )
        AreaFeature.objects.bulk_create(
            [
                AreaFeature(
                    layer=layer,
                    number=i,
                    name=area.name[:300],
                    properties=area.properties,
                    geometry=mapping(area.geometry),
                    west=area.geometry.bounds[0],
                    south=area.geometry.bounds[1],
                    east=area.geometry.bounds[2],
                    north=area.geometry.bounds[3],
                )
                for i, area in enumerate(areas, start=1)
            ],
            batch_size=500,
        )
        if actor is not None:
            audit.record(
                actor=actor,
                action="create",
                obj=layer,
                department_id=department.pk if department else None,
                changes={"areas": [None, len(areas)]},
            )
    return layer


def delete_area_layer(*, actor: User, layer: Layer) -> None:
    if layer.kind != LayerKind.AREA or layer.department is None:
        raise PermissionDenied(_("Only uploaded area layers can be deleted here."))
    if not has_role(actor, layer.department, Role.EDITOR):
        raise PermissionDenied(_("You cannot delete map layers of this department."))
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=layer, department_id=layer.department_id)
        layer.delete()


# --- Formats -----------------------------------------------------------------------------------


def _transformer(crs: str | CRS | None, where: str) -> Transformer | None:
    if crs in (None, ""):
        return None
    try:
        source = crs if isinstance(crs, CRS) else CRS.from_user_input(_crs_text(str(crs)))
    except CRSError:
        raise GeoError(
            _(
                "%(where)s: the coordinate system %(crs)s is unknown. Give an EPSG code, "
                "for example 6677 (JGD2011 plane rectangular zone IX, Tokyo)."
            )
            % {"where": where, "crs": crs}
        ) from None
    if source == WGS84 or source.equals(WGS84, ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, WGS84, always_xy=True)


def _crs_text(text: str) -> str:
    """`6677`, `EPSG:6677`, `urn:ogc:def:crs:EPSG::6677`, OGC CRS84 → something pyproj reads."""
    text = text.strip()
    if text.isdigit():
        return f"EPSG:{text}"
    if "CRS84" in text:
        return "OGC:CRS84"
    match = re.search(r"EPSG:+(\d+)$", text)
    return f"EPSG:{match.group(1)}" if match else text


def _to_wgs84(geometry: shapely.Geometry, transformer: Transformer | None, where: str) -> Any:
    if transformer is not None:
        geometry = shapely.transform(
            geometry, lambda xy: _transform_xy(transformer, xy), include_z=False
        )
    west, south, east, north = geometry.bounds
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise GeoError(
            _(
                "%(where)s: the coordinates (%(x).1f, %(y).1f) are not longitude and latitude. "
                "If the file uses plane rectangular coordinates, choose its coordinate system "
                "(Tokyo: EPSG:6677)."
            )
            % {"where": where, "x": west, "y": south}
        )
    return checked_area(geometry, where)


def _transform_xy(transformer: Transformer, xy: Any) -> Any:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    out = xy.copy()
    out[:, 0], out[:, 1] = x, y
    return out


def _name_of(properties: dict[str, Any], number: int) -> str:
    for key in _NAME_KEYS:
        value = properties.get(key)
        if value not in (None, ""):
            return str(value)
    return _("Area %(number)d") % {"number": number}


def _read_geojson(data: bytes, crs: str) -> list[AreaInput]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise GeoError(_("The GeoJSON file is not UTF-8 text.")) from None
    except json.JSONDecodeError as error:
        raise GeoError(
            _("The GeoJSON is not valid JSON (line %(line)d, column %(column)d: %(error)s).")
            % {"line": error.lineno, "column": error.colno, "error": error.msg}
        ) from None
    if not isinstance(document, dict) or "type" not in document:
        raise GeoError(_('The file is JSON but not GeoJSON: it has no "type".'))
    named = (document.get("crs") or {}).get("properties", {}).get("name", "")
    transformer = _transformer(crs or named or None, _("the file"))
    kind = document["type"]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise GeoError(_('The FeatureCollection has no "features" list.'))
    elif kind == "Feature":
        features = [document]
    elif kind in {"Polygon", "MultiPolygon"}:
        features = [{"type": "Feature", "properties": {}, "geometry": document}]
    else:
        raise GeoError(
            _("The GeoJSON is a %(type)s; upload a FeatureCollection of polygons.") % {"type": kind}
        )
    if len(features) > max_features():
        raise GeoError(
            _("The file has %(count)d features; at most %(limit)d.")
            % {"count": len(features), "limit": max_features()}
        )
    areas = []
    for number, feature in enumerate(features, start=1):
        where = _("Feature %(number)d") % {"number": number}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise GeoError(where + ": " + _("not a GeoJSON Feature."))
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in {
            "Polygon",
            "MultiPolygon",
        }:
            found = geometry.get("type") if isinstance(geometry, dict) else "null"
            raise GeoError(
                where
                + ": "
                + _("the geometry is %(type)s; area layers need Polygon or MultiPolygon.")
                % {"type": found}
            )
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
            raise GeoError(
                where + ": " + _("the coordinates are not valid (%(error)s).") % {"error": error}
            ) from None
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            properties = {}
        areas.append(
            AreaInput(
                name=_name_of(properties, number),
                properties=properties,
                geometry=_to_wgs84(geom, transformer, where),
            )
        )
    return areas


def _read_shapefile(data: bytes, crs: str) -> list[AreaInput]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise GeoError(_("The .zip file cannot be opened (it is damaged or not a zip).")) from None
    names = archive.namelist()
    if sum(archive.getinfo(n).file_size for n in names) > 5 * max_bytes():
        raise GeoError(_("The zip unpacks to more than the upload limit allows."))
    shp = next((n for n in names if n.lower().endswith(".shp")), None)
    if shp is None:
        raise GeoError(_("The zip has no .shp file (a Shapefile needs .shp, .shx and .dbf)."))
    stem = shp[:-4]

    def part(ext: str) -> bytes | None:
        match = next((n for n in names if n.lower() == (stem + ext).lower()), None)
        return archive.read(match) if match else None

    prj = part(".prj")
    if not crs and prj is None:
        raise GeoError(
            _(
                "The Shapefile has no .prj file, so its coordinate system is unknown. "
                "Add the .prj to the zip or choose the coordinate system."
            )
        )
    transformer = _transformer(crs or CRS.from_wkt(prj.decode("latin-1")), shp)
    dbf = part(".dbf")
    encoding = "cp932"
    cpg = part(".cpg")
    if cpg:
        encoding = cpg.decode("ascii", "replace").strip() or encoding
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(archive.read(shp)),
            shx=io.BytesIO(part(".shx") or b"") if part(".shx") else None,
            dbf=io.BytesIO(dbf) if dbf else None,
            encoding=encoding,
        )
        if reader.shapeType not in {
            shapefile.POLYGON,
            shapefile.POLYGONZ,
            shapefile.POLYGONM,
        }:
            raise GeoError(
                _("The Shapefile holds %(type)s shapes; area layers need polygons.")
                % {"type": reader.shapeTypeName}
            )
        if len(reader) > max_features():
            raise GeoError(
                _("The file has %(count)d features; at most %(limit)d.")
                % {"count": len(reader), "limit": max_features()}
            )
        areas = []
        for number, record in enumerate(reader.iterShapeRecords(), start=1):
            where = _("Shape %(number)d") % {"number": number}
            properties = {k: _plain_value(v) for k, v in record.record.as_dict().items()}
            geometry = shape(record.shape.__geo_interface__)
            areas.append(
                AreaInput(
                    name=_name_of(properties, number),
                    properties=properties,
                    geometry=_to_wgs84(geometry, transformer, where),
                )
            )
        return areas
    except shapefile.ShapefileException as error:
        raise GeoError(_("The Shapefile cannot be read: %(error)s") % {"error": error}) from None


def _plain_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("cp932", "replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _read_kml(data: bytes) -> list[AreaInput]:
    if b"<!DOCTYPE" in data[:2048].upper() or b"<!ENTITY" in data.upper():
        raise GeoError(_("KML files with DOCTYPE or ENTITY declarations are not accepted."))
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise GeoError(_("The KML is not valid XML: %(error)s") % {"error": error}) from None
    ns = _KML if root.tag.startswith(_KML) else ""
    areas = []
    for number, placemark in enumerate(root.iter(f"{ns}Placemark"), start=1):
        where = _("Placemark %(number)d") % {"number": number}
        polygons = []
        for polygon in placemark.iter(f"{ns}Polygon"):
            outer = polygon.find(f"{ns}outerBoundaryIs/{ns}LinearRing/{ns}coordinates")
            if outer is None:
                raise GeoError(where + ": " + _("a Polygon without an outer boundary."))
            holes = [
                _kml_ring(c.text or "", where)
                for c in polygon.findall(f"{ns}innerBoundaryIs/{ns}LinearRing/{ns}coordinates")
            ]
            polygons.append(shapely.Polygon(_kml_ring(outer.text or "", where), holes))
        if not polygons:
            continue  # points and lines are not areas; a KML may mix them
        geometry = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
        properties: dict[str, Any] = {}
        name = placemark.find(f"{ns}name")
        description = placemark.find(f"{ns}description")
        if name is not None and name.text:
            properties["name"] = name.text.strip()
        if description is not None and description.text:
            properties["description"] = description.text.strip()
        for datum in placemark.iter(f"{ns}Data"):
            value = datum.find(f"{ns}value")
            properties[datum.get("name", "")] = value.text if value is not None else None
        for datum in placemark.iter(f"{ns}SimpleData"):
            properties[datum.get("name", "")] = datum.text
        areas.append(
            AreaInput(
                name=_name_of(properties, number),
                properties=properties,
                geometry=_to_wgs84(geometry, None, where),
            )
        )
        if len(areas) > max_features():
            raise GeoError(_("The file has more than %(limit)d areas.") % {"limit": max_features()})
    return areas


def _kml_ring(text: str, where: str) -> list[tuple[float, float]]:
    points = []
    for token in text.split():
        parts = token.split(",")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            raise GeoError(
                where + ": " + _("%(value)s is not longitude,latitude.") % {"value": token}
            ) from None
    if len(points) < 4:
        raise GeoError(where + ": " + _("a ring needs at least four points."))
    return points
