"""/api/v1/geo/: every query kind as GeoJSON and CSV, errors, and who sees what."""

import csv
import io
import json
from collections.abc import Callable

import pytest
import shapely
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.geo.areas import AreaInput, store_area_layer
from machi.geo.models import Layer
from machi.geo.tests.conftest import AED

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])
API = "/api/v1/geo"


def names(response: object) -> list[str]:
    document = json.loads(response.content)
    assert document["type"] == "FeatureCollection"
    return [f["properties"]["name"] for f in document["features"]]


def rows(response: object) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def districts(db: None) -> Layer:
    return store_area_layer(
        title="学区",
        title_en="School districts",
        areas=[
            AreaInput("西", {"code": "W"}, shapely.box(139.72, 35.70, 139.745, 35.73)),
            AreaInput("東", {"code": "E"}, shapely.box(139.745, 35.70, 139.77, 35.73)),
        ],
    )


def test_layers_list_with_ids(resident: Client, aed: Layer, districts: Layer) -> None:
    answer = resident.get(f"{API}/layers").json()
    by_slug = {layer["slug"]: layer for layer in answer}
    assert by_slug["aed"]["id"] == aed.pk
    assert by_slug["aed"]["kind"] == "point" and by_slug["aed"]["feature_count"] == 6
    assert "AED" in by_slug["aed"]["keywords"]
    assert by_slug["school-districts"]["kind"] == "area"
    assert resident.get(f"{API}/layers/{aed.pk}").json()["slug"] == "aed"
    assert [x["slug"] for x in resident.get(f"{API}/layers?kind=area").json()] == [
        "school-districts"
    ]


def test_nearest_as_geojson_and_csv(resident: Client, aed: Layer) -> None:
    response = resident.get(f"{API}/layers/aed/nearest?lat=35.7175&lon=139.7656&n=2")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    document = json.loads(response.content)
    first = document["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [139.76514, 35.718257]}
    assert first["properties"]["name"] == "根津地域活動センター"
    assert first["properties"]["distance_m"] == pytest.approx(93.7, abs=0.6)
    table = rows(
        resident.get(f"{API}/layers/{aed.pk}/nearest?lat=35.7175&lon=139.7656&n=2&format=csv")
    )
    assert [r["name"] for r in table] == names(response)
    assert float(table[0]["distance_m"]) == first["properties"]["distance_m"]
    assert table[0]["電話番号"] == "03-3823-5041"


def test_within_radius_bbox_area_and_posted_polygon(
    resident: Client, aed: Layer, districts: Layer
) -> None:
    civic = "lat=35.70807&lon=139.75222"
    assert names(resident.get(f"{API}/layers/aed/within?{civic}&radius=600")) == [
        "文京シビックセンター",
        "富坂地域活動センター",
    ]
    assert names(resident.get(f"{API}/layers/aed/within?bbox=139.74,35.70,139.76,35.72")) == [
        "文京シビックセンター",
        "文京総合体育館",
        "富坂地域活動センター",
    ]
    east = names(resident.get(f"{API}/layers/aed/within?area=school-districts:2"))
    assert east == [
        "文京シビックセンター",
        "根津地域活動センター",
        "文京総合体育館",
        "富坂地域活動センター",
    ]
    polygon = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(shapely.box(139.75, 35.70, 139.77, 35.72)),
    }
    posted = resident.post(
        f"{API}/layers/aed/within", json.dumps(polygon), content_type="application/json"
    )
    assert names(posted) == ["文京シビックセンター", "根津地域活動センター", "文京総合体育館"]


def test_overlay_and_by_town(resident: Client, nurseries: Layer, districts: Layer) -> None:
    answer = json.loads(
        resident.get(f"{API}/overlay?points=nursery-schools&areas=school-districts").content
    )
    assert answer["areas"] == [
        {"number": 1, "name": "西", "count": 3},
        {"number": 2, "name": "東", "count": 1},
    ]
    assert {f["properties"]["area_name"] for f in answer["features"]} == {"西", "東"}
    table = rows(
        resident.get(f"{API}/overlay?points=nursery-schools&areas=school-districts&format=csv")
    )
    assert [(r["area_name"], r["name"]) for r in table][-1] == ("東", "千駄木保育園")
    towns = resident.get(f"{API}/layers/nursery-schools/by-town?sum=収容定員").json()
    otsuka = next(t for t in towns if t["town"] == "大塚")
    assert (otsuka["count"], otsuka["sum"]) == (2, 206)
    table = rows(resident.get(f"{API}/layers/nursery-schools/by-town?format=csv"))
    assert {r["town"]: r["count"] for r in table}["春日"] == "1"
    assert names(resident.get(f"{API}/layers/nursery-schools/in-town?town=大塚")) == [
        "青柳保育園",
        "大塚保育園",
    ]


def test_features_places_and_search(resident: Client, aed: Layer, districts: Layer) -> None:
    assert len(names(resident.get(f"{API}/layers/aed/features"))) == 6
    areas = json.loads(resident.get(f"{API}/layers/school-districts/features").content)
    assert [f["properties"]["code"] for f in areas["features"]] == ["W", "E"]
    assert areas["features"][0]["geometry"]["type"] == "Polygon"
    for query in ("ねづ", "ネヅ", "根津"):
        places = resident.get(f"{API}/places", {"q": query}).json()
        assert {(p["name"], p["kind"]) for p in places} == {("根津", "town"), ("根津", "station")}
    found = resident.get(f"{API}/search?q=シビック").json()
    assert [f["name"] for f in found["features"]] == ["文京シビックセンター"]
    assert found["features"][0]["layer"] == "aed"


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/layers/nope/nearest?lat=35.7&lon=139.7", 404, "nope"),
        ("/layers/aed/nearest?lat=135&lon=35", 400, "Latitude"),
        ("/layers/aed/nearest?lat=x&lon=35", 422, None),
        ("/layers/aed/within?bbox=1,2,3", 400, "bbox"),
        ("/layers/aed/within?bbox=139.8,35.7,139.7,35.8", 400, "west <= east"),
        ("/layers/aed/within", 400, "radius"),
        ("/layers/aed/within?area=school-districts:9", 400, "no feature 9"),
        ("/layers/aed/within?area=aed:1", 400, "point layer"),
        ("/layers/aed/by-town?sum=nothing", 400, "nothing"),
        ("/overlay?points=school-districts&areas=aed", 400, "area layer"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    resident: Client, aed: Layer, districts: Layer, url: str, status: int, detail: str | None
) -> None:
    response = resident.get(API + url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    if detail:
        assert detail in response.json()["detail"]


def test_self_intersecting_polygon_in_the_body(resident: Client, aed: Layer) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[139.74, 35.70], [139.76, 35.72], [139.76, 35.70], [139.74, 35.72], [139.74, 35.70]]
        ],
    }
    response = resident.post(
        f"{API}/layers/aed/within", json.dumps(bowtie), content_type="application/json"
    )
    assert response.status_code == 400
    assert "Self-intersection" in response.json()["detail"]


def test_private_layers_only_for_their_department(
    load_layer: Callable[..., Layer],
    kikaku: Department,
    places: int,
    resident: Client,
    client_for: Callable[[User], Client],
    viewer: User,
    outsider: User,
) -> None:
    load_layer(kikaku, "stock", AED, is_public=False)
    url = f"{API}/layers/stock/nearest?lat=35.7&lon=139.75"
    assert resident.get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(viewer).get(url).status_code == 200
    assert "stock" not in [x["slug"] for x in resident.get(f"{API}/layers").json()]
