"""Scheduled refresh from a drop folder, and the departments' data register."""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from machi.accounts.models import Department
from machi.audit.models import AuditEvent
from machi.catalog.models import Dataset
from machi.publish import refresh, register, services, tasks
from machi.publish.models import Holding, HoldingStatus, Refresh, Run, drop_folder
from machi.publish.tests.conftest import AED_CSV

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

FIVE = (
    "131059,５,東京都,文京区,湯島図書館,ユシマトショカン,東京都文京区湯島2-21-17,"
    "35.70452,139.76588,玄関,03-3836-6661,無\n"
)


@pytest.fixture
def scheduled(
    editor: User,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    aed_upload: Callable,
    tmp_path: Path,
    settings: Any,
) -> Refresh:
    settings.PUBLISH_DROP_ROOT = tmp_path.resolve()
    dataset = make_dataset(kikaku, "aed", "AED")
    run = services.start_run(actor=editor, dataset=dataset, upload=aed_upload())
    run = services.convert_run(run)
    version = services.publish_run(actor=editor, run=run)
    folder = tmp_path / "drop"
    folder.mkdir()
    item = Refresh(resource=version.resource, folder=str(folder), actor=editor, template=run)
    return refresh.save_refresh(actor=editor, refresh=item)


def drop(item: Refresh, text: str, name: str = "aed.csv") -> None:
    (drop_folder(item.folder) / name).write_bytes(text.encode("cp932"))


def test_a_changed_file_is_republished_and_an_unchanged_one_is_not(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV + FIVE)
    assert refresh.run_refresh(scheduled) == "Published version 2."
    resource = scheduled.resource
    resource.refresh_from_db()
    assert resource.current.number == 2 and resource.current.table.row_count == 4
    scheduled.refresh_from_db()
    assert refresh.run_refresh(scheduled) == "Unchanged."
    assert resource.versions.count() == 2


def test_two_checks_at_once_publish_a_new_file_once(scheduled: Refresh) -> None:
    """The schedule and staff's "check now" (or two clicks) see the same new file: the
    check that claims it first publishes it, the other leaves it."""
    drop(scheduled, AED_CSV + FIVE)
    late = Refresh.objects.get(pk=scheduled.pk)  # read before the first check claimed it
    new_file = hashlib.sha256((AED_CSV + FIVE).encode("cp932")).hexdigest()
    Refresh.objects.filter(pk=scheduled.pk).update(last_sha256=new_file)  # the first claims
    assert refresh.run_refresh(late).startswith("Another check of this source")
    assert scheduled.resource.versions.count() == 1  # the first check publishes it


