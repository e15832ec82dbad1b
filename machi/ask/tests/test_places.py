"""Data answers: facilities from the open data with distances and map links (machi.geo)."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.ask import services
from machi.ask.text import plain_text
from machi.catalog.models import Dataset
from machi.datastore import services as datastore
from machi.geo import gazetteer
from machi.geo import services as geo
from machi.geo.models import Layer

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

# Ward facilities at their real addresses and coordinates.
AED = """\
名称,住所,緯度,経度,電話番号,開始時間,終了時間
文京シビックセンター,東京都文京区春日一丁目16番21号,35.708070,139.752220,03-3812-7111,08:00,22:00
根津地域活動センター,東京都文京区根津二丁目20番7号,35.718257,139.765140,03-3823-5041,08:30,21:30
文京総合体育館,東京都文京区本郷七丁目1番2号,35.716960,139.759390,03-3817-1171,09:00,22:00
大塚地域活動センター,東京都文京区大塚四丁目49番2号,35.723950,139.734620,03-3941-3201,08:30,21:30
"""
WIFI = """\
名称,住所,緯度,経度
富坂地域活動センター,東京都文京区小石川二丁目18番18号,35.711020,139.747540
小石川図書館,東京都文京区小石川五丁目9番20号,35.718600,139.742300
文京シビックセンター,東京都文京区春日一丁目16番21号,35.708070,139.752220
"""
SHELTERS = """\
名称,住所,緯度,経度
根津小学校,東京都文京区根津一丁目4番12号,35.716700,139.763500
千駄木小学校,東京都文京区千駄木三丁目9番8号,35.727000,139.761300
誠之小学校,東京都文京区西片一丁目2番10号,35.715300,139.756400
"""
TOILETS = """\
名称,住所,緯度,経度
礫川公園公衆便所,東京都文京区春日一丁目15番,35.708600,139.748890
富坂上公衆便所,東京都文京区春日一丁目13番13号,35.707450,139.748860
"""
NURSERIES = """\
名称,住所,緯度,経度
春日保育園,東京都文京区春日二丁目13番1号,35.711386,139.742439
大塚保育園,東京都文京区大塚二丁目16番3号,35.720235,139.731807
千駄木保育園,東京都文京区千駄木三丁目1番1号,35.724000,139.762000
"""


@pytest.fixture
def layers(
    site_admin: User, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> dict[str, Layer]:
    gazetteer.load_team_gazetteer()
    made = {}
    for name, title, title_en, standard, csv in (
        ("aed", "AED設置場所一覧", "AED locations", "aed", AED),
        ("wifi", "公衆無線LANアクセスポイント一覧", "", "public-wireless-lan", WIFI),
        ("shelters", "指定避難所一覧", "", "evacuation-shelters", SHELTERS),
        ("nurseries", "認可保育所一覧", "", "preschool", NURSERIES),
        ("toilets", "公衆トイレ一覧", "Public toilets", "public-toilet", TOILETS),
    ):
        dataset = make_dataset(kikaku, name, title, csv=csv, standard=standard, title_en=title_en)
        datastore.load_version_file(actor=site_admin, version=dataset.resources.get().current)
        geo.sync_point_layers()
        made[name] = Layer.objects.get(resource__dataset=dataset)
    return made


def _names(result: services.AskResult) -> list[str]:
    return [place["name"] for place in result.places]


def test_aed_near_a_station(layers: dict[str, Layer]) -> None:
    result = services.ask(question="根津駅の近くのAEDは？")
    assert not result.abstained
    assert result.place_where == "根津"
    assert _names(result)[:2] == ["根津地域活動センター", "文京総合体育館"]
    first = result.places[0]
    assert 50 < first["distance_m"] < 150  # 根津駅 to 根津二丁目20番7号
    assert first["address"] == "東京都文京区根津二丁目20番7号"
    assert first["phone"] == "03-3823-5041"
    assert first["map_url"] == "/map/#map=17/35.71826/139.76514&layers=aed"
    assert result.answer is None  # a near-miss FAQ entry is not shown beside the data


def test_wifi_in_a_town(layers: dict[str, Layer]) -> None:
    result = services.ask(question="小石川でWi-Fiが使える所")
    assert sorted(_names(result)) == ["富坂地域活動センター", "小石川図書館"]
    assert all(place["distance_m"] is not None for place in result.places)


def test_nearest_shelter_from_the_browsers_location(layers: dict[str, Layer]) -> None:
    # A resident standing at 根津駅's exit.
    result = services.ask(question="一番近い避難所", lat=35.7175, lon=139.7656)
    assert _names(result) == ["根津小学校", "誠之小学校", "千駄木小学校"]
    assert result.places[0]["distance_m"] < 300
    without_location = services.ask(question="一番近い避難所")
    assert without_location.places == [] and without_location.needs_location


def test_nurseries_in_a_town(layers: dict[str, Layer]) -> None:
    result = services.ask(question="春日の保育園")
    assert _names(result) == ["春日保育園"]


def test_questions_about_a_service_stay_with_the_faq(layers: dict[str, Layer], faq: int) -> None:
    result = services.ask(question="保育園の申し込み方法")
    assert result.places == [] and not result.needs_location
    assert result.answer is not None and result.answer.faq_id == "hoikuen-apply"


def test_the_api_and_the_page_list_places_with_map_links(
    layers: dict[str, Layer], resident: Client
) -> None:
    data = resident.post(
        "/api/v1/ask",
        {"question": "近くのAED", "lat": 35.7080, "lon": 139.7520},
        content_type="application/json",
    ).json()
    assert data["abstained"] is False
    assert data["places"][0]["name"] == "文京シビックセンター"
    assert data["places"][0]["map_url"].startswith("/map/#map=17/")
    html = resident.get("/ask/", {"q": "根津駅の近くのAEDは？"}).content.decode()
    assert "根津地域活動センター" in html
    assert 'href="/map/#map=17/35.71826/139.76514&amp;layers=aed"' in html


def test_english_facility_questions(layers: dict[str, Layer], settings: Any) -> None:
    result = services.ask(question="Where is the nearest AED?", lat=35.7080, lon=139.7520)
    assert _names(result)[0] == "文京シビックセンター"


def test_near_me_without_a_location_asks_where_in_one_answer(
    layers: dict[str, Layer], faq: int, resident: Client
) -> None:
    html = resident.get("/ask/", {"q": "近くのAED"}).content.decode()
    assert "AED設置場所" in html
    # What works on this page: the question again with a station, or the map's "Near me".
    example = "/ask/?q=%E6%A0%B9%E6%B4%A5%E9%A7%85%E3%81%AE%E8%BF%91%E3%81%8F%E3%81%AEAED"
    assert f'href="{example}' in html
    assert 'href="/map/#layers=aed"' in html
    # One answer: no "not found", no "did you mean" about shelters or bicycles.
    for unrelated in (
        "回答が見つかりませんでした",
        "もしかして",
        "避難所",
        "自転車",
        "share your location",
    ):
        assert unrelated not in html, unrelated
    assert (
        "根津地域活動センター"
        in resident.get("/ask/", {"q": "根津駅の近くのAED設置場所"}).content.decode()
    )
    data = resident.post(
        "/api/v1/ask", {"question": "近くのAED"}, content_type="application/json"
    ).json()
    assert data["needs_location"] and data["abstained"] is False
    assert data["answer"] is None and data["alternatives"] == [] and data["contact"] is None


def test_near_me_in_english_without_a_location(
    layers: dict[str, Layer], faq: int, resident: Client
) -> None:
    html = resident.get(
        "/ask/", {"q": "Where is the nearest AED?"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "To find the nearest AED locations, I need to know where you are." in html
    assert "AED locations near 根津駅" in html  # an example that the chatbot answers
    assert "Sorry, I could not find" not in html and "Did you mean" not in html


# A resident standing at 春日駅 (文京シビックセンター).
KASUGA = {"lat": 35.7080, "lon": 139.7520}


@pytest.mark.parametrize(
    "question", ["トイレはどこ", "トイレどこですか", "トイレはどこにありますか", "トイレの場所"]
)
def test_asking_where_a_facility_is_lists_the_nearest(
    layers: dict[str, Layer], faq: int, resident: Client, question: str
) -> None:
    html = resident.get("/ask/", {"q": question, **KASUGA}).content.decode()
    assert "礫川公園公衆便所" in html and "富坂上公衆便所" in html
    # Not "no answer", a referral to 防災課 and もしかして about 備蓄 and 避難所.
    for unrelated in ("回答が見つかりませんでした", "防災課", "もしかして", "備蓄", "避難所"):
        assert unrelated not in html, unrelated


def test_where_is_the_aed_lists_the_nearest(layers: dict[str, Layer], faq: int) -> None:
    result = services.ask(question="AEDはどこ？", **KASUGA)
    assert not result.abstained and result.contact == {}
    assert _names(result)[0] == "文京シビックセンター"
    assert _names(services.ask(question="Where is the AED?", **KASUGA))[0] == "文京シビックセンター"


def test_asking_where_without_a_location_asks_for_a_station(
    layers: dict[str, Layer], faq: int, resident: Client
) -> None:
    html = resident.get("/ask/", {"q": "トイレはどこ"}).content.decode()
    assert "最寄りの公衆トイレを探すには、今いる場所を教えてください。" in html
    assert "根津駅の近くの公衆トイレ" in html
    assert "防災課" not in html and "もしかして" not in html


def test_where_to_apply_for_a_service_stays_with_the_faq(
    layers: dict[str, Layer], faq: int
) -> None:
    result = services.ask(question="保育園の申し込みはどこでできますか", **KASUGA)
    assert result.places == [] and not result.needs_location
    assert result.answer is not None and result.answer.faq_id == "hoikuen-apply"


def test_a_bare_layer_name_asks_for_the_nearest(
    layers: dict[str, Layer], faq: int, resident: Client
) -> None:
    html = resident.get("/ask/", {"q": "AED", **KASUGA}).content.decode()
    assert "文京シビックセンター" in html
    # On a Japanese page the answer is Japanese, though the question is in Latin letters.
    assert "AED設置場所" in html and "AED locations" not in html
    html = resident.get("/ask/", {"q": "AED"}).content.decode()
    assert "最寄りのAED設置場所を探すには、今いる場所を教えてください。" in html
    assert "申し訳ありません" not in html and "Bunkyo City Office" not in html


def test_english_answers_name_the_layer_in_english(
    layers: dict[str, Layer], resident: Client
) -> None:
    data = resident.post(
        "/api/v1/ask",
        {"question": "Where is the nearest AED?", "lang": "en", **KASUGA},
        content_type="application/json",
    ).json()
    assert data["place_layer"] == "AED locations"
    assert data["places"][0]["layer"] == "AED locations"
    html = resident.get(
        "/ask/", {"q": "nearest AED", **KASUGA}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "AED locations near you" in html and "AED設置場所" not in html
    # Japanese answers keep the Japanese title.
    html = resident.get("/ask/", {"q": "近くのAED", **KASUGA}).content.decode()
    assert "AED設置場所" in html and "AED locations" not in html


def test_distances_read_in_metres_or_kilometres(layers: dict[str, Layer], resident: Client) -> None:
    html = resident.get(
        "/ask/", {"q": "根津駅の近くの保育園"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert re.search(r'千駄木保育園</strong> <span class="meta">\d{3} m</span>', html)
    assert re.search(r'大塚保育園</strong> <span class="meta">\d\.\d km</span>', html)


def test_far_from_the_ward_says_so_rather_than_listing(
    layers: dict[str, Layer], resident: Client
) -> None:
    far = {"lat": 35.0, "lon": 135.0}  # near Kyoto, about 436 km away
    html = resident.get(
        "/ask/", {"q": "nearest AED", **far}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    said = r"You seem to be outside the ward: the nearest place in “AED locations” is 43\d km away"
    assert re.search(said, html)
    assert "AED locations near 根津駅" in html  # how to ask about a place in the ward
    assert "文京シビックセンター" not in html and not re.search(r"43\d,\d{3}", html)
    result = services.ask(question="一番近いAED", lang="en", **far)
    text = plain_text(result)
    assert "outside the ward" in text and re.search(r"43\d km", text)
    assert "文京シビックセンター" not in text
    # The API says so too, in the words the widget shows (it recomputed them in script).
    answer = resident.post(
        "/api/v1/ask",
        {"question": "nearest AED", "lang": "en", **far},
        content_type="application/json",
    ).json()
    assert answer["far_away"] is True
    assert answer["place_example"] == "AED locations near 根津駅"
    assert re.fullmatch(r"43\d km", answer["places"][0]["distance_text"])
