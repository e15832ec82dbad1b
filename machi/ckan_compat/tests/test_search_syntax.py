"""package_search's Solr syntax as CKAN harvesters send it: OR, exclusions, AND, q fields, rows."""

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from machi.accounts.models import Department
from machi.catalog.models import Dataset, License
from machi.catalog.search import index_dataset
from machi.ckan_compat import search
from machi.ckan_compat.dicts import derived_id

pytestmark = pytest.mark.django_db

# The three public datasets of the `catalog` fixture.
PUBLIC = ["aed", "hinanjo", "hoikuen"]


def names(call: Callable[..., Any], **params: Any) -> list[str]:
    status, body = call("package_search", http="get", rows=1000, **params)
    assert status == 200, body
    return sorted(r["name"] for r in body["result"]["results"])


def refusal(call: Callable[..., Any], **params: Any) -> str:
    status, body = call("package_search", http="get", **params)
    assert status == 400, body
    assert body["error"]["__type"] == "Search Query Error"
    return str(body["error"]["message"])


def harvester_fq(
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    groups: Sequence[str] = (),
    since: str = "",
) -> str:
    """fq as ckanext-harvest's CKANHarvester builds it (gather_stage, _search_for_datasets)."""
    fq_terms = []
    if include:
        fq_terms.append(" OR ".join(f"organization:{org}" for org in include))
    else:
        fq_terms.extend(f"-organization:{org}" for org in exclude)
    if groups:
        fq_terms.append(" OR ".join(f"groups:{group}" for group in groups))
    if since:
        fq_terms.append(f"metadata_modified:[{since}Z TO *]")
    return " ".join(fq_terms)


def test_ckan_harvester_organization_includes_are_alternatives(
    call: Callable[..., Any], catalog: Any
) -> None:
    both = harvester_fq(include=["kikaku", "bousai"])
    assert both == "organization:kikaku OR organization:bousai"
    assert names(call, fq=both, sort="id asc") == PUBLIC
    assert names(call, fq=harvester_fq(include=["bousai", "kanko-kokusai"])) == ["aed", "hinanjo"]
    # Its incremental run adds the date: (either organization) AND modified since.
    since = harvester_fq(include=["kikaku", "kanko-kokusai"], since="2000-01-01T00:00:00")
    assert names(call, fq=since) == ["hoikuen"]
    # Organizations OR-ed, then groups OR-ed, the two ANDed.
    grouped = harvester_fq(include=["kikaku", "bousai"], groups=["bousai", "kurashi"])
    assert names(call, fq=grouped) == ["aed"]


def test_ckan_harvester_organization_excludes_leave_those_out(
    call: Callable[..., Any], catalog: Any
) -> None:
    assert names(call, fq=harvester_fq(exclude=["bousai"])) == ["hoikuen"]
    assert names(call, fq=harvester_fq(exclude=["kanko-kokusai", "bousai"])) == ["hoikuen"]
    assert names(call, fq=harvester_fq(exclude=["kikaku", "bousai"])) == []
    assert names(call, fq=harvester_fq(exclude=["kanko-kokusai"], groups=["bousai"])) == ["aed"]
    found = call(
        "package_search", fq="-organization:bousai", **{"facet.field": '["organization"]'}
    )[1]["result"]
    assert found["count"] == 1
    assert found["facets"]["organization"] == {"kikaku": 1}


def test_every_value_field_can_be_excluded(
    call: Callable[..., Any], catalog: dict[str, Dataset], editor: Any, token_for: Any
) -> None:
    catalog["aed"].license = License.objects.get(slug="cc0-1.0")
    catalog["aed"].save()
    index_dataset(catalog["aed"])
    assert names(call, fq="-groups:bousai") == ["hinanjo", "hoikuen"]
    assert names(call, fq="-groups:(bousai OR kosodate)") == ["hinanjo"]
    assert names(call, fq="-tags:防災") == ["hoikuen"]
    assert names(call, fq="-tags:(防災 OR 保育)") == []
    assert names(call, fq="-res_format:CSV") == ["aed", "hinanjo"]
    assert names(call, fq="-license_id:cc-by-4.0") == ["aed"]
    owner = derived_id("organization", "kikaku")
    assert names(call, fq=f"-owner_org:{owner}") == ["aed", "hinanjo"]
    assert names(call, fq="-name:aed") == ["hinanjo", "hoikuen"]
    assert names(call, fq="-id:(aed OR hinanjo)") == ["hoikuen"]
    assert names(call, fq="-metadata_modified:[NOW-7DAYS TO *]") == []
    assert names(call, fq="-state:active") == []
    assert names(call, fq="-dataset_type:harvest") == PUBLIC
    private = call(
        "package_search", token=token_for(editor), include_private=True, fq="-private:false"
    )[1]["result"]
    assert [r["name"] for r in private["results"]] == ["draft-budget"]
    # An exclusion and an inclusion of the same field: both hold.
    assert names(call, fq="tags:防災 -groups:bousai") == ["hinanjo"]


