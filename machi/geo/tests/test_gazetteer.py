"""The gazetteer: the team's file, the shared town points, the address base registry layout."""

import json
from pathlib import Path

import pytest
import shapely
from django.core.management import call_command
from shapely.geometry import shape

from machi.geo import gazetteer, services
from machi.geo.demo import WARD_FILE, load_demo
from machi.geo.geometry import GeoError, haversine_m
from machi.geo.models import Layer, Place, PlaceKind

pytestmark = pytest.mark.django_db


def test_team_gazetteer_has_every_town_and_the_stations(places: int) -> None:
    towns = set(Place.objects.filter(kind=PlaceKind.TOWN).values_list("name", flat=True))
    assert len(towns) == 19 and {"本郷", "湯島", "目白台", "本駒込", "千石"} <= towns
    stations = set(Place.objects.filter(kind=PlaceKind.STATION).values_list("name", flat=True))
    assert {"根津", "後楽園", "茗荷谷", "本郷三丁目", "護国寺"} <= stations


def test_team_points_lie_near_the_shared_town_points(places: int, shared_dir: Path) -> None:
    """Our representative points sit among the 町丁目 points of their town (Geolonia data)."""
    entries = gazetteer.read_csv((shared_dir / "geo/bunkyo-towns.csv").read_bytes())
    assert len(entries) == 68
    for town in Place.objects.filter(kind=PlaceKind.TOWN):
        mine = [e for e in entries if e.town == town.name]
        closest = min(haversine_m(town.lat, town.lon, e.lat, e.lon) for e in mine)
        assert closest < 600, town.name


def test_the_team_boundary_holds_every_town_point(shared_dir: Path) -> None:
    ward = shape(json.loads(WARD_FILE.read_text())["features"][0]["geometry"])
    reference = shape(
        json.loads((shared_dir / "geo/bunkyo-boundary-N03.geojson").read_text())["features"][0][
            "geometry"
        ]
    )
    assert ward.is_valid
    overlap = ward.intersection(reference).area / ward.union(reference).area
    assert overlap > 0.8  # a simplified outline, not a copy
    entries = gazetteer.read_csv((shared_dir / "geo/bunkyo-towns.csv").read_bytes())
    assert all(ward.contains(shapely.Point(e.lon, e.lat)) for e in entries)


def test_loading_the_shared_town_points_adds_chome(places: int, shared_dir: Path) -> None:
    call_command("load_gazetteer", str(shared_dir / "geo/bunkyo-towns.csv"))
    chome = Place.objects.get(name="大塚一丁目")
    assert (chome.town, chome.chome, chome.kana) == ("大塚", 1, "オオツカ")
    assert services.find_place("大塚一丁目の公園").name == "大塚一丁目"
    assert services.find_place("大塚1丁目の公園").name == "大塚一丁目"
    assert services.find_place("大塚の公園").name == "大塚"


ABR = """\
lg_code,machiaza_id,machiaza_type,pref,county,city,ward,oaza_cho,oaza_cho_kana,chome,chome_number,koaza,rep_lat,rep_lon
131059,0001001,2,東京都,,文京区,,本郷,ホンゴウ,一丁目,1,,35.70443,139.75595
131059,0001002,2,東京都,,文京区,,本郷,ホンゴウ,二丁目,2,,35.70535,139.76139
"""


def test_address_base_registry_town_file(db: None) -> None:
    entries = gazetteer.read_csv(ABR, "mt_town_pos_city131059.csv")
    assert [(e.name, e.town, e.chome, e.kana) for e in entries] == [
        ("本郷一丁目", "本郷", 1, "ホンゴウ"),
        ("本郷二丁目", "本郷", 2, "ホンゴウ"),
    ]
    gazetteer.save(entries)
    assert services.find_place("本郷2丁目のトイレ").name == "本郷二丁目"


def test_bad_gazetteer_files(db: None) -> None:
    with pytest.raises(GeoError, match="latitude"):
        gazetteer.read_csv("町名,よみ\n春日,かすが\n")
    with pytest.raises(GeoError, match="line 2"):
        gazetteer.read_csv("town,lat,lon\n春日,北緯35度,139.75\n")
    with pytest.raises(GeoError, match="line 2"):
        gazetteer.read_csv("kind,name,lat,lon\nriver,神田川,35.7,139.75\n")


def test_demo_loader_adds_the_gazetteer_and_the_boundary(db: None) -> None:
    counts = load_demo()
    assert counts["places"] == Place.objects.count() > 30
    boundary = Layer.objects.get(slug="ward-boundary")
    assert boundary.kind == "area" and boundary.feature_count == 1 and boundary.is_public
    assert load_demo()["layers"] == Layer.objects.count()  # loading twice adds nothing
