"""The back office: site administrators manage sources; harvested datasets are read-only."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from machi.audit.models import AuditEvent
from machi.catalog.harvest_clients import RemoteDataset, RemoteResource
from machi.catalog.harvest_writes import save_harvested_dataset
from machi.catalog.models import Dataset, HarvestJob, HarvestRecord, HarvestSource
from machi.catalog.tests.harvest_helpers import make_source

IMMEDIATE_OFF = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def harvested(site_admin: User) -> Dataset:
    source = make_source(site_admin, "https://catalog.example.jp/")
    record = RemoteDataset(
        remote_id="r-1",
        name="aed",
        title="AED設置箇所",
        remote_url="https://catalog.example.jp/dataset/aed",
        publisher="東京都",
        resources=[RemoteResource(remote_id="f", name="CSV", url="https://x.jp/aed.csv")],
    )
    return save_harvested_dataset(source=source, record=record, dataset=None)[1]


def test_a_site_admin_adds_a_source_and_gets_a_department_for_it(
    site_admin: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(site_admin).post(
        "/admin/catalog/harvestsource/add/",
        {
            "title": "東京都オープンデータカタログ",
            "name": "tokyo",
            "kind": "ckan",
            "url": "https://catalog.metro.tokyo.lg.jp/",
            "actor": site_admin.pk,
            "enabled": "on",
            "every_hours": "6",
            "full_every_hours": "24",
            "grace_days": "3",
            "jobs-TOTAL_FORMS": "0",
            "jobs-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    source = HarvestSource.objects.get(name="tokyo")
    assert source.department.slug == "harvest-tokyo"
    assert source.department.name == "東京都オープンデータカタログ"
    assert AuditEvent.objects.filter(object_type="catalog.harvestsource", action="create").exists()


def test_harvesting_as_someone_not_a_site_admin_is_refused_on_the_field(
    site_admin: User, editor: User, client_for: Callable[[User], Client]
) -> None:
    """Picking an editor as 収集者 was a server error; the list offered every account."""
    client = client_for(site_admin)
    form = client.get("/admin/catalog/harvestsource/add/").content.decode()
    assert f'<option value="{editor.pk}">' not in form
    response = client.post(
        "/admin/catalog/harvestsource/add/",
        {
            "title": "東京都オープンデータカタログ",
            "name": "tokyo",
            "kind": "ckan",
            "url": "https://catalog.metro.tokyo.lg.jp/",
            "actor": editor.pk,
            "every_hours": "6",
            "full_every_hours": "24",
            "grace_days": "3",
            "jobs-TOTAL_FORMS": "0",
            "jobs-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert not HarvestSource.objects.filter(name="tokyo").exists()


def test_staff_see_sources_but_only_site_admins_change_them(
    editor: User, site_admin: User, client_for: Callable[[User], Client]
) -> None:
    source = make_source(site_admin, "https://catalog.example.jp/")
    staff = client_for(editor)
    assert staff.get("/admin/catalog/harvestsource/").status_code == 200
    assert staff.get("/admin/catalog/harvestsource/add/").status_code == 403
    response = staff.post(
        f"/admin/catalog/harvestsource/{source.pk}/change/",
        {"title": "changed", "name": "tokyo", "kind": "dcat", "url": "https://x.jp/"},
    )
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.title == "tokyo catalog"


def test_harvest_now_queues_a_run_whose_log_staff_can_read(
    site_admin: User, client_for: Callable[[User], Client], settings: Any, editor: User
) -> None:
    settings.TASKS = IMMEDIATE_OFF
    source = make_source(site_admin, "https://catalog.example.jp/")
    response = client_for(site_admin).post(
        "/admin/catalog/harvestsource/",
        {"action": "harvest_full", "_selected_action": [source.pk]},
        follow=True,
    )
    assert "収集を 1 件予約しました。" in response.content.decode()  # the page is Japanese
    job = source.jobs.get()
    assert (job.mode, job.status, job.trigger) == ("full", "queued", "admin")
    HarvestRecord.objects.create(
        job=job,
        action="error",
        remote_id="x-1",
        message="title: This field cannot be blank.",
        remote_record={"id": "x-1", "title": ""},
    )
    page = client_for(editor).get(f"/admin/catalog/harvestjob/{job.pk}/change/").content.decode()
    assert "x-1" in page and "This field cannot be blank." in page


def test_a_harvested_dataset_is_read_only_in_the_back_office(
    harvested: Dataset, site_admin: User, client_for: Callable[[User], Client]
) -> None:
    admin = client_for(site_admin)
    page = admin.get(f"/admin/catalog/dataset/{harvested.pk}/change/").content.decode()
    assert "はtokyo catalogから収集したデータセットのため、ここでは閲覧専用です" in page
    assert "https://catalog.example.jp/dataset/aed" in page and "東京都" in page
    assert 'name="_save"' not in page
    response = admin.post(
        f"/admin/catalog/dataset/{harvested.pk}/change/",
        {"title": "changed", "name": "aed"},
    )
    assert response.status_code == 403
    assert admin.get(f"/admin/catalog/dataset/{harvested.pk}/delete/").status_code == 403
    harvested.refresh_from_db()
    assert harvested.title == "AED設置箇所"


def test_the_dataset_page_shows_the_origin_and_no_edit_link(
    harvested: Dataset, site_admin: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(site_admin).get("/dataset/aed/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'aria-labelledby="origin-heading"' in html
    assert "tokyo catalog" in html and "東京都" in html
    assert 'href="https://catalog.example.jp/dataset/aed"' in html
    assert f"/admin/catalog/dataset/{harvested.pk}/change/" not in html


def test_deleting_a_source_removes_its_datasets_and_keeps_local_ones(
    harvested: Dataset,
    site_admin: User,
    client_for: Callable[[User], Client],
    make_dataset: Callable[..., Dataset],
    kikaku: Any,
) -> None:
    local = make_dataset(kikaku, "local", "区のデータ")
    source = harvested.harvest_source
    response = client_for(site_admin).post(
        f"/admin/catalog/harvestsource/{source.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Dataset.objects.filter(pk=harvested.pk).exists()
    assert Dataset.objects.filter(pk=local.pk).exists()
    assert not HarvestJob.objects.filter(source_id=source.pk).exists()
    assert AuditEvent.objects.filter(
        object_type="catalog.dataset", object_id=str(harvested.pk), action="delete"
    ).exists()
