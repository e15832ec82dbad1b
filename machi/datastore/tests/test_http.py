"""HTTP of datastore reads: validators and 304s, Cache-Control, gzip, CORS."""

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date

from machi.accounts.models import Department
from machi.datastore import services
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def rows_url(table: Table) -> str:
    return f"/api/v1/datastore/{table.resource.uid}/rows"


def routes(table: Table) -> list[tuple[str, dict[str, str]]]:
    base = f"/api/v1/datastore/{table.resource.uid}"
    return [
        (base, {}),
        (f"{base}/rows", {"sort": "-定員"}),
        (f"{base}/facets", {"columns": "種別"}),
        (f"{base}/aggregate", {"metrics": "count", "group_by": "種別"}),
        (f"{base}/export.csv", {"種別": "認可保育所"}),
        (f"{base}/export.xlsx", {}),
    ]


def test_every_read_has_validators_and_answers_304_without_querying(
    resident: Client, nurseries: Table
) -> None:
    for path, params in routes(nurseries):
        response = resident.get(path, params)
        assert response.status_code == 200, path
        etag = response["ETag"]
        assert etag.startswith('W/"'), path
        assert response["Cache-Control"] == "public, max-age=60", path
        assert "Accept-Language" in response["Vary"], path
        with CaptureQueriesContext(connections["datastore"]) as datastore_queries:
            again = resident.get(path, params, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, path
        assert again["ETag"] == etag and again.content == b""
        assert len(datastore_queries) == 0, path


def test_if_modified_since(resident: Client, nurseries: Table) -> None:
    first = resident.get(rows_url(nurseries))
    modified = first["Last-Modified"]
    assert modified == http_date(int(nurseries.loaded.timestamp()))
    assert resident.get(rows_url(nurseries), HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    earlier = http_date(int(nurseries.loaded.timestamp()) - 60)
    assert resident.get(rows_url(nurseries), HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200


def test_the_etag_follows_the_query_the_language_and_the_table_version(
    resident: Client, nurseries: Table, site_admin: User
) -> None:
    etag = resident.get(rows_url(nurseries))["ETag"]
    assert resident.get(rows_url(nurseries), {"sort": "名称"})["ETag"] != etag
    assert resident.get(rows_url(nurseries), HTTP_ACCEPT_LANGUAGE="en")["ETag"] != etag
    assert resident.get(rows_url(nurseries))["ETag"] == etag

    reloaded = services.load_version_file(actor=site_admin, version=nurseries.version)
    assert reloaded.uid == nurseries.uid and reloaded.loaded > nurseries.loaded
    response = resident.get(rows_url(nurseries), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_errors_carry_no_validators(resident: Client, nurseries: Table) -> None:
    response = resident.get(rows_url(nurseries), {"定員": "many"})
    assert response.status_code == 400
    assert "ETag" not in response
    missing = resident.get("/api/v1/datastore/00000000-0000-0000-0000-000000000000/rows")
    assert missing.status_code == 404 and "ETag" not in missing


def test_private_tables_are_not_kept_by_caches(
    load_csv: Callable[..., Table], kikaku: Department, client_for: Any, viewer: User
) -> None:
    table = load_csv(kikaku, "draft", "a,b\n1,2\n", is_public=False)
    response = client_for(viewer).get(rows_url(table))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_json_is_gzipped_when_the_client_accepts_it(resident: Client, nurseries: Table) -> None:
    plain = resident.get(rows_url(nurseries))
    assert "Content-Encoding" not in plain
    assert "Accept-Encoding" in plain["Vary"]
    zipped = resident.get(rows_url(nurseries), HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert zipped["ETag"] == plain["ETag"]


@pytest.mark.parametrize("format", ["csv", "json", "ndjson", "geojson"])
def test_streamed_exports_are_gzipped(resident: Client, nurseries: Table, format: str) -> None:
    url = f"/api/v1/datastore/{nurseries.resource.uid}/export.{format}"
    plain = b"".join(resident.get(url).streaming_content)
    response = resident.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.streaming and response["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(response.streaming_content)) == plain


def test_xlsx_is_not_gzipped(resident: Client, nurseries: Table) -> None:
    url = f"/api/v1/datastore/{nurseries.resource.uid}/export.xlsx"
    response = resident.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content).startswith(b"PK")


def test_public_reads_may_be_made_from_any_origin(resident: Client, nurseries: Table) -> None:
    for path in [rows_url(nurseries), "/api/v1/datasets"]:
        response = resident.get(path, HTTP_ORIGIN="https://example.org")
        assert response.status_code == 200, path
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in response
    page = resident.get("/")
    assert "Access-Control-Allow-Origin" not in page


def test_preflight(resident: Client, nurseries: Table) -> None:
    response = resident.options(
        rows_url(nurseries),
        HTTP_ORIGIN="https://example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "X-API-Key" in response["Access-Control-Allow-Headers"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_a_page_on_another_site_may_post_a_query_and_read_the_answer(
    resident: Client, nurseries: Table
) -> None:
    """The SQL endpoint and CKAN's actions take POST: the preflight allowed only GET, and
    the answer lacked Allow-Origin, so a browser app could not read it."""
    preflight = resident.options(
        "/api/v1/datastore/sql",
        HTTP_ORIGIN="https://example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization",
    )
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    for path, body in [
        ("/api/v1/datastore/sql", {"sql": f'SELECT count(*) AS n FROM "{nurseries.resource.uid}"'}),
        ("/api/3/action/package_list", {}),
    ]:
        response = resident.post(
            path, body, content_type="application/json", HTTP_ORIGIN="https://example.org"
        )
        assert response.status_code == 200, (path, response.content[:300])
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response


def test_head_answers_as_get_without_a_body(resident: Client, nurseries: Table) -> None:
    """HEAD got 405 on every /api/v1 route, though CORS and the docs offer it."""
    for path in [
        rows_url(nurseries),
        "/api/v1/datasets",
        f"/api/v1/datastore/{nurseries.resource.uid}/export.csv",
    ]:
        got = resident.get(path)
        head = resident.head(path)
        assert head.status_code == 200, path
        assert head["Content-Type"] == got["Content-Type"]
        assert head.get("ETag") == got.get("ETag")
        assert head.getvalue() == b"" if head.streaming else head.content == b""
    assert resident.head("/api/v1/datasets/no-such-dataset").status_code == 404
