"""Publishing through the services: drafts, errors, overrides, personal data, roll-back."""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from machi.accounts.models import Department
from machi.audit.models import AuditEvent
from machi.catalog.models import Dataset
from machi.datastore.models import Table
from machi.publish import services
from machi.publish.models import Run, RunStatus
from machi.publish.tests.conftest import AED_CSV, workbook_bytes

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


@pytest.fixture
def aeds(make_dataset: Callable[..., Dataset], kikaku: Department) -> Dataset:
    return make_dataset(kikaku, "aed", "AED設置箇所一覧")


def converted(actor: User, dataset: Dataset, upload: Any, **options: Any) -> Run:
    run = services.start_run(actor=actor, dataset=dataset, upload=upload, options=options)
    return services.convert_run(run)


def rows_of(client: Client, dataset: Dataset) -> dict[str, Any]:
    resource = dataset.resources.get()
    response = client.get(f"/api/v1/datastore/{resource.uid}/rows")
    assert response.status_code == 200, response.content
    return response.json()


def test_residents_download_a_name_of_the_standard_or_dataset_not_the_staff_file_s(
    editor: User,
    aeds: Dataset,
    aed_upload: Callable,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    settings: Any,
) -> None:
    """The standards name their files <municipality code>_<name>.csv; the staff file's
    name may carry a person's name or a working note, and stays in the run's report."""
    settings.MACHI_MUNICIPALITY_CODE = "222127"
    run = converted(editor, aeds, aed_upload(name="AED一覧_最終版(田中).csv"))
    version = services.publish_run(actor=editor, run=run)
    assert version.filename == "222127_aed.csv"
    assert run.filename == "AED一覧_最終版(田中).csv"
    assert version.resource.name == "AED設置箇所一覧"  # a first table: the dataset's title

    notes = make_dataset(kikaku, "bicycle-parking", "自転車駐車場")
    upload = SimpleUploadedFile("駐輪場_作業用_田中.csv", "名称,台数\n春日,120\n".encode())
    run = converted(editor, notes, upload, standard="")
    assert services.publish_run(actor=editor, run=run).filename == "自転車駐車場.csv"
    # A second table of the same name in the dataset does not share its file name.
    run = services.convert_run(
        services.start_run(
            actor=editor,
            dataset=notes,
            upload=SimpleUploadedFile("b.csv", "名称,台数\n本郷,80\n".encode()),
            resource_name="自転車駐車場",
            options={"standard": ""},
        )
    )
    assert services.publish_run(actor=editor, run=run).filename == "自転車駐車場_2.csv"
    # 地域・年齢別人口 files carry a date (xxxxxx_population_yyyymmdd.csv): the day the
    # figures describe, so that publishing them again keeps the name.
    table = "市区町村名,調査年月日,地域名,総人口\n文京区,令和8年10月1日,本郷一丁目,1200\n"
    upload = SimpleUploadedFile("人口.csv", table.encode())
    census = converted(editor, notes, upload, standard="population")
    assert services.published_name(census) == "222127_population_20261001.csv"
    # Without the column (or its dates), the day of publication.
    census = Run(dataset=notes, schema={"x-standard": "population"})
    today = timezone.localdate().strftime("%Y%m%d")
    assert services.published_name(census) == f"222127_population_{today}.csv"


