"""A harvested dataset in Debian's Chromium: the origin on a phone, read-only in the back office."""

from typing import Any

import pytest
from django.contrib.auth.models import User

from machi.catalog.harvest_clients import RemoteDataset, RemoteResource
from machi.catalog.harvest_writes import save_harvested_dataset
from machi.catalog.tests.harvest_helpers import make_source
from machi.conftest import RESULTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def harvested(site_admin: User) -> int:
    source = make_source(site_admin, "https://catalog.metro.example.jp/", name="tokyo")
    source.title = "東京都オープンデータカタログ"
    source.save()
    record = RemoteDataset(
        remote_id="t000003d0000000093",
        name="hinanjo",
        title="都内の避難所一覧",
        description="東京都が指定する避難所の一覧です。",
        remote_url="https://catalog.metro.example.jp/dataset/hinanjo",
        publisher="東京都総務局",
        resources=[
            RemoteResource(remote_id="csv", name="避難所一覧（CSV）", url="https://x.jp/a.csv")
        ],
    )
    return save_harvested_dataset(source=source, record=record, dataset=None)[1].pk


def test_the_origin_shows_on_a_phone_and_the_back_office_is_read_only(
    live_server: Any, harvested: int, browser_page: Any
) -> None:
    page = browser_page
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/dataset/hinanjo/")
    origin = page.get_by_role("complementary", name="他のカタログから収集")
    if not origin.count():  # the Japanese catalog is merged by the lead
        origin = page.get_by_role("complementary", name="From another catalog")
    assert origin.get_by_role("link", name="東京都オープンデータカタログ").is_visible()
    assert origin.get_by_text("東京都総務局").is_visible()
    assert origin.get_by_role(
        "link", name="https://catalog.metro.example.jp/dataset/hinanjo"
    ).is_visible()
    # Long original addresses wrap: nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(RESULTS / "harvest-1-dataset-origin.png"), full_page=True)

    page.goto(live_server.url + f"/admin/catalog/dataset/{harvested}/change/")
    page.get_by_label("ユーザー名").fill("admin")
    page.get_by_label("パスワード").fill("correct horse battery")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"**/admin/catalog/dataset/{harvested}/change/")
    assert page.get_by_text("https://catalog.metro.example.jp/dataset/hinanjo").first.is_visible()
    assert not page.get_by_role("button", name="保存").count()
    page.screenshot(path=str(RESULTS / "harvest-2-admin-read-only.png"), full_page=True)