def test_a_check_that_stops_leaves_the_new_file_for_the_next(
    scheduled: Refresh, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(scheduled, AED_CSV + FIVE)

    def stop(run: Run) -> Run:
        raise MemoryError

    monkeypatch.setattr(refresh, "convert_run", stop)
    with pytest.raises(MemoryError):
        refresh.run_refresh(scheduled)
    monkeypatch.undo()
    scheduled.refresh_from_db()
    assert refresh.run_refresh(scheduled) == "Published version 2."


def test_a_new_file_with_errors_waits_for_staff(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV.replace("35.70807", "北緯"))
    result = refresh.run_refresh(scheduled)
    assert result.startswith("New file not published")
    scheduled.resource.refresh_from_db()
    assert scheduled.resource.current.number == 1
    assert Run.objects.filter(status="review").count() == 1


def test_the_template_run_choices_repeat(scheduled: Refresh) -> None:
    scheduled.template.options = {"drop_columns": ["電話番号"]}
    scheduled.template.save()
    drop(scheduled, AED_CSV + FIVE)
    refresh.run_refresh(scheduled)
    newest = Run.objects.order_by("-created").first()
    assert newest.options["drop_columns"] == ["電話番号"]
    header, *rows = newest.report["preview"]
    # The standard keeps its column; the department's numbers are left out.
    assert {row[header.index("電話番号")] for row in rows} == {""}


def test_due_refreshes_follow_their_interval(scheduled: Refresh) -> None:
    assert refresh.due_refreshes() == [scheduled]
    drop(scheduled, AED_CSV)
    refresh.run_refresh(scheduled)
    assert refresh.due_refreshes() == []


def test_the_refresh_task_runs_what_is_due(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV + FIVE)
    tasks.refresh_due.call()
    scheduled.refresh_from_db()
    assert scheduled.last_result == "Published version 2."


def test_a_refresh_needs_one_source(editor: User, scheduled: Refresh) -> None:
    scheduled.url = "https://example.jp/aed.csv"
    with pytest.raises(ValidationError, match="either"):
        refresh.save_refresh(actor=editor, refresh=scheduled)


@pytest.mark.parametrize("folder", ["/etc", "../outside", "link"])
def test_a_drop_folder_stays_under_the_drop_root(
    editor: User, scheduled: Refresh, tmp_path: Path, folder: str
) -> None:
    """Staff name the folder in the back office: anything readable on the server would
    otherwise be published (other departments' uploads, system files)."""
    (tmp_path / "link").symlink_to("/etc")
    scheduled.folder = folder
    with pytest.raises(ValidationError, match="must be inside"):
        refresh.save_refresh(actor=editor, refresh=scheduled)
    # A folder that became a link after it was saved is not read either.
    Refresh.objects.filter(pk=scheduled.pk).update(folder="link")
    scheduled.refresh_from_db()
    assert refresh.run_refresh(scheduled).startswith("Could not get the file")
    assert scheduled.resource.versions.count() == 1


def test_a_drop_folder_may_be_named_from_the_drop_root(
    editor: User, scheduled: Refresh, tmp_path: Path
) -> None:
    (tmp_path / "bousai" / "aed").mkdir(parents=True)
    scheduled.folder = "bousai/aed"
    refresh.save_refresh(actor=editor, refresh=scheduled)
    drop(scheduled, AED_CSV + FIVE)  # writes into tmp_path/bousai/aed
    assert refresh.run_refresh(scheduled) == "Published version 2."


def test_a_header_only_file_in_the_drop_folder_is_not_published(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV.split("\n", 2)[1] + "\n")
    assert refresh.run_refresh(scheduled).startswith("New file not published")
    scheduled.resource.refresh_from_db()
    assert scheduled.resource.current.table.row_count == 3


def test_the_first_check_of_the_file_already_published_is_no_change(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV)  # the very file version 1 was made from
    assert refresh.run_refresh(scheduled) == "Unchanged."
    assert scheduled.resource.versions.count() == 1


def test_a_file_with_other_columns_waits_for_staff(scheduled: Refresh) -> None:
    """The wrong export in the folder: converted without errors, but not published."""
    drop(scheduled, "施設名,住所\n文京スポーツセンター,東京都文京区大塚3-29-2\n")
    result = refresh.run_refresh(scheduled)
    assert result.startswith("New file not published: its columns differ")
    assert "added: 施設名" in result
    scheduled.resource.refresh_from_db()
    assert scheduled.resource.current.number == 1


def test_a_file_of_far_fewer_rows_or_another_city_s_waits_for_staff(scheduled: Refresh) -> None:
    """A part of the export, or another municipality's file in the folder: both convert
    without errors, but a person looks before residents lose the table they had."""
    more = "".join(FIVE.replace(",５,", f",{n},") for n in range(5, 15))
    drop(scheduled, AED_CSV + more)
    assert refresh.run_refresh(scheduled) == "Published version 2."
    scheduled.refresh_from_db()
    drop(scheduled, AED_CSV)
    result = refresh.run_refresh(scheduled)
    assert result.startswith("New file not published: Version 2, served now, has 13 rows")
    assert "this file has 3" in result
    scheduled.refresh_from_db()
    drop(scheduled, (AED_CSV + more).replace("131059,", "222127,").replace("文京区", "焼津市"))
    result = refresh.run_refresh(scheduled)
    assert "The local government code in this file is 222127" in result, result
    scheduled.resource.refresh_from_db()
    assert scheduled.resource.current.number == 2


def test_a_held_file_is_still_said_to_be_held_when_checked_again(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV.replace("35.70807", "北緯"))
    refresh.run_refresh(scheduled)
    scheduled.refresh_from_db()
    assert refresh.run_refresh(scheduled) == (
        "Unchanged; the file is still not published (see its report)."
    )
    scheduled.refresh_from_db()
    assert scheduled.last_run.status == "review"  # the report staff open


def test_the_back_office_links_the_held_file_s_report(
    client_for: Callable[[User], Client], editor: User, scheduled: Refresh
) -> None:
    drop(scheduled, AED_CSV.replace("35.70807", "北緯"))
    refresh.run_refresh(scheduled)
    scheduled.refresh_from_db()
    client = client_for(editor)
    listed = client.get("/admin/publish/refresh/").content.decode()
    assert f'href="/staff/publish/{scheduled.last_run.uid}/"' in listed
    assert "New file not published: 1 error (see the report)." in listed
    assert client.get(f"/admin/publish/refresh/{scheduled.pk}/change/").status_code == 200


def test_staff_check_a_source_now_from_the_back_office(
    client_for: Callable[[User], Client],
    editor: User,
    outsider: User,
    scheduled: Refresh,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The new file was just dropped: "check now" publishes it without waiting for the
    schedule, says it is on its way, and the audit log keeps who asked."""
    Refresh.objects.filter(pk=scheduled.pk).update(last_checked=timezone.now())
    drop(scheduled, AED_CSV + FIVE)
    form = {"action": "check_now", "_selected_action": [scheduled.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(editor).post("/admin/publish/refresh/", form, follow=True)
    assert "1 件の取得元をまもなく確認します" in answer.content.decode()
    scheduled.refresh_from_db()
    assert scheduled.last_result == "バージョン 2 を公開しました。"
    assert scheduled.resource.current.number == 2
    asked = AuditEvent.objects.get(
        object_type="publish.refresh", changes__has_key="check_requested"
    )
    assert asked.actor == editor
    with pytest.raises(PermissionDenied):
        refresh.request_check(actor=outsider, refresh=scheduled)


def test_a_refresh_checks_at_least_hourly_with_its_own_dataset_s_settings(
    editor: User,
    scheduled: Refresh,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    aed_upload: Callable,
) -> None:
    scheduled.every_hours = 0
    with pytest.raises(ValidationError, match="every_hours"):
        refresh.save_refresh(actor=editor, refresh=scheduled)
    scheduled.every_hours = 24
    other = make_dataset(kikaku, "other", "Other")
    elsewhere = services.convert_run(
        services.start_run(actor=editor, dataset=other, upload=aed_upload())
    )
    scheduled.template = elsewhere
    with pytest.raises(ValidationError, match="this resource's dataset"):
        refresh.save_refresh(actor=editor, refresh=scheduled)


def test_personal_data_to_confirm_is_the_reason_given(scheduled: Refresh) -> None:
    drop(scheduled, AED_CSV.replace("03-3814-6745", "090-1234-5678"))
    result = refresh.run_refresh(scheduled)
    assert result.startswith("New file not published: possible personal data in 電話番号")


def test_a_missing_drop_folder_is_said_plainly(scheduled: Refresh) -> None:
    drop_folder(scheduled.folder).rmdir()
    result = refresh.run_refresh(scheduled)
    assert result.startswith("Could not get the file: ") and "does not exist" in result
    assert "Errno" not in result


def test_one_refresh_that_cannot_publish_does_not_stop_the_others(
    scheduled: Refresh,
    outsider: User,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    aed_upload: Callable,
    editor: User,
) -> None:
    """A publisher who has left the department: that refresh says so; the next one runs."""
    other = make_dataset(kikaku, "aed2", "AED 2")
    run = services.convert_run(services.start_run(actor=editor, dataset=other, upload=aed_upload()))
    version = services.publish_run(actor=editor, run=run)
    folder = drop_folder(scheduled.folder).parent / "drop2"
    folder.mkdir()
    second = refresh.save_refresh(
        actor=editor,
        refresh=Refresh(resource=version.resource, folder=str(folder), actor=editor, template=run),
    )
    Refresh.objects.filter(pk=scheduled.pk).update(actor=outsider)
    drop(scheduled, AED_CSV + FIVE)
    drop(second, AED_CSV + FIVE)
    tasks.refresh_due.call()
    scheduled.refresh_from_db()
    second.refresh_from_db()
    assert "may no longer publish this dataset" in scheduled.last_result
    assert second.last_result == "Published version 2."
    scheduled.refresh_from_db()  # not "unchanged" the next time: it still cannot publish
    assert "may no longer publish this dataset" in refresh.run_refresh(scheduled)


def test_the_register_is_kept_by_the_department(
    editor: User, outsider: User, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    holding = Holding(
        department=kikaku, title="AED設置箇所", standard="aed", system="施設台帳.xlsx"
    )
    register.save_holding(actor=editor, holding=holding)
    holding.status = HoldingStatus.PUBLISHED
    holding.dataset = make_dataset(kikaku, "aed", "AED設置箇所一覧")
    register.save_holding(actor=editor, holding=holding)
    event = AuditEvent.objects.filter(object_type="publish.holding").latest("id")
    assert event.changes["status"] == ["candidate", "published"]
    with pytest.raises(PermissionDenied):
        register.delete_holding(actor=outsider, holding=holding)


def test_a_register_entry_agrees_with_the_catalog(
    editor: User, kikaku: Department, bousai: Department, make_dataset: Callable[..., Dataset]
) -> None:
    """Entries the checklist would count wrongly are refused, each with its reason."""
    ours = make_dataset(kikaku, "aed", "AED設置箇所一覧")
    theirs = make_dataset(bousai, "hinanjo", "避難所一覧")
    private = make_dataset(kikaku, "draft", "準備中", is_public=False)
    cases = [
        (HoldingStatus.PUBLISHED, None, "names its dataset"),
        (HoldingStatus.CONVERTING, theirs, "another department"),
        (HoldingStatus.RETIRED, ours, "still public"),
        (HoldingStatus.PUBLISHED, private, "still private"),  # was saved as 公開
    ]
    for status, dataset, words in cases:
        holding = Holding(department=kikaku, title="AED", status=status, dataset=dataset)
        with pytest.raises(ValidationError, match=words):
            register.save_holding(actor=editor, holding=holding)
    assert not Holding.objects.exists()


def test_staff_see_the_register_in_the_back_office(
    client_for: Callable[[User], Any], editor: User, kikaku: Department
) -> None:
    register.save_holding(actor=editor, holding=Holding(department=kikaku, title="犬の登録数"))
    page = client_for(editor).get("/admin/publish/holding/").content.decode()
    assert "犬の登録数" in page


@pytest.mark.parametrize(
    ("url", "folder", "message"),
    [
        ("", "", "取得元URLか投入フォルダのどちらかを指定してください。"),
        (
            "https://example.jp/aed.csv",
            "drop",
            "取得元URLか投入フォルダのどちらかを指定してください。",
        ),
        ("", "/etc", "投入フォルダは"),
    ],
)
def test_the_back_office_form_says_what_is_wrong_with_a_refresh(
    client_for: Callable[[User], Client],
    editor: User,
    scheduled: Refresh,
    url: str,
    folder: str,
    message: str,
) -> None:
    response = client_for(editor).post(
        "/admin/publish/refresh/add/",
        {
            "resource": scheduled.resource_id,
            "url": url,
            "folder": folder,
            "every_hours": 24,
            "enabled": "on",
        },
    )
    assert response.status_code == 200  # the form again, not a server error
    assert message in response.content.decode()


def test_the_back_office_forms_offer_names_not_id_boxes(
    client_for: Callable[[User], Client], editor: User, scheduled: Refresh
) -> None:
    client = client_for(editor)
    page = client.get("/admin/publish/refresh/add/").content.decode()
    resource = scheduled.resource
    assert f"{resource.dataset.title} / {resource.name}</option>" in page
    assert 'class="vForeignKeyRawIdAdminField"' not in page
    # The last run is the refresh's own record, linked read-only; never a list of runs.
    assert 'name="last_run"' not in page
    assert (
        'name="last_run"'
        not in client.get(f"/admin/publish/refresh/{scheduled.pk}/change/").content.decode()
    )
    page = client.get("/admin/publish/holding/add/").content.decode()
    assert "公衆トイレ一覧 (public-toilet-2026)</option>" in page  # a standard, by its name
    assert f">{resource.dataset.title}</option>" in page
