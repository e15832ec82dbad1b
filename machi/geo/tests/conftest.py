from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.datastore import services as datastore
from machi.geo import gazetteer, services
from machi.geo.models import Layer


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    # Messages are asserted in English (their msgids); pages use the request's language.
    with translation.override("en"):
        yield


# Real Bunkyo facilities (from the demo's AED list) and two made-up rows: one without an
# address (placed by the nearest town point) and one without coordinates (not on the map).
AED = """\
名称,住所,緯度,経度,電話番号,開始時間,終了時間,利用可能日時特記事項
文京シビックセンター,東京都文京区春日一丁目16番21号,35.708070,139.752220,03-3812-7111,08:00,22:00,年末年始は休館
根津地域活動センター,東京都文京区根津二丁目20番7号,35.718257,139.765140,03-3823-5041,08:30,21:30,
文京総合体育館,東京都文京区本郷七丁目1番2号,35.716960,139.759390,03-3817-1171,09:00,22:00,
大塚地域活動センター,東京都文京区大塚四丁目49番2号,35.723950,139.734620,03-3941-3201,08:30,21:30,
富坂地域活動センター,東京都文京区小石川二丁目18番18号,35.711020,139.747540,03-3812-2016,08:30,21:30,
千石の公園,,35.728000,139.742000,,,,
場所未定のAED,東京都文京区春日二丁目9番5号,,,,,,
"""

NURSERIES = """\
名称,種別,住所,緯度,経度,収容定員
春日保育園,認可保育所,東京都文京区春日二丁目13番1号,35.711386,139.742439,60
青柳保育園,認可保育所,東京都文京区大塚五丁目40番1号,35.722304,139.731267,96
大塚保育園,認可保育所,東京都文京区大塚二丁目16番3号,35.720235,139.731807,110
千駄木保育園,認可保育所,東京都文京区千駄木三丁目1番1号,35.724000,139.762000,120
"""


@pytest.fixture
def places(db: None) -> int:
    return gazetteer.load_team_gazetteer()


@pytest.fixture
def load_layer(site_admin: User, make_dataset: Callable[..., Dataset]) -> Callable[..., Layer]:
    """A dataset with one CSV resource, loaded into the datastore; its map layer."""

    def load(department: Department, name: str, csv: str, **fields: Any) -> Layer:
        title = fields.pop("title", name)
        dataset = make_dataset(department, name, title, csv=csv, **fields)
        version = dataset.resources.get().current
        datastore.load_version_file(actor=site_admin, version=version)
        services.sync_point_layers()
        return Layer.objects.get(resource__dataset=dataset)

    return load


@pytest.fixture
def aed(load_layer: Callable[..., Layer], kikaku: Department, places: int) -> Layer:
    return load_layer(kikaku, "aed", AED, standard="aed")


@pytest.fixture
def nurseries(load_layer: Callable[..., Layer], kikaku: Department, places: int) -> Layer:
    return load_layer(kikaku, "nursery-schools", NURSERIES, standard="preschool")
