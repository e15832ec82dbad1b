"""Shapes matched field by field against recorded responses of real CKAN sites.

../shared/ckan-fixtures/ (PROVENANCE.md there) holds package_show, package_search,
organization_list and datastore_search answers of CKAN 2.8-2.11 portals. Every key
CKAN's core sets in them must be in machi's answer with a JSON type a client reading
the recorded one would accept. Keys that portals' own extensions add (ckanext-scheming
fields, `revision_id` of CKAN <= 2.8, ...) are not CKAN's contract and are left out.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from machi.catalog.models import Dataset
from machi.datastore import services as datastore

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])

# Keys CKAN 2.10 core returns (ckan/lib/dictization/model_dictize.py and the actions).
PACKAGE_KEYS = {
    "author", "author_email", "creator_user_id", "extras", "groups", "id", "isopen",
    "license_id", "license_title", "license_url", "maintainer", "maintainer_email",
    "metadata_created", "metadata_modified", "name", "notes", "num_resources", "num_tags",
    "organization", "owner_org", "private", "relationships_as_object",
    "relationships_as_subject", "resources", "state", "tags", "title", "type", "url",
    "version",
}  # fmt: skip
RESOURCE_KEYS = {
    "cache_last_updated", "cache_url", "created", "datastore_active", "description",
    "format", "hash", "id", "last_modified", "metadata_modified", "mimetype",
    "mimetype_inner", "name", "package_id", "position", "resource_type", "size", "state",
    "url", "url_type",
}  # fmt: skip
ORGANIZATION_KEYS = {
    "approval_status", "created", "description", "id", "image_url", "is_organization",
    "name", "state", "title", "type",
}  # fmt: skip
ORGANIZATION_LIST_KEYS = ORGANIZATION_KEYS | {
    "display_name", "image_display_url", "num_followers", "package_count",
}  # fmt: skip
TAG_KEYS = {"display_name", "id", "name", "state", "vocabulary_id"}
GROUP_KEYS = {"description", "display_name", "id", "image_display_url", "name", "title"}
SEARCH_KEYS = {"count", "facets", "results", "sort", "search_facets"}
DATASTORE_KEYS = {"include_total", "resource_id", "records_format", "records", "fields",
                  "_links", "total", "limit"}  # fmt: skip

# Values CKAN leaves empty (null) on some sites and fills on others.
NULLABLE = {
    "author", "author_email", "creator_user_id", "maintainer", "maintainer_email", "url",
    "version", "license_url", "cache_last_updated", "cache_url", "last_modified",
    "mimetype", "mimetype_inner", "resource_type", "size", "url_type", "vocabulary_id",
    "created", "description", "hash", "license_id", "license_title",
}  # fmt: skip


def _load(shared_dir: Path, name: str) -> dict[str, Any]:
    data = json.loads((shared_dir / "ckan-fixtures" / name).read_text(encoding="utf-8"))
    return data[0] if isinstance(data, list) else data  # DATA.GO.JP's is wrapped in a list


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(ours: dict[str, Any], theirs: dict[str, Any], keys: set[str], where: str):
    expected = keys & set(theirs)
    missing = expected - set(ours)
    assert not missing, f"{where}: missing {sorted(missing)}"
    for key in sorted(expected):
        mine, recorded = _kind(ours[key]), _kind(theirs[key])
        # CKAN's text columns are nullable: a site may send null where another sends text.
        if {mine, recorded} == {"str", "null"} or (key in NULLABLE and "null" in (mine, recorded)):
            continue
        assert mine == recorded, f"{where}.{key}: machi gives {mine}, CKAN gave {recorded}"


@pytest.fixture
def shown(call: Callable[..., Any], catalog: dict[str, Dataset], site_admin: Any) -> Any:
    resource = catalog["hoikuen"].resources.get()
    datastore.load_version_file(actor=site_admin, version=resource.current)
    return call("package_show", http="get", id="hoikuen")[1]


@pytest.mark.parametrize("fixture", ["package_show-envidat.json", "package_show-datagojp.json"])
def test_package_show_matches_real_ckan(shared_dir: Path, shown: Any, fixture: str) -> None:
    recorded = _load(shared_dir, fixture)
    assert set(shown) >= {"help", "success", "result"} >= set(recorded) - {"help"}
    theirs, ours = recorded["result"], shown["result"]
    assert_same_shape(ours, theirs, PACKAGE_KEYS, "package")
    assert_same_shape(ours["organization"], theirs["organization"], ORGANIZATION_KEYS, "org")
    assert_same_shape(ours["resources"][0], theirs["resources"][0], RESOURCE_KEYS, "resource")
    assert_same_shape(ours["tags"][0], theirs["tags"][0], TAG_KEYS, "tag")
    if theirs["groups"]:
        assert_same_shape(ours["groups"][0], theirs["groups"][0], GROUP_KEYS, "group")
    assert all(set(extra) == {"key", "value"} for extra in ours["extras"])
    # CKAN's timestamps: ISO 8601 without an offset, same length as theirs.
    assert len(ours["metadata_modified"]) == len(theirs["metadata_modified"])
    assert ours["metadata_modified"][:19] > "2000"


@pytest.mark.parametrize(
    "fixture", ["package_search-envidat.json", "package_search-datagovuk.json"]
)
def test_package_search_matches_real_ckan(
    shared_dir: Path, shown: Any, call: Callable[..., Any], fixture: str
) -> None:
    theirs = _load(shared_dir, fixture)["result"]
    params = {"rows": 2}
    if theirs["facets"]:
        params["facet.field"] = json.dumps(list(theirs["facets"]))
    ours = call("package_search", http="get", **params)[1]["result"]
    assert set(ours) == SEARCH_KEYS == set(theirs)
    assert ours["sort"] == theirs["sort"]
    assert_same_shape(ours["results"][0], theirs["results"][0], PACKAGE_KEYS, "result")
    for name in theirs["facets"]:
        assert all(isinstance(n, int) for n in ours["facets"][name].values())
        assert set(ours["search_facets"][name]) == set(theirs["search_facets"][name])
        recorded_item = theirs["search_facets"][name]["items"][0]
        assert set(ours["search_facets"][name]["items"][0]) == set(recorded_item)


@pytest.mark.parametrize(
    "fixture", ["organization_list-envidat.json", "organization_list-datagovuk.json"]
)
def test_organization_list_matches_real_ckan(
    shared_dir: Path, shown: Any, call: Callable[..., Any], fixture: str
) -> None:
    theirs = _load(shared_dir, fixture)["result"]
    detailed = isinstance(theirs[0], dict)
    ours = call("organization_list", http="get", all_fields=detailed)[1]["result"]
    if not detailed:
        assert all(isinstance(name, str) for name in ours)
        return
    assert_same_shape(ours[0], theirs[0], ORGANIZATION_LIST_KEYS, "organization")


@pytest.mark.parametrize(
    "fixture", ["datastore_search-datagovil.json", "datastore_search-gva.json"]
)
def test_datastore_search_matches_real_ckan(
    shared_dir: Path, shown: Any, call: Callable[..., Any], fixture: str
) -> None:
    theirs = _load(shared_dir, fixture)["result"]
    resource_id = shown["result"]["resources"][0]["id"]
    ours = call("datastore_search", http="get", resource_id=resource_id)[1]["result"]
    assert_same_shape(ours, theirs, DATASTORE_KEYS | set(theirs) - {"fields"}, "datastore")
    assert (
        ours["fields"][0]
        == {"id": "_id", "type": "int"}
        == {k: v for k, v in theirs["fields"][0].items() if k in {"id", "type"}}
    )
    assert set(ours["_links"]) == set(theirs["_links"])
    assert all(set(f) >= {"id", "type"} for f in ours["fields"])
