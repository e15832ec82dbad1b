"""A developer on a phone: the guide and a new key fit the screen; the key copies in a tap."""

import pytest
from django.contrib.auth.models import User

from machi.conftest import RESULTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PHONE_WIDTH = 390  # the browser_page viewport


def page_width(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_guide_and_new_key_fit_a_phone_and_the_key_copies(
    live_server,  # type: ignore[no-untyped-def]
    developer: User,  # before the browser: Playwright's loop forbids database calls after it
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(live_server.url + "/developers/")
    assert page_width(page) <= PHONE_WIDTH
    page.screenshot(path=str(RESULTS / "developers-guide-ja.png"), full_page=True)
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="For developers").wait_for()
    assert page_width(page) <= PHONE_WIDTH
    page.screenshot(path=str(RESULTS / "developers-guide-en.png"), full_page=True)
    page.get_by_role("button", name="日本語").click()

    page.goto(live_server.url + "/developers/login/")
    assert page.title() == "ログイン | 文京区オープンデータ"
    page.get_by_label("メールアドレス").fill("dev@example.jp")
    page.get_by_label("パスワード").fill("correct horse battery")
    page.locator("main").get_by_role("button", name="ログイン").click()
    page.get_by_label("キーの名前").fill("地図アプリ")
    page.get_by_role("button", name="作成する").click()

    field = page.get_by_label("APIキー", exact=True)
    plaintext = field.input_value()
    assert plaintext
    assert page_width(page) <= PHONE_WIDTH
    box = field.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE_WIDTH
    page.get_by_role("button", name="キーをコピー").click()
    page.locator("#new-key-copied", has_text="コピーしました").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    page.screenshot(path=str(RESULTS / "developers-keys.png"), full_page=True)
