"""The map pages, who sees which layers, and tiles served by the app."""

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department
from machi.geo.models import Layer
from machi.geo.tests.conftest import AED

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])
PNG = b"\x89PNG\r\n\x1a\n" + b"tile"


def config(response: object) -> dict:
    html = response.content.decode()
    start = html.index('<script id="geo-config" type="application/json">') + 48
    return json.loads(html[start : html.index("</script>", start)])


def test_public_map_lists_public_layers_and_allows_the_tile_server(
    resident: Client, aed: Layer, load_layer: Callable[..., Layer], kikaku: Department
) -> None:
    load_layer(kikaku, "stock", AED, is_public=False)
    response = resident.get("/map/")
    assert response.status_code == 200
    page = config(response)
    assert [layer["slug"] for layer in page["layers"]] == ["aed"]
    assert page["tiles"]["url"].startswith("https://cyberjapandata.gsi.go.jp/xyz/std/")
    assert "maps.gsi.go.jp/development/ichiran.html" in page["tiles"]["attribution"]
    assert page["boundary"]["features"][0]["properties"]["name"] == "文京区"
    assert any(p["name"] == "根津" and p["kind"] == "station" for p in page["places"])
    policy = response["Content-Security-Policy"]
    assert "img-src 'self' data: https://cyberjapandata.gsi.go.jp" in policy
    assert "script-src 'self'" in policy


def test_staff_map_includes_private_layers(
    client_for: Callable[[User], Client],
    viewer: User,
    resident: Client,
    load_layer: Callable[..., Layer],
    kikaku: Department,
    places: int,
) -> None:
    load_layer(kikaku, "stock", AED, is_public=False)
    assert resident.get("/staff/map/").status_code == 302  # sign in first
    page = config(client_for(viewer).get("/staff/map/"))
    assert [layer["slug"] for layer in page["layers"]] == ["stock"]
    assert page["layers"][0]["is_public"] is False


def test_tiles_from_a_folder(resident: Client, settings: object, tmp_path: Path) -> None:
    (tmp_path / "15" / "29104").mkdir(parents=True)
    (tmp_path / "15" / "29104" / "12900.png").write_bytes(PNG)
    settings.GEO_TILES_DIR = str(tmp_path)
    assert config(resident.get("/map/"))["tiles"]["url"] == "/map/tiles/{z}/{x}/{y}.png"
    response = resident.get("/map/tiles/15/29104/12900.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert resident.get("/map/tiles/15/29104/12901.png").status_code == 404


def test_tiles_from_mbtiles(resident: Client, settings: object, tmp_path: Path) -> None:
    path = tmp_path / "bunkyo.mbtiles"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        db.execute("INSERT INTO tiles VALUES (15, 29104, ?, ?)", ((1 << 15) - 1 - 12900, PNG))
    settings.GEO_MBTILES = str(path)
    response = resident.get("/map/tiles/15/29104/12900.png")
    assert response.status_code == 200 and response.content == PNG
    assert resident.get("/map/tiles/15/29104/12901.png").status_code == 404


def test_the_layers_residents_look_for_come_first_and_the_list_says_how_many(
    resident: Client, load_layer: Callable[..., Layer], kikaku: Department, places: int
) -> None:
    # Loaded in code-point order, which the list used to keep: 公衆トイレ after イベント etc.
    for name, title, standard in [
        ("events", "イベント", ""),
        ("b-guru", "コミュニティバス停留所", ""),
        ("aed", "AED設置場所", "aed"),
        ("public-toilets", "公衆トイレ", "public-toilet"),
        ("evacuation-space", "指定緊急避難場所", "evacuation-space"),
        ("shelters", "避難所", "evacuation-shelters"),
        ("public-facilities", "区有施設", "public-facility"),
    ]:
        load_layer(kikaku, name, AED, title=title, title_en=f"{name} in English", standard=standard)
    response = resident.get("/map/", HTTP_ACCEPT_LANGUAGE="ja")
    labels = [layer["label"] for layer in config(response)["layers"]]
    assert labels == [
        "区有施設",
        "公衆トイレ",
        "AED設置場所",
        "避難所",
        "指定緊急避難場所",
        "イベント",
        "コミュニティバス停留所",
    ]
    html = response.content.decode()
    assert "(7)</legend>" in html or "（7）</legend>" in html
    assert 'id="geo-layers-hint"' in html
    english = config(resident.get("/map/", HTTP_ACCEPT_LANGUAGE="en"))["layers"]
    assert english[1]["label"] == "public-toilets in English"
