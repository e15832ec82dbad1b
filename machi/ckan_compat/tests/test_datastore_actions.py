"""datastore_* actions over machi's datastore: reads, read-only SQL, and writes as versions."""

from collections.abc import Callable
from typing import Any

import pytest

from machi.catalog.models import Dataset

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def test_datastore_search_filters_sorts_and_pages(call: Callable[..., Any], table_id: str) -> None:
    status, body = call("datastore_search", http="get", resource_id=table_id)
    assert status == 200
    result = body["result"]
    assert result["total"] == 2 and result["total_was_estimated"] is False
    assert result["fields"][0] == {"id": "_id", "type": "int"}
    assert {"id": "定員", "type": "int"} in result["fields"]
    assert result["records"][0]["名称"] == "さくら保育園"
    assert result["_links"]["next"].startswith("/api/3/action/datastore_search?")

    public = call("datastore_search", resource_id=table_id, filters={"区分": "公立"})[1]
    assert [r["名称"] for r in public["result"]["records"]] == ["さくら保育園"]
    ordered = call("datastore_search", resource_id=table_id, sort="定員 asc", limit=1)[1]
    assert ordered["result"]["records"][0]["名称"] == "ひまわり保育園"
    assert ordered["result"]["total"] == 2
    found = call("datastore_search", resource_id=table_id, q="ひまわり")[1]["result"]
    assert [r["名称"] for r in found["records"]] == ["ひまわり保育園"]
    chosen = call("datastore_search", resource_id=table_id, fields=["名称"])[1]["result"]
    assert set(chosen["records"][0]) == {"名称"}


def test_datastore_search_errors(call: Callable[..., Any], table_id: str) -> None:
    status, body = call("datastore_search", resource_id=table_id, filters={"色": "赤"})
    assert status == 409 and body["error"]["__type"] == "Validation Error"
    assert "色" in body["error"]["message"]
    status, body = call("datastore_search", resource_id="00000000-0000-4000-8000-000000000000")
    assert status == 404 and body["error"]["__type"] == "Not Found Error"


def test_datastore_info_and_sql(call: Callable[..., Any], table_id: str) -> None:
    info = call("datastore_info", id=table_id)[1]["result"]
    assert info["meta"]["count"] == 2
    assert [f["id"] for f in info["fields"]] == ["名称", "定員", "区分"]
    sql = f'SELECT "名称" FROM "{table_id}" WHERE "定員" > 50'
    result = call("datastore_search_sql", http="get", sql=sql)[1]["result"]
    assert result["records"] == [{"名称": "さくら保育園"}]
    status, body = call("datastore_search_sql", sql=f'DELETE FROM "{table_id}"')
    assert status == 409 and "query" in body["error"]


def test_datastore_create_upsert_delete_publish_versions(
    call: Callable[..., Any], catalog: Any, editor: Any, token_for: Callable[..., str]
) -> None:
    token = token_for(editor)
    status, body = call(
        "datastore_create",
        token=token,
        resource={"package_id": "hoikuen", "name": "定員（API）"},
        fields=[{"id": "園名", "type": "text"}, {"id": "定員", "type": "int"}],
        records=[{"園名": "さくら", "定員": 60}, {"園名": "もみじ", "定員": 30}],
    )
    assert status == 200, body
    resource_id = body["result"]["resource_id"]
    rows = call("datastore_search", resource_id=resource_id)[1]["result"]
    assert rows["total"] == 2

    status, body = call(
        "datastore_upsert",
        token=token,
        resource_id=resource_id,
        primary_key=["園名"],
        records=[{"園名": "さくら", "定員": 65}, {"園名": "かえで", "定員": 20}],
    )
    assert status == 200, body
    rows = call("datastore_search", resource_id=resource_id, sort="園名")[1]["result"]
    assert {r["園名"]: r["定員"] for r in rows["records"]} == {
        "かえで": 20,
        "さくら": 65,
        "もみじ": 30,
    }
    status, body = call(
        "datastore_delete", token=token, resource_id=resource_id, filters={"園名": "もみじ"}
    )
    assert status == 200, body
    assert call("datastore_search", resource_id=resource_id)[1]["result"]["total"] == 2
    # Every write is a new version of the resource's CSV; none is lost.
    shown = call("resource_show", id=resource_id)[1]["result"]
    assert shown["datastore_active"] is True
    assert catalog["hoikuen"].resources.get(uid=resource_id).versions.count() == 3


def test_datastore_writes_obey_department_roles(
    call: Callable[..., Any], table_id: str, outsider: Any, token_for: Callable[..., str]
) -> None:
    status, body = call(
        "datastore_upsert",
        token=token_for(outsider),
        resource_id=table_id,
        method="insert",
        records=[{"名称": "乗っ取り", "定員": 1, "区分": "私立"}],
    )
    assert status == 403
    assert call("datastore_search", resource_id=table_id)[1]["result"]["total"] == 2


def test_a_record_that_does_not_fit_changes_nothing(
    call: Callable[..., Any], table_id: str, editor: Any, token_for: Callable[..., str]
) -> None:
    status, body = call(
        "datastore_upsert",
        token=token_for(editor),
        resource_id=table_id,
        method="insert",
        records=[{"名称": "もみじ保育園", "定員": "たくさん", "区分": "私立"}],
    )
    assert status == 409, body
    assert call("datastore_search", resource_id=table_id)[1]["result"]["total"] == 2
    assert Dataset.objects.get(name="hoikuen").resources.get().versions.count() == 1
