"""The search examples of the foundation issue, on whichever database runs the suite."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction

from machi.accounts.models import Department
from machi.catalog import services
from machi.catalog.models import Dataset, GlossaryEntry, SynonymSet, Tag
from machi.catalog.queries import Filters, search_datasets
from machi.catalog.search import facet_index

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(
    kikaku: Department, bousai: Department, make_dataset: Callable[..., Dataset]
) -> dict[str, Dataset]:
    return {
        "hoikuen": make_dataset(
            kikaku,
            "hoikuen",
            "区立・私立認可保育園一覧",
            description="区内の認可保育園の所在地と定員です。",
            tags=["子育て・教育"],
            categories=["kosodate"],
            csv="名称,所在地\n本郷保育園,本郷一丁目\n",
        ),
        "shelter": make_dataset(
            bousai,
            "hinanjo",
            "避難所一覧",
            description="災害時に開設する避難所の一覧です。",
            tags=["防災/避難所"],
            categories=["bousai"],
        ),
        "aed": make_dataset(
            bousai, "aed", "AED設置場所一覧", title_en="AED locations", tags=["防災/救命"]
        ),
        "wifi": make_dataset(
            kikaku,
            "wifi",
            "公衆無線LAN設置場所",
            description="区施設で使える無料の公衆無線LANです。",
        ),
        "bicycle": make_dataset(
            kikaku,
            "bicycle",
            "自転車駐車場一覧",
            description="区営の自転車駐車場の所在地と収容台数です。",
        ),
        "population": make_dataset(
            kikaku,
            "population",
            "人口（町丁別）",
            title_en="Population by town",
            tags=["人口（町丁別）"],
        ),
        "events": make_dataset(
            kikaku,
            "events",
            "イベント一覧",
            title_en="Events",
            description="区主催のイベント情報です。",
        ),
    }


def names(q: str, **filters: list[str]) -> list[str]:
    return [d.name for d in search_datasets(q=q, filters=Filters(**filters)).datasets]


def test_hoiku_finds_the_nursery_datasets(catalog: dict[str, Dataset]) -> None:
    assert names("保育") == ["hoikuen"]


def test_shelter_found_in_kana_and_kanji(catalog: dict[str, Dataset]) -> None:
    assert "hinanjo" in names("避難所")
    assert names("ひなんじょ") == names("避難所")


def test_aed_found_in_full_width_and_lower_case(catalog: dict[str, Dataset]) -> None:
    assert names("ＡＥＤ") == ["aed"]
    assert names("aed") == ["aed"]


def test_public_wireless_lan_and_wifi_are_synonyms(catalog: dict[str, Dataset]) -> None:
    assert names("Wi-Fi") == ["wifi"]
    assert names("公衆無線LAN") == ["wifi"]


def test_churinjo_finds_bicycle_parking_through_editable_synonyms(
    catalog: dict[str, Dataset],
) -> None:
    assert names("駐輪場") == ["bicycle"]
    SynonymSet.objects.filter(terms__contains="駐輪場").delete()
    assert names("駐輪場") == []


def test_english_words_match_english_titles(catalog: dict[str, Dataset]) -> None:
    assert names("population") == ["population"]
    assert names("Events") == ["events"]


def test_english_queries_reach_japanese_only_metadata_through_the_glossary(
    catalog: dict[str, Dataset],
) -> None:
    assert names("nursery") == ["hoikuen"]
    assert names("evacuation") == ["hinanjo"]
    assert names("bicycle parking") == ["bicycle"]


def test_staff_extend_the_glossary(catalog: dict[str, Dataset]) -> None:
    assert names("defibrillator") == []
    GlossaryEntry.objects.create(english="defibrillator", japanese="AED")
    assert names("defibrillator") == ["aed"]


def test_title_outranks_description(
    catalog: dict[str, Dataset], kikaku: Department, make_dataset: Callable[..., Dataset]
) -> None:
    make_dataset(kikaku, "kodomo", "子ども施設一覧", description="保育園を含む子ども施設です。")
    assert names("保育園") == ["hoikuen", "kodomo"]


def test_tags_with_japanese_punctuation_are_kept_and_filterable(
    catalog: dict[str, Dataset],
) -> None:
    assert names("", tag=["防災/避難所"]) == ["hinanjo"]
    assert names("", tag=["人口（町丁別）"]) == ["population"]
    assert names("", tag=["子育て・教育"]) == ["hoikuen"]


def test_facets_count_matching_datasets(catalog: dict[str, Dataset]) -> None:
    result = search_datasets(q="一覧")
    departments = {f.value: f.count for f in result.facets["department"]}
    assert departments == {"kikaku": 3, "bousai": 2}
    formats = {f.value: f.count for f in result.facets["format"]}
    assert formats == {"CSV": 1}
    assert {f.value for f in result.facets["license"]} == {"cc-by-4.0"}


def test_filters_narrow_a_query(catalog: dict[str, Dataset]) -> None:
    assert sorted(names("一覧", department=["bousai"])) == ["aed", "hinanjo"]
    assert names("一覧", format=["CSV"]) == ["hoikuen"]
    assert names("", category=["bousai"]) == ["hinanjo"]


def test_filters_combine_values_of_a_field_with_or_and_fields_with_and(
    catalog: dict[str, Dataset],
) -> None:
    tags = ["防災/救命", "子育て・教育"]
    assert sorted(names("一覧", department=["bousai", "kikaku"], tag=tags)) == ["aed", "hoikuen"]
    assert names("一覧", department=["bousai"], tag=tags) == ["aed"]
    assert names("", tag=["no such tag"]) == []


def test_filter_groups_must_all_match_and_excluded_values_leave_datasets_out(
    catalog: dict[str, Dataset],
) -> None:
    """The CKAN API's fq: tags:a AND tags:b, organization:a OR tags:b, -organization:a."""

    def found(q: str = "", **filters: Any) -> list[str]:
        return sorted(d.name for d in search_datasets(q=q, filters=Filters(**filters)).datasets)

    bousai = ("department", "bousai")
    assert found(any_of=[[bousai], [("category", "bousai")]]) == ["hinanjo"]
    assert found(any_of=[[bousai], [("department", "kikaku")]]) == []
    assert found(any_of=[[bousai, ("tag", "子育て・教育")]]) == ["aed", "hinanjo", "hoikuen"]
    assert found(any_of=[[]]) == []  # no value to have (an unknown organization)
    assert found(none_of=[("department", "kikaku")]) == ["aed", "hinanjo"]
    assert found(department=["bousai"], none_of=[("tag", "防災/救命")]) == ["hinanjo"]
    assert found("避難所", none_of=[bousai]) == []
    assert found("保育園", none_of=[bousai]) == ["hoikuen"]


