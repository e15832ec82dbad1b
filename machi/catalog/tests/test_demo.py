"""The demo catalog that `make run` loads."""

import csv
import datetime
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Q
from django.test import Client, override_settings

from machi.accounts.models import Department
from machi.catalog.demo import DEMO_DIR
from machi.catalog.models import Dataset, News, ResourceVersion, Showcase
from machi.catalog.queries import search_datasets

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_files(
    django_db_setup: None,
    django_db_blocker,
    tmp_path_factory,  # type: ignore[no-untyped-def]
) -> Iterator[Path]:
    """Load the demo once for this module (it takes seconds), then roll it back."""
    files = tmp_path_factory.mktemp("demo-files")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=files):
        with transaction.atomic():
            call_command("demo")
            yield files
            transaction.set_rollback(True)


@pytest.fixture
def demo(demo_files: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = demo_files


def test_demo_is_a_realistic_bunkyo_catalog(demo: None) -> None:
    assert Dataset.objects.count() >= 50
    assert Department.objects.filter(datasets__isnull=False).distinct().count() >= 10
    assert News.objects.filter(kind="notice").exists()
    assert Showcase.objects.filter(datasets__isnull=False).exists()
    # A dataset page never says it was updated before it was created.
    assert not Dataset.objects.filter(created__gt=F("modified")).exists()
    # The English site shows English: every dataset has its title and description in both.
    assert not Dataset.objects.filter(Q(title_en="") | Q(description_en="")).exists()
    titles = " ".join(Dataset.objects.values_list("title", flat=True))
    for word in [
        "集会施設",
        "公衆無線LAN",
        "AED",
        "避難",
        "保育園",
        "公衆トイレ",
        "自転車駐車場",
        "コミュニティバス",
        "ごみ",
        "人口",
    ]:
        assert word in titles, word


def test_every_demo_csv_is_a_well_formed_table(demo: None) -> None:
    versions = ResourceVersion.objects.exclude(file="")
    assert versions.count() >= 50
    for version in versions:
        with version.file.open("rb") as handle:
            rows = list(csv.reader(io.TextIOWrapper(handle, encoding="utf-8-sig")))
        assert len(rows) >= 2, version.filename
        assert {len(row) for row in rows} == {len(rows[0])}, version.filename
        assert version.sha256 and version.size and version.encoding.startswith("UTF-8")


def test_demo_answers_the_issue_searches(demo: None) -> None:
    def titles(q: str) -> list[str]:
        return [d.title for d in search_datasets(q=q).datasets]

    assert any("保育園" in t for t in titles("保育")[:3])
    assert titles("ひなんじょ")[:3] and set(titles("ひなんじょ")) >= set(titles("避難所")[:1])
    assert "AED" in titles("ＡＥＤ")[0]
    assert any("公衆無線LAN" in t for t in titles("Wi-Fi")[:3])
    assert any("自転車駐車場" in t for t in titles("駐輪場")[:3])
    assert any("保育園" in t for t in titles("nursery")[:3])


def test_demo_is_loaded_once(demo: None) -> None:
    count = Dataset.objects.count()
    call_command("demo", if_empty=True)
    assert Dataset.objects.count() == count


def test_demo_pages_render(demo: None, resident: Client) -> None:
    for dataset in Dataset.objects.all()[:60]:
        assert resident.get(dataset.get_absolute_url()).status_code == 200, dataset.name


def test_demo_standard_datasets_went_through_the_publish_pipeline(demo: None) -> None:
    """Checked against their standards as staff's uploads are: the fifth star, the
    checklist's "conforms" and the harvest tags rest on a real check; dated as written."""
    from machi.publish import checklist, quality
    from machi.publish.models import Run

    written = json.loads((DEMO_DIR / "catalog.json").read_text(encoding="utf-8"))
    dates = {d["name"]: d.get("modified") for d in written["datasets"] if d.get("standard")}
    following = list(Dataset.objects.exclude(standard="").order_by("name"))
    assert sorted(d.name for d in following) == sorted(dates)
    for dataset in following:
        run = Run.objects.get(dataset=dataset)
        assert (run.status, run.error_count) == ("published", 0), dataset.name
        assert run.version.resource.current == run.version
        assert "自治体標準ODS" in dataset.tags.values_list("name", flat=True)
        if dates[dataset.name]:
            assert dataset.modified == datetime.datetime.fromisoformat(dates[dataset.name])
            news = News.objects.get(dataset=dataset, kind="update")
            assert news.published_at == dataset.modified
    assert {q.stars for q in quality.scores(following)} == {5}
    published = [e for e in checklist.checklist() if e.datasets]
    assert published and {e.conformance for e in published} == {"conforms"}
