"""Facets, aggregates, estimated totals and time limits."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from machi.accounts.models import Department
from machi.datastore import engine
from machi.datastore.errors import QueryTimeout
from machi.datastore.models import Table

pytestmark = pytest.mark.django_db(databases=["default", "datastore"])


def get(client: Client, table: Table, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/datastore/{table.resource.uid}/{path}", params)
    assert response.status_code == 200, response.content.decode()
    return response.json()


def test_facets_count_values_of_each_column(resident: Client, nurseries: Table) -> None:
    result = get(resident, nurseries, "facets", columns="種別,駐車場")
    assert result["種別"][0] == {"value": "認可保育所", "count": 2}
    assert sum(item["count"] for item in result["種別"]) == 6
    assert {item["value"]: item["count"] for item in result["駐車場"]} == {True: 3, False: 3}


def test_facets_follow_filters_and_full_text(resident: Client, nurseries: Table) -> None:
    result = get(resident, nurseries, "facets", columns="種別", 定員__gte="100", limit="1")
    assert result == {"種別": [{"value": "幼稚園", "count": 1}]}
    result = get(resident, nurseries, "facets", columns="種別", q="徒歩")
    assert result == {"種別": [{"value": "認可保育所", "count": 1}]}


def test_aggregates_by_group(resident: Client, nurseries: Table) -> None:
    result = get(
        resident,
        nurseries,
        "aggregate",
        group_by="駐車場",
        metrics="count,sum:定員,avg:定員,min:開設日,max:名称",
    )
    assert result["metrics"] == ["count", "sum:定員", "avg:定員", "min:開設日", "max:名称"]
    by_parking = {row["駐車場"]: row for row in result["results"]}
    assert by_parking[True]["count"] == 3
    assert by_parking[True]["sum:定員"] == 470
    assert by_parking[False]["avg:定員"] == pytest.approx((60 + 19 + 40) / 3)
    assert by_parking[True]["min:開設日"] == "1962-04-01"
    assert by_parking[False]["max:名称"] == "目白台保育室"  # code point order, both engines


def test_aggregate_without_groups_and_with_filters(resident: Client, nurseries: Table) -> None:
    result = get(resident, nurseries, "aggregate", metrics="count,sum:定員", 種別="認可保育所")
    assert result["results"] == [{"count": 2, "sum:定員": 180}]


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"metrics": "median:定員"}, "median"),
        ({"metrics": "sum:名称"}, "名称"),
        ({"metrics": "sum:人口"}, "人口"),
        ({"group_by": "区"}, "区"),
    ],
)
def test_bad_aggregates_name_the_problem(
    resident: Client, nurseries: Table, params: dict, word: str
) -> None:
    response = resident.get(f"/api/v1/datastore/{nurseries.resource.uid}/aggregate", params)
    assert response.status_code == 400
    assert word in response.json()["detail"]


def test_unknown_facet_column_is_a_400(resident: Client, nurseries: Table) -> None:
    response = resident.get(
        f"/api/v1/datastore/{nurseries.resource.uid}/facets", {"columns": "住所"}
    )
    assert response.status_code == 400 and "住所" in response.json()["detail"]


@pytest.fixture
def big(load_csv: Callable[..., Table], kikaku: Department) -> Table:
    lines = ["番号,区分"] + [f"{n},{'偶数' if n % 2 == 0 else '奇数'}" for n in range(30000)]
    return load_csv(kikaku, "big", "\n".join(lines) + "\n")


def test_totals_past_the_count_limit_are_estimated_and_marked(resident: Client, big: Table) -> None:
    exact = get(resident, big, "rows", 区分="偶数", limit=1)
    assert (exact["total"], exact["total_exact"]) == (15000, True)
    with override_settings(DATASTORE_COUNT_TIME_LIMIT_MS=0):
        estimated = get(resident, big, "rows", 区分="偶数", limit=1)
        unfiltered = get(resident, big, "rows", limit=1)
    assert estimated["total_exact"] is False
    assert estimated["total"] == pytest.approx(15000, rel=0.05)
    assert (unfiltered["total"], unfiltered["total_exact"]) == (30000, True)


BOMB = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"


def test_a_query_over_the_time_limit_is_stopped_and_the_next_one_runs(big: Table) -> None:
    with pytest.raises(QueryTimeout, match="0.05"):
        with engine.time_limit(50):
            with connections["datastore"].cursor() as cursor:
                cursor.execute(BOMB)
                cursor.fetchall()
    with connections["datastore"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {engine.qualified(big.name)}")
        assert cursor.fetchone()[0] == 30000


@pytest.mark.skipif("connections['datastore'].vendor != 'postgresql'", reason="PostgreSQL's JIT")
def test_queries_under_a_time_limit_are_not_compiled(big: Table) -> None:
    """statement_timeout does not stop JIT compiling: a query planned as costly (any
    cross join) would run on past its limit while it compiles."""
    costly = f"EXPLAIN SELECT count(*) FROM {engine.qualified(big.name)} a, "
    costly += f"{engine.qualified(big.name)} b"
    with connections["datastore"].cursor() as cursor:
        cursor.execute(costly)
        if not any("JIT" in line for (line,) in cursor.fetchall()):
            pytest.skip("this PostgreSQL server does not compile queries (jit off or no LLVM)")
    with engine.time_limit(1000), connections["datastore"].cursor() as cursor:
        cursor.execute(costly)
        plan = [line for (line,) in cursor.fetchall()]
    assert plan and not any("JIT" in line for line in plan)
