"""Harvesting another machi over real HTTP: a second `machi serve` with its own data.

The second instance is a real server subprocess (gunicorn and its worker) on a free port,
with its own SQLite data directory, seeded and changed through its own services
(`machi shell`). The harvesting instance is this test's database.
"""

import datetime
import os
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation

from machi.audit.models import AuditEvent
from machi.catalog.harvest import new_job, run_job
from machi.catalog.models import Dataset, HarvestJob, HarvestRecord, HarvestSource
from machi.catalog.queries import visible_datasets
from machi.catalog.tests.harvest_helpers import free_port, make_source
from machi.tests.commands import MACHI, ROOT, run_machi

SEED = """
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Category

admin = User.objects.create_superuser("admin", password="upstream admin pw")
ward = Department.objects.create(slug="hoken", name="保健衛生部", name_en="Public Health")
aed = services.create_dataset(
    actor=admin, department=ward, name="aed", title="AED設置箇所",
    title_en="AED locations", description="区内のAED設置場所。", tags=["AED", "防災"],
    categories=[Category.objects.get(slug="bousai")], contact_name="保健衛生部",
    contact_email="hoken@example.jp", update_frequency="MONTHLY",
)
services.add_resource(
    actor=admin, dataset=aed, name="AED一覧（CSV）",
    upload=SimpleUploadedFile("aed.csv", "名称,住所\\nシビックセンター,春日1-16-21\\n".encode()),
)
hoiku = services.create_dataset(
    actor=admin, department=ward, name="hoikuen", title="保育園一覧",
    categories=[Category.objects.get(slug="kosodate")],
)
services.add_resource(
    actor=admin, dataset=hoiku, name="保育園（外部サイト）", url="https://example.jp/hoikuen.csv"
)
services.create_dataset(actor=admin, department=ward, name="kouen", title="公園一覧")
"""


PRELUDE = """
from django.contrib.auth.models import User
from machi.catalog import services
from machi.catalog.models import Dataset
admin = User.objects.get(username="admin")
"""


class Upstream:
    """A second machi: `machi serve` on its own data directory and port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DATASTORE_URL", "REDIS_URL", "MACHI_ENV"}
        }
        self.env.update(
            MACHI_DATA_DIR=str(data_dir),
            PORT=str(self.port),
            HOST="127.0.0.1",
            MACHI_WORKERS="1",
            MACHI_SITE_URL=self.url,
        )
        self.server: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "serve.log"

    def machi(self, *args: str) -> str:
        return run_machi(self.env, *args)

    def run(self, code: str) -> None:
        """Change the upstream catalog through its own services."""
        self.machi("shell", "-c", PRELUDE + textwrap.dedent(code))

    def start(self) -> None:
        with self.log.open("ab") as log:  # a file, not a pipe nobody reads, which would fill
            self.server = subprocess.Popen(
                [*MACHI, "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(self.log.read_text()[-3000:]) from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.server is None:
            return
        # gunicorn and the worker it started share the new session's process group.
        try:
            os.killpg(self.server.pid, 15)
        except ProcessLookupError:
            pass
        self.server.wait(timeout=30)
        self.server = None


@pytest.fixture(scope="module")
def started_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    remote = Upstream(tmp_path_factory.mktemp("upstream"))
    remote.machi("migrate", "--verbosity", "0")
    remote.machi("shell", "-c", SEED)
    yield remote
    remote.stop()


@pytest.fixture
def upstream(started_upstream: Upstream) -> Upstream:
    """The module's second machi, serving (a test that stopped it leaves it to the next)."""
    if started_upstream.server is None:
        started_upstream.start()
    return started_upstream


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def harvest(source: HarvestSource, mode: str = HarvestJob.Mode.FULL) -> HarvestJob:
    job = run_job(new_job(source=source, mode=mode, trigger="test"))
    assert job.status == HarvestJob.Status.DONE, job.message
    return job


def counts(job: HarvestJob) -> tuple[int, int, int, int, int]:
    return job.created, job.updated, job.unchanged, job.withdrawn, job.errors


