"""A staff editor's path in Debian's Chromium: sign in, upload Excel, fix the header guess,
see cell errors, fix them, publish, and find the rows in the datastore API."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.conftest import RESULTS
from machi.publish.tests.conftest import workbook_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(
        databases=["default", "datastore"], transaction=True, serialized_rollback=True
    ),
]

HEAD = [
    ["文京区 AED設置場所一覧（令和6年4月1日現在）"],
    ["施設名", "所在地", "緯度", "経度", "設置日", "設置位置"],
    ["正式名称", "住所", "世界測地系", "世界測地系", "和暦可", "階・場所"],
]
# 60 places: enough for the date column to be typed, with one date that cannot exist.
BODY = [
    [
        f"区立施設{n}",
        f"東京都文京区春日1-{n}",
        round(35.70 + n / 10000, 6),
        139.75,
        f"令和5年4月{n % 28 + 1}日",
        "１階",
    ]
    for n in range(1, 61)
]
BODY[1][4] = "令和99年13月1日"
ROWS = HEAD + BODY


@pytest.fixture
def signed_up(
    editor: User, kikaku: Department, make_dataset: Callable[..., Dataset], settings: Any
) -> bytes:
    """The dataset, and the editor's authenticator key (staff sign in with two steps)."""
    settings.MACHI_REQUIRE_2FA = True
    make_dataset(kikaku, "aed", "AED設置場所一覧")
    return TOTPDevice.objects.create(user=editor, name="phone", confirmed=True).bin_key


def test_editor_uploads_fixes_and_publishes(
    live_server,  # type: ignore[no-untyped-def]
    signed_up: bytes,  # before the browser: Playwright's loop forbids database calls after it
    browser_page,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    file = tmp_path / "AED一覧.xlsx"
    file.write_bytes(workbook_bytes(ROWS))
    page = browser_page
    page.set_default_timeout(20000)

    page.goto(live_server.url + "/staff/publish/")
    page.get_by_label("ユーザー名").fill("editor")
    page.get_by_label("パスワード").fill("correct horse battery")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("認証アプリに表示される6桁のコード").fill(f"{totp(signed_up):06d}")
    page.get_by_role("button", name="認証").click()
    page.wait_for_url("**/staff/publish/")

    page.get_by_label("ExcelまたはCSVファイル").set_input_files(str(file))
    page.get_by_label("データセット", exact=True).select_option(label="AED設置場所一覧")
    page.screenshot(path=str(RESULTS / "publish-1-upload.png"), full_page=True)
    page.get_by_role("button", name="アップロードして変換").click()
    page.wait_for_selector("text=ファイルの中に見つけた表")
    page.screenshot(path=str(RESULTS / "publish-2-guess.png"), full_page=True)
    # The guess took the description row 3 for data: every column reads as text.
    preview = page.get_by_role("region", name="変換後の先頭の行")
    assert preview.get_by_role("cell", name="正式名称").is_visible()

    page.get_by_text("見出しを直す・別のシートを選ぶ").click()
    page.get_by_label("見出しの行番号").fill("2")
    page.get_by_label("データの最初の行").fill("4")
    with page.expect_navigation():
        page.locator("form[action$='/layout']").get_by_role("button", name="変換し直す").click()
    problems = page.locator("table.problems")
    assert problems.get_by_text(
        "5行目、設置日列: 「令和99年13月1日」は日付ではありません。"
    ).is_visible()
    assert not page.get_by_role("button", name="60 行を公開する").is_visible()
    page.screenshot(path=str(RESULTS / "publish-3-errors.png"), full_page=True)

    # The installation date stays as the department wrote it: a text column.
    page.get_by_label("「設置日」の型").select_option("string")
    with page.expect_navigation():
        page.get_by_role("button", name="型を変えて変換し直す").click()
    assert page.get_by_text("問題は見つかりませんでした。").is_visible()
    assert page.get_by_text("１階 → 1階").is_visible()
    page.get_by_role("button", name="60 行を公開する").click()
    page.wait_for_selector("#done-h")
    page.screenshot(path=str(RESULTS / "publish-4-published.png"), full_page=True)

    api = page.get_by_role("link", name="行データのAPI").get_attribute("href")
    response = page.request.get(live_server.url + api)
    records = response.json()["records"]
    assert response.json()["total"] == 60
    assert records[0]["施設名"] == "区立施設1" and records[0]["緯度"] == 35.7001
    assert records[1]["設置日"] == "令和99年13月1日" and records[2]["設置位置"] == "1階"


def sign_in(page: Any, server: str, path: str) -> None:
    """The editor signs in (no second step) and lands on `path`."""
    page.goto(server + path)
    page.get_by_label("ユーザー名").fill("editor")
    page.get_by_label("パスワード").fill("correct horse battery")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"**{path}")


@pytest.fixture
def to_improve(
    editor: User, kikaku: Department, make_dataset: Callable[..., Dataset], settings: Any
) -> None:
    """A dataset without a file or a description: several hints on how to raise its score."""
    settings.MACHI_REQUIRE_2FA = False
    make_dataset(kikaku, "aed", "AED設置場所一覧（文京区内の区立施設と民間施設の全件）")