def test_counts_follow_what_the_user_may_see(
    catalog: dict[str, Dataset],
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
    editor,  # type: ignore[no-untyped-def]
) -> None:
    make_dataset(kikaku, "draft", "保育園の空き状況", is_public=False, tags=["子育て・教育"])

    def counts(user) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
        result = search_datasets(filters=Filters(tag=["子育て・教育"]), user=user)
        return result.count, {f.value: f.count for f in result.facets["department"]}

    assert counts(None) == (1, {"kikaku": 1})
    assert counts(editor) == (2, {"kikaku": 2})


def test_sort_by_title_and_by_update(catalog: dict[str, Dataset]) -> None:
    by_title = [d.title for d in search_datasets(sort="title").datasets]
    assert by_title == sorted(by_title)
    newest = search_datasets(sort="modified").datasets
    assert [d.modified for d in newest] == sorted((d.modified for d in newest), reverse=True)


def test_private_datasets_are_not_found_by_residents(
    catalog: dict[str, Dataset],
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
    editor,
    outsider,  # type: ignore[no-untyped-def]
) -> None:
    make_dataset(kikaku, "draft", "保育園の空き状況（準備中）", is_public=False)
    assert "draft" not in names("保育園")
    assert "draft" in [d.name for d in search_datasets(q="保育園", user=editor).datasets]
    assert "draft" not in [d.name for d in search_datasets(q="保育園", user=outsider).datasets]


def test_index_follows_edits_in_the_same_transaction(
    catalog: dict[str, Dataset],
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    from machi.catalog import services

    services.update_dataset(actor=site_admin, dataset=catalog["events"], title="催し物一覧")
    assert names("催し物") == ["events"]
    services.delete_dataset(actor=site_admin, dataset=catalog["events"])
    assert names("催し物") == []


def test_pagination(kikaku: Department, make_dataset: Callable[..., Dataset]) -> None:
    for i in range(25):
        make_dataset(kikaku, f"park-{i}", f"公園一覧 {i}")
    first = search_datasets(q="公園", page=1)
    second = search_datasets(q="公園", page=2)
    assert first.count == 25 and first.pages == 2
    assert len(first.datasets) == 20 and len(second.datasets) == 5
    assert not {d.pk for d in first.datasets} & {d.pk for d in second.datasets}


def test_queries_of_symbols_only_do_not_fail(catalog: dict[str, Dataset]) -> None:
    for q in ['"', "'", "(", "AND", "OR NOT", "*", "\\", "の", "：", "NEAR(a b)"]:
        search_datasets(q=q)


def test_a_query_sorts_by_update_and_title_too(
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    import datetime

    base = datetime.datetime(2026, 1, 1, 9, 0, 0, tzinfo=datetime.UTC)
    for i, when in enumerate(
        [base, base + datetime.timedelta(microseconds=500_000), base + datetime.timedelta(days=3)]
    ):
        make_dataset(kikaku, f"park-{i}", f"公園一覧 {'ウアイ'[i]}", modified=when)
    newest = search_datasets(q="公園", sort="modified").datasets
    assert [d.name for d in newest] == ["park-2", "park-1", "park-0"]
    by_title = search_datasets(q="公園", sort="title", user=site_admin).datasets
    assert [d.name for d in by_title] == ["park-1", "park-2", "park-0"]  # ア, イ, ウ


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_facet_index_is_kept_per_catalog_version(
    kikaku: Department,
    make_dataset: Callable[..., Dataset],
    site_admin,  # type: ignore[no-untyped-def]
) -> None:
    park = make_dataset(kikaku, "park", "公園一覧", tags=["公園"])
    kept = facet_index()
    assert facet_index() is kept
    assert names("公園", tag=["公園"]) == ["park"]

    services.update_dataset(actor=site_admin, dataset=park, tags=["みどり"])
    assert facet_index() is not kept
    assert names("公園", tag=["公園"]) == []
    assert names("", tag=["みどり"]) == ["park"]
    services.update_dataset(actor=site_admin, dataset=park, is_public=False)
    assert names("公園") == []

    kept = facet_index()
    cache.clear()
    assert facet_index() is not kept
    # A version read inside a transaction may be rolled back and reused.
    with transaction.atomic():
        assert facet_index() is not facet_index()


def test_deleting_a_tag_takes_it_out_of_filters_and_facets(
    catalog: dict[str, Dataset], site_admin: Any
) -> None:
    tag = Tag.objects.get(name="防災/避難所")
    services.delete_vocabulary(actor=site_admin, obj=tag)
    assert names("", tag=["防災/避難所"]) == []
    assert "防災/避難所" not in {f.value for f in search_datasets(q="").facets["tag"]}
