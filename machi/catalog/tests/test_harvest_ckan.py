"""Harvesting a CKAN site, contract-tested against recorded responses of real CKAN portals.

../shared/ckan-fixtures/ holds package_search pages recorded from EnviDat (CKAN >= 2.9,
ckanext-scheming) and data.gov.uk (CKAN 2.8) and a package_show of DATA.GO.JP. A real HTTP
server in a thread answers the harvester with those bytes, page by page.
"""

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from machi.catalog import services
from machi.catalog.harvest import new_job, run_job
from machi.catalog.harvest_ckan import CkanClient
from machi.catalog.harvest_writes import save_harvested_dataset
from machi.catalog.models import Dataset, HarvestJob, HarvestRecord, License
from machi.catalog.tests.harvest_helpers import make_source, serve

ENVIDAT = "the-importance-of-hot-summers-and-individual-heatwaves-for-permafrost-warming-an"
UK_BEES = "pollinator-and-pollination-service-data-from-the-national-" + (
    "pollinator-and-pollination-monit-2015"
)
PAST_THE_END = {"help": "", "success": True, "result": {"count": 0, "results": []}}


@pytest.fixture
def fixtures(shared_dir: Path) -> dict[str, bytes]:
    folder = shared_dir / "ckan-fixtures"
    return {path.stem: path.read_bytes() for path in folder.glob("*.json")}