def test_terms_on_the_same_field_must_all_match(
    call: Callable[..., Any],
    catalog: Any,
    bousai: Department,
    make_dataset: Callable[..., Dataset],
) -> None:
    make_dataset(bousai, "hazard", "洪水ハザードマップ", tags=["防災", "ハザードマップ"])
    assert names(call, fq="tags:防災 tags:ハザードマップ") == ["hazard"]
    assert names(call, fq="+tags:防災 AND +tags:ハザードマップ") == ["hazard"]
    assert names(call, fq="organization:kikaku AND organization:bousai") == []
    assert names(call, q="tags:防災 tags:ハザードマップ") == ["hazard"]
    # Alternatives stay alternatives, in parentheses or joined by OR.
    assert names(call, fq="tags:(保育 OR ハザードマップ)") == ["hazard", "hoikuen"]
    assert names(call, fq="tags:保育 OR tags:ハザードマップ") == ["hazard", "hoikuen"]
    found = call(
        "package_search", fq="tags:防災 tags:ハザードマップ", **{"facet.field": '["tags"]'}
    )[1]["result"]
    assert found["count"] == 1
    assert found["facets"]["tags"] == {"ハザードマップ": 1, "防災": 1}


def test_or_joins_facet_fields_but_not_a_facet_field_with_another_field(
    call: Callable[..., Any], catalog: Any
) -> None:
    assert names(call, fq="organization:kikaku OR tags:防災") == PUBLIC
    assert names(call, fq="groups:kosodate OR res_format:XLSX") == ["hoikuen"]
    assert names(call, fq="name:aed OR name:hinanjo") == ["aed", "hinanjo"]
    assert names(call, q="tags:保育 OR tags:防災") == PUBLIC
    message = refusal(call, fq="organization:kikaku OR name:aed")
    assert "organization:kikaku" in message and "name:aed" in message
    assert "-organization:bousai" in refusal(call, fq="-organization:bousai OR tags:保育")
    assert "OR" in refusal(call, fq="OR organization:kikaku")
    assert "OR" in refusal(call, fq="organization:kikaku OR")
    assert "OR" in refusal(call, fq="organization:kikaku OR OR tags:保育")


def test_q_title_notes_and_text_search_their_words(call: Callable[..., Any], catalog: Any) -> None:
    assert names(call, q="title:避難所") == ["hinanjo"]
    assert names(call, q="notes:定員") == ["hoikuen"]
    assert names(call, q="text:防災") == ["aed", "hinanjo"]
    assert names(call, q='title:"AED設置"') == ["aed"]
    assert names(call, q="title:(AED OR 一覧) organization:bousai") == ["aed"]
    assert names(call, q="title:一覧 tags:防災") == ["aed", "hinanjo"]
    # name: stays CKAN's exact dataset name.
    assert names(call, q="name:aed") == ["aed"]


def test_rows_above_the_maximum_are_cut_to_it_as_ckan_does(
    call: Callable[..., Any], catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = call("package_search", http="get", rows=1001)
    assert status == 200
    assert len(body["result"]["results"]) == 3
    monkeypatch.setattr(search, "MAX_ROWS", 2)
    for rows in (3, "5000"):
        status, body = call("package_search", rows=rows, sort="title_string asc")
        assert status == 200
        assert [r["name"] for r in body["result"]["results"]] == ["aed", "hoikuen"]
    assert "rows" in refusal(call, rows=-1)
    assert "rows" in refusal(call, rows="many")
