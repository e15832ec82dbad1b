"""datastore_search as CKAN clients call it: limits past the maximum, quoted sort names,
no total asked for."""

from collections.abc import Callable
from typing import Any

import pytest

from machi.datastore import queries

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def test_a_limit_past_the_maximum_is_capped_not_refused(
    call: Callable[..., Any], table_id: str
) -> None:
    """data.gov.il's recorded client asks limit=32000; CKAN caps it, machi refused it."""
    status, body = call("datastore_search", http="get", resource_id=table_id, limit=32000)
    assert status == 200, body
    assert body["result"]["limit"] == queries.MAX_LIMIT and body["result"]["total"] == 2
    status, body = call("datastore_search", http="get", resource_id=table_id, limit=-1)
    assert status == 409 and "limit" in body["error"]


def test_a_quoted_sort_name_and_no_total(call: Callable[..., Any], table_id: str) -> None:
    status, body = call("datastore_search", resource_id=table_id, sort='"定員" asc', limit=1)
    assert status == 200, body
    assert body["result"]["records"][0]["名称"] == "ひまわり保育園"
    result = call("datastore_search", resource_id=table_id, include_total=False)[1]["result"]
    assert result["include_total"] is False and "total" not in result
    assert len(result["records"]) == 2


def test_sql_fields_carry_the_type_names_datastore_search_gives(
    call: Callable[..., Any], table_id: str
) -> None:
    """datastore_search said int/text for 定員/名称 and datastore_search_sql integer/string."""
    searched = call("datastore_search", resource_id=table_id)[1]["result"]["fields"]
    sql = f'SELECT _id, "名称", "定員" FROM "{table_id}"'
    fields = call("datastore_search_sql", sql=sql)[1]["result"]["fields"]
    assert fields == [f for f in searched if f["id"] in {"_id", "名称", "定員"}]
    assert {"id": "定員", "type": "int"} in fields