def test_a_shift_jis_file_is_converted_matched_and_published(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    run = converted(editor, aeds, aed_upload())
    assert run.status == RunStatus.REVIEW
    report = run.report
    assert report["file"]["encoding"] == "Shift_JIS"
    assert report["layout"]["header_rows"] == [2]
    assert report["layout"]["title"].startswith("文京区AED設置箇所一覧")
    assert report["standard"]["slug"] == "aed"
    columns = {c["name"]: c for c in report["columns"]}
    assert columns["緯度"]["type"] == "number"
    rules = {c["rule"] for c in columns["設置位置"]["changes"]}
    assert "width" in rules
    assert run.error_count == 0, report["problems"]

    version = services.publish_run(actor=editor, run=run)
    assert version.resource.current == version
    # The published file is described like an upload (harvesters read format and size).
    published = Path(version.file.path).read_bytes()
    assert (version.filename, version.format, version.encoding) == (
        "131059_aed.csv",
        "CSV",
        "UTF-8",
    )
    assert (version.size, version.sha256) == (len(published), hashlib.sha256(published).hexdigest())
    data = rows_of(resident, aeds)
    assert data["total"] == 3
    first = data["records"][0]
    assert first["名称"] == "文京シビックセンター"
    assert first["NO"] == "1"  # full-width digit to half width, kept as text
    assert first["設置位置"] == "1階\u3000総合案内"  # one full-width space between words stays
    assert first["電話番号"] == "03-3812-7111"
    # Full text covers names and places; codes and phone numbers are for filters.
    searched = {c["name"]: c["searched"] for c in version.table.columns}
    assert searched["名称"] and searched["設置位置"]
    assert not searched["電話番号"] and not searched["名称_カナ"]
    resource = version.resource
    found = resident.get(f"/api/v1/datastore/{resource.uid}/rows", {"q": "シビックセンター"}).json()
    assert [r["名称"] for r in found["records"]] == ["文京シビックセンター"]
    aeds.refresh_from_db()
    assert aeds.standard == "aed"
    assert {"自治体標準ODS", "AED設置箇所一覧"} <= set(aeds.tags.values_list("name", flat=True))
    assert AuditEvent.objects.filter(action="publish", object_id=str(run.pk)).exists()


def test_errors_block_publishing_for_editors(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    broken = AED_CSV.replace("35.70807", "北緯").replace("131059,２", "131058,２")
    run = converted(editor, aeds, aed_upload(broken))
    assert run.error_count >= 2
    places = {(p.get("row"), p.get("column")) for p in run.report["problems"]}
    assert (3, "緯度") in places
    assert (4, "都道府県コード又は市区町村コード") in places
    with pytest.raises(services.PublishError, match="department administrator"):
        services.publish_run(actor=editor, run=run)
    assert not aeds.resources.exists()


def test_a_department_admin_publishes_over_errors_with_a_reason(
    department_admin: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    broken = AED_CSV.replace("35.70807", "北緯")
    run = converted(department_admin, aeds, aed_upload(broken))
    with pytest.raises(services.PublishError, match="why"):
        services.publish_run(actor=department_admin, run=run)
    run.refresh_from_db()
    services.publish_run(actor=department_admin, run=run, override_reason="座標は来月修正")
    run.refresh_from_db()
    assert run.override_reason == "座標は来月修正"
    event = AuditEvent.objects.get(action="publish", object_id=str(run.pk))
    assert event.changes["override_reason"] == [None, "座標は来月修正"]
    records = rows_of(resident, aeds)["records"]
    assert records[0]["緯度"] == "北緯"  # the column loaded as text, nothing lost
    # The datapackage says so too: a harvester reading the file with its schema gets
    # text there, not a type error in every row; the standard's other columns keep theirs.
    fields = {
        f["name"]: f
        for f in resident.get("/dataset/aed/datapackage.json").json()["resources"][0]["schema"][
            "fields"
        ]
    }
    assert fields["緯度"]["type"] == "string" and "format" not in fields["緯度"]
    assert fields["経度"]["type"] == "number"
    assert fields["名称"]["constraints"]["required"] is True


def test_personal_data_must_be_confirmed_or_removed(
    editor: User, make_dataset: Callable[..., Dataset], kikaku: Department, resident: Client
) -> None:
    dataset = make_dataset(kikaku, "volunteers", "ボランティア一覧")
    text = (
        "氏名,住所,メールアドレス,携帯電話\n"
        "山田太郎,東京都文京区春日1-1-1,taro@example.jp,090-1234-5678\n"
        "佐藤花子,東京都文京区本郷2-2-2,hanako@example.jp,080-2345-6789\n"
    )
    run = converted(editor, dataset, SimpleUploadedFile("v.csv", text.encode()))
    flagged = {f["column"] for f in run.report["privacy"]}
    assert {"メールアドレス", "携帯電話"} <= flagged
    with pytest.raises(services.PublishError, match="personal data"):
        services.publish_run(actor=editor, run=run)
    run.refresh_from_db()
    run = services.set_options(actor=editor, run=run, options={"drop_columns": sorted(flagged)})
    run = services.convert_run(run)
    services.confirm_public(
        actor=editor, run=run, columns=[f["column"] for f in run.report["privacy"]]
    )
    run.refresh_from_db()
    services.publish_run(actor=editor, run=run)
    fields = [f["name"] for f in rows_of(resident, dataset)["fields"]]
    assert "メールアドレス" not in fields and "携帯電話" not in fields


def test_a_new_version_replaces_the_old_only_when_loaded_and_rolls_back(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    first = converted(editor, aeds, aed_upload())
    v1 = services.publish_run(actor=editor, run=first)
    more = (
        AED_CSV
        + "131059,４,東京都,文京区,湯島図書館,ユシマトショカン,東京都文京区湯島2-21-17,"
        + "35.70452,139.76588,玄関,03-3836-6661,無\n"
    )
    second = services.start_run(
        actor=editor, dataset=aeds, upload=aed_upload(more), resource=v1.resource
    )
    second = services.convert_run(second)
    assert rows_of(resident, aeds)["total"] == 3  # converting changes nothing public
    v2 = services.publish_run(actor=editor, run=second)
    assert v2.number == 2
    assert rows_of(resident, aeds)["total"] == 4
    services.rollback(actor=editor, version=v1)
    assert rows_of(resident, aeds)["total"] == 3
    assert Table.objects.filter(resource=v1.resource).count() == 2


def test_the_dataset_claims_a_standard_only_while_its_table_follows_it(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    """A new version published without the standard takes the claim (and the tags that
    harvesters look for) away; rolling back to the standard's version gives it back."""
    v1 = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    claimed = {"自治体標準ODS", "AED設置箇所一覧"}
    aeds.refresh_from_db()
    assert aeds.standard == "aed" and claimed <= set(aeds.tags.values_list("name", flat=True))
    run = services.start_run(
        actor=editor,
        dataset=aeds,
        upload=aed_upload(),
        resource=v1.resource,
        options={"standard": ""},
    )
    v2 = services.publish_run(actor=editor, run=services.convert_run(run))
    aeds.refresh_from_db()
    assert aeds.standard == "" and not claimed & set(aeds.tags.values_list("name", flat=True))
    assert "x-standard" not in resident.get("/dataset/aed/datapackage.json").json()
    services.rollback(actor=editor, version=v1)
    aeds.refresh_from_db()
    assert aeds.standard == "aed" and claimed <= set(aeds.tags.values_list("name", flat=True))
    services.rollback(actor=editor, version=v2)
    aeds.refresh_from_db()
    assert aeds.standard == ""


def test_a_linked_file_keeps_its_own_address_in_the_datapackage(
    resident: Client, aeds: Dataset, site_admin: User
) -> None:
    from machi.catalog import services as catalog

    link = "https://www.city.bunkyo.lg.jp/bosai/aed_map.pdf"
    catalog.add_resource(actor=site_admin, dataset=aeds, name="AEDマップ", url=link)
    [entry] = resident.get("/dataset/aed/datapackage.json").json()["resources"]
    assert entry["path"] == link


def test_a_failed_load_keeps_the_previous_version(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client, monkeypatch: Any
) -> None:
    v1 = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    run = services.start_run(actor=editor, dataset=aeds, upload=aed_upload(), resource=v1.resource)
    run = services.convert_run(run)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("machi.datastore.services.load_table", broken)
    with pytest.raises(RuntimeError):
        services.publish_run(actor=editor, run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.REVIEW
    assert "disk full" in run.report["publish_error"]
    v1.resource.refresh_from_db()
    assert v1.resource.current == v1
    assert v1.resource.versions.count() == 1
    assert rows_of(resident, aeds)["total"] == 3


def test_an_unreadable_file_fails_with_the_reason(editor: User, aeds: Dataset) -> None:
    run = converted(editor, aeds, SimpleUploadedFile("aed.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00"))
    assert run.status == RunStatus.FAILED
    assert run.report["problems"][0]["code"] == "binary"
    with pytest.raises(services.PublishError):
        services.publish_run(actor=editor, run=run)


def test_outsiders_cannot_upload(outsider: User, aeds: Dataset, aed_upload: Callable) -> None:
    with pytest.raises(PermissionDenied):
        services.start_run(actor=outsider, dataset=aeds, upload=aed_upload())


def test_the_datapackage_lists_the_published_schema(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    package = resident.get("/dataset/aed/datapackage.json").json()
    (resource,) = package["resources"]
    assert package["x-standard"] == "aed"
    assert resource["schema"]["x-standard"] == "aed"
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    assert fields["名称"]["constraints"]["required"] is True
    assert resource["datastore"].endswith(f"/api/v1/datastore/{resource['name']}/rows")


def _bomb() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", bytes(8 << 20))
    return out.getvalue()


BAD_FILES = {
    "empty": ("aed.csv", b"", "is empty"),
    "binary": ("aed.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    "zip-bomb": ("aed.xlsx", _bomb(), "compressed bomb"),
    "too-big": ("aed.csv", AED_CSV.encode("cp932"), "files up to 100"),
    "header-only": (
        "aed.csv",
        AED_CSV.split("\n", 2)[1].encode("cp932") + b"\n",
        "has a header but no data rows",
    ),
    "duplicate-columns": ("aed.csv", "名称,名称,住所\nA,B,C\n".encode(), "is used 2 times"),
    "ragged": ("aed.csv", ("名称,住所\n" + "A,B\n" * 9 + "C,D,E\n").encode(), "row 11, column C"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_say_what_is_wrong_and_change_nothing(
    kind: str, editor: User, aeds: Dataset, aed_upload: Callable, resident: Client, settings: Any
) -> None:
    v1 = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    name, data, words = BAD_FILES[kind]
    if kind == "too-big":
        settings.PUBLISH_MAX_FILE_BYTES = 100
    run = services.start_run(
        actor=editor, dataset=aeds, upload=SimpleUploadedFile(name, data), resource=v1.resource
    )
    run = services.convert_run(run)
    messages = " ".join(p["message"] for p in run.report["problems"])
    assert words in messages, messages
    assert run.error_count > 0
    with pytest.raises(services.PublishError):
        services.publish_run(actor=editor, run=run)
    v1.resource.refresh_from_db()
    assert v1.resource.current == v1
    assert rows_of(resident, aeds)["total"] == 3


def test_a_large_table_is_public_before_its_full_text_index(
    editor: User,
    aeds: Dataset,
    aed_upload: Callable,
    resident: Client,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setattr(services, "SEARCH_LATER_ROWS", 1)
    run = converted(editor, aeds, aed_upload())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        version = services.publish_run(actor=editor, run=run)
    resource = version.resource
    assert rows_of(resident, aeds)["total"] == 3
    url = f"/api/v1/datastore/{resource.uid}/rows"
    assert resident.get(url, {"q": "図書館"}).status_code == 503
    for callback in queued:
        callback()  # the queued task, run inline
    assert resident.get(url, {"q": "図書館"}).json()["total"] == 2


def test_a_table_without_rows_is_never_published_not_even_with_a_reason(
    editor: User, site_admin: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    """It would replace the table residents use with an empty one (an export that failed
    upstream often leaves just the header)."""
    v1 = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    header = AED_CSV.split("\n", 2)[1].encode("cp932") + b"\n"
    run = services.start_run(
        actor=editor,
        dataset=aeds,
        upload=SimpleUploadedFile("aed.csv", header),
        resource=v1.resource,
    )
    run = services.convert_run(run)
    with pytest.raises(services.PublishError, match="no data rows"):
        services.publish_run(actor=site_admin, run=run, override_reason="空でよい")
    v1.resource.refresh_from_db()
    assert v1.resource.current == v1
    assert rows_of(resident, aeds)["total"] == 3


def test_staff_roll_back_on_the_versions_page(
    client_for: Callable[[User], Client],
    editor: User,
    aeds: Dataset,
    aed_upload: Callable,
    resident: Client,
) -> None:
    v1 = services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload()))
    two_rows = AED_CSV.rsplit("\n", 2)[0] + "\n"
    run = services.start_run(
        actor=editor,
        dataset=aeds,
        upload=aed_upload(two_rows, name="AED_4月分.csv"),
        resource=v1.resource,
    )
    v2 = services.publish_run(actor=editor, run=services.convert_run(run))
    assert rows_of(resident, aeds)["total"] == 2
    client = client_for(editor)
    url = f"/staff/publish/resource/{v1.resource.uid}/versions"
    page = client.get(url).content.decode()
    # Both publish as 131059_aed.csv: staff tell them apart by the file they uploaded.
    assert f'<a href="/staff/publish/{run.uid}/">AED_4月分.csv</a>' in page
    # The roll-back button comes right after the version: on a phone the rest scrolls away.
    head = page[page.index("<thead") : page.index("</thead>")]
    assert head.index("バージョン") < head.index("現在") < head.index("アップロード日時")
    confirm = f"/staff/publish/resource/{v1.resource.uid}/versions/{v1.number}/rollback"
    assert f'<a class="button secondary" href="{confirm}">v1 を現在のバージョンにする</a>' in page
    # The button asks first, saying what will be served instead of what; nothing changes yet.
    asked = client.get(confirm).content.decode()
    assert "v1 に戻しますか？" in asked
    served_now = asked[asked.index("公開中") : asked.index("戻した後")]
    assert "v2" in served_now and "AED_4月分.csv" in served_now
    assert rows_of(resident, aeds)["total"] == 2
    assert client.post(url, {"number": v1.number}).status_code == 405  # only the confirm page
    response = client.post(confirm)
    assert response.status_code == 302
    v2.resource.refresh_from_db()
    assert v2.resource.current == v1
    assert rows_of(resident, aeds)["total"] == 3
    # The run that published v2 no longer says it is the one served.
    run_page = client.get(f"/staff/publish/{run.uid}/").content.decode()
    assert "バージョン 2（2 行）を公開しました。現在はバージョン 1 を公開しています" in run_page
    listed = client.get("/staff/publish/").content.decode()
    assert "現在は公開していません" in listed
    assert client.get(confirm).status_code == 302  # v1 is current: nothing to ask
    assert client.get(confirm.replace("/1/", "/9/")).status_code == 404


def test_the_report_is_written_in_the_uploader_s_language(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    """The worker that converts has no language of its own: the uploader's is kept."""
    duplicated = "名称,名称,住所\nA,B,C\n"
    with translation.override("en"):  # the staff page, in English
        run = services.start_run(actor=editor, dataset=aeds, upload=aed_upload(duplicated))
    with translation.override("ja"):  # the worker, in the site's default
        run = services.convert_run(run)
    messages = " ".join(p["message"] for p in run.report["problems"])
    assert "is used 2 times" in messages, messages


def test_the_publish_step_says_what_is_served_now_and_warns_of_a_much_smaller_table(
    client_for: Callable[[User], Client], editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    rows = AED_CSV.splitlines(keepends=True)
    many = AED_CSV + "".join(rows[-1].replace(",３,", f",{n},") for n in range(4, 14))
    services.publish_run(actor=editor, run=converted(editor, aeds, aed_upload(many)))
    resource = aeds.resources.get()
    run = services.convert_run(
        services.start_run(actor=editor, dataset=aeds, upload=aed_upload(), resource=resource)
    )
    page = client_for(editor).get(f"/staff/publish/{run.uid}/").content.decode()
    publish = page[page.index('id="publish-h"') :]
    assert "公開中: バージョン 1（13 行）" in publish
    warning = '<p class="warning">公開中のバージョン 1 は 13 行ですが、このファイルは 3 行です'
    assert warning in publish and "列のうち" not in publish  # the same columns
    # Another table under this one's name: its columns say so.
    other = "施設種別,地区,保育園名\n認可保育園,芝,芝保育園\n"
    run = services.convert_run(
        services.start_run(actor=editor, dataset=aeds, upload=aed_upload(other), resource=resource)
    )
    page = client_for(editor).get(f"/staff/publish/{run.uid}/").content.decode()
    assert "公開中の表の 12 列は、このファイルに一つもありません" in page
    assert "団体コード" not in publish  # 131059 is this ward's


def test_an_english_report_names_the_standard_in_english(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    lacking = "名称,住所,区\n本郷会館,本郷1-1,文京区\n"
    with translation.override("en"):
        run = services.start_run(
            actor=editor, dataset=aeds, upload=aed_upload(lacking), options={"standard": "aed"}
        )
        run = services.convert_run(run)
    messages = " ".join(p["message"] for p in run.report["problems"])
    assert "The standard AED Locations requires" in messages, messages
    assert "is not part of AED Locations" in messages and "AED設置箇所一覧" not in messages


def test_a_standard_s_hh_mm_times_are_published_as_written_and_served_as_times(
    editor: User, aeds: Dataset, aed_upload: Callable, resident: Client
) -> None:
    """The clean CSV holds the standard's 09:00; the datastore serves times as it does any
    other table's (09:00:00 on both engines), and the published file is the CSV."""
    text = AED_CSV.replace("小児対応設備の有無\n", "小児対応設備の有無,開始時間,終了時間\n")
    text = text.replace(",有\n", ",有,9:00,１７：３０\n").replace(",無\n", ",無,08:30,22:00\n")
    run = converted(editor, aeds, aed_upload(text))
    assert run.error_count == 0, run.report["problems"]
    version = services.publish_run(actor=editor, run=run)
    lines = Path(version.file.path).read_text(encoding="utf-8").splitlines()
    assert ",09:00,17:30," in lines[1] and ",08:30,22:00," in lines[2]
    records = rows_of(resident, aeds)["records"]
    assert [(r["開始時間"], r["終了時間"]) for r in records] == [
        ("09:00:00", "17:30:00"),
        ("08:30:00", "22:00:00"),
        ("09:00:00", "17:30:00"),
    ]


def test_a_2023_standard_s_marks_become_1_or_empty(
    editor: User, make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    """The 2023 standards want 1 or an empty cell in 災害種別_*; files mark them ○, 〇 or ◯
    and ×: each such cell was an error staff had to retype."""
    spaces = make_dataset(kikaku, "evacuation", "指定緊急避難場所一覧")
    text = (
        "全国地方公共団体コード,ID,名称,災害種別_洪水,災害種別_地震,指定避難所との重複\n"
        "131059,001,小石川植物園,○,〇,×\n"
        "131059,002,六義園,,◯,\n"
        "131059,003,本郷会館,●,済,\n"
    )
    upload = SimpleUploadedFile("避難場所.csv", text.encode("cp932"))
    run = converted(editor, spaces, upload, standard="evacuation-space-2023")
    changes = {c["name"]: c["changes"] for c in run.report["columns"]}
    assert changes["災害種別_洪水"] == [
        {"rule": "mark", "count": 2, "samples": [["○", "1"], ["●", "1"]]}
    ]
    assert changes["指定避難所との重複"][0]["samples"] == [["×", ""]]
    bad = [p for p in run.report["problems"] if p.get("column") == "災害種別_地震"]
    assert [(p["row"], p["value"]) for p in bad] == [(4, "済")]  # not a mark: still an error
    lines = Path(run.output.path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    first = dict(zip(header, lines[1].split(","), strict=True))
    assert (first["災害種別_洪水"], first["災害種別_地震"], first["指定避難所との重複"]) == (
        "1",
        "1",
        "",
    )


def test_the_legacy_standard_s_marks_become_1_without_refusing_other_text(
    editor: User, make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    """The legacy 指定緊急避難場所 edition says 1 or empty but does not enforce it: its
    ○, 〇 and ◯ were published as three different values, which a filter on 1 missed."""
    spaces = make_dataset(kikaku, "evacuation", "指定緊急避難場所一覧")
    text = (
        "NO,名称,災害種別_洪水,災害種別_地震\n"
        "1,小石川植物園,○,〇\n"
        "2,六義園,,◯\n"
        "3,本郷会館,1,確認中\n"
    )
    upload = SimpleUploadedFile("避難場所.csv", text.encode("cp932"))
    run = converted(editor, spaces, upload, standard="evacuation-space")
    lines = Path(run.output.path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [(r["災害種別_洪水"], r["災害種別_地震"]) for r in rows] == [
        ("1", "1"),
        ("", "1"),
        ("1", "確認中"),
    ]
    assert not [p for p in run.report["problems"] if p.get("column") == "災害種別_地震"]


def test_a_population_table_dated_only_in_its_title_gets_its_day(
    editor: User, make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    """Wards write 調査年月日 once, in the title (…令和6年10月1日現在): the standard requires
    it on every row, and the table was refused for it."""
    people = make_dataset(kikaku, "population", "町丁別人口")
    head = [["文京区 町丁別人口（令和6年10月1日現在）"], [], ["町丁名", "総数", "男", "女"]]
    body = [
        ["大塚一丁目", 1200, 580, 620],
        ["音羽一丁目", 900, 430, 470],
        ["合計", 2100, 1010, 1090],
    ]
    upload = SimpleUploadedFile("人口.xlsx", workbook_bytes(head + body))
    run = converted(editor, people, upload, standard="population")
    errors = [p for p in run.report["problems"] if p["level"] == "error"]
    assert errors and all(p["column"].endswith(("男性", "女性")) for p in errors)  # age bands
    assert run.row_count == 2  # the 合計 row is left out
    warned = [p for p in run.report["problems"] if p["code"] == "column-from-title"]
    assert warned and "令和6年10月1日" in warned[0]["message"]
    lines = Path(run.output.path).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [(r["地域名"], r["調査年月日"], r["総人口"]) for r in rows] == [
        ("大塚一丁目", "2024-10-01", "1200"),
        ("音羽一丁目", "2024-10-01", "900"),
    ]
    assert services.published_name(run).endswith("_population_20241001.csv")


def test_a_swapped_pair_is_checked_by_the_standard_as_swapped(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    """The pair was put right, but the standard's range check had seen 139.75 as latitude
    first: a mended row blocked publishing."""
    swapped = AED_CSV.replace("35.71956,139.74068", "139.74068,35.71956")
    run = converted(editor, aeds, aed_upload(swapped))
    codes = [(p["code"], p.get("row")) for p in run.report["problems"]]
    assert ("swapped-latlon", 4) in codes, codes
    assert run.error_count == 0, run.report["problems"]


def test_a_phone_number_that_lost_its_0_is_a_warning(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    """Excel took 0338127111 for a number and published 338127111, which no one can ring."""
    lost = AED_CSV.replace("(03)3812-7111", "338127111").replace("03-3814-6745", "3-3814-6745")
    run = converted(editor, aeds, aed_upload(lost))
    (warning,) = [p for p in run.report["problems"] if p["code"] == "phone-without-zero"]
    assert warning["level"] == "warning" and warning["column"] == "電話番号"
    assert "2 phone numbers do not start with 0" in warning["message"]
    clean = converted(editor, aeds, aed_upload())
    assert not [p for p in clean.report["problems"] if p["code"] == "phone-without-zero"]


def test_a_phone_number_without_its_area_code_is_a_warning(
    editor: User, aeds: Dataset, aed_upload: Callable
) -> None:
    """3812-7111 rings the ward office from a desk in Bunkyo, and nobody from a mobile."""
    local = AED_CSV.replace("(03)3812-7111", "3812-7111")
    run = converted(editor, aeds, aed_upload(local))
    (warning,) = [p for p in run.report["problems"] if p["code"] == "phone-without-area-code"]
    assert warning["level"] == "warning" and warning["column"] == "電話番号"
    assert warning["value"] == "3812-7111"
    assert "1 phone number has no area code" in warning["message"]
    assert not [p for p in run.report["problems"] if p["code"] == "phone-without-zero"]
    clean = converted(editor, aeds, aed_upload())
    assert not [p for p in clean.report["problems"] if p["code"] == "phone-without-area-code"]
