"""machi ingest: the same pipeline from the command line, with the same report."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.catalog.models import Dataset
from machi.publish.models import Run
from machi.publish.tests.conftest import AED_CSV, workbook_bytes

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def ingest(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("ingest", *args, stdout=out)
    return out.getvalue()


def test_ingest_creates_the_dataset_and_publishes(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    output = ingest(
        str(path), "--dataset", "aed", "--department", kikaku.slug, "--user", site_admin.username
    )
    assert "Encoding: Shift_JIS" in output
    assert "Header: row 2; data from row 3" in output
    assert "Standard: AED Locations (aed" in output  # the English report, in English
    assert "published" in output
    dataset = Dataset.objects.get(name="aed")
    assert dataset.department == kikaku and dataset.standard == "aed"
    assert dataset.resources.get().current.table.row_count == 3
    assert dataset.is_public


def test_ingest_names_a_sheet_and_a_standard(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "wifi.xlsx"
    path.write_bytes(
        workbook_bytes(
            [
                ["名称", "住所", "緯度", "経度", "SSID"],
                [
                    "文京シビックセンター",
                    "東京都文京区春日1-16-21",
                    35.70807,
                    139.75222,
                    "Bunkyo_Free_Wi-Fi",
                ],
            ]
        )
    )
    from io import StringIO

    out = StringIO()
    # The standard's required columns are missing: a script learns it would not publish.
    with pytest.raises(CommandError, match="it would not be published as it is"):
        call_command(
            "ingest",
            str(path),
            "--dataset",
            "wifi",
            "--department",
            kikaku.slug,
            "--user",
            site_admin.username,
            "--sheet",
            "一覧",
            "--standard",
            "public-wireless-lan",
            "--dry-run",
            stdout=out,
        )
    output = out.getvalue()
    assert "Standard: Public Wi-Fi Access Points" in output
    run = Run.objects.get()
    assert run.status == "review"  # staff can continue on the site, which the CLI names
    assert "not published; review and publish it there" in output
    assert f"{settings.SITE_URL}/staff/publish/{run.uid}/" in output


def test_ingest_exits_non_zero_when_nothing_is_published(
    tmp_path: Path, editor: User, make_dataset: Any, kikaku: Department
) -> None:
    make_dataset(kikaku, "aed", "AED")
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.replace("35.70807", "北緯").encode("cp932"))
    with pytest.raises(CommandError, match="nothing published") as raised:
        ingest(str(path), "--dataset", "aed", "--user", editor.username)
    assert Run.objects.get().error_count >= 1
    assert f"/staff/publish/{Run.objects.get().uid}/" in str(raised.value)
    assert not Dataset.objects.get(name="aed").resources.exists()


def test_ingest_reports_an_unreadable_file(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="nothing published"):
        ingest(
            str(path),
            "--dataset",
            "empty-file",
            "--department",
            kikaku.slug,
            "--user",
            site_admin.username,
        )
    # Nothing to review: the dataset it made for the file goes again, not left empty.
    assert not Dataset.objects.filter(name="empty-file").exists()
    assert Client().get("/dataset/empty-file/").status_code == 404


def test_ingest_refuses_a_column_name_that_is_not_in_the_file(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    """A misspelt --drop-column published the very column meant to stay out."""
    path = tmp_path / "memo.csv"
    path.write_text("名称,住所,担当者メモ\n本郷会館,本郷1-1,鈴木さん休職中\n", encoding="utf-8")
    common = [str(path), "--dataset", "memo", "--department", kikaku.slug, "--standard", "none"]
    with pytest.raises(CommandError, match="列 担当メモ はファイルにありません") as raised:
        ingest(*common, "--drop-column", "担当メモ")
    assert "名称、住所、担当者メモ" in str(raised.value)
    assert not Dataset.objects.get(name="memo").resources.exists()
    with pytest.raises(CommandError, match="列 住 はファイルにありません"):
        ingest(*common, "--confirm-public", "住")
    output = ingest(*common, "--drop-column", "担当者メモ")
    assert "published" in output
    assert (
        Dataset.objects.get(name="memo").resources.get().current.table.schema["fields"][-1]["name"]
        == "住所"
    )


def test_ingest_refuses_bad_options_in_words_not_a_traceback(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    common = [str(path), "--dataset", "aed", "--department", kikaku.slug]
    with pytest.raises(CommandError, match="no standard dataset called “aedx”"):
        ingest(*common, "--standard", "aedx")
    # Rows 4 and 6 would take the data row between them into the column names.
    with pytest.raises(CommandError, match="rows next to each other"):
        ingest(*common, "--header-rows", "2,4")
    assert not Dataset.objects.filter(name="aed").exists()  # made for nothing: gone again


def test_ingest_finds_a_department_by_id_or_its_section_name(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    kosodate = Department.objects.create(slug="kosodate", name="子ども家庭部 子育て支援課")
    ingest(str(path), "--dataset", "a1", "--department", "子育て支援課", "--dry-run")
    ingest(str(path), "--dataset", "a2", "--department", str(kikaku.pk), "--dry-run")
    assert Dataset.objects.get(name="a1").department == kosodate
    assert Dataset.objects.get(name="a2").department == kikaku
    with pytest.raises(CommandError, match=f"部署 どこか がありません。部署: .*{kikaku.slug}"):
        ingest(str(path), "--dataset", "a3", "--department", "どこか")


def test_a_dataset_ingest_made_goes_public_when_a_later_run_publishes_its_table(
    tmp_path: Path, editor: User, site_admin: User, kikaku: Department
) -> None:
    """Staff run ingest, read why nothing was published, mend it and run again: the
    dataset the first run made private is public once its table is, whichever run it was."""
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.replace("35.70807", "北緯").encode("cp932"))
    common = ["--dataset", "aed", "--department", kikaku.slug]
    with pytest.raises(CommandError, match="nothing published"):
        ingest(str(path), *common, "--user", editor.username)
    assert not Dataset.objects.get(name="aed").is_public
    mended = ["--user", site_admin.username, "--override", "北緯は後日直す"]
    output = ingest(str(path), *common, *mended)
    assert "published" in output
    assert Dataset.objects.get(name="aed").is_public
    assert Client().get("/dataset/aed/").status_code == 200
    # A dataset kept private on purpose (made in the back office) stays so.
    catalog.create_dataset(
        actor=site_admin, department=kikaku, name="internal", title="庁内", is_public=False
    )
    ingest(str(path), "--dataset", "internal", "--user", site_admin.username, "--override", "x")
    assert not Dataset.objects.get(name="internal").is_public


def test_ingest_replaces_the_one_table_of_a_dataset_that_also_has_a_document(
    tmp_path: Path, site_admin: User, kikaku: Department
) -> None:
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    common = ["--dataset", "aed", "--department", kikaku.slug, "--user", site_admin.username]
    ingest(str(path), *common)
    dataset = Dataset.objects.get(name="aed")
    catalog.add_resource(
        actor=site_admin,
        dataset=dataset,
        name="案内",
        upload=SimpleUploadedFile("guide.pdf", b"%PDF-1.4\n", content_type="application/pdf"),
    )
    ingest(str(path), *common)
    table = dataset.resources.get(current__table__isnull=False)
    assert (dataset.resources.count(), table.current.number) == (2, 2)


def test_ingest_needs_a_department_for_a_new_dataset(tmp_path: Path, site_admin: User) -> None:
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    with pytest.raises(CommandError, match="--department"):
        ingest(str(path), "--dataset", "new", "--user", site_admin.username)


def test_a_converted_file_larger_than_the_upload_cap_publishes(
    tmp_path: Path, site_admin: User, kikaku: Department, settings: Any
) -> None:
    # Staff uploads are capped; the pipeline's own clean CSV is not an upload.
    settings.MACHI_MAX_UPLOAD_BYTES = 100
    path = tmp_path / "aed.csv"
    path.write_bytes(AED_CSV.encode("cp932"))
    output = ingest(
        str(path), "--dataset", "aed", "--department", kikaku.slug, "--user", site_admin.username
    )
    assert "published" in output
    assert Dataset.objects.get(name="aed").resources.get().current.table.row_count == 3
