"""The machi API: /api/v1/datasets."""

from collections.abc import Callable

import pytest
from django.test import Client

from machi.accounts.models import Department
from machi.catalog.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(kikaku: Department, bousai: Department, make_dataset: Callable[..., Dataset]) -> None:
    make_dataset(
        kikaku,
        "hoikuen",
        "認可保育園一覧",
        tags=["子育て・教育"],
        categories=["kosodate"],
        csv="名称\n本郷保育園\n",
    )
    make_dataset(bousai, "hinanjo", "避難所一覧", tags=["防災/避難所"], categories=["bousai"])
    make_dataset(kikaku, "secret", "非公開の保育データ", is_public=False)


def test_search_returns_results_and_facets(resident: Client, catalog: None) -> None:
    body = resident.get("/api/v1/datasets", {"q": "保育"}).json()
    assert body["count"] == 1
    [dataset] = body["results"]
    assert dataset["name"] == "hoikuen"
    assert dataset["tags"] == ["子育て・教育"]
    assert dataset["department"]["slug"] == "kikaku"
    assert dataset["resources"][0]["format"] == "CSV"
    assert dataset["resources"][0]["url"].startswith("http://testserver/dataset/hoikuen/resource/")
    assert "metadata_modified" in dataset and "description" in dataset
    assert body["facets"]["tag"] == [{"value": "子育て・教育", "label": "子育て・教育", "count": 1}]
    assert set(body["facets"]) == {"category", "tag", "department", "format", "license"}


def test_filters_and_sort(resident: Client, catalog: None) -> None:
    body = resident.get("/api/v1/datasets", {"department": "bousai"}).json()
    assert [d["name"] for d in body["results"]] == ["hinanjo"]
    body = resident.get("/api/v1/datasets", {"tag": "防災/避難所"}).json()
    assert [d["name"] for d in body["results"]] == ["hinanjo"]
    body = resident.get("/api/v1/datasets", {"sort": "title"}).json()
    assert [d["name"] for d in body["results"]] == ["hoikuen", "hinanjo"]


def test_one_dataset_in_full(resident: Client, catalog: None) -> None:
    body = resident.get("/api/v1/datasets/hoikuen").json()
    assert body["title"] == "認可保育園一覧"
    assert body["license"]["id"] == "cc-by-4.0"
    assert body["update_frequency"] == "IRREG"
    assert resident.get("/api/v1/datasets/secret").status_code == 404
    assert resident.get("/api/v1/datasets/nothing").status_code == 404


def test_private_datasets_only_for_their_department(
    client_for,
    editor,
    outsider,
    catalog: None,  # type: ignore[no-untyped-def]
) -> None:
    assert client_for(editor).get("/api/v1/datasets/secret").status_code == 200
    assert client_for(outsider).get("/api/v1/datasets/secret").status_code == 404


def test_bad_parameters_get_a_clear_error(resident: Client, catalog: None) -> None:
    response = resident.get("/api/v1/datasets", {"page": "two"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["query", "page"],
            "field": "page",
            "msg": "整数で指定してください。",
            "type": "int_parsing",
        }
    ]
    english = resident.get("/api/v1/datasets", {"page": "two"}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"][0]["msg"] == "Enter a whole number."


def test_openapi_documents_both_routes(resident: Client) -> None:
    paths = resident.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/datasets" in paths and "/api/v1/datasets/{name}" in paths
    params = {p["name"] for p in paths["/api/v1/datasets"]["get"]["parameters"]}
    assert {"q", "category", "tag", "department", "format", "license", "sort", "page"} <= params


def test_api_docs_load_nothing_from_the_internet(resident: Client) -> None:
    page = resident.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "https://" not in page and "http://" not in page
    # Read on a phone at a hackathon too: laid out to the screen's width. Swagger UI speaks
    # English only, so the page says so (it said ja, and a Japanese voice read its English).
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<html lang="en">' in page
