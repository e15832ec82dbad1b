"""Read actions through the real URL: envelope, shapes, Japanese search, fq, facets, errors."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from machi.catalog.models import Dataset
from machi.ckan_compat.dicts import derived_id

pytestmark = pytest.mark.django_db


def test_status_show_answers_in_the_ckan_envelope(call: Callable[..., Any]) -> None:
    status, body = call("status_show", http="get")
    assert status == 200
    assert set(body) == {"help", "success", "result"}
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=status_show")
    assert body["result"]["ckan_version"].startswith("2.10")
    assert "datastore" in body["result"]["extensions"]


def test_unversioned_path_and_api_root_answer() -> None:
    client = Client()
    assert client.get("/api/action/site_read").json()["result"] is True
    assert client.get("/api/3").json() == {"version": 3}
    assert client.get("/api/util/status").json()["ckan_version"].startswith("2.10")


def test_package_list_has_public_names_only(call: Callable[..., Any], catalog: Any) -> None:
    status, body = call("package_list", http="get")
    assert body["result"] == ["aed", "hinanjo", "hoikuen"]
    assert call("package_list", http="get", limit=1, offset=1)[1]["result"] == ["hinanjo"]


def test_package_show_by_name_and_by_id(call: Callable[..., Any], catalog: Any) -> None:
    by_name = call("package_show", http="get", id="hoikuen")[1]["result"]
    by_id = call("package_show", http="get", id=by_name["id"])[1]["result"]
    assert by_id == by_name
    assert by_name["title"] == "保育園一覧"
    assert by_name["type"] == "dataset"
    assert by_name["private"] is False
    assert by_name["organization"]["name"] == "kikaku"
    assert by_name["owner_org"] == derived_id("organization", "kikaku")
    assert [t["display_name"] for t in by_name["tags"]] == ["保育", "子育て"]
    assert by_name["num_tags"] == 2
    assert by_name["num_resources"] == 1
    resource = by_name["resources"][0]
    assert resource["format"] == "CSV"
    assert resource["package_id"] == by_name["id"]
    assert resource["url"].startswith("http://testserver/dataset/hoikuen/")
    assert resource["url_type"] == "upload"
    assert by_name["groups"][0]["name"] == "kosodate"
    # CKAN's timestamps carry no offset.
    assert "+" not in by_name["metadata_modified"] and "T" in by_name["metadata_modified"]
    extras = {e["key"]: e["value"] for e in by_name["extras"]}
    assert extras["spatial"] == "文京区"


def test_private_dataset_is_refused_to_anonymous_readers(
    call: Callable[..., Any], catalog: Any, editor: Any, token_for: Callable[..., str]
) -> None:
    status, body = call("package_show", http="get", id="draft-budget")
    assert status == 403
    assert body["success"] is False
    assert body["error"]["__type"] == "Authorization Error"
    status, body = call("package_show", id="draft-budget", token=token_for(editor))
    assert status == 200 and body["result"]["private"] is True


def test_not_found_uses_ckans_type_and_a_japanese_message(
    call: Callable[..., Any], catalog: Any
) -> None:
    status, body = call("package_show", http="get", id="no-such-dataset")
    assert status == 404
    assert body["error"]["__type"] == "Not Found Error"
    assert "no-such-dataset" in body["error"]["message"]


def test_package_search_finds_japanese_words_as_the_site_does(
    call: Callable[..., Any], catalog: Any
) -> None:
    result = call("package_search", http="get", q="保育")[1]["result"]
    assert result["count"] == 1
    assert [r["name"] for r in result["results"]] == ["hoikuen"]
    # Complete records, as harvesters expect (they never call package_show).
    assert result["results"][0]["resources"][0]["format"] == "CSV"
    assert result["sort"] == "score desc, metadata_modified desc"


def test_package_search_fq_field_filters_and_q_field_syntax(
    call: Callable[..., Any], catalog: Any
) -> None:
    by_org = call("package_search", http="get", fq="organization:bousai", rows=10)[1]["result"]
    assert {r["name"] for r in by_org["results"]} == {"aed", "hinanjo"}
    both = call("package_search", fq='+tags:防災 +groups:"bousai"')[1]["result"]
    assert [r["name"] for r in both["results"]] == ["aed"]
    either = call("package_search", fq="tags:(保育 OR 防災)")[1]["result"]
    assert either["count"] == 3
    assert call("package_search", q="tags:保育")[1]["result"]["count"] == 1
    owner = derived_id("organization", "kikaku")
    assert call("package_search", fq=f"owner_org:{owner}")[1]["result"]["count"] == 1
    assert call("package_search", fq="name:aed")[1]["result"]["count"] == 1


def test_package_search_metadata_modified_ranges(
    call: Callable[..., Any], catalog: dict[str, Dataset]
) -> None:
    import datetime

    old = datetime.datetime(2023, 5, 1, tzinfo=datetime.UTC)
    Dataset.objects.filter(name="aed").update(modified=old)
    from machi.catalog.search import index_dataset

    index_dataset(Dataset.objects.get(name="aed"))
    since = call("package_search", fq="metadata_modified:[2024-01-01T00:00:00Z TO *]")
    assert {r["name"] for r in since[1]["result"]["results"]} == {"hinanjo", "hoikuen"}
    before = call("package_search", fq="metadata_modified:[* TO 2024-01-01T00:00:00Z]")
    assert [r["name"] for r in before[1]["result"]["results"]] == ["aed"]
    recent = call("package_search", fq="metadata_modified:[NOW-7DAYS TO NOW]")
    assert recent[1]["result"]["count"] == 2


def test_package_search_rows_start_sort_and_facets(call: Callable[..., Any], catalog: Any) -> None:
    names = [
        call("package_search", rows=1, start=i, sort="title_string asc")[1]["result"]["results"][0][
            "name"
        ]
        for i in range(3)
    ]
    # The catalog's title order (AED, then the kanji by code point), one page at a time.
    assert names == ["aed", "hoikuen", "hinanjo"]
    newest = call("package_search", sort="metadata_modified desc")[1]["result"]["results"]
    oldest = call("package_search", sort="metadata_modified asc")[1]["result"]["results"]
    assert [r["name"] for r in newest] == [r["name"] for r in reversed(oldest)]
    faceted = call("package_search", **{"facet.field": '["organization", "tags"]', "rows": 0})[1][
        "result"
    ]
    assert faceted["results"] == []
    assert faceted["facets"]["organization"] == {"bousai": 2, "kikaku": 1}
    assert faceted["facets"]["tags"]["防災"] == 2
    item = faceted["search_facets"]["organization"]["items"][0]
    assert set(item) == {"count", "display_name", "name"}
    limited = call("package_search", **{"facet.field": '["tags"]', "facet.limit": 1})
    assert len(limited[1]["result"]["facets"]["tags"]) == 1


def test_id_sort_pages_in_creation_order_as_ckan_harvesters_ask(
    call: Callable[..., Any], catalog: Any
) -> None:
    """ckanext-harvest sends sort=id asc and pages with start: a stable order."""
    created = list(Dataset.objects.filter(is_public=True).order_by("id").values_list("name"))
    created = [name for (name,) in created]

    def page(start: int, **extra: Any) -> list[str]:
        result = call("package_search", rows=1, start=start, sort="id asc", **extra)[1]["result"]
        return [r["name"] for r in result["results"]]

    assert [name for i in range(3) for name in page(i)] == created
    # With a range filter (the harvester's incremental runs) the same order holds.
    ranged = [name for i in range(3) for name in page(i, fq="metadata_modified:[* TO *]")]
    assert ranged == created
    newest = call("package_search", sort="id desc")[1]["result"]["results"]
    assert [r["name"] for r in newest] == list(reversed(created))


def test_include_private_shows_the_editors_private_datasets(
    call: Callable[..., Any], catalog: Any, editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    assert call("package_search", token=token)[1]["result"]["count"] == 3
    assert call("package_search", token=token, include_private=True)[1]["result"]["count"] == 4


@pytest.mark.parametrize(
    "params",
    [
        {"fq": "colour:red"},
        {"fq": "metadata_modified:[yesterday TO *]"},
        {"sort": "popularity desc"},
        {"rows": "many"},
        {"facet.field": "organization"},
    ],
)
def test_bad_search_parameters_are_search_query_errors(
    call: Callable[..., Any], catalog: Any, params: dict[str, str]
) -> None:
    status, body = call("package_search", http="get", **params)
    assert status == 400
    assert body["error"]["__type"] == "Search Query Error"
    assert body["error"]["message"]


def test_messages_are_english_when_the_client_asks(call: Callable[..., Any], catalog: Any) -> None:
    status, body = call("package_show", http="get", language="en", id="nothing-here")
    assert body["error"]["message"] == "Dataset not found: nothing-here"


def test_unknown_action_is_a_bad_request(call: Callable[..., Any]) -> None:
    status, body = call("package_fly", http="get")
    assert status == 400
    assert "package_fly" in body["error"]["message"]


def test_resource_show(call: Callable[..., Any], catalog: Any) -> None:
    package = call("package_show", id="hoikuen")[1]["result"]
    resource = call("resource_show", id=package["resources"][0]["id"])[1]["result"]
    assert resource == package["resources"][0]
    assert call("resource_show", id="5e0f0a3c-0000-4000-8000-000000000000")[0] == 404


def test_organizations_groups_tags_licenses(call: Callable[..., Any], catalog: Any) -> None:
    assert call("organization_list")[1]["result"] == ["bousai", "kikaku"]
    full = call("organization_list", all_fields=True)[1]["result"]
    assert full[0]["package_count"] == 2 and full[0]["is_organization"] is True
    shown = call("organization_show", id="kikaku", include_datasets=True)[1]["result"]
    assert shown["title"] == "企画政策部情報政策課"
    assert [p["name"] for p in shown["packages"]] == ["hoikuen"]
    assert "kosodate" in call("group_list")[1]["result"]
    group = call("group_show", id=derived_id("group", "bousai"))[1]["result"]
    assert group["name"] == "bousai" and group["package_count"] == 1
    assert call("tag_list")[1]["result"] == ["保育", "子育て", "防災"]
    tag = call("tag_show", id="防災", include_datasets=True)[1]["result"]
    assert {p["name"] for p in tag["packages"]} == {"aed", "hinanjo"}
    licenses = call("license_list")[1]["result"]
    assert "cc-by-4.0" in [lic["id"] for lic in licenses]


def test_current_package_list_with_resources(call: Callable[..., Any], catalog: Any) -> None:
    result = call("current_package_list_with_resources", limit=2)[1]["result"]
    assert len(result) == 2
    assert all("resources" in package for package in result)


@pytest.mark.parametrize(
    "sort", ["metadata_modified desc", "metadata_modified asc", "title_string desc"]
)
def test_any_start_and_rows_page_through_the_same_order(
    call: Callable[..., Any], catalog: Any, sort: str
) -> None:
    def names(**params: Any) -> list[str]:
        result = call("package_search", sort=sort, **params)[1]["result"]
        return [r["name"] for r in result["results"]]

    everything = names(rows=10)
    assert len(everything) == 3
    for rows in (1, 2, 3):
        for start in range(4):
            assert names(rows=rows, start=start) == everything[start : start + rows]


CKAN_TAG = r"[\w \-.]+"  # CKAN's tag_name_validator: a harvester refuses anything else


def test_tags_are_named_as_a_ckan_stores_them_and_shown_as_written(
    call: Callable[..., Any], catalog: Any, site_admin: Any
) -> None:
    """子育て・教育 and 防災/救命 fail CKAN's tag validator: Tokyo's catalog harvesting ours
    would refuse those datasets. The name is CKAN's, the display_name as written."""
    import re

    from machi.catalog import services

    tags = ["防災", "防災/救命", "子育て・教育"]
    services.update_dataset(actor=site_admin, dataset=catalog["aed"], tags=tags)
    package = call("package_show", id="aed")[1]["result"]
    named = {t["display_name"]: t["name"] for t in package["tags"]}
    assert named == {"防災": "防災", "防災/救命": "防災-救命", "子育て・教育": "子育て-教育"}
    listed = call("tag_list")[1]["result"]
    assert "防災-救命" in listed and all(re.fullmatch(CKAN_TAG, name) for name in listed)
    assert call("tag_show", id="防災-救命")[1]["result"]["display_name"] == "防災/救命"
    found = call("package_search", fq="tags:子育て-教育", **{"facet.field": '["tags"]'})[1]
    assert [p["name"] for p in found["result"]["results"]] == ["aed"]
    facet = found["result"]["search_facets"]["tags"]["items"]
    items = {i["name"]: i["display_name"] for i in facet}
    assert items["子育て-教育"] == "子育て・教育"
    assert call("package_search", fq="tags:子育て・教育")[1]["result"]["count"] == 1