def recorded_ckan(fixtures: dict[str, bytes], *, second_page: tuple[int, bytes] | None = None):
    """package_search: EnviDat's page (2 results), then data.gov.uk's (4), then nothing."""
    pages = {
        0: (200, fixtures["package_search-envidat"]),
        2: second_page or (200, fixtures["package_search-datagovuk"]),
    }

    def route(path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        if path != "/api/3/action/package_search":
            return 404, "text/plain", b"not found"
        # What CKAN answers past the last result: an empty page.
        status, body = pages.get(
            int(params.get("start", "0")), (200, json.dumps(PAST_THE_END).encode())
        )
        return status, "application/json;charset=utf-8", body

    return route


def job_for(source: Any, mode: str = HarvestJob.Mode.FULL) -> HarvestJob:
    return run_job(new_job(source=source, mode=mode, trigger="test"))


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def test_a_full_run_mirrors_every_recorded_dataset_with_its_origin(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    with serve(recorded_ckan(fixtures)) as (url, requests):
        source = make_source(site_admin, url)
        job = job_for(source)
    assert job.status == HarvestJob.Status.DONE, job.message
    assert (job.created, job.updated, job.unchanged, job.errors) == (6, 0, 0, 0)
    first = urllib.parse.parse_qs(urllib.parse.urlsplit(requests[0]).query)
    assert first["start"] == ["0"] and "fq" not in first
    assert first["sort"] == ["metadata_modified asc"]

    envidat = Dataset.objects.get(name=ENVIDAT)
    assert envidat.title.startswith("The importance of hot summers")
    assert envidat.harvest_source == source and envidat.department == source.department
    assert envidat.remote_id == "8c2dcda3-8d82-40cd-b79e-1b4dbe4ac77f"
    assert envidat.remote_url == f"{url}/dataset/{ENVIDAT}"
    assert envidat.original_publisher == "CRYOS"
    # EnviDat (ckanext-scheming) sends its maintainer as JSON inside a string.
    assert envidat.contact_name == "Elizaveta Sharaborova"
    assert envidat.contact_email == "elizaveta.sharaborova@epfl.ch"
    assert envidat.license.slug == "cc-by-4.0"
    assert "ATMOSPHERIC HEATWAVES" in envidat.tags.values_list("name", flat=True)
    assert envidat.modified.isoformat().startswith("2026-08-04T07:19:14")
    zip_file = envidat.resources.get()
    assert zip_file.current.format == "ZIP" and zip_file.current.size == 10004794304
    assert zip_file.current.url.startswith("https://www.envidat.ch/dataset/")

    bees = Dataset.objects.get(name=UK_BEES)
    assert bees.original_publisher == "Environmental Information Data Centre"
    # A license we do not have is kept as the source states it, not guessed.
    assert bees.license.slug == "uk-ogl" and not License.objects.get(slug="uk-ogl").url == ""
    assert bees.resources.count() == 2
    assert bees.is_public and Dataset.objects.filter(harvest_source=source).count() == 6
    assert HarvestRecord.objects.filter(job=job, action="created").count() == 6
    # Whoever harvests us through the CKAN API sees where the copy came from.
    shown = Client().get("/api/3/action/package_show", {"id": ENVIDAT}).json()["result"]
    assert shown["url"] == f"{url}/dataset/{ENVIDAT}"


def test_a_second_run_asks_only_for_changes_and_finds_none(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    with serve(recorded_ckan(fixtures)) as (url, requests):
        source = make_source(site_admin, url)
        job_for(source)
        requests.clear()
        job = job_for(source, HarvestJob.Mode.INCREMENTAL)
    assert job.status == HarvestJob.Status.DONE
    assert (job.created, job.updated, job.unchanged) == (0, 0, 6)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(requests[0]).query)
    # The newest metadata_modified seen, in CKAN's UTC form, as ckanext-harvest asks.
    assert query["fq"] == ["metadata_modified:[2026-08-04T07:19:14.753556Z TO *]"]


def test_harvested_datasets_are_read_only_here(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    with serve(recorded_ckan(fixtures)) as (url, _requests):
        job_for(make_source(site_admin, url))
    dataset = Dataset.objects.get(name=ENVIDAT)
    with pytest.raises(PermissionDenied, match="is harvested from tokyo catalog and is read-only"):
        services.update_dataset(actor=site_admin, dataset=dataset, title="changed here")
    with pytest.raises(PermissionDenied, match=f"Change it at its source: {url}/dataset/"):
        services.delete_dataset(actor=site_admin, dataset=dataset)
    with pytest.raises(PermissionDenied):
        services.delete_resource(actor=site_admin, resource=dataset.resources.get())
    dataset.refresh_from_db()
    assert dataset.title.startswith("The importance")


def test_the_refusal_is_japanese_on_japanese_pages(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    with serve(recorded_ckan(fixtures)) as (url, _requests):
        job_for(make_source(site_admin, url))
    dataset = Dataset.objects.get(name=ENVIDAT)
    with translation.override("ja"), pytest.raises(PermissionDenied) as refused:
        services.update_dataset(actor=site_admin, dataset=dataset, title="x")
    message = str(refused.value)
    assert "tokyo catalog" in message and url in message
    assert "閲覧専用" in message or "読み取り専用" in message


def test_a_name_taken_by_local_data_is_not_overwritten(
    site_admin: User, fixtures: dict[str, bytes], make_dataset: Any, kikaku: Any
) -> None:
    local = make_dataset(kikaku, ENVIDAT, "区の同名データ")
    with serve(recorded_ckan(fixtures)) as (url, _requests):
        job = job_for(make_source(site_admin, url))
    local.refresh_from_db()
    assert local.title == "区の同名データ" and local.harvest_source is None
    mirrored = Dataset.objects.get(remote_id="8c2dcda3-8d82-40cd-b79e-1b4dbe4ac77f")
    assert mirrored.name == f"tokyo-{ENVIDAT}"[:100].rstrip("-")
    note = HarvestRecord.objects.get(job=job, dataset=mirrored).message
    assert f"The name “{ENVIDAT}” is taken here" in note


def test_a_source_failing_mid_run_keeps_what_was_harvested_and_withdraws_nothing(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    broken = (500, b'{"success": false, "error": {"message": "Internal Server Error"}}')
    state = {"route": recorded_ckan(fixtures)}
    with serve(lambda path, params: state["route"](path, params)) as (url, _requests):
        source = make_source(site_admin, url, grace_days=0)
        job_for(source)
        before = {d.name: (d.title, d.is_public, d.modified) for d in Dataset.objects.all()}
        state["route"] = recorded_ckan(fixtures, second_page=broken)
        job = job_for(source)
    assert job.status == HarvestJob.Status.FAILED
    assert "answered HTTP 500" in job.message
    # The first page was read again (unchanged); the page that failed took nothing away.
    assert job.unchanged == 2
    after = {d.name: (d.title, d.is_public, d.modified) for d in Dataset.objects.all()}
    assert after == before
    assert not HarvestRecord.objects.filter(job=job, action__in=["missing", "withdrawn"]).exists()
    source.refresh_from_db()
    assert source.last_full_run < job.queued_at  # the failed run did not count as complete


def test_a_source_that_is_not_ckan_fails_with_a_clear_message(site_admin: User) -> None:
    def html(path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        return 200, "text/html", b"<html>welcome</html>"

    with serve(html) as (url, _requests):
        job = job_for(make_source(site_admin, url))
    assert job.status == HarvestJob.Status.FAILED
    assert "did not answer with JSON; is this a CKAN site?" in job.message


def test_a_bad_record_is_logged_with_the_remote_record_and_the_rest_go_on(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    page = json.loads(fixtures["package_search-envidat"])
    page["result"]["results"][0]["resources"][0]["url"] = "not an address"
    with serve(recorded_ckan(fixtures)) as (url, _requests):
        source = make_source(site_admin, url)

        def route(path: str, params: dict[str, str]) -> tuple[int, str, bytes]:
            if params.get("start") == "0":
                return 200, "application/json", json.dumps(page).encode()
            return recorded_ckan(fixtures)(path, params)

        with serve(route) as (url2, _r):
            source.url = url2
            source.save()
            job = job_for(source)
    assert job.status == HarvestJob.Status.DONE
    assert (job.created, job.errors) == (5, 1)
    error = HarvestRecord.objects.get(job=job, action="error")
    assert error.remote_id == "8c2dcda3-8d82-40cd-b79e-1b4dbe4ac77f"
    assert "url" in error.message and "Enter a valid URL" in error.message
    assert error.remote_record["resources"][0]["url"] == "not an address"
    assert not Dataset.objects.filter(remote_id=error.remote_id).exists()


def test_a_japanese_package_show_maps_field_by_field(
    site_admin: User, fixtures: dict[str, bytes]
) -> None:
    # DATA.GO.JP's package_show, stored wrapped in a list by the repository it came from.
    recorded = json.loads(fixtures["package_show-datagojp"])[0]["result"]
    record = CkanClient("https://www.data.go.jp/data").dataset(recorded)
    assert record.title == "消費者庁支出状況調_平成26年度"
    assert record.publisher == "消費者庁"
    assert record.remote_url == "https://www.data.go.jp/data/dataset/caa_20181122_0027"
    assert record.modified.isoformat() == "2019-06-10T02:19:55.101960+00:00"
    [pdf] = record.resources
    assert pdf.format == "PDF" and pdf.name == "消費者庁支出状況調（平成26年度）_PDF"
    source = make_source(site_admin, "https://www.data.go.jp/data", name="datagojp")
    action, dataset, _note = save_harvested_dataset(source=source, record=record, dataset=None)
    assert action == "created" and dataset.name == "caa_20181122_0027"
    # No license at the source: "not specified", never the ward's default CC BY.
    assert dataset.license.slug == "unspecified" and not dataset.license.is_open
    assert dataset.spatial == ""


def test_machi_harvest_command_runs_a_source_and_reports(
    site_admin: User, fixtures: dict[str, bytes], capsys: Any
) -> None:
    with serve(recorded_ckan(fixtures)) as (url, _requests):
        make_source(site_admin, url)
        call_command("harvest", "tokyo", "--full")
    out = capsys.readouterr().out
    assert "tokyo (full): done — created 6, updated 0, unchanged 0, withdrawn 0, errors 0" in out
    with pytest.raises(CommandError, match="No harvest source “nowhere”"):
        call_command("harvest", "nowhere")
