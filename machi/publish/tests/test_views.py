"""The staff pages: upload, review, correct the guess, publish, roll back."""

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.catalog.models import Dataset
from machi.publish import services
from machi.publish.models import Run, RunStatus
from machi.publish.tests.conftest import AED_CSV, workbook_bytes

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def toilets(make_dataset: Callable[..., Dataset], kikaku: Department) -> Dataset:
    return make_dataset(kikaku, "toilets", "公衆トイレ")


def upload(client: Client, dataset: Dataset, data: bytes, name: str, captured: Any) -> Run:
    with captured(execute=True):
        response = client.post(
            "/staff/publish/",
            {
                "file": SimpleUploadedFile(name, data, content_type=XLSX),
                "dataset": dataset.pk,
                "resource_name": "",
                "standard": "auto",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    run = Run.objects.get()
    assert response["Location"] == f"/staff/publish/{run.uid}/"
    return run


def sheet_with_a_title() -> bytes:
    return workbook_bytes(
        [
            ["文京区 公衆トイレ一覧"],
            ["令和6年4月1日現在"],
            [],
            ["名称", "所在地", "男性トイレ数", "開設日", "車いす対応"],
            ["小石川公園トイレ", "東京都文京区小石川1-1", "２", "令和5年4月1日", "○"],
            ["本郷公園トイレ", "東京都文京区本郷2-2", "3", "H31.4.30", "×"],
        ]
    )


@pytest.fixture
def titled(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> tuple[Client, Run]:
    """An editor's client and the run of sheet_with_a_title(), converted and in review."""
    client = client_for(editor)
    run = upload(
        client, toilets, sheet_with_a_title(), "toilets.xlsx", django_capture_on_commit_callbacks
    )
    return client, run


def note_then_data(note: tuple[str, str], data: tuple[str, list[list[Any]]]) -> bytes:
    """A workbook whose first sheet holds a note and whose second holds the table."""
    book = openpyxl.Workbook()
    book.active.title, text = note
    book.active.append([text])
    sheet = book.create_sheet(data[0])
    for row in data[1]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_anonymous_visitors_are_sent_to_sign_in(resident: Client) -> None:
    response = resident.get("/staff/publish/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_editor_uploads_reviews_and_publishes(
    titled: tuple[Client, Run],
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
    resident: Client,
) -> None:
    client, run = titled
    run.refresh_from_db()
    assert run.status == RunStatus.REVIEW
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert "文京区 公衆トイレ一覧" in page  # the title found above the table
    assert "令和5年4月1日 → 2023-04-01" in page
    assert "２ → 2" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/publish/{run.uid}/publish", {})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.PUBLISHED
    resource = toilets.resources.get()
    rows = resident.get(f"/api/v1/datastore/{resource.uid}/rows").json()["records"]
    assert rows[0]["開設日"] == "2023-04-01" and rows[1]["車いす対応"] is False
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert f"/api/v1/datastore/{resource.uid}/rows" in page


def test_staff_correct_the_header_guess(
    titled: tuple[Client, Run],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client, run = titled
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/staff/publish/{run.uid}/layout",
            {"sheet": 0, "header_rows": "5", "body_start": "6", "section_mode": "column"},
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.report["layout"]["header_rows"] == [5]
    assert run.report["layout"]["guessed"] is False
    assert run.row_count == 1
    assert "小石川公園トイレ" in [c["name"] for c in run.report["columns"]]


def test_a_header_moved_down_takes_the_data_from_under_it(
    titled: tuple[Client, Run],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The first data row the form shows is the old guess's (5): left as it is, the data
    starts under the new header, not inside it."""
    client, run = titled
    assert (run.report["layout"]["header_rows"], run.report["layout"]["body_start"]) == ([4], 5)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/staff/publish/{run.uid}/layout",
            {"sheet": 0, "header_rows": "4,5", "body_start": "5", "section_mode": "column"},
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.report["layout"]["header_rows"], run.report["layout"]["body_start"]) == ([4, 5], 6)
    assert run.row_count == 1
    assert run.report["preview"][1][0] == "本郷公園トイレ"


@pytest.mark.parametrize(
    ("header_rows", "body_start", "message"),
    [
        ("4", "4", "データの最初の行は見出し（4 行目）より後にしてください。"),
        ("3,4", "2", "データの最初の行は見出し（4 行目）より後にしてください。"),
        ("99", "", "見出しの行は 1〜6 行目から選んでください。"),
        ("1,4", "", "複数行の見出しは、3,4 のように続いた行で指定してください。"),
        ("x", "", "行番号を 3 や 3,4 のように指定してください。"),
    ],
)
def test_a_header_and_data_start_that_do_not_fit_are_refused(
    titled: tuple[Client, Run],
    header_rows: str,
    body_start: str,
    message: str,
) -> None:
    client, run = titled
    response = client.post(
        f"/staff/publish/{run.uid}/layout",
        {
            "sheet": 0,
            "header_rows": header_rows,
            "body_start": body_start,
            "section_mode": "column",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    field = "body_start" if body_start else "header_rows"
    # Announced at the top, linked to the field in error, and tied to it.
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
    ]
    assert (
        'role="alert"' in summary and f'<a href="#id_{field}">見出しとシートの指定</a>' in summary
    )
    assert message in summary  # what is wrong, said there too
    assert '<details id="layout-form" open>' in page
    assert f'id="id_{field}-error" role="alert"' in page and 'aria-invalid="true"' in page
    # Each field's help is read with it (the ids had not matched).
    assert 'aria-describedby="id_header_rows-help id_header_rows-error"' in page or (
        'aria-describedby="id_header_rows-help"' in page
    )
    assert 'id="id_header_rows-help"' in page
    run.refresh_from_db()
    assert run.report["layout"]["header_rows"] == [4]  # the draft is as it was


def test_outsiders_cannot_see_a_run(
    client_for: Callable[[User], Client],
    editor: User,
    outsider: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = upload(
        client_for(editor),
        toilets,
        sheet_with_a_title(),
        "t.xlsx",
        django_capture_on_commit_callbacks,
    )
    assert client_for(outsider).get(f"/staff/publish/{run.uid}/").status_code == 404
    assert client_for(outsider).post(f"/staff/publish/{run.uid}/publish").status_code == 404


def test_progress_is_reported_as_json(
    client_for: Callable[[User], Client], editor: User, toilets: Dataset, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client = client_for(editor)
    response = client.post(
        "/staff/publish/",
        {
            "file": SimpleUploadedFile("t.xlsx", sheet_with_a_title(), content_type=XLSX),
            "dataset": toilets.pk,
            "standard": "auto",
        },
    )
    run = Run.objects.get()
    data = client.get(f"/staff/publish/{run.uid}/progress.json").json()
    assert data == {
        "status": "queued",
        "status_display": data["status_display"],
        "stage": "",
        "progress": 0.0,
        "busy": True,
    }
    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page


def test_the_report_names_types_and_changes_in_the_readers_language(
    titled: tuple[Client, Run],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client, run = titled
    english = client.get(f"/staff/publish/{run.uid}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Japanese era to Western year" in english and "和暦→西暦" not in english
    assert "和暦→西暦" in client.get(f"/staff/publish/{run.uid}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/publish/{run.uid}/publish", {})
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert 'data-label="型">日付</td>' in page and 'data-label="型">文字列</td>' in page
    assert 'data-label="型">date</td>' not in page  # not date, string


def test_the_file_s_first_rows_are_shown_with_spreadsheet_column_letters(
    titled: tuple[Client, Run],
) -> None:
    client, run = titled
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    head = page[page.index('class="head-rows"') :]
    head = head[: head.index("</thead>")]
    assert [f'<th scope="col">{letter}</th>' in head for letter in "ABCDEF"] == [True] * 5 + [False]
    assert "職員ページ" in page and "職員ログイン" not in page  # signed in already


def test_my_numbers_are_not_offered_as_public_on_purpose(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The law forbids publishing them: the choices are "remove" and "wrongly flagged"."""
    client = client_for(editor)
    data = workbook_bytes([["名称", "備考"], ["A", "123456789018"], ["B", "なし"]])
    run = upload(client, toilets, data, "people.xlsx", django_capture_on_commit_callbacks)
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    privacy = page[page.index('id="privacy-h"') : page.index('id="problems-h"')]
    assert "個人番号ではない（誤検出）" in privacy and "公開してよい情報です" not in privacy


def test_a_column_with_two_kinds_of_personal_data_is_one_question(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """E-mail addresses and mobile numbers in one column: one answer for the column (two
    radio groups of one name let an answer to one finding clear the other's)."""
    client = client_for(editor)
    data = workbook_bytes(
        [["名称", "連絡先"], ["A", "taro@example.jp"], ["B", "090-1234-5678"], ["C", "なし"]]
    )
    run = upload(client, toilets, data, "people.xlsx", django_capture_on_commit_callbacks)
    assert {f["kind"] for f in run.report["privacy"]} == {"email", "mobile-phone"}
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    privacy = page[page.index('id="privacy-h"') : page.index('id="problems-h"')]
    assert privacy.count("<fieldset>") == 1 and privacy.count('name="privacy_連絡先"') == 2
    assert "メールアドレス" in privacy and "携帯電話番号" in privacy


def test_a_column_removed_as_personal_data_is_listed_and_can_be_brought_back(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """With no standard, the removed column vanished from the report for good."""
    client = client_for(editor)
    data = workbook_bytes([["名称", "携帯電話"], ["A", "090-1234-5678"], ["B", ""]])
    run = upload(client, toilets, data, "people.xlsx", django_capture_on_commit_callbacks)
    url = f"/staff/publish/{run.uid}/privacy"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"privacy_携帯電話": "remove"})
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert "携帯電話 を削除しました。下の「削除した列」から元に戻せます。" in page
    run.refresh_from_db()
    assert [c["name"] for c in run.report["columns"]] == ["名称"]
    removed = page[
        page.index('id="removed-h"') : page.index("</section>", page.index('id="removed-h"'))
    ]
    assert '<button type="submit" name="restore" value="携帯電話"' in removed
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"restore": "携帯電話"})
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert "「携帯電話」列を元に戻しました。" in page and 'id="removed-h"' not in page
    run.refresh_from_db()
    assert [c["name"] for c in run.report["columns"]] == ["名称", "携帯電話"]
    assert run.options["drop_columns"] == []


def test_english_staff_pages_name_the_dataset_and_the_standard_in_english(
    titled: tuple[Client, Run], toilets: Dataset
) -> None:
    client, run = titled
    toilets.title_en = "Public toilets"
    toilets.save()
    run.report["standard"].update(slug="public-toilet", title="公衆トイレ一覧", score=0.9)
    run.save()
    english = client.get(f"/staff/publish/{run.uid}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Public toilets</a>" in english and ">公衆トイレ</a>" not in english
    assert "Matched to Public Toilets" in english and "公衆トイレ一覧 (public-toilet" not in english
    listed = client.get("/staff/publish/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td role="cell" data-label="Dataset">Public toilets</td>' in listed
    japanese = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert ">公衆トイレ</a>" in japanese and "「公衆トイレ一覧」に一致しました" in japanese


def test_saving_the_personal_data_answers_without_a_choice_marks_what_is_missing(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """保存 with no answer used to reload the page as if it had worked; then a message at
    the top named the columns, but nothing took the reader to them."""
    client = client_for(editor)
    data = workbook_bytes(
        [["名称", "連絡先", "携帯"], ["A", "taro@example.jp", "090-1234-5678"], ["B", "", ""]]
    )
    run = upload(client, toilets, data, "people.xlsx", django_capture_on_commit_callbacks)
    url = f"/staff/publish/{run.uid}/privacy"
    response = client.post(url, {})
    assert response.status_code == 400
    page = response.content.decode()
    start = page.index('id="error-summary"')
    summary = page[start : page.index("</div>", start)]
    assert '<a href="#privacy-0-public">「連絡先」列</a>' in summary
    assert '<a href="#privacy-1-public">「携帯」列</a>' in summary
    assert page.count('<fieldset class="invalid">') == 2
    assert (
        'id="privacy-0-public" name="privacy_連絡先" value="public" '
        'aria-describedby="privacy-0-error" aria-invalid="true"'
    ) in page
    # One answered, one not: nothing is saved, the answer given stays chosen and only
    # the other column is marked.
    response = client.post(url, {"privacy_連絡先": "remove"})
    page = response.content.decode()
    assert response.status_code == 400 and page.count('<fieldset class="invalid">') == 1
    assert 'name="privacy_連絡先" value="remove" checked>' in page
    assert '<a href="#privacy-1-public">「携帯」列</a>' in page
    run.refresh_from_db()
    assert run.options.get("privacy_confirmed", []) == [] and not run.options.get("drop_columns")
    page = client.post(url, {"privacy_連絡先": "public", "privacy_携帯": "public"}, follow=True)
    run.refresh_from_db()
    assert run.options["privacy_confirmed"] == ["携帯", "連絡先"]
    assert 'id="error-summary"' not in page.content.decode()


def test_a_column_the_workbook_hides_is_asked_about_before_publishing(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Staff hide their own columns (担当者メモ) in the sheet they keep; the published CSV
    showed them to everyone, unasked. Here the table starts in column B, past a margin."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["名称", "所在地", "担当者メモ"], ["A公園トイレ", "春日1-1", "鍵は田中"]):
        sheet.append(["", *row])
    sheet.column_dimensions["D"].hidden = True
    sheet.column_dimensions["F"].hidden = True  # past the table: nothing to ask
    out = io.BytesIO()
    book.save(out)
    client = client_for(editor)
    run = upload(
        client, toilets, out.getvalue(), "toilets.xlsx", django_capture_on_commit_callbacks
    )
    assert [(f["column"], f["kind"]) for f in run.report["privacy"]] == [
        ("担当者メモ", "hidden-column")
    ]
    assert "（D列）" in run.report["privacy"][0]["message"]
    assert services.open_findings(run)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/publish/{run.uid}/privacy", {"privacy_担当者メモ": "remove"})
    run.refresh_from_db()
    assert [c["name"] for c in run.report["columns"]] == ["名称", "所在地"]
    assert run.report["privacy"] == [] and not services.open_findings(run)


def test_rows_the_workbook_hides_are_a_warning(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A filter in Excel hides the closed facilities; the CSV had them all, unsaid."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["名称", "所在地"])
    for n in range(1, 31):
        sheet.append([f"トイレ{n}", f"春日1-{n}"])
    for row in (3, 7):
        sheet.row_dimensions[row].hidden = True
    out = io.BytesIO()
    book.save(out)
    client = client_for(editor)
    run = upload(
        client, toilets, out.getvalue(), "toilets.xlsx", django_capture_on_commit_callbacks
    )
    assert run.row_count == 30
    (warning,) = [p for p in run.report["problems"] if p["code"] == "hidden-rows"]
    assert (warning["level"], warning["row"]) == ("warning", 3)
    assert warning["message"].startswith("3、7行目はワークブックで非表示")
    plain = workbook_bytes([["名称", "所在地"], ["A", "春日1-1"]])
    Run.objects.all().delete()
    run = upload(client, toilets, plain, "toilets.xlsx", django_capture_on_commit_callbacks)
    assert not [p for p in run.report["problems"] if p["code"] == "hidden-rows"]


def test_publishing_with_errors_without_a_reason_points_at_the_reason_field(
    client_for: Callable[[User], Client],
    department_admin: User,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The summary linked the section's heading, the box was not marked, and the message
    was announced twice (two alerts)."""
    aeds = make_dataset(kikaku, "aed", "AED設置箇所一覧")
    client = client_for(department_admin)
    broken = AED_CSV.replace("35.70807", "北緯").encode("cp932")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/staff/publish/",
            {
                "file": SimpleUploadedFile("aed.csv", broken),
                "dataset": aeds.pk,
                "resource_name": "",
                "standard": "aed",
            },
        )
    run = Run.objects.get()
    assert run.error_count
    response = client.post(f"/staff/publish/{run.uid}/publish", {"override_reason": " "})
    assert response.status_code == 400
    page = response.content.decode()
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
    ]
    assert 'href="#id_override_reason"' in summary
    assert 'aria-invalid="true"' in page[page.index("<textarea") : page.index("</textarea>")]
    assert 'aria-describedby="id_override_reason-help id_override_reason-error"' in page
    assert 'id="id_override_reason-error"' in page
    assert page.count('role="alert"') == 1


def test_the_summary_names_the_sheet_among_the_others_and_the_notes_left_out(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A workbook whose first sheet is a note: the sheet with the table is read (a cover
    was offered as a one-row table), staff see which one and that there are others; a
    note under the table is said, not dropped in silence."""
    rows = [["名称", "所在地"], ["小石川公園トイレ", "小石川1-1"], [], ["※令和7年4月1日現在"]]
    book = note_then_data(("説明", "データは2枚目のシートにあります。"), ("データ", rows))
    client = client_for(editor)
    run = upload(client, toilets, book, "two.xlsx", django_capture_on_commit_callbacks)
    assert (run.options["sheet"], run.row_count) == (1, 1)
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    summary = page[page.index('id="summary-h"') : page.index('id="layout-h"')]
    assert "<strong>データ</strong>" in summary
    assert "ほかのシート: 説明)" in summary  # the last sheet read: no comma left hanging
    assert "別のシートを選ぶ" in summary
    assert "※令和7年4月1日現在" in summary
    run.options["sheet"] = 0  # staff's choice holds
    run.save()
    services.convert_run(run)
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    summary = page[page.index('id="summary-h"') : page.index('id="layout-h"')]
    assert "<strong>説明</strong>" in summary and "データ" in summary


def test_a_header_only_upload_offers_no_publish_button(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(editor)
    data = workbook_bytes([["名称", "所在地", "男性トイレ数"]])
    run = upload(client, toilets, data, "toilets.xlsx", django_capture_on_commit_callbacks)
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    section = page[page.index('id="publish-h"') :]
    assert "このバージョンにはデータの行がありません。" in section
    assert "を公開する</button>" not in section and "エラーがあるまま公開" not in section


def test_an_upload_error_is_announced_with_its_field(
    client_for: Callable[[User], Client], editor: User, toilets: Dataset
) -> None:
    page = (
        client_for(editor)
        .post(
            "/staff/publish/",
            {"file": SimpleUploadedFile("t.csv", b""), "dataset": toilets.pk, "standard": "auto"},
        )
        .content.decode()
    )
    assert 'id="id_file-error" role="alert"' in page
    field = page[page.index('<input type="file"') :].split(">", 1)[0]
    assert 'aria-describedby="id_file-help id_file-error"' in field
    assert 'aria-invalid="true"' in field


def test_the_english_summary_counts_rows_in_english(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Two header rows are "rows 4, 5", not "row 4, 5"."""
    client = client_for(editor)
    run = upload(
        client, toilets, sheet_with_a_title(), "toilets.xlsx", django_capture_on_commit_callbacks
    )
    run.options.update(header_rows=[4, 5], body_start=6)
    run.save()
    services.convert_run(run)
    page = client.get(f"/staff/publish/{run.uid}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Header: rows 4, 5. Data from row 6." in page


def test_choosing_another_sheet_keeps_the_section_rows_choice(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rows = [["名称", "所在地"], ["＜小石川地区＞"], ["小石川公園", "小石川1-1"]]
    book = note_then_data(("備考", "説明のシート"), ("避難所", rows))
    client = client_for(editor)
    run = upload(client, toilets, book, "two.xlsx", django_capture_on_commit_callbacks)
    run.options["section_mode"] = "drop"  # chosen earlier on the first sheet
    run.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/staff/publish/{run.uid}/layout",
            {"sheet": 1, "header_rows": "1", "body_start": "", "section_mode": "column"},
        )
    run.refresh_from_db()
    assert run.options["sheet"] == 1 and run.options["section_mode"] == "column"
    assert "区分" in [c["name"] for c in run.report["columns"]]


def test_another_sheet_and_its_header_rows_are_chosen_in_one_step(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The header rows were checked against the rows of the sheet being left."""
    rows = [["文京区 施設一覧"], [], [], ["名称", "連絡先"], ["", "電話"], ["本郷会館", "03"]]
    book = note_then_data(("表紙", "施設一覧（令和6年度）"), ("施設一覧", rows))
    sheets = openpyxl.load_workbook(io.BytesIO(book))
    for row in (["項目", "内容"], ["作成", "令和6年"]):  # a small table of its own: read first
        sheets["表紙"].append(row)
    out = io.BytesIO()
    sheets.save(out)
    client = client_for(editor)
    run = upload(client, toilets, out.getvalue(), "two.xlsx", django_capture_on_commit_callbacks)
    assert (run.options["sheet"], run.report["layout"]["last_head_row"]) == (0, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/staff/publish/{run.uid}/layout",
            {"sheet": 1, "header_rows": "4,5", "body_start": "", "section_mode": "column"},
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.options["sheet"], run.report["layout"]["header_rows"]) == (1, [4, 5])
    assert [c["name"] for c in run.report["columns"]][:2] == ["名称", "連絡先_電話"]
    assert run.row_count == 1


def test_a_table_is_not_published_over_a_pdf_of_the_same_name(
    client_for: Callable[[User], Client],
    editor: User,
    site_admin: User,
    toilets: Dataset,
) -> None:
    """Residents lost the PDF map: the resource became the CSV."""
    catalog.add_resource(
        actor=site_admin,
        dataset=toilets,
        name="トイレ地図（PDF）",
        upload=SimpleUploadedFile("map.pdf", b"%PDF-1.4\n"),
    )
    client = client_for(editor)
    response = client.post(
        "/staff/publish/",
        {
            "file": SimpleUploadedFile("t.xlsx", sheet_with_a_title(), content_type=XLSX),
            "dataset": toilets.pk,
            "resource_name": "トイレ地図（PDF）",
            "standard": "auto",
        },
    )
    assert response.status_code == 200 and not Run.objects.exists()
    page = response.content.decode()
    assert "「トイレ地図（PDF）」は PDF のファイルです" in page
    assert toilets.resources.get().current.format == "PDF"


def test_staff_remove_a_column_the_standard_lacks_and_take_it_back(
    client_for: Callable[[User], Client],
    editor: User,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The warning tells staff to remove a column the standard lacks: the mapping offers it,
    shows it chosen afterwards, and choosing otherwise brings the column back."""
    aeds = make_dataset(kikaku, "aed", "AED設置箇所一覧")
    text = AED_CSV.replace("小児対応設備の有無\n", "小児対応設備の有無,担当メモ\n")
    text = text.replace(",有\n", ",有,田中さん確認\n").replace(",無\n", ",無,\n")
    client = client_for(editor)
    run = upload(client, aeds, text.encode("cp932"), "aed.csv", django_capture_on_commit_callbacks)
    assert run.report["standard"]["slug"] == "aed"
    columns = run.report["source_columns"]
    mapping = run.report["standard"]["mapping"]
    memo = columns.index("担当メモ")

    def choose(target: str) -> None:
        form = {"standard": "aed"}
        form |= {f"map_{i}": mapping.get(c, "") for i, c in enumerate(columns)}
        form[f"map_{memo}"] = target
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/staff/publish/{run.uid}/standard", form)
        run.refresh_from_db()

    choose("-")
    assert run.options["drop_columns"] == ["担当メモ"]
    assert "担当メモ" not in [c["name"] for c in run.report["columns"]]
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert '<option value="-" selected>（この列を削除する）</option>' in page
    assert "選んだ「AED設置箇所一覧」に合わせました" in page  # staff chose it, not a match
    choose("")
    assert run.options["drop_columns"] == []
    assert "担当メモ" in [c["name"] for c in run.report["columns"]]

    # Two columns removed are no conflict; two given one standard column are, by name.
    form = {"standard": "aed"} | {f"map_{i}": mapping.get(c, "") for i, c in enumerate(columns)}
    form |= {f"map_{memo}": "-", f"map_{columns.index('電話番号')}": "-"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/staff/publish/{run.uid}/standard", form).status_code == 302
    form |= {f"map_{memo}": "名称"}
    page = client.post(f"/staff/publish/{run.uid}/standard", form).content.decode()
    assert "「名称」、「担当メモ」が、どれも標準の列「名称」に割り当てられています。" in page


def test_staff_pages_leave_out_the_residents_chat(
    client_for: Callable[[User], Client], editor: User, resident: Client
) -> None:
    """On a phone its floating button covered the upload form's fields."""
    assert 'id="ask-widget"' not in client_for(editor).get("/staff/publish/").content.decode()
    assert 'id="ask-widget"' in resident.get("/").content.decode()


def test_a_space_change_shows_the_spaces_it_changed(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """「本郷  会館」 → 「本郷 会館」 looked the same on both sides of the arrow."""
    client = client_for(editor)
    data = workbook_bytes([["名称", "備考"], ["本郷  会館", "a"], ["春日会館", "b"]])
    run = upload(client, toilets, data, "spaces.xlsx", django_capture_on_commit_callbacks)
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert '<span class="sample">本郷␣␣会館 → 本郷␣会館</span>' in page


def test_a_total_row_is_said_on_the_run_page(
    client_for: Callable[[User], Client],
    editor: User,
    toilets: Dataset,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(editor)
    data = workbook_bytes([["地区", "便器数"], ["本郷", 3], ["小石川", 4], ["合計", 7]])
    run = upload(client, toilets, data, "totals.xlsx", django_capture_on_commit_callbacks)
    assert run.row_count == 2 and run.report["body"]["totals"] == [4]
    page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert "4 行目は上の行の合計なので取り込んでいません" in page
