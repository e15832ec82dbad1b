"""Area uploads: GeoJSON, zipped Shapefile, KML; every bad input refused, nothing half-stored."""

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import shapefile
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pyproj import CRS, Transformer

from machi.accounts.models import Department
from machi.audit.models import AuditEvent
from machi.geo import services
from machi.geo.areas import upload_area_layer
from machi.geo.geometry import GeoError
from machi.geo.models import AreaFeature, Layer, LayerKind

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

# Two blocks around 春日 and 大塚 (lon, lat).
KASUGA = [(139.745, 35.705), (139.755, 35.705), (139.755, 35.713), (139.745, 35.713)]
OTSUKA = [(139.728, 35.716), (139.738, 35.716), (139.738, 35.726), (139.728, 35.726)]
TO_PLANE = Transformer.from_crs(4326, 6677, always_xy=True)  # JGD2011 zone IX (Tokyo)


def ring(points: list[tuple[float, float]]) -> list[list[float]]:
    return [list(p) for p in [*points, points[0]]]


def collection(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def polygon(name: str, points: list[tuple[float, float]], **properties: object) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, **properties},
        "geometry": {"type": "Polygon", "coordinates": [ring(points)]},
    }


@pytest.fixture
def upload(editor: User, kikaku: Department) -> Callable[..., Layer]:
    def send(filename: str, data: bytes, **options: object) -> Layer:
        return upload_area_layer(
            actor=editor,
            department=kikaku,
            title=options.pop("title", "浸水想定区域"),
            filename=filename,
            data=data,
            **options,
        )

    return send


def test_geojson_areas_are_stored_with_their_properties(
    upload: Callable[..., Layer], editor: User
) -> None:
    layer = upload(
        "flood.geojson",
        collection(polygon("春日", KASUGA, depth="0.5-3m"), polygon("大塚", OTSUKA, depth="<0.5m")),
        title_en="Flood areas",
    )
    assert layer.kind == LayerKind.AREA and layer.slug == "flood-areas"
    assert layer.feature_count == 2
    areas = services.area_features(layer)
    assert [(a["number"], a["name"], a["properties"]["depth"]) for a in areas] == [
        (1, "春日", "0.5-3m"),
        (2, "大塚", "<0.5m"),
    ]
    assert areas[0]["geometry"]["type"] == "Polygon"
    assert (layer.west, layer.south) == (139.728, 35.705)
    assert AuditEvent.objects.filter(action="create", object_id=str(layer.pk)).exists()


def test_geojson_in_plane_rectangular_coordinates_is_converted(
    upload: Callable[..., Layer],
) -> None:
    plane = [TO_PLANE.transform(x, y) for x, y in KASUGA]
    document = json.loads(collection(polygon("春日", plane)))
    document["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6677"}}
    layer = upload("plane.geojson", json.dumps(document).encode())
    [x, y] = services.area_features(layer)[0]["geometry"]["coordinates"][0][0]
    assert (x, y) == pytest.approx(KASUGA[0], abs=1e-7)
    # Without a crs member, the form's coordinate system does the same.
    layer = upload("plane.geojson", collection(polygon("春日", plane)), crs="6677")
    [x, y] = services.area_features(layer)[0]["geometry"]["coordinates"][0][0]
    assert (x, y) == pytest.approx(KASUGA[0], abs=1e-7)


def shapefile_zip(points: list[tuple[float, float]], epsg: int | None, cpg: bool = True) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(
        shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding="cp932"
    ) as writer:
        writer.field("NAME", "C", 40)
        writer.field("DEPTH", "N", 10, 2)
        # Shapefile outer rings run clockwise.
        writer.poly([list(reversed([list(p) for p in [*points, points[0]]]))])
        writer.record("春日の浸水区域", 1.5)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("flood/flood.shp", shp.getvalue())
        archive.writestr("flood/flood.shx", shx.getvalue())
        archive.writestr("flood/flood.dbf", dbf.getvalue())
        if cpg:
            archive.writestr("flood/flood.cpg", "CP932")
        if epsg:
            archive.writestr("flood/flood.prj", CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))
    return data.getvalue()


def test_zipped_shapefile_in_jgd2011_zone_ix(upload: Callable[..., Layer]) -> None:
    plane = [TO_PLANE.transform(x, y) for x, y in KASUGA]
    layer = upload("flood.zip", shapefile_zip(plane, 6677))
    [area] = services.area_features(layer)
    assert area["name"] == "春日の浸水区域"
    assert area["properties"]["DEPTH"] == 1.5
    xs = sorted(x for x, _y in area["geometry"]["coordinates"][0])
    assert xs[0] == pytest.approx(139.745, abs=1e-7) and xs[-1] == pytest.approx(139.755, abs=1e-7)


