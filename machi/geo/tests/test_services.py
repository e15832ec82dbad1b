"""Spatial queries on real datastore tables, the same on SQLite and PostgreSQL."""

import csv
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import shapely
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from pyproj import Geod

from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.datastore import services as datastore
from machi.geo import services
from machi.geo.geometry import GeoError, haversine_m
from machi.geo.models import Layer, PointFeature
from machi.geo.tests.conftest import AED

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])
WGS84 = Geod(ellps="WGS84")
CIVIC = (35.708070, 139.752220)  # 文京シビックセンター


def names(features: list[dict]) -> list[str]:
    return [f["name"] for f in features]


def test_haversine_matches_the_ellipsoid_between_two_town_points(shared_dir: Path) -> None:
    towns = {r["town_full"]: r for r in csv.DictReader(open(shared_dir / "geo/bunkyo-towns.csv"))}
    a, b = towns["大塚一丁目"], towns["大塚二丁目"]
    ours = haversine_m(float(a["lat"]), float(a["lng"]), float(b["lat"]), float(b["lng"]))
    # Vincenty on the WGS84 ellipsoid (pyproj), computed independently: 306.87 m.
    _f, _b, ellipsoid = WGS84.inv(
        float(a["lng"]), float(a["lat"]), float(b["lng"]), float(b["lat"])
    )
    assert ellipsoid == pytest.approx(306.871, abs=0.01)
    assert ours == pytest.approx(ellipsoid, rel=0.005)
    # Across the ward: 目白台 to 湯島, a few kilometres.
    c, d = towns["目白台一丁目"], towns["湯島三丁目"]
    ours = haversine_m(float(c["lat"]), float(c["lng"]), float(d["lat"]), float(d["lng"]))
    _f, _b, ellipsoid = WGS84.inv(
        float(c["lng"]), float(c["lat"]), float(d["lng"]), float(d["lat"])
    )
    assert 3000 < ellipsoid < 6000
    assert ours == pytest.approx(ellipsoid, rel=0.005)


def test_a_degree_of_latitude_is_111_km() -> None:
    assert haversine_m(35.0, 139.0, 36.0, 139.0) == pytest.approx(111_195, abs=1)


def test_nearest_finds_the_closest_with_distances(aed: Layer) -> None:
    found = services.nearest(aed, 35.7175, 139.7656, n=3)  # 根津駅
    assert names(found)[:2] == ["根津地域活動センター", "文京総合体育館"]
    assert found[0]["distance_m"] == pytest.approx(93.7, abs=0.6)
    assert [f["distance_m"] for f in found] == sorted(f["distance_m"] for f in found)
    assert found[0]["address"] == "東京都文京区根津二丁目20番7号"
    assert found[0]["phone"] == "03-3823-5041"
    assert found[0]["hours"] == "08:30〜21:30"
    assert found[0]["properties"]["電話番号"] == "03-3823-5041"
    # The answer is what a full scan says.
    every = sorted(
        (haversine_m(35.7175, 139.7656, p.lat, p.lon), p.name)
        for p in PointFeature.objects.filter(layer=aed)
    )
    assert names(services.nearest(aed, 35.7175, 139.7656, n=10)) == [n for _d, n in every]


def test_nearest_with_a_radius_and_far_away_points(aed: Layer) -> None:
    near = services.nearest(aed, *CIVIC, n=10, radius_m=600)
    assert names(near) == ["文京シビックセンター", "富坂地域活動センター"]
    assert near[1]["distance_m"] == pytest.approx(534.9, abs=0.2)
    assert names(services.nearest(aed, *CIVIC, n=10, radius_m=500)) == ["文京シビックセンター"]
    assert near[0]["distance_m"] == 0.0
    # From Sapporo the whole ward is far, and still found, nearest first.
    far = services.nearest(aed, 43.0621, 141.3544, n=2)
    assert len(far) == 2 and far[0]["distance_m"] > 800_000
    assert services.nearest(aed, *CIVIC, n=100)[-1]["name"]  # more than there are: all of them
    assert len(services.nearest(aed, *CIVIC, n=100)) == 6  # the row without coordinates is off


def test_nearest_refuses_bad_coordinates(aed: Layer) -> None:
    with pytest.raises(GeoError):
        services.nearest(aed, 135.0, 35.0)
    with pytest.raises(GeoError):
        services.nearest(aed, math.nan, 139.7)
    with pytest.raises(GeoError):
        services.nearest(aed, *CIVIC, radius_m=-1)


def test_within_radius_bbox_and_polygon(aed: Layer) -> None:
    ring = services.within_radius(aed, *CIVIC, 1200)
    assert names(ring) == ["文京シビックセンター", "富坂地域活動センター", "文京総合体育館"]
    assert [f["distance_m"] for f in ring] == pytest.approx([0, 534.9, 1181.6], abs=0.2)
    box = services.within_bbox(aed, (35.70, 139.74, 35.72, 139.76))
    assert names(box) == ["文京シビックセンター", "文京総合体育館", "富坂地域活動センター"]
    # A point exactly on the box's edge is inside.
    edge = services.within_bbox(aed, (35.708070, 139.752220, 35.708070, 139.752220))
    assert names(edge) == ["文京シビックセンター"]
    triangle = shapely.Polygon([(139.74, 35.70), (139.77, 35.70), (139.77, 35.73)])
    assert names(services.within_polygon(aed, triangle)) == [
        "文京シビックセンター",
        "根津地域活動センター",
        "文京総合体育館",
    ]
    with pytest.raises(GeoError):
        services.within_radius(aed, *CIVIC, 0)


