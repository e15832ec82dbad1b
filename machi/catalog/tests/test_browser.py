"""A resident's path in Debian's Chromium: home → search 保育 → dataset → download."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.conftest import RESULTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CSV = "名称,所在地,定員\n本郷保育園,文京区本郷一丁目1-1,60\n春日保育園,文京区春日一丁目2-3,80\n"


@pytest.fixture
def catalog(kikaku: Department, bousai: Department, make_dataset: Callable[..., Dataset]) -> None:
    make_dataset(
        kikaku,
        "hoikuen",
        "区立・私立認可保育園一覧",
        description="区内の認可保育園の所在地と定員です。",
        tags=["子育て・教育"],
        categories=["kosodate"],
        csv=CSV,
    )
    make_dataset(bousai, "hinanjo", "避難所一覧", tags=["防災/避難所"], categories=["bousai"])


def test_resident_finds_and_downloads_nursery_data(
    live_server,
    catalog: None,
    browser_page,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    page.goto(live_server.url + "/")
    page.screenshot(path=str(RESULTS / "1-home.png"), full_page=True)
    page.get_by_label("データセットを検索").fill("保育")
    page.get_by_role("button", name="検索").click()
    page.wait_for_url("**/dataset/?q=*")
    assert page.get_by_role(
        "heading", level=2, name="1 件のデータセットが見つかりました"
    ).is_visible()
    page.screenshot(path=str(RESULTS / "2-search.png"), full_page=True)
    page.get_by_role("link", name="区立・私立認可保育園一覧").click()
    page.wait_for_url("**/dataset/hoikuen/")
    assert page.get_by_role("heading", level=1).inner_text() == "区立・私立認可保育園一覧"
    page.screenshot(path=str(RESULTS / "3-dataset.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="ダウンロード").first.click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == "hoikuen.csv"
    assert target.read_text(encoding="utf-8") == CSV
    shutil.copy(target, RESULTS / "4-downloaded.csv")


def test_keyboard_users_can_skip_to_content(live_server, catalog: None, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へスキップ")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
