"""English pages: search words in singular or plural, and Japanese text marked as such."""

from collections.abc import Callable

import pytest
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset
from machi.catalog.search import _english_forms

pytestmark = pytest.mark.django_db


def test_singular_and_plural_find_the_same_datasets(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    """/dataset/?q=toilet found nothing while "toilets" found two."""
    make_dataset(kikaku, "toilets", "公衆トイレ一覧", title_en="Public toilets")
    make_dataset(kikaku, "libraries", "図書館一覧", title_en="Libraries")
    make_dataset(kikaku, "shelter", "避難所", title_en="Evacuation shelter")

    def found(q: str) -> set[str]:
        response = resident.get("/api/v1/datasets", {"q": q})
        return {d["name"] for d in response.json()["results"]}

    assert found("toilet") == found("toilets") == {"toilets"}
    assert found("library") == {"libraries"}
    assert found("shelters") == {"shelter"}
    assert found("public toilet") == {"toilets"}


def test_english_forms() -> None:
    assert _english_forms("toilets") == ("toilets", "toilet")
    assert _english_forms("library") == ("library", "libraries")
    assert _english_forms("bus") == ("bus", "buses")
    assert _english_forms("boxes") == ("boxes", "box")
    assert _english_forms("保育園") == ("保育園",)
    assert _english_forms("day") == ("day", "days")


def test_japanese_shown_on_an_english_page_is_marked_japanese(
    resident: Client, kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    """WCAG 3.1.2: an English voice read untranslated titles and descriptions as English."""
    make_dataset(kikaku, "aed", "AED設置場所一覧", description="区内のAEDです。")
    make_dataset(kikaku, "toilets", "公衆トイレ一覧", title_en="Public toilets")
    english = resident.get("/dataset/aed/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span lang="ja">AED設置場所一覧</span>' in english
    assert '<div class="description" lang="ja">' in english
    translated = resident.get("/dataset/toilets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1><span>Public toilets</span>" in translated
    japanese = resident.get("/dataset/aed/").content.decode()
    assert 'lang="ja">AED設置場所一覧' not in japanese
