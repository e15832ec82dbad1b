"""The map's search box: layers by name, facilities by every word, one building once."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import translation

from machi.accounts.models import Department
from machi.geo import search
from machi.geo.models import Layer

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

HEADER = "名称,住所,緯度,経度\n"
# One building in several layers, a few metres apart as different departments place it.
LIBRARIES = HEADER + (
    "千石図書館,東京都文京区千石一丁目25番1号,35.724883,139.743400\n"
    "小石川図書館,東京都文京区小石川五丁目9番20号,35.718795,139.740541\n"
    "真砂中央図書館,東京都文京区本郷四丁目8番15号,35.707640,139.757970\n"
)
AED = HEADER + (
    "千石図書館,東京都文京区千石一丁目25番1号,35.724900,139.743500\n"
    "小石川図書館,東京都文京区小石川五丁目9番20号,35.718800,139.740600\n"
    "真砂中央図書館,東京都文京区本郷四丁目8番15号,35.707700,139.758000\n"
    "文京シビックセンター,東京都文京区春日一丁目16番21号,35.708070,139.752220\n"
)
WIFI = HEADER + (
    "千石図書館,東京都文京区千石一丁目25番1号,35.725100,139.743300\n"
    "小石川図書館,東京都文京区小石川五丁目9番20号,35.718700,139.740400\n"
    # The same name 3 km away is another place.
    "真砂中央図書館,,35.735000,139.775000\n"
)
TOILETS = HEADER + (
    "根津神社境内公衆便所,東京都文京区根津一丁目28番9号,35.720230,139.760950\n"
    "元町公園公衆便所,東京都文京区本郷一丁目1番,35.703440,139.756870\n"
)
STOPS = HEADER + (
    "根津駅,東京都文京区根津一丁目,35.717620,139.765260\n"
    "ＡＥＤ前,東京都文京区春日一丁目,35.708000,139.752000\n"
    # Two stops of one name are two stops.
    "文京シビックセンター,東京都文京区春日一丁目,35.708300,139.752500\n"
    "文京シビックセンター,東京都文京区春日一丁目,35.707800,139.752000\n"
)


@pytest.fixture
def layers(load_layer: Callable[..., Layer], kikaku: Department, places: int) -> dict[str, Layer]:
    made = [
        load_layer(
            kikaku, "aed", AED, standard="aed", title="AED設置場所", title_en="AED locations"
        ),
        load_layer(
            kikaku,
            "public-toilets",
            TOILETS,
            standard="public-toilet",
            title="公衆トイレ",
            title_en="Public toilets",
        ),
        load_layer(kikaku, "libraries", LIBRARIES, title="区立図書館", title_en="Ward libraries"),
        load_layer(
            kikaku,
            "public-wireless-lan",
            WIFI,
            standard="public-wireless-lan",
            title="公衆無線LAN設置場所",
        ),
        load_layer(kikaku, "bus-stops", STOPS, title="コミュニティバス停留所"),
    ]
    return {layer.slug: layer for layer in made}


def found(text: str, limit: int = 20) -> list[tuple[str, str]]:
    return [(hit["name"], hit["layer"]) for hit in search.search_features(None, text, limit)]


def test_a_search_naming_a_layer_offers_the_layer(layers: dict[str, Layer]) -> None:
    for text, slug in [
        ("トイレ", "public-toilets"),
        ("公衆トイレ", "public-toilets"),
        ("お手洗い", "public-toilets"),
        ("toilet", "public-toilets"),
        ("AED", "aed"),
        ("ａｅｄ", "aed"),
        ("図書館", "libraries"),
        ("Wi-Fi", "public-wireless-lan"),
    ]:
        hits = search.search_layers(None, text)
        assert [hit["layer"] for hit in hits][:1] == [slug], text
    assert search.search_layers(None, "トイレ") == [
        {"layer": "public-toilets", "layer_title": "Public toilets", "feature_count": 2}
    ]
    assert search.search_layers(None, "根津") == []
    assert search.search_layers(None, "in") == []  # too short to name an English title


def test_the_api_answers_layers_with_places_and_facilities(
    resident: Client, layers: dict[str, Layer]
) -> None:
    answer = resident.get("/api/v1/geo/search", {"q": "トイレ"}).json()
    assert [hit["layer"] for hit in answer["layers"]] == ["public-toilets"]
    answer = resident.get("/api/v1/geo/search", {"q": "根津 駅"}).json()
    assert ("根津", "station") in {(p["name"], p["kind"]) for p in answer["places"]}
    assert [f["name"] for f in answer["features"]] == ["根津駅"]


def test_one_building_in_several_layers_is_listed_once_under_its_subject(
    layers: dict[str, Layer],
) -> None:
    # Before: 千石図書館 three times filled the three places, 真砂中央図書館 never shown.
    assert found("図書館", limit=3) == [
        ("千石図書館", "libraries"),
        ("小石川図書館", "libraries"),
        ("真砂中央図書館", "libraries"),
    ]
    [sengoku] = search.search_features(None, "千石図書館")
    assert sengoku["layer"] == "libraries"
    assert [a["layer"] for a in sengoku["also"]] == ["aed", "public-wireless-lan"]
    # 3 km away, the Wi-Fi point of that name is another place.
    assert found("真砂中央") == [
        ("真砂中央図書館", "libraries"),
        ("真砂中央図書館", "public-wireless-lan"),
    ]
    # Two rows of one layer are two things, however close.
    assert found("シビックセンター") == [
        ("文京シビックセンター", "aed"),
        ("文京シビックセンター", "bus-stops"),
    ]
    [civic, _other_stop] = search.search_features(None, "シビックセンター")
    assert [a["layer"] for a in civic["also"]] == ["bus-stops"]


def test_words_match_separately_after_width_is_normalised(layers: dict[str, Layer]) -> None:
    assert found("根津 駅") == [("根津駅", "bus-stops")]
    assert found("根津　駅") == [("根津駅", "bus-stops")]  # an ideographic space
    assert found("駅 根津") == [("根津駅", "bus-stops")]
    assert found("ＡＥＤ前") == [("ＡＥＤ前", "bus-stops")]
    assert found("AED前") == [("ＡＥＤ前", "bus-stops")]  # stored full-width, asked half
    # A word naming a layer narrows to it: the other words are in the name.
    assert found("トイレ 根津") == [("根津神社境内公衆便所", "public-toilets")]
    assert found("AED シビック") == [("文京シビックセンター", "aed")]
    assert found("根津 図書館") == []


def test_layer_titles_follow_the_page_language(layers: dict[str, Layer]) -> None:
    with translation.override("en"):
        [hit] = search.search_features(None, "千石")
        assert (hit["layer_title"], hit["also"][0]["layer_title"]) == (
            "Ward libraries",
            "AED locations",
        )
        # No English title: the Japanese one.
        assert hit["also"][1]["layer_title"] == "公衆無線LAN設置場所"
        assert search.search_layers(None, "toilet")[0]["layer_title"] == "Public toilets"
    with translation.override("ja"):
        [hit] = search.search_features(None, "千石")
        assert hit["layer_title"] == "区立図書館"
        assert search.search_layers(None, "toilet")[0]["layer_title"] == "公衆トイレ"