def test_the_dashboard_reads_on_a_phone(
    live_server,  # type: ignore[no-untyped-def]
    to_improve: None,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    """Each table row is a card at 390 px: nothing to scroll sideways, every cell labelled."""
    page = browser_page
    sign_in(page, live_server.url, "/staff/publish/dashboard")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    hints = page.locator(".quality-scores td[data-label='評価を上げるには']").first
    hints.scroll_into_view_if_needed()
    box = hints.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert hints.get_by_text("その更新頻度を設定してください。").is_visible()
    # The table keeps its semantics for screen readers: a row header and labelled cells.
    assert page.get_by_role("rowheader", name="AED設置場所一覧").is_visible()
    page.screenshot(path=str(RESULTS / "dashboard-phone.png"), full_page=True)


@pytest.fixture
def published_twice(
    editor: User, kikaku: Department, make_dataset: Callable[..., Dataset], settings: Any
) -> str:
    """Two versions of a table, one with a removed column; returns the resource's uid."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from machi.publish import services

    settings.MACHI_REQUIRE_2FA = False
    dataset = make_dataset(kikaku, "aed", "AED設置場所一覧（文京区内の区立施設と民間施設の全件）")
    version = None
    for n in (1, 2):
        data = workbook_bytes(
            [["施設名", "担当メモ"], *([f"区立施設{i}", "休職中"] for i in range(n))]
        )
        run = services.start_run(
            actor=editor,
            dataset=dataset,
            upload=SimpleUploadedFile(f"AED設置場所一覧_令和6年度_作業用_{n}.xlsx", data),
            resource=version.resource if version else None,
            options={"standard": "", "drop_columns": ["担当メモ"]},
        )
        version = services.publish_run(actor=editor, run=services.convert_run(run))
    return str(version.resource.uid)


def test_the_uploads_and_versions_read_on_a_phone(
    live_server,  # type: ignore[no-untyped-def]
    published_twice: str,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    """The report's link, the status and the rows were off-screen at 390 px."""
    page = browser_page
    sign_in(page, live_server.url, "/staff/publish/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    status = page.locator("td[data-label='状態']").first
    box = status.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390 and status.is_visible()
    page.screenshot(path=str(RESULTS / "uploads-phone.png"), full_page=True)
    page.goto(live_server.url + f"/staff/publish/resource/{published_twice}/versions")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    rows = page.locator("td[data-label='行数']").first
    box = rows.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390 and rows.is_visible()
    page.screenshot(path=str(RESULTS / "versions-phone.png"), full_page=True)

    # Rolling back: the outcome is what a screen reader hears next (the focus was at the
    # top of the page, and a message already there when the page loads is not announced).
    page.locator("td[data-label='現在'] a.button").first.click()
    page.get_by_role("button", name="v1 を現在のバージョンにする").click()
    page.wait_for_url("**/versions")
    outcome = page.locator("#outcome")
    assert "バージョン 1 を公開中" in outcome.inner_text()
    assert outcome.evaluate("node => node === document.activeElement")


@pytest.fixture
def flagged(
    editor: User, kikaku: Department, make_dataset: Callable[..., Dataset], settings: Any
) -> str:
    """An upload in review with two columns that look like personal data; returns its uid."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from machi.publish import services

    settings.MACHI_REQUIRE_2FA = False
    dataset = make_dataset(kikaku, "aed", "AED設置場所一覧")
    data = workbook_bytes(
        [["施設名", "連絡先", "携帯"], ["区立施設1", "taro@example.jp", "090-1234-5678"]]
    )
    run = services.start_run(
        actor=editor,
        dataset=dataset,
        upload=SimpleUploadedFile("aed.xlsx", data),
        options={"standard": ""},
    )
    return str(services.convert_run(run).uid)


def test_personal_data_answers_left_out_are_marked_and_reached_from_the_summary(
    live_server,  # type: ignore[no-untyped-def]
    flagged: str,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    """保存 with a column unanswered: the summary takes the focus, its link puts the
    reader on that column's first choice, and the choice already made stays chosen."""
    page = browser_page
    sign_in(page, live_server.url, f"/staff/publish/{flagged}/")
    page.get_by_role("group", name="「連絡先」列").get_by_label("この列を削除する").check()
    page.get_by_role("button", name="保存", exact=True).click()
    summary = page.locator("#error-summary")
    assert summary.evaluate("node => node === document.activeElement")
    summary.get_by_role("link", name="「携帯」列").click()
    chosen = page.get_by_role("group", name="「携帯」列").get_by_role("radio").first
    assert chosen.evaluate("node => node === document.activeElement")
    answered = page.get_by_role("group", name="「連絡先」列")
    assert answered.get_by_label("この列を削除する").is_checked()
    assert page.locator("fieldset.invalid").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(RESULTS / "privacy-unanswered-phone.png"), full_page=True)
