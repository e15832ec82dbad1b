"""The quality score of a dataset: stars, points and the hints that would raise them."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.utils import timezone, translation

from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.catalog.models import Category, Dataset, License
from machi.datastore import services as datastore
from machi.publish.models import Run, RunStatus
from machi.publish.quality import Quality, due_date, is_fresh, quality_context, score, scores
from machi.publish.tests.conftest import published_run

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

AEDS = "名称,住所,緯度,経度\n文京区役所,文京区春日1-16-21,35.7081,139.7525\n"
COMPLETE = {
    "title_en": "AED locations",
    "description": "区内のAED設置箇所。",
    "contact_name": "情報政策課",
    "contact_email": "joho@example.jp",
    "update_frequency": "MONTHLY",
    "temporal_start": datetime.date(2024, 4, 1),
    "tags": ["AED"],
    "categories": ["bousai"],
}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Hints are asserted in English, the msgids; Japanese comes from the catalog.
    with translation.override("en"):
        yield


@pytest.fixture
def attach(site_admin: User) -> Callable[..., None]:
    def add(dataset: Dataset, filename: str, content: bytes = b"a,b\n1,2\n") -> None:
        catalog.add_resource(
            actor=site_admin,
            dataset=dataset,
            name=filename,
            upload=SimpleUploadedFile(filename, content),
        )

    return add


def load(site_admin: User, dataset: Dataset) -> None:
    for resource in dataset.resources.all():
        datastore.load_version_file(actor=site_admin, version=resource.current)


def fresh_score(dataset: Dataset, **kwargs: Any) -> Quality:
    return score(Dataset.objects.get(pk=dataset.pk), **kwargs)


def criterion(quality: Quality, key: str) -> Any:
    return next(c for c in quality.criteria if c.key == key)


def test_pdf_only_dataset_has_one_star_and_is_told_to_publish_csv(
    make_dataset: Callable[..., Dataset], kikaku: Department, attach: Callable[..., None]
) -> None:
    dataset = make_dataset(kikaku, "aed-pdf", "AED一覧")
    attach(dataset, "aed.pdf", b"%PDF-1.4\n")

    quality = fresh_score(dataset)

    assert quality.stars == 1
    assert quality.stars_text == "★☆☆☆☆"
    assert not criterion(quality, "machine_readable").met
    assert "CSV" in criterion(quality, "machine_readable").hint
    gains = [c.gain for c in quality.unmet]
    assert gains == sorted(gains, reverse=True)  # what is worth most comes first
    # Only the next star is a step up; the ones above it add nothing yet.
    assert {"open_format", "api", "linked"}.isdisjoint(c.key for c in quality.unmet)


def test_stars_climb_from_excel_to_csv_to_table_to_standard(
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    attach: Callable[..., None],
    site_admin: User,
) -> None:
    excel = make_dataset(kikaku, "aed-xlsx", "AED一覧（Excel）")
    attach(excel, "aed.xlsx", b"PK\x03\x04")
    csv = make_dataset(kikaku, "aed-csv", "AED一覧（CSV）", csv=AEDS)
    table = make_dataset(kikaku, "aed-table", "AED一覧（API）", csv=AEDS)
    load(site_admin, table)
    standard = make_dataset(kikaku, "aed-standard", "AED設置箇所一覧", csv=AEDS, standard="aed")
    load(site_admin, standard)
    # Claiming a standard is not following it: the publish pipeline has to check the file.
    assert fresh_score(standard).stars == 4
    assert "checked against the standard" in criterion(fresh_score(standard), "linked").hint
    published_run(standard, errors=0)

    assert [fresh_score(d).stars for d in (excel, csv, table, standard)] == [2, 3, 4, 5]
    assert criterion(fresh_score(excel), "open_format").hint.startswith("Publish a CSV version")
    assert "API" in criterion(fresh_score(csv), "api").hint
    assert "national standard" in criterion(fresh_score(table), "linked").hint
    assert criterion(fresh_score(standard), "linked").met


def test_a_standard_without_a_table_stops_at_three_stars(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED設置箇所一覧", csv=AEDS, standard="aed")

    quality = fresh_score(dataset)

    assert quality.stars == 3
    assert not criterion(quality, "api").met


def test_rdf_links_the_data_without_a_standard(
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    attach: Callable[..., None],
    site_admin: User,
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED一覧", csv=AEDS)
    load(site_admin, dataset)
    attach(dataset, "aed.ttl", b"<a> <b> <c> .\n")

    assert fresh_score(dataset).stars == 5


def test_a_closed_license_has_no_stars_and_says_which_license_to_choose(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    closed = License.objects.get(slug="other-closed")
    dataset = make_dataset(kikaku, "aed", "AED一覧", csv=AEDS, license=closed)

    quality = fresh_score(dataset)

    assert quality.stars == 0
    assert "CC BY 4.0" in criterion(quality, "license").hint
    # On the web, machine-readable and in an open format, but none of it counts: an
    # open license would add its own 15 points and the three stars it unlocks.
    assert [criterion(quality, key).met for key in ("online", "open_format")] == [True, True]
    assert [criterion(quality, key).earned for key in ("online", "open_format")] == [0, 0]
    license = criterion(quality, "license")
    assert (quality.unmet[0], license.gain) == (license, 15 + 3 * 6)
    assert quality.points == sum(c.earned for c in quality.criteria)


def test_a_bare_dataset_scores_its_license_and_nothing_else(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    dataset = make_dataset(kikaku, "bare", "空のデータセット")

    quality = fresh_score(dataset)

    # An open license (15) and an irregular frequency, which is never out of date (10).
    assert (quality.stars, quality.points) == (0, 25)
    hints = {c.key: c.hint for c in quality.unmet}
    assert hints["online"] == "Add the data as a file or a link."
    assert hints["description"].startswith("Describe what the data contains")
    assert hints["frequency"].startswith("It is set to irregular")
    assert hints["title_en"].startswith("Add an English title")
    assert {"tags", "categories", "contact", "period", "open_formats"} <= hints.keys()
    assert "machine_readable" not in hints
    assert not criterion(quality, "fresh").hint


def test_a_complete_conforming_dataset_scores_100(
    make_dataset: Callable[..., Dataset], kikaku: Department, site_admin: User
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED設置箇所一覧", csv=AEDS, standard="aed", **COMPLETE)
    load(site_admin, dataset)
    published_run(dataset, errors=0)

    quality = fresh_score(dataset)

    assert (quality.stars, quality.points, quality.unmet) == (5, 100, [])
    assert all(c.hint == "" for c in quality.criteria)


def test_conformance_follows_the_version_served(
    make_dataset: Callable[..., Dataset], kikaku: Department, site_admin: User
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED設置箇所一覧", csv=AEDS, standard="aed")
    assert "publish page" in criterion(fresh_score(dataset), "conformance").hint

    clean = published_run(dataset, errors=0)
    assert criterion(fresh_score(dataset), "conformance").met

    with_errors = published_run(dataset, errors=3)
    Run.objects.create(dataset=dataset, filename="draft.xlsx", status=RunStatus.REVIEW)
    conformance = criterion(fresh_score(dataset), "conformance")
    assert not conformance.met
    assert "published with 3 errors" in conformance.hint
    assert fresh_score(dataset).stars == 4

    # A roll-back serves the earlier check's verdict, both ways.
    catalog.make_current(actor=site_admin, version=clean.version)
    assert criterion(fresh_score(dataset), "conformance").met
    assert fresh_score(dataset).stars == 5
    catalog.make_current(actor=site_admin, version=with_errors.version)
    assert not criterion(fresh_score(dataset), "conformance").met


def test_conformance_needs_a_standard(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED一覧", csv=AEDS)
    published_run(dataset, errors=0)

    conformance = criterion(fresh_score(dataset), "conformance")

    assert not conformance.met
    assert "national standard" in conformance.hint


def test_a_monthly_dataset_goes_out_of_date_after_45_days(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    modified = timezone.now()
    dataset = make_dataset(kikaku, "aed", "AED一覧", update_frequency="MONTHLY", modified=modified)

    assert due_date(dataset) == modified + datetime.timedelta(days=45)
    on_time = fresh_score(dataset, now=modified + datetime.timedelta(days=44))
    late = fresh_score(dataset, now=modified + datetime.timedelta(days=46))

    assert criterion(on_time, "fresh").met
    assert not criterion(late, "fresh").met
    assert on_time.points - late.points == 10
    due = timezone.localdate(modified + datetime.timedelta(days=45)).isoformat()
    assert f"updated monthly and was due by {due}" in criterion(late, "fresh").hint


def test_a_wording_edit_does_not_make_old_data_up_to_date(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    """Freshness follows the served file: changing only the English title had made a
    monthly dataset whose file was 60 days old count as up to date."""
    from machi.catalog.models import ResourceVersion

    now = timezone.now()
    dataset = make_dataset(
        kikaku, "aed", "AED一覧", update_frequency="MONTHLY", modified=now, csv="名称\nA\n"
    )
    filed = now - datetime.timedelta(days=60)
    ResourceVersion.objects.filter(resource__dataset=dataset).update(created=filed)
    assert not criterion(fresh_score(dataset, now=now), "fresh").met
    assert due_date(Dataset.objects.get(pk=dataset.pk)) == filed + datetime.timedelta(days=45)


def test_irregular_and_never_updated_datasets_are_never_out_of_date(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    old = timezone.now() - datetime.timedelta(days=3650)
    irregular = make_dataset(kikaku, "old", "古いデータ", modified=old)
    never = make_dataset(kikaku, "census", "国勢調査", update_frequency="NEVER", modified=old)

    assert due_date(irregular) is None and is_fresh(irregular)
    assert is_fresh(never)


def test_open_formats_count_by_share_and_name_the_closed_files(
    make_dataset: Callable[..., Dataset], kikaku: Department, attach: Callable[..., None]
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED一覧", csv=AEDS)
    all_open = fresh_score(dataset)
    attach(dataset, "aed.xlsx", b"PK\x03\x04")

    mixed = fresh_score(dataset)

    assert criterion(all_open, "open_formats").met
    assert not criterion(mixed, "open_formats").met
    assert "aed.xlsx (XLSX)" in criterion(mixed, "open_formats").hint
    assert all_open.points - mixed.points == 5  # half the files are open


def test_metadata_criteria_are_met_one_by_one(
    make_dataset: Callable[..., Dataset], kikaku: Department, site_admin: User
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED一覧", contact_name="情報政策課")
    assert not criterion(fresh_score(dataset), "contact").met  # no way to reach them

    catalog.update_dataset(
        actor=site_admin,
        dataset=dataset,
        contact_phone="03-3812-7111",
        tags=["AED"],
        categories=[Category.objects.get(slug="bousai")],
    )
    quality = fresh_score(dataset)

    assert criterion(quality, "contact").met
    assert criterion(quality, "tags").met
    assert criterion(quality, "categories").met


def test_scoring_many_datasets_takes_as_many_queries_as_one(
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    site_admin: User,
    django_assert_num_queries: Any,
) -> None:
    for n in range(3):
        dataset = make_dataset(kikaku, f"aed-{n}", f"AED一覧{n}", csv=AEDS, standard="aed")
        load(site_admin, dataset)
        published_run(dataset, errors=n)
    one = list(Dataset.objects.all()[:1])
    three = list(Dataset.objects.all())

    with django_assert_num_queries(6):  # license, tags, categories, resources, tables, runs
        scores(one)
    with django_assert_num_queries(6):
        qualities = scores(three)

    assert sorted(q.points for q in qualities)[0] < sorted(q.points for q in qualities)[-1]


def test_the_fragment_shows_stars_as_text_with_a_label_and_the_hints(
    make_dataset: Callable[..., Dataset], kikaku: Department, attach: Callable[..., None]
) -> None:
    dataset = make_dataset(kikaku, "aed-pdf", "AED一覧")
    attach(dataset, "aed.pdf", b"%PDF-1.4\n")

    html = render_to_string("publish/_quality.html", quality_context(dataset))

    assert 'role="img" aria-label="1 of 5 stars on the open data scale"' in html
    assert "★☆☆☆☆ 1/5" in html
    assert "not only as PDF, Word or images" in html
    assert "What would raise it" in html
    # Each row says what it earns now: a PDF is on the web (a star) but no machine-readable file.
    assert "<td>On the web (1 star)</td><td>✓ yes</td><td>6 of 6</td>" in html
    assert "<td>Machine-readable (2 stars)</td><td>✗ no</td><td>0 of 6" in html


def test_the_fragment_says_a_star_met_counts_only_with_an_open_license(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    closed = License.objects.get(slug="other-closed")
    dataset = make_dataset(kikaku, "aed", "AED一覧", csv=AEDS, license=closed)
    with translation.override("ja"):
        html = render_to_string("publish/_quality.html", quality_context(dataset))
    assert "☆☆☆☆☆ 0/5" in html
    assert "<td>機械判読可能（星2つ）</td><td>✓ はい</td><td>0 / 6 点 <span" in html
    assert "それより前の星がそろうと加点されます" in html
    assert "（+33 点）" in html  # the license: its 15 points and three stars


def test_a_standard_published_over_its_errors_earns_no_fifth_star(
    make_dataset: Callable[..., Dataset], kikaku: Department, site_admin: User
) -> None:
    dataset = make_dataset(kikaku, "aed", "AED設置箇所一覧", csv=AEDS, standard="aed", **COMPLETE)
    load(site_admin, dataset)
    published_run(dataset, errors=284)  # an administrator's override
    assert fresh_score(dataset).stars == 4
    published_run(dataset, errors=0)
    assert fresh_score(dataset).stars == 5
