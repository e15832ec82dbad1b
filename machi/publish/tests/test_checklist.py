"""The standard-dataset checklist: statuses, its JSON, and the staff dashboard."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path
from django.utils import timezone

import machi.urls
from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Dataset
from machi.publish import checklist as checklist_module
from machi.publish import dashboard, quality, standards
from machi.publish.checklist import MISSING, OUT_OF_DATE, PUBLISHED, checklist
from machi.publish.tests.conftest import published_run

# The lead routes these in machi/urls.py and machi/publish/urls.py; until then, here.
urlpatterns = [
    path("staff/publish/dashboard", dashboard.dashboard, name="publish_dashboard"),
    path("standard-datasets.json", dashboard.checklist_json, name="standard_datasets"),
    *machi.urls.urlpatterns,
]

pytestmark = [pytest.mark.django_db(databases=["default", "datastore"]), pytest.mark.urls(__name__)]

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
AEDS = "名称,住所,緯度,経度\n文京区役所,文京区春日1-16-21,35.7081,139.7525\n"


@dataclass(frozen=True)
class FakeStandard:
    slug: str
    title: str
    title_en: str = ""


FAKES = [
    FakeStandard("aed", "AED設置箇所一覧", "AED locations"),
    FakeStandard("hospital", "医療機関一覧", "Medical institutions"),
    FakeStandard("toilet-2026", "公衆トイレ一覧", "Public toilets"),
    FakeStandard("toilet", "公衆トイレ一覧", "Public toilets"),
    FakeStandard("wifi", "公衆無線LANアクセスポイント一覧"),
]


@pytest.fixture
def fake_standards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checklist_module, "all_standards", lambda: FAKES)


@pytest.fixture
def ward(
    fake_standards: None,
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    bousai: Department,
) -> dict[str, Dataset]:
    """AED fresh, hospitals stale, toilets only in private and under the new edition."""
    now = timezone.now()
    return {
        "aed": make_dataset(
            kikaku, "aed", "AED設置箇所", standard="aed", update_frequency="MONTHLY", modified=now
        ),
        "hospital": make_dataset(
            bousai,
            "hospitals",
            "医療機関",
            standard="hospital",
            update_frequency="MONTHLY",
            modified=now - datetime.timedelta(days=60),
        ),
        "toilet": make_dataset(
            kikaku,
            "toilets",
            "公衆トイレ",
            standard="toilet-2026",
            update_frequency="ANNUAL",
            modified=now - datetime.timedelta(days=10),
        ),
        "wifi-draft": make_dataset(kikaku, "wifi", "Wi-Fi", standard="wifi", is_public=False),
    }


def by_slug(entries: list[checklist_module.Entry]) -> dict[str, checklist_module.Entry]:
    return {entry.slug: entry for entry in entries}


def test_each_standard_is_published_out_of_date_or_missing(ward: dict[str, Dataset]) -> None:
    entries = by_slug(checklist())

    assert {slug: e.status for slug, e in entries.items()} == {
        "aed": PUBLISHED,
        "hospital": OUT_OF_DATE,
        "toilet": PUBLISHED,  # the 2026 edition counts for 公衆トイレ一覧
        "wifi": MISSING,  # a private dataset publishes nothing
    }
    assert entries["toilet"].slugs == ("toilet-2026", "toilet")
    assert entries["aed"].datasets == [ward["aed"]]
    assert entries["aed"].last_update == ward["aed"].modified
    assert entries["aed"].due == ward["aed"].modified + datetime.timedelta(days=45)
    assert entries["wifi"].datasets == []
    assert entries["wifi"].last_update is None and entries["wifi"].due is None


def test_a_published_standard_goes_out_of_date_when_its_due_date_passes(
    ward: dict[str, Dataset],
) -> None:
    later = timezone.now() + datetime.timedelta(days=46)

    assert by_slug(checklist(now=later))["aed"].status == OUT_OF_DATE


def test_one_fresh_dataset_keeps_a_standard_published(
    ward: dict[str, Dataset], make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    make_dataset(kikaku, "hospitals-2", "医療機関（新）", standard="hospital")

    entry = by_slug(checklist())["hospital"]

    assert entry.status == PUBLISHED
    assert entry.due is None  # an irregular dataset has no due date
    assert [d.name for d in entry.datasets] == ["hospitals-2", "hospitals"]


def test_each_published_standard_says_whether_it_was_checked_and_conforms(
    ward: dict[str, Dataset],
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
    client_for: Callable[[User], Client],
    editor: User,
) -> None:
    """Published over errors counts as published, but says so, as its quality score does
    (no fifth star); a list the pipeline never checked says that too."""
    published_run(ward["aed"], errors=0)
    clean = published_run(ward["hospital"], errors=0)
    published_run(ward["hospital"], errors=3)  # the version served now
    entries = by_slug(checklist())

    assert (entries["aed"].conformance, entries["aed"].errors) == ("conforms", 0)
    assert (entries["hospital"].conformance, entries["hospital"].errors) == ("errors", 3)
    assert entries["toilet"].conformance == "unchecked" and entries["toilet"].errors is None
    assert entries["wifi"].conformance is None
    [hospital] = quality.scores([ward["hospital"]])
    assert hospital.stars < 5

    html = client_for(editor).get("/staff/publish/dashboard").content.decode()
    assert "標準に適合" in html
    assert "エラー 3 件のまま公開" in html
    assert "未検査（データの公開ページから公開すると検査されます）" in html
    data = client_for(editor).get("/standard-datasets.json").json()
    hospital_json = next(e for e in data["standards"] if e["slug"] == "hospital")
    assert hospital_json["conformance"] == "errors"
    assert hospital_json["errors_against_standard"] == 3
    services.make_current(actor=User.objects.get(username="admin"), version=clean.version)
    assert by_slug(checklist())["hospital"].conformance == "conforms"


def test_the_real_standards_are_all_listed(db: None) -> None:
    assert standards.all_standards()  # machi/publish/standards/*.json
    entries = checklist()

    titles = {s.title for s in standards.all_standards()}
    assert len(entries) == len(titles)
    assert {e.status for e in entries} == {MISSING}
    assert "aed" in {e.slug for e in entries}


def test_the_real_standards_see_a_published_aed_list(
    make_dataset: Callable[..., Dataset], kikaku: Department
) -> None:
    make_dataset(kikaku, "aed", "AED設置箇所一覧", standard="aed", csv=AEDS)

    assert by_slug(checklist())["aed"].status == PUBLISHED


def test_the_checklist_json_shows_public_datasets_to_anyone(
    resident: Client, ward: dict[str, Dataset]
) -> None:
    response = resident.get("/standard-datasets.json", **ENGLISH)

    assert response.status_code == 200
    data = response.json()
    assert data["counts"] == {PUBLISHED: 2, OUT_OF_DATE: 1, MISSING: 1}
    entries = {e["slug"]: e for e in data["standards"]}
    assert entries["hospital"]["status"] == "out-of-date"
    assert entries["hospital"]["status_label"] == "Out of date"
    assert entries["toilet"]["editions"] == ["toilet-2026", "toilet"]
    assert entries["wifi"]["datasets"] == []
    [aed] = entries["aed"]["datasets"]
    assert aed["name"] == "aed"
    assert aed["url"] == "http://testserver/dataset/aed/"
    assert aed["update_frequency"] == "MONTHLY"
    assert aed["fresh"] is True
    assert aed["due"] == entries["aed"]["due"]
    assert datetime.datetime.fromisoformat(aed["modified"]) == ward["aed"].modified
    assert "Wi-Fi" not in response.content.decode()


def test_the_dashboard_sends_anonymous_visitors_to_sign_in(resident: Client) -> None:
    response = resident.get("/staff/publish/dashboard")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_dashboard_is_for_staff_not_api_developers(
    client_for: Callable[[User], Client], db: None
) -> None:
    developer = User.objects.create_user("developer", password="correct horse battery")

    response = client_for(developer).get("/staff/publish/dashboard")

    assert response.status_code == 302


def test_staff_see_the_checklist_and_their_datasets_lowest_first(
    client_for: Callable[[User], Client],
    editor: User,
    ward: dict[str, Dataset],
    make_dataset: Callable[..., Dataset],
    kikaku: Department,
) -> None:
    make_dataset(kikaku, "tidy", "整ったデータ", csv=AEDS, description="説明", title_en="Tidy")

    response = client_for(editor).get("/staff/publish/dashboard", **ENGLISH)

    assert response.status_code == 200
    html = response.content.decode()
    assert "AED locations" in html
    assert "✓</span> Published" in html
    assert "!</span> Out of date" in html
    assert "✗</span> Missing" in html
    assert 'href="/standard-datasets.json"' in html
    scored = [dataset.name for dataset, _ in response.context["scored"]]
    # 情報政策課's datasets (private ones too), not 防災課's hospitals.
    assert set(scored) == {"aed", "toilets", "wifi", "tidy"}
    points = [quality.points for _, quality in response.context["scored"]]
    assert points == sorted(points)
    assert scored[-1] == "tidy"
    assert "Add the data as a file or a link." in html
    assert 'aria-label="3 of 5 stars on the open data scale">★★★☆☆ 3/5' in html