def test_harvest_another_machi_full_incremental_edit_delete_and_return(
    upstream: Upstream, site_admin: User, make_dataset: Any, kikaku: Any
) -> None:
    local = make_dataset(kikaku, "kouen", "区の公園（ローカル）")
    source = make_source(site_admin, upstream.url, kind="machi", name="bunkyo", grace_days=1)

    # Full run: everything public upstream arrives, with its origin.
    assert counts(harvest(source)) == (3, 0, 0, 0, 0)
    aed = Dataset.objects.get(harvest_source=source, name="aed")
    assert (aed.title, aed.title_en) == ("AED設置箇所", "AED locations")
    assert aed.remote_url == f"{upstream.url}/dataset/aed"
    assert aed.original_publisher == "保健衛生部"
    assert aed.contact_email == "hoken@example.jp" and aed.update_frequency == "MONTHLY"
    assert sorted(aed.tags.values_list("name", flat=True)) == ["AED", "防災"]
    assert list(aed.categories.values_list("slug", flat=True)) == ["bousai"]
    [csv] = aed.resources.all()
    with urllib.request.urlopen(csv.current.url, timeout=10) as response:
        assert "シビックセンター" in response.read().decode()
    # The local "kouen" keeps its name and content; the mirror gets another name.
    local.refresh_from_db()
    assert local.title == "区の公園（ローカル）" and not local.is_harvested
    assert Dataset.objects.get(harvest_source=source, remote_url__endswith="/kouen").name == (
        "bunkyo-kouen"
    )

    # The dataset page shows where it comes from, and offers no editing.
    admin_client = Client()
    admin_client.force_login(site_admin)
    page = admin_client.get("/dataset/aed/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "bunkyo catalog" in page and f"{upstream.url}/dataset/aed" in page
    assert "保健衛生部" in page and "/admin/catalog/dataset/" not in page

    # Nothing changed upstream: an incremental run finds nothing new.
    created, updated, *_ = counts(harvest(source, HarvestJob.Mode.INCREMENTAL))
    assert (created, updated) == (0, 0)

    # An upstream edit arrives with the next incremental run, audited here.
    upstream.run("""
        d = Dataset.objects.get(name="hoikuen")
        services.update_dataset(actor=admin, dataset=d, title="認可保育園一覧")
    """)
    job = harvest(source, HarvestJob.Mode.INCREMENTAL)
    assert (job.created, job.updated) == (0, 1)
    hoikuen = Dataset.objects.get(harvest_source=source, name="hoikuen")
    assert hoikuen.title == "認可保育園一覧"
    event = AuditEvent.objects.filter(object_id=str(hoikuen.pk), action="update").latest("at")
    assert event.changes["title"] == ["保育園一覧", "認可保育園一覧"]
    assert event.actor == site_admin

    # Deleted and made private upstream: missing now, withdrawn after the grace period.
    upstream.run("""
        services.delete_dataset(actor=admin, dataset=Dataset.objects.get(name="aed"))
        d = Dataset.objects.get(name="hoikuen")
        services.update_dataset(actor=admin, dataset=d, is_public=False)
    """)
    job = harvest(source)
    assert job.withdrawn == 0
    missing = HarvestRecord.objects.filter(job=job, action="missing")
    assert sorted(missing.values_list("remote_id", flat=True)) == sorted(
        [aed.remote_id, hoikuen.remote_id]
    )
    assert Dataset.objects.get(pk=aed.pk).is_public  # still within the grace period
    Dataset.objects.filter(harvest_source=source).exclude(harvest_missing_since=None).update(
        harvest_missing_since=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    job = harvest(source)
    assert job.withdrawn == 2
    public = set(visible_datasets(Client().get("/").wsgi_request.user).values_list("pk", flat=True))
    assert aed.pk not in public and hoikuen.pk not in public
    assert Dataset.objects.get(pk=aed.pk).harvest_withdrawn_at is not None
    assert Client().get("/dataset/aed/").status_code == 404

    # Public again upstream: public again here.
    upstream.run("""
        d = Dataset.objects.get(name="hoikuen")
        services.update_dataset(actor=admin, dataset=d, is_public=True)
    """)
    job = harvest(source)
    assert HarvestRecord.objects.filter(job=job, action="restored").count() == 1
    assert Dataset.objects.get(pk=hoikuen.pk).is_public
    assert not Dataset.objects.get(pk=aed.pk).is_public


def test_harvest_another_machi_through_its_dcat_catalog(
    upstream: Upstream, site_admin: User
) -> None:
    source = make_source(site_admin, f"{upstream.url}/catalog.ttl", kind="dcat", name="bunkyo-dcat")
    job = harvest(source)
    names = set(Dataset.objects.filter(harvest_source=source).values_list("name", flat=True))
    public_upstream = _public_names(upstream)
    assert job.created == len(public_upstream) and names == public_upstream
    kouen = Dataset.objects.get(harvest_source=source, name="kouen")
    assert kouen.title == "公園一覧" and kouen.original_publisher
    assert kouen.remote_url.startswith(upstream.url)
    # modified_since: the second run reads only what changed since the first.
    again = harvest(source, HarvestJob.Mode.INCREMENTAL)
    assert (again.created, again.updated) == (0, 0)


def test_a_source_that_is_down_fails_and_changes_nothing(
    upstream: Upstream, site_admin: User
) -> None:
    source = make_source(site_admin, upstream.url, kind="machi", name="bunkyo", grace_days=0)
    harvest(source)
    before = sorted(Dataset.objects.values_list("name", "title", "is_public", "modified"))
    upstream.stop()
    job = run_job(new_job(source=source, mode=HarvestJob.Mode.FULL, trigger="test"))
    assert job.status == HarvestJob.Status.FAILED
    assert f"Could not reach {upstream.url}/api/3/action/package_search" in job.message
    assert sorted(Dataset.objects.values_list("name", "title", "is_public", "modified")) == before
    assert job.withdrawn == 0 and not job.records.exists()


def _public_names(upstream: Upstream) -> set[str]:
    import json

    url = f"{upstream.url}/api/3/action/package_list"
    with urllib.request.urlopen(url, timeout=10) as response:
        return set(json.load(response)["result"])