def test_shapefile_without_prj_needs_a_coordinate_system(upload: Callable[..., Layer]) -> None:
    with pytest.raises(GeoError, match=".prj"):
        upload("flood.zip", shapefile_zip(KASUGA, None))
    layer = upload("flood.zip", shapefile_zip(KASUGA, None), crs="EPSG:4326")
    assert layer.feature_count == 1


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>春日の区域</name><description>浸水 0.5m</description>
<ExtendedData><Data name="depth"><value>0.5</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>
139.745,35.705,0 139.755,35.705,0 139.755,35.713,0 139.745,35.713,0 139.745,35.705,0
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
<Placemark><name>目印</name><Point><coordinates>139.75,35.71,0</coordinates></Point></Placemark>
</Document></kml>"""


def test_kml_polygons(upload: Callable[..., Layer]) -> None:
    layer = upload("flood.kml", KML.encode())
    [area] = services.area_features(layer)
    assert area["name"] == "春日の区域"
    assert area["properties"] == {"name": "春日の区域", "description": "浸水 0.5m", "depth": "0.5"}


BOWTIE = [(139.745, 35.705), (139.755, 35.713), (139.755, 35.705), (139.745, 35.713)]
FAR = [(-0.13, 51.5), (-0.12, 51.5), (-0.12, 51.51), (-0.13, 51.51)]  # London


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("bad.geojson", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ("bad.geojson", b'{"features": []}', "not GeoJSON"),
        ("bad.geojson", collection(), "has no areas"),
        (
            "bad.geojson",
            collection(polygon("春日", KASUGA), polygon("ねじれ", BOWTIE)),
            "Feature 2: The polygon crosses itself",
        ),
        ("bad.geojson", collection(polygon("ロンドン", FAR)), "outside Japan"),
        (
            "bad.geojson",
            collection(polygon("平面", [TO_PLANE.transform(x, y) for x, y in KASUGA])),
            "not longitude and latitude",
        ),
        (
            "bad.geojson",
            collection(
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Point", "coordinates": [139.75, 35.71]},
                }
            ),
            "Feature 1: the geometry is Point",
        ),
        ("bad.kml", b"<kml><Placemark>", "not valid XML"),
        ("bad.kml", b'<!DOCTYPE kml [<!ENTITY x "y">]><kml/>', "DOCTYPE"),
        ("bad.zip", b"PK not a zip", "cannot be opened"),
        ("bad.csv", b"a,b", "GeoJSON"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    upload: Callable[..., Layer], filename: str, data: bytes, message: str
) -> None:
    with pytest.raises(GeoError, match=message):
        upload(filename, data)
    assert not Layer.objects.filter(kind=LayerKind.AREA).exists()
    assert not AreaFeature.objects.exists()


def test_unknown_coordinate_system(upload: Callable[..., Layer]) -> None:
    with pytest.raises(GeoError, match="unknown"):
        upload("a.geojson", collection(polygon("春日", KASUGA)), crs="EPSG:999999")


def test_huge_files_are_refused(upload: Callable[..., Layer], settings: object) -> None:
    settings.GEO_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(GeoError, match="at most"):
        upload("big.geojson", collection(*[polygon(str(i), KASUGA) for i in range(20)]))
    settings.GEO_MAX_UPLOAD_BYTES = 10_000_000
    settings.GEO_MAX_AREA_FEATURES = 3
    with pytest.raises(GeoError, match="at most 3"):
        upload("many.geojson", collection(*[polygon(str(i), KASUGA) for i in range(4)]))
    assert not Layer.objects.exists()


def test_only_editors_of_the_department_upload(viewer: User, kikaku: Department) -> None:
    with pytest.raises(PermissionDenied):
        upload_area_layer(
            actor=viewer,
            department=kikaku,
            title="x",
            filename="a.geojson",
            data=collection(polygon("春日", KASUGA)),
        )


def test_staff_page_uploads_and_shows_errors_in_japanese(
    client_for: Callable[[User], Client], editor: User, kikaku: Department, shared_dir: Path
) -> None:
    client = client_for(editor)
    page = client.get("/staff/map/areas/")
    assert page.status_code == 200
    boundary = (shared_dir / "geo/bunkyo-boundary-N03.geojson").read_bytes()
    response = client.post(
        "/staff/map/areas/",
        {
            "title": "文京区（N03）",
            "title_en": "Bunkyo N03",
            "department": kikaku.pk,
            "file": SimpleUploadedFile("bunkyo.geojson", boundary),
            "crs": "",
            "is_public": "on",
            "color": "#e53935",
        },
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 302
    layer = Layer.objects.get(slug="bunkyo-n03")
    assert layer.feature_count == 1
    bad = client.post(
        "/staff/map/areas/",
        {
            "title": "ねじれ",
            "department": kikaku.pk,
            "file": SimpleUploadedFile("bad.geojson", collection(polygon("x", BOWTIE))),
            "color": "#e53935",
        },
    )
    assert bad.status_code == 200
    assert "Self-intersection" in bad.content.decode()
    assert Layer.objects.count() == 1
    # Delete it again.
    assert client.post(f"/staff/map/areas/{layer.pk}/delete").status_code == 302
    assert not Layer.objects.exists()