def test_within_town_by_address_or_nearest_town(aed: Layer, nurseries: Layer) -> None:
    assert names(services.within_town(nurseries, "春日")) == ["春日保育園"]
    assert names(services.within_town(nurseries, "大塚")) == ["青柳保育園", "大塚保育園"]
    assert names(services.within_town(nurseries, "大塚五丁目")) == ["青柳保育園"]
    assert names(services.within_town(nurseries, "大塚５丁目")) == ["青柳保育園"]
    assert services.within_town(nurseries, "湯島") == []
    # No address: the nearest town point of the gazetteer (千石) decides.
    assert names(services.within_town(aed, "千石")) == ["千石の公園"]
    with pytest.raises(GeoError):
        services.within_town(aed, " ")


def test_by_town_counts_and_sums(nurseries: Layer) -> None:
    towns = {t["town"]: t for t in services.by_town(nurseries, "収容定員")}
    assert towns["大塚"] == {"town": "大塚", "count": 2, "sum": 206}
    assert towns["春日"]["count"] == 1 and towns["春日"]["sum"] == 60
    assert towns["湯島"]["count"] == 0
    assert sum(t["count"] for t in towns.values()) == 4
    with pytest.raises(GeoError, match="収容定員"):
        services.by_town(nurseries, "定員なし")


def test_find_place_in_questions(places: int) -> None:
    station = services.find_place("根津駅の近くのAEDは？")
    assert (station.name, station.kind) == ("根津", "station")
    assert 35.71 < station.lat < 35.72 and 139.76 < station.lon < 139.77
    town = services.find_place("春日の保育園")
    assert (town.name, town.kind) == ("春日", "town")
    assert services.find_place("本郷三丁目駅のトイレ").kind == "station"
    assert services.find_place("ＡＥＤはどこ？") is None


def test_point_layers_follow_dataset_visibility(
    load_layer: Callable[..., Layer],
    kikaku: Department,
    bousai: Department,
    viewer: User,
    outsider: User,
    places: int,
) -> None:
    public = load_layer(kikaku, "aed", AED, standard="aed")
    private = load_layer(kikaku, "stock", AED, is_public=False)
    assert public.keywords[:2] == ["AED", "自動体外式除細動器"]
    assert public.dataset.name == "aed"
    assert [layer.slug for layer in services.point_layers()] == ["aed"]
    assert {layer.slug for layer in services.point_layers(viewer)} == {"aed", "stock"}
    assert [layer.slug for layer in services.point_layers(outsider)] == ["aed"]
    assert private.is_public is False


def test_layers_follow_new_versions_and_roll_backs(aed: Layer, site_admin: User) -> None:
    resource = aed.resource
    first = resource.current
    moved = AED.replace("35.708070,139.752220", "35.700000,139.760000")
    version = catalog.replace_resource(
        actor=site_admin,
        resource=resource,
        upload=SimpleUploadedFile("aed.csv", moved.encode()),
    )
    datastore.load_version_file(actor=site_admin, version=version)
    [layer] = services.point_layers()
    civic = services.within_town(layer, "春日1丁目")[0]
    assert (civic["lat"], civic["lon"]) == (35.7, 139.76)
    # The index (R*Tree on SQLite) has the new points only.
    [moved_civic] = services.nearest(layer, 35.70, 139.76, n=1)
    assert (moved_civic["name"], moved_civic["distance_m"]) == ("文京シビックセンター", 0.0)
    assert services.within_radius(layer, *CIVIC, 1) == []
    assert PointFeature.objects.filter(layer=layer).count() == 6
    catalog.make_current(actor=site_admin, version=first)
    [layer] = services.point_layers()
    civic = services.within_town(layer, "春日1丁目")[0]
    assert (civic["lat"], civic["lon"]) == (35.70807, 139.75222)


def test_overlay_counts_points_per_area(aed: Layer, nurseries: Layer) -> None:
    from machi.geo.areas import AreaInput, store_area_layer

    west = shapely.box(139.72, 35.70, 139.745, 35.73)
    east = shapely.box(139.745, 35.70, 139.77, 35.73)
    areas = store_area_layer(
        title="東西",
        areas=[
            AreaInput("西", {}, west),
            AreaInput("東", {}, east),
            AreaInput("海", {}, shapely.box(140.0, 35.0, 140.1, 35.1)),
        ],
    )
    inside, summary = services.overlay(nurseries, areas)
    assert summary == [
        {"number": 1, "name": "西", "count": 3},
        {"number": 2, "name": "東", "count": 1},
        {"number": 3, "name": "海", "count": 0},
    ]
    assert [(f["name"], f["area"]["name"]) for f in inside][-1] == ("千駄木保育園", "東")
    # within an uploaded area gives the same points
    assert names(services.within_polygon(nurseries, services.area_geometry(areas, 2))) == [
        "千駄木保育園"
    ]
    with pytest.raises(GeoError):
        services.overlay(areas, nurseries)
